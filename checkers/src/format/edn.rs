//! A reader and writer for the subset of EDN that Jepsen, Knossos and Elle write.
//!
//! EDN (extensible data notation, <https://github.com/edn-format/edn>) is Clojure's data syntax.
//! Histories are either one vector of op maps (`[{:process 0 ...} ...]`, Knossos) or a stream
//! of op maps, one per line, with `;` comments (Elle, Jepsen's `history.edn`).
//!
//! The parser is hand-written so that a malformed file is an error naming its line, never a
//! panic: nesting is limited to [`MAX_DEPTH`] so hostile input cannot overflow the stack (the
//! parser is fuzzed, see `fuzz/`).
//!
//! Mapping to [`Value`] (the conventions every checker relies on): keywords become `Str` without
//! the colon (`:timed-out` -> `"timed-out"`), symbols become `Str`, vectors, lists and sets become
//! `List`, maps become a `List` of `[key value]` pairs in file order, integers `Int`, `nil` `Nil`,
//! `true`/`false` `Bool`. Values with no counterpart keep their text as a `Str`: floats, ratios,
//! big integers that overflow `i64`, characters. Tagged literals (`#inst "..."`,
//! `#jepsen.history.Op{...}`) read as the tagged form; `#_` discards the next form.

use crate::history::{Event, EventKind, Value};
use std::fmt::Write as _;

/// Deepest nesting the parser accepts; real histories nest four or five levels.
pub const MAX_DEPTH: usize = 128;

/// An EDN form as read, before it is mapped onto a [`Value`] or an [`Event`].
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    /// A number with no `Value` counterpart (float, ratio, overflowing integer), as written.
    Number(String),
    Str(String),
    Keyword(String),
    Symbol(String),
    Char(char),
    /// Vector, list or set: the distinction does not matter to any checker.
    Seq(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

/// A top-level form and the 1-based line it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    pub line: usize,
    pub form: Edn,
}

/// Why EDN text could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct EdnError {
    pub line: usize,
    pub reason: String,
}

impl Edn {
    /// Maps the form onto the shared [`Value`] type (see the module header for the rules).
    pub fn to_value(&self) -> Value {
        match self {
            Edn::Nil => Value::Nil,
            Edn::Bool(b) => Value::Bool(*b),
            Edn::Int(i) => Value::Int(*i),
            Edn::Number(s) | Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => Value::Str(s.clone()),
            Edn::Char(c) => Value::Str(c.to_string()),
            Edn::Seq(items) => Value::List(items.iter().map(Edn::to_value).collect()),
            Edn::Map(pairs) => Value::List(
                pairs.iter().map(|(k, v)| Value::List(vec![k.to_value(), v.to_value()])).collect(),
            ),
        }
    }

    /// Like [`Edn::to_value`], reusing the form's strings instead of copying them.
    pub fn into_value(self) -> Value {
        match self {
            Edn::Nil => Value::Nil,
            Edn::Bool(b) => Value::Bool(b),
            Edn::Int(i) => Value::Int(i),
            Edn::Number(s) | Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => Value::Str(s),
            Edn::Char(c) => Value::Str(c.to_string()),
            Edn::Seq(items) => Value::List(items.into_iter().map(Edn::into_value).collect()),
            Edn::Map(pairs) => Value::List(
                pairs.into_iter().map(|(k, v)| Value::List(vec![k.into_value(), v.into_value()])).collect(),
            ),
        }
    }

    /// Removes and returns the value stored under keyword `key` when this form is a map.
    pub fn take(&mut self, key: &str) -> Option<Edn> {
        let Edn::Map(pairs) = self else { return None };
        let i = pairs.iter().position(|(k, _)| matches!(k, Edn::Keyword(k) if k == key))?;
        Some(std::mem::replace(&mut pairs[i].1, Edn::Nil))
    }

    /// The value stored under keyword `key` when this form is a map.
    pub fn get(&self, key: &str) -> Option<&Edn> {
        let Edn::Map(pairs) = self else { return None };
        pairs.iter().find(|(k, _)| matches!(k, Edn::Keyword(k) if k == key)).map(|(_, v)| v)
    }
}

