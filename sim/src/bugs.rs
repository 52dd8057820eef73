//! The bug zoo, written once: every system's planted bugs are one enum declared with
//! [`bug_zoo!`](crate::bug_zoo), which gives each bug its command-line name, a one-line
//! description and parsing.
//!
//! A planted bug is a deliberate defect chosen by configuration (not a cargo feature, so one
//! build covers them all); the harness must find each within a seed budget, which is how we
//! know it can fail. The canonical name is kebab-case (`vote-not-persisted`) and is what docs,
//! reproduce lines and errors use; the variant name (`VoteNotPersisted`) is accepted as an
//! alias, so older reproduce lines keep working.

use std::fmt::Debug;

/// A system's planted bugs (implemented by [`bug_zoo!`](crate::bug_zoo)).
pub trait Bug: Copy + Eq + Ord + Debug + Send + Sync + 'static {
    /// Every bug, in declaration order.
    const ALL: &'static [Self];

    /// The canonical, kebab-case name: `vote-not-persisted`.
    fn name(self) -> &'static str;

    /// The variant name, accepted as an alias: `VoteNotPersisted`.
    fn variant(self) -> &'static str;

    /// One line: what the bug does and what it breaks.
    fn description(self) -> &'static str;
}

/// The bug type of a system without planted bugs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NoBug {}

impl Bug for NoBug {
    const ALL: &'static [Self] = &[];

    fn name(self) -> &'static str {
        match self {}
    }

    fn variant(self) -> &'static str {
        match self {}
    }

    fn description(self) -> &'static str {
        match self {}
    }
}

/// Finds a bug by its canonical name or its variant name; the error names the system and
/// lists the canonical names.
pub fn parse<B: Bug>(system: &str, name: &str) -> Result<B, String> {
    B::ALL.iter().copied().find(|b| b.name() == name || b.variant() == name).ok_or_else(|| {
        let known: Vec<&str> = B::ALL.iter().map(|b| b.name()).collect();
        if known.is_empty() {
            format!("unknown bug `{name}`: {system} has no planted bugs")
        } else {
            format!("unknown bug `{name}` for {system} (known: {})", known.join(", "))
        }
    })
}

/// Parses an optional bug name (see [`parse`]).
pub fn parse_opt<B: Bug>(system: &str, name: Option<&str>) -> Result<Option<B>, String> {
    name.map(|n| parse(system, n)).transpose()
}

/// The kebab-case form of a CamelCase variant name: `VoteNotPersisted` -> `vote-not-persisted`.
pub fn kebab(variant: &str) -> String {
    let mut out = String::with_capacity(variant.len() + 4);
    let mut prev: Option<char> = None;
    for c in variant.chars() {
        // A capital starts a word, and so does a number after letters (`InPhase1`: `in-phase-1`).
        let starts_word =
            c.is_ascii_uppercase() || (c.is_ascii_digit() && prev.is_some_and(|p| !p.is_ascii_digit()));
        if starts_word && prev.is_some() {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
        prev = Some(c);
    }
    out
}

/// Checks a zoo's declarations: every canonical name is the kebab-case of its variant, names
/// are unique, and every description is one non-empty line. The conformance tests call it.
pub fn validate<B: Bug>() -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for &bug in B::ALL {
        if bug.name() != kebab(bug.variant()) {
            return Err(format!(
                "bug {} is named `{}`, not `{}`",
                bug.variant(),
                bug.name(),
                kebab(bug.variant())
            ));
        }
        if !seen.insert(bug.name()) {
            return Err(format!("bug name `{}` is declared twice", bug.name()));
        }
        let d = bug.description();
        if d.trim().is_empty() || d.contains('\n') {
            return Err(format!("bug {} needs a one-line description", bug.name()));
        }
    }
    Ok(())
}

/// Declares a system's planted bugs as an enum implementing [`Bug`]:
///
/// ```
/// faultline_sim::bug_zoo! {
///     /// The demo system's planted bugs.
///     pub enum DemoBug {
///         /// Acknowledges a write before it is durable.
///         AckBeforeSync = ("ack-before-sync", "acknowledges a write before it is synced"),
///         /// Serves reads from a replica that may lag.
///         StaleRead = ("stale-read", "serves reads from a replica that may lag"),
///     }
/// }
/// use faultline_sim::bugs::{parse, Bug};
/// assert_eq!(parse::<DemoBug>("demo", "stale-read"), Ok(DemoBug::StaleRead));
/// assert_eq!(parse::<DemoBug>("demo", "StaleRead"), Ok(DemoBug::StaleRead));
/// assert_eq!(DemoBug::AckBeforeSync.to_string(), "ack-before-sync");
/// assert!(faultline_sim::bugs::validate::<DemoBug>().is_ok());
/// ```
///
/// Each bug is marked in the code where it deviates with `BUG(<name>)`.
#[macro_export]
macro_rules! bug_zoo {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = ($kebab:literal, $description:literal)
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $crate::bugs::Bug for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];

            fn name(self) -> &'static str {
                match self { $($name::$variant => $kebab,)+ }
            }

            fn variant(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant),)+ }
            }

            fn description(self) -> &'static str {
                match self { $($name::$variant => $description,)+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::bugs::Bug::name(*self))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;

            /// Accepts the kebab-case name or the variant name.
            fn from_str(s: &str) -> Result<Self, String> {
                $crate::bugs::parse::<$name>(stringify!($name), s)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::bug_zoo! {
        enum Zoo {
            /// First.
            FirstBug = ("first-bug", "the first"),
            /// Second.
            SecondOne = ("second-one", "the second"),
        }
    }

    #[test]
    fn kebab_case_of_variant_names() {
        assert_eq!(kebab("VoteNotPersisted"), "vote-not-persisted");
        assert_eq!(kebab("NoDedup"), "no-dedup");
        assert_eq!(kebab("A"), "a");
        assert_eq!(kebab("IgnoreAcceptedInPhase1"), "ignore-accepted-in-phase-1");
        assert_eq!(kebab("Phase12Done"), "phase-12-done");
    }

    #[test]
    fn both_spellings_parse_and_unknown_names_list_the_canonical_ones() {
        assert_eq!(parse::<Zoo>("zoo", "first-bug"), Ok(Zoo::FirstBug));
        assert_eq!(parse::<Zoo>("zoo", "SecondOne"), Ok(Zoo::SecondOne));
        let err = parse::<Zoo>("zoo", "third").unwrap_err();
        assert_eq!(err, "unknown bug `third` for zoo (known: first-bug, second-one)");
        assert_eq!(parse_opt::<Zoo>("zoo", None), Ok(None));
        assert!(parse::<NoBug>("plain", "x").unwrap_err().contains("no planted bugs"));
        assert_eq!(validate::<Zoo>(), Ok(()));
    }

    #[test]
    fn a_misnamed_bug_fails_validation() {
        crate::bug_zoo! {
            enum Bad {
                /// Misnamed.
                SomeBug = ("some_bug", "misnamed"),
            }
        }
        assert!(validate::<Bad>().unwrap_err().contains("`some-bug`"));
    }
}
