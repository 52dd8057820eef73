//! Checks shared by the plain-data fault options (disk, clock): a bad value is a typed error
//! naming the field, never a panic and never silently clamped.

/// An option value that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid option {field}: {reason}")]
pub struct InvalidOption {
    /// The field's name, as written in the options struct.
    pub field: &'static str,
    /// Why the value cannot be used (the bound or rule it breaks).
    pub reason: String,
}

impl InvalidOption {
    /// An error for `field`, saying why.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        InvalidOption { field, reason: reason.into() }
    }
}

/// A probability: finite and within `0.0..=1.0`.
pub fn probability(field: &'static str, value: f64) -> Result<(), InvalidOption> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(InvalidOption::new(field, format!("{value} is not a probability in [0, 1]")))
    }
}

/// A `min..=max` pair in which `min` does not exceed `max`.
pub fn ordered(field: &'static str, min: u64, max: u64) -> Result<(), InvalidOption> {
    if min <= max {
        Ok(())
    } else {
        Err(InvalidOption::new(field, format!("minimum {min} exceeds maximum {max}")))
    }
}

/// A value that must not exceed `limit` (the reason says why the limit exists).
pub fn at_most(field: &'static str, value: u64, limit: u64, why: &str) -> Result<(), InvalidOption> {
    if value <= limit {
        Ok(())
    } else {
        Err(InvalidOption::new(field, format!("{value} exceeds {limit} ({why})")))
    }
}

/// A value that must be positive.
pub fn positive(field: &'static str, value: u64) -> Result<(), InvalidOption> {
    if value > 0 {
        Ok(())
    } else {
        Err(InvalidOption::new(field, "must be positive"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_cannot_be_used() {
        assert!(probability("p", 0.5).is_ok());
        assert_eq!(probability("p", 1.5).unwrap_err().field, "p");
        assert!(probability("p", f64::NAN).is_err());
        assert!(ordered("r", 1, 1).is_ok());
        assert!(ordered("r", 2, 1).is_err());
        assert!(at_most("m", 3, 2, "because").is_err());
        assert!(positive("s", 0).is_err());
    }
}