/// Reads every top-level form of `text`.
pub fn parse_all(text: &str) -> Result<Vec<Located>, EdnError> {
    let mut parser = Parser { bytes: text.as_bytes(), text, pos: 0, line: 1 };
    let mut forms = Vec::new();
    loop {
        parser.skip_blank()?;
        if parser.pos >= parser.bytes.len() {
            return Ok(forms);
        }
        let line = parser.line;
        if let Some(form) = parser.form(0)? {
            forms.push(Located { line, form });
        }
    }
}

/// Reads the items of a history: the elements of a single top-level vector or list (Knossos),
/// or else every top-level form (a stream, as Elle and Jepsen write). Each item keeps its line.
pub fn parse_items(text: &str) -> Result<Vec<Located>, EdnError> {
    let mut parser = Parser { bytes: text.as_bytes(), text, pos: 0, line: 1 };
    parser.skip_blank()?;
    let close = match parser.peek() {
        Some(b'[') => b']',
        Some(b'(') => b')',
        _ => return parse_all(text),
    };
    let start_line = parser.line;
    parser.pos += 1;
    let mut items = Vec::new();
    loop {
        parser.skip_blank()?;
        match parser.peek() {
            None => {
                return Err(EdnError { line: start_line, reason: "unclosed top-level collection".into() })
            }
            Some(b) if b == close => break,
            Some(_) => {
                let line = parser.line;
                if let Some(form) = parser.form(1)? {
                    items.push(Located { line, form });
                }
            }
        }
    }
    parser.pos += 1;
    parser.skip_blank()?;
    if parser.pos < parser.bytes.len() {
        return parser.error("unexpected forms after the top-level collection");
    }
    Ok(items)
}

/// Reads exactly one form (surrounding blanks allowed).
pub fn parse_one(text: &str) -> Result<Edn, EdnError> {
    let mut forms = parse_all(text)?;
    match forms.len() {
        1 => Ok(forms.remove(0).form),
        0 => Err(EdnError { line: 1, reason: "expected a value, found nothing".into() }),
        _ => Err(EdnError { line: forms[1].line, reason: "expected one value, found several".into() }),
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';')
}

impl Parser<'_> {
    fn error<T>(&self, reason: impl Into<String>) -> Result<T, EdnError> {
        Err(EdnError { line: self.line, reason: reason.into() })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skips whitespace, commas and `;` comments.
    fn skip_blank(&mut self) -> Result<(), EdnError> {
        while let Some(b) = self.peek() {
            match b {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b';' => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                b if b.is_ascii_whitespace() || b == b',' => self.pos += 1,
                _ => break,
            }
        }
        Ok(())
    }

    /// Reads one form; `None` when the form was discarded with `#_`.
    fn form(&mut self, depth: usize) -> Result<Option<Edn>, EdnError> {
        if depth > MAX_DEPTH {
            return self.error(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        self.skip_blank()?;
        let Some(b) = self.peek() else { return self.error("unexpected end of input") };
        let form = match b {
            b'[' | b'(' => Edn::Seq(self.seq(depth, if b == b'[' { b']' } else { b')' })?),
            b'{' => self.map(depth)?,
            b'"' => Edn::Str(self.string()?),
            b'\\' => Edn::Char(self.character()?),
            b'#' => return self.dispatch(depth),
            b')' | b']' | b'}' => return self.error(format!("unexpected `{}`", b as char)),
            _ => self.atom()?,
        };
        Ok(Some(form))
    }

    /// Forms after `#`: sets, discards, tagged literals.
    fn dispatch(&mut self, depth: usize) -> Result<Option<Edn>, EdnError> {
        self.pos += 1;
        match self.peek() {
            Some(b'{') => Ok(Some(Edn::Seq(self.seq(depth, b'}')?))),
            Some(b'_') => {
                self.pos += 1;
                self.required_form(depth + 1)?;
                Ok(None)
            }
            // Symbolic numbers: `##Inf`, `##-Inf`, `##NaN`.
            Some(b'#') => {
                self.pos += 1;
                Ok(Some(Edn::Number(format!("##{}", self.token()))))
            }
            Some(b) if !is_delimiter(b) => {
                self.token();
                Ok(Some(self.required_form(depth + 1)?))
            }
            _ => self.error("`#` must be followed by `{`, `_` or a tag"),
        }
    }

    /// A form that must be present (not discarded, not a closing bracket).
    fn required_form(&mut self, depth: usize) -> Result<Edn, EdnError> {
        loop {
            if let Some(form) = self.form(depth)? {
                return Ok(form);
            }
        }
    }

    fn seq(&mut self, depth: usize, close: u8) -> Result<Vec<Edn>, EdnError> {
        let start_line = self.line;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                None => {
                    return Err(EdnError {
                        line: start_line,
                        reason: format!("unclosed collection, expected `{}`", close as char),
                    })
                }
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(_) => {
                    if let Some(form) = self.form(depth + 1)? {
                        items.push(form);
                    }
                }
            }
        }
    }

    fn map(&mut self, depth: usize) -> Result<Edn, EdnError> {
        let line = self.line;
        let items = self.seq(depth, b'}')?;
        if items.len() % 2 != 0 {
            return Err(EdnError { line, reason: "map with an odd number of forms".into() });
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        Ok(Edn::Map(pairs))
    }

    fn string(&mut self) -> Result<String, EdnError> {
        let start_line = self.line;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(EdnError { line: start_line, reason: "unterminated string".into() });
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                _ => {
                    if b == b'\n' {
                        self.line += 1;
                    }
                    let ch = self.text[self.pos..].chars().next().unwrap_or('\u{fffd}');
                    out.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
    }

    fn escape(&mut self) -> Result<char, EdnError> {
        let Some(b) = self.peek() else { return self.error("unterminated string") };
        self.pos += 1;
        Ok(match b {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'u' => {
                let hex = self.text.get(self.pos..self.pos + 4).unwrap_or("");
                let code = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                let Some(ch) = code else { return self.error("bad \\u escape in string") };
                self.pos += 4;
                ch
            }
            other => return self.error(format!("unknown escape `\\{}` in string", other as char)),
        })
    }

    fn character(&mut self) -> Result<char, EdnError> {
        self.pos += 1;
        let start = self.pos;
        // A character literal is at least one char, even a delimiter (`\(`).
        let Some(first) = self.text.get(start..).and_then(|s| s.chars().next()) else {
            return self.error("character literal without a character");
        };
        self.pos += first.len_utf8();
        self.token();
        let name = &self.text[start..self.pos];
        let ch = match name {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "formfeed" => '\u{c}',
            "backspace" => '\u{8}',
            _ if name.chars().count() == 1 => first,
            _ if name.starts_with('u') && name.len() == 5 => {
                match u32::from_str_radix(&name[1..], 16).ok().and_then(char::from_u32) {
                    Some(c) => c,
                    None => return self.error(format!("bad character literal `\\{name}`")),
                }
            }
            _ => return self.error(format!("bad character literal `\\{name}`")),
        };
        Ok(ch)
    }

    /// Advances over a run of non-delimiter bytes and returns it.
    fn token(&mut self) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_delimiter(b)) {
            self.pos += 1;
        }
        // Token bytes are ASCII-or-continuation runs between ASCII delimiters: a char boundary.
        &self.text[start..self.pos]
    }

    fn atom(&mut self) -> Result<Edn, EdnError> {
        let line = self.line;
        let token = self.token();
        Ok(match token {
            // A non-delimiter byte always starts a token; this is a stray delimiter.
            "" => return Err(EdnError { line, reason: "unexpected character".into() }),
            "nil" => Edn::Nil,
            "true" => Edn::Bool(true),
            "false" => Edn::Bool(false),
            ":" => return Err(EdnError { line, reason: "empty keyword `:`".into() }),
            _ if token.starts_with(':') => Edn::Keyword(token[1..].to_string()),
            _ if looks_numeric(token) => number(token),
            _ => Edn::Symbol(token.to_string()),
        })
    }
}

fn looks_numeric(token: &str) -> bool {
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    digits.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

fn number(token: &str) -> Edn {
    let plain = token.strip_suffix('N').unwrap_or(token);
    match plain.parse::<i64>() {
        Ok(i) => Edn::Int(i),
        Err(_) => Edn::Number(token.to_string()),
    }
}

/// Whether `s` can be written as the keyword `:s` and read back unchanged.
pub fn is_keyword_safe(s: &str) -> bool {
    let mut bytes = s.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b"*+!_?<>=-.".contains(&b));
    first_ok
        && !looks_numeric(s)
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"*+!_?<>=-./".contains(&b))
        && !matches!(s, "nil" | "true" | "false")
}

/// Writes a value as EDN. Strings are written as strings (they read back as the same `Str`).
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Str(s) => write_string(out, s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item);
            }
            out.push(']');
        }
    }
}

/// Writes a string literal with EDN escapes.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `s` as a keyword when that reads back unchanged, else as a string.
pub fn write_name(out: &mut String, s: &str) {
    if is_keyword_safe(s) {
        out.push(':');
        out.push_str(s);
    } else {
        write_string(out, s);
    }
}

pub(crate) fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Invoke => "invoke",
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
    }
}

/// Writes one event as an op map on one line, the way Jepsen writes `history.edn`.
pub fn write_event(out: &mut String, e: &Event) {
    let _ = write!(out, "{{:process {}, :type :{}, :f ", e.process, kind_name(e.kind));
    write_name(out, &e.f);
    out.push_str(", :value ");
    write_value(out, &e.value);
    let _ = writeln!(out, ", :time {}}}", e.time);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_jepsen_writes() {
        let form =
            parse_one(r#"{:type :ok, :f :cas, :value [1 2], :s "a\"b", :n nil, :t true, :x -3}"#).unwrap();
        assert_eq!(form.get("type"), Some(&Edn::Keyword("ok".into())));
        assert_eq!(form.get("value").unwrap().to_value(), Value::from(vec![1i64, 2]));
        assert_eq!(form.get("s"), Some(&Edn::Str("a\"b".into())));
        assert_eq!(form.get("n"), Some(&Edn::Nil));
        assert_eq!(form.get("t"), Some(&Edn::Bool(true)));
        assert_eq!(form.get("x"), Some(&Edn::Int(-3)));
    }

    #[test]
    fn streams_comments_sets_tags_and_discards() {
        let text = "; comment\n{:a 1}\n#_ {:skipped 1}\n#jepsen.history.Op{:a #{1 2} :b #inst \"2020\"}\n";
        let forms = parse_all(text).unwrap();
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].line, 2);
        assert_eq!(forms[1].line, 4);
        assert_eq!(forms[1].form.get("a"), Some(&Edn::Seq(vec![Edn::Int(1), Edn::Int(2)])));
        assert_eq!(forms[1].form.get("b"), Some(&Edn::Str("2020".into())));
    }

    #[test]
    fn a_top_level_vector_yields_its_items_with_lines() {
        let items = parse_items("[{:a 1}\n {:a 2}]\n").unwrap();
        assert_eq!(items.iter().map(|l| l.line).collect::<Vec<_>>(), vec![1, 2]);
        let stream = parse_items("{:a 1}\n\n{:a 2}").unwrap();
        assert_eq!(stream.iter().map(|l| l.line).collect::<Vec<_>>(), vec![1, 3]);
        assert!(parse_items("[{:a 1}] {:b 2}").is_err());
        assert!(parse_items("[{:a 1}").is_err());
    }

    #[test]
    fn numbers_without_a_value_counterpart_keep_their_text() {
        assert_eq!(parse_one("1.5").unwrap().to_value(), Value::Str("1.5".into()));
        assert_eq!(parse_one("12N").unwrap(), Edn::Int(12));
        assert_eq!(
            parse_one("99999999999999999999").unwrap().to_value(),
            Value::Str("99999999999999999999".into())
        );
        assert_eq!(parse_one("\\a").unwrap(), Edn::Char('a'));
        assert_eq!(parse_one("\\newline").unwrap(), Edn::Char('\n'));
    }

    #[test]
    fn malformed_input_is_an_error_with_a_line() {
        let err = parse_all("{:a 1}\n{:b [1 2}\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse_all("{:a}").unwrap_err().reason.contains("odd"));
        assert!(parse_all("\"abc").unwrap_err().reason.contains("unterminated"));
        assert!(parse_all(")").is_err());
        assert!(parse_all("#").is_err());
        let deep = "[".repeat(MAX_DEPTH + 10);
        assert!(parse_all(&deep).unwrap_err().reason.contains("nesting"));
    }

    #[test]
    fn written_values_read_back() {
        let v =
            Value::from(vec![Value::Nil, Value::Int(-4), Value::Str("a \"q\"\n".into()), Value::Bool(false)]);
        let mut out = String::new();
        write_value(&mut out, &v);
        assert_eq!(parse_one(&out).unwrap().to_value(), v);
    }
}
