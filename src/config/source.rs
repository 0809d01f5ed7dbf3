//! Reading `config.ron` with the `ron` crate, and placing every problem at a line:col.
//!
//! `ron` (with implicit `Some`, so `bind: "…"` fills an `Option`) parses the text; it and serde
//! stop at the first error, and a hand-written config tends to hold several. So [`read`] runs a
//! recovery loop: when serde refuses a value (an unknown or missing field, a wrong type, a value
//! a `deserialize_with` refuses), the problem is recorded, that entry (`key: value,`) is blanked
//! out with spaces, and the text is read again. Blanking keeps every other byte where it was, so
//! positions stay those of the file; a blanked field falls back to its default, so the next
//! problem can be found and the semantic checks still run on the rest. A syntax error stops the
//! loop: what follows it cannot be read.
//!
//! [`Positions`] is a small scanner over the same text: where each key and value starts, by key
//! path (`web.limits.max_connections`, `commands.aliases["b"]`, `guard.servers[1].kind.url`),
//! and the bytes of its entry. serde_path_to_error names the path of a refused value.

use ron::error::{Error as RonError, SpannedError};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::ops::Range;

/// One problem found in the document. Line and column are 1-based; column counts chars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub col: usize,
    pub path: String,
    pub message: String,
}

/// Enough rounds for a badly broken file; each round reads the text once more.
const MAX_ROUNDS: usize = 64;

/// Nesting deeper than this is not scanned (ron refuses it too: its recursion limit is 128).
const MAX_DEPTH: usize = 128;

/// The RON options `config.ron` is read with.
fn options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// Deserialize a `T` from `text`, collecting every problem serde finds (see the module doc).
/// Returns the value read once the refused entries were blanked (when the loop got that far),
/// the problems, and the paths of the blanked entries.
pub(super) fn read<T: DeserializeOwned>(
    text: &str,
    positions: &Positions,
) -> (Option<T>, Vec<Problem>, Vec<String>) {
    let mut working = text.to_string();
    let mut problems = Vec::new();
    let mut blanked: Vec<String> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let (path, error) = match attempt::<T>(&working) {
            Ok(value) => return (Some(value), problems, blanked),
            Err(failure) => *failure,
        };
        let at = positions.offset(error.span.start.line, error.span.start.col);
        // A field missing because an earlier round blanked it is that round's problem; the
        // entry holding it goes too, so its default applies.
        if let RonError::MissingStructField { field, .. } = &error.code
            && positions
                .find(&join_field(&path, field))
                .is_some_and(|spot| blanked.contains(&spot.path))
            && let Some(spot) = positions.find(&path)
            && !blanked.contains(&spot.path)
        {
            blanked.push(spot.path.clone());
            blank(&mut working, &spot.entry);
            continue;
        }
        let (full, key) = match &error.code {
            // serde_path_to_error has the refused key in the path already, or not (a key that
            // does not read as a string).
            RonError::NoSuchStructField { found, .. }
                if path == *found || path.ends_with(&format!(".{found}")) =>
            {
                (path.clone(), true)
            }
            RonError::NoSuchStructField { found, .. } => (join_field(&path, found), true),
            _ => (path.clone(), false),
        };
        // A refused value sits in the entry the path names; an error elsewhere is a syntax
        // error, whatever serde was reading at the time.
        let spot = positions.find(&full).filter(|spot| {
            !is_syntax(&error.code)
                && !spot.path.is_empty()
                && !blanked.contains(&spot.path)
                && (spot.entry.contains(&at) || spot.entry.end == at)
        });
        match spot {
            Some(spot) => {
                let (line, col) = if key { spot.key } else { spot.value };
                problems.push(Problem {
                    line,
                    col,
                    path: spot.path.clone(),
                    message: refused(&error.code, &text[spot.written.clone()]),
                });
                blanked.push(spot.path.clone());
                blank(&mut working, &spot.entry);
            }
            None => {
                // The end of the file is where it ended, not where ron last stood.
                let place = match error.code {
                    RonError::Eof => error.span.end,
                    _ => error.span.start,
                };
                problems.push(Problem {
                    line: place.line.max(1),
                    col: place.col.max(1),
                    path: String::new(),
                    message: syntax(&error.code, &working[at.min(working.len())..]),
                });
                return (None, problems, blanked);
            }
        }
    }
    (None, problems, blanked)
}

/// One read of `text`: the value, or the path serde was at and ron's error with its span.
/// (Boxed: ron's error is large, and only the failing path carries it.)
fn attempt<T: DeserializeOwned>(text: &str) -> Result<T, Box<(String, SpannedError)>> {
    let mut de = ron::Deserializer::from_str_with_options(text, &options())
        .map_err(|error| Box::new((String::new(), error)))?;
    let mut track = serde_path_to_error::Track::new();
    let result = T::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track));
    match result.and_then(|value| de.end().map(|()| value)) {
        Ok(value) => Ok(value),
        Err(error) => {
            let spanned = de.span_error(error);
            Err(Box::new((render_path(&track.path()), spanned)))
        }
    }
}

/// serde_path_to_error's path in our notation: fields and map keys joined by `.` (the scanner
/// knows map entries under both spellings), list items as `[i]`, enum variants left out
/// (`kind: SrtLiveServer(url: …)` is `kind.url`).
fn render_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => out = join_field(&out, key),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

fn join_field(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// Replace `range` with spaces, keeping line breaks (and so every position after it).
fn blank(text: &mut String, range: &Range<usize>) {
    let replaced: String = text[range.clone()]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    // Multi-byte chars become one space each: pad so later byte offsets do not move.
    let padded = format!("{replaced:<width$}", width = range.len());
    text.replace_range(range.clone(), &padded);
}

/// The message of a refused value. ron's "Expected string" does not say what it found: the
/// value as written does (shortened when long).
fn refused(error: &RonError, written: &str) -> String {
    let text = message(error);
    if !text.starts_with("expected ") || written.is_empty() {
        return text;
    }
    let mut shown: String = written.chars().take(40).collect();
    if shown.len() < written.len() {
        shown.push('…');
    }
    format!("{text}, found `{shown}`")
}

/// Errors in the text itself: no entry to blank out, nothing after them to read.
fn is_syntax(error: &RonError) -> bool {
    matches!(
        error,
        RonError::Eof
            | RonError::ExpectedComma
            | RonError::ExpectedArrayEnd
            | RonError::ExpectedMapEnd
            | RonError::ExpectedStructLikeEnd
            | RonError::ExpectedMapColon
            | RonError::ExpectedStringEnd
            | RonError::TrailingCharacters
            | RonError::UnclosedBlockComment
            | RonError::UnclosedLineComment
            | RonError::UnexpectedChar(_)
            | RonError::Utf8Error(_)
            | RonError::ExceededRecursionLimit
    )
}

/// A syntax error, with what stands where it is (ron names only what it expected).
fn syntax(error: &RonError, rest: &str) -> String {
    let expected = match error {
        RonError::ExpectedComma => "expected `,` or a closing bracket".into(),
        RonError::ExpectedArrayEnd => "expected `,` or `]`".into(),
        RonError::ExpectedMapEnd => "expected `,` or `}`".into(),
        RonError::ExpectedStructLikeEnd => "expected `,` or `)`".into(),
        RonError::ExpectedMapColon => "expected `:` after the key".into(),
        RonError::TrailingCharacters => "expected the end of the file after the `(…)`".into(),
        RonError::Eof => {
            return "unexpected end of the file (a bracket or a quote left open?)".into();
        }
        other => message(other),
    };
    let rest = rest.trim_start();
    let token: String = match rest.chars().next() {
        None => return format!("{expected}, found the end of the file"),
        Some(c) if c.is_alphanumeric() || c == '_' => rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .take(40)
            .collect(),
        Some(c) => c.to_string(),
    };
    if expected.contains("found") {
        expected
    } else {
        format!("{expected}, found `{token}`")
    }
}

/// `` `a`, `b` or `c` ``.
fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => "nothing".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// ron's error as the operator reads it: in serde's words for the data errors (ron's name the
/// Rust types, which the operator never sees), ron's own otherwise.
fn message(error: &RonError) -> String {
    match error {
        RonError::NoSuchStructField {
            expected, found, ..
        } => format!("unknown field `{found}`, expected {}", one_of(expected)),
        RonError::NoSuchEnumVariant {
            expected, found, ..
        } => format!("unknown variant `{found}`, expected {}", one_of(expected)),
        RonError::MissingStructField { field, .. } => format!("missing field `{field}`"),
        RonError::DuplicateStructField { field, .. } => format!("duplicate field `{field}`"),
        RonError::InvalidValueForType { expected, found } => {
            format!("invalid type: {found}, expected {expected}")
        }
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

/// One entry of the document: its key path as problems name it, where its key and its value
/// start (line, col), and its bytes (`key: value,`) for blanking.
#[derive(Debug, Clone)]
pub(super) struct Spot {
    pub path: String,
    pub key: (usize, usize),
    pub value: (usize, usize),
    pub entry: Range<usize>,
    /// The bytes of the value alone.
    pub written: Range<usize>,
}

/// Where each key and value of a RON text is, by key path.
#[derive(Debug, Default)]
pub(super) struct Positions {
    spots: Vec<Spot>,
    /// Key path (and the `.key` spelling of map entries) → index in `spots`.
    by_path: HashMap<String, usize>,
    /// Byte offset of each line's start, and the text, for line:col ↔ byte conversions.
    line_starts: Vec<usize>,
    text: String,
}

impl Positions {
    /// Scan `text`. Lenient: a broken text gives the spots before the break.
    pub(super) fn scan(text: &str) -> Positions {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(at, _)| at + 1));
        let mut positions = Positions {
            line_starts,
            text: text.to_string(),
            ..Positions::default()
        };
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            at: 0,
            depth: 0,
            found: Vec::new(),
        };
        scanner.document();
        for found in scanner.found {
            let spot = Spot {
                key: positions.line_col(found.key),
                value: positions.line_col(found.value),
                path: found.path,
                // A text cut off inside a string leaves the scanner past its end: clamp, so
                // the ranges always slice.
                entry: found.key.min(found.end)..found.end,
                written: found.value.min(found.value_end)..found.value_end,
            };
            let index = positions.spots.len();
            if let Some(alias) = found.alias {
                positions.by_path.entry(alias).or_insert(index);
            }
            positions.by_path.insert(spot.path.clone(), index);
            positions.spots.push(spot);
        }
        positions
    }

    /// The entry at exactly `path`.
    pub(super) fn find(&self, path: &str) -> Option<&Spot> {
        self.by_path.get(path).map(|&i| &self.spots[i])
    }

    /// Where the value at `path` starts, or that of its nearest ancestor in the text; (1, 1)
    /// when none is (a section left to its defaults).
    pub(super) fn value(&self, path: &str) -> (usize, usize) {
        // Ancestors end before a `.` or `[`; a cut inside a quoted key names no entry.
        let cuts = path
            .char_indices()
            .rev()
            .filter(|(_, c)| matches!(c, '.' | '['))
            .map(|(at, _)| at);
        std::iter::once(path.len())
            .chain(cuts)
            .filter(|&end| end > 0)
            .find_map(|end| self.find(&path[..end]))
            .map_or((1, 1), |spot| spot.value)
    }

    fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        (line, col)
    }

    /// The byte offset of a 1-based line:col (col in chars); the end of the text past it.
    fn offset(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        self.text[start..]
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(self.text.len(), |(at, _)| start + at)
    }
}

/// An entry as the scanner finds it, in byte offsets.
struct Found {
    path: String,
    alias: Option<String>,
    key: usize,
    value: usize,
    value_end: usize,
    end: usize,
}

/// A recursive walk over RON's brackets, strings and comments that notes where each entry is.
/// It never fails: on something it does not expect it moves one char on.
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
    found: Vec<Found>,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.at + ahead).copied()
    }

    /// Move one char on (a whole UTF-8 sequence).
    fn bump(&mut self) {
        self.at += 1;
        while self.peek().is_some_and(|b| b & 0xC0 == 0x80) {
            self.at += 1;
        }
    }

    fn skip_ws(&mut self) {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(b), _) if b.is_ascii_whitespace() => self.at += 1,
                (Some(b'/'), Some(b'/')) => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.at += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    self.at += 2;
                    let mut open = 1;
                    while open > 0 && self.peek().is_some() {
                        match (self.peek(), self.peek_at(1)) {
                            (Some(b'/'), Some(b'*')) => (open, self.at) = (open + 1, self.at + 2),
                            (Some(b'*'), Some(b'/')) => (open, self.at) = (open - 1, self.at + 2),
                            _ => self.at += 1,
                        }
                    }
                }
                _ => return,
            }
        }
    }

    fn document(&mut self) {
        self.skip_ws();
        // Inner attributes: `#![enable(implicit_some)]`.
        while self.peek() == Some(b'#') {
            while self.peek().is_some_and(|b| b != b']') {
                self.at += 1;
            }
            self.at += 1;
            self.skip_ws();
        }
        let start = self.at;
        self.value("", "");
        self.found.push(Found {
            path: String::new(),
            alias: None,
            key: start,
            value: start,
            value_end: self.at.min(self.bytes.len()),
            end: self.at.min(self.bytes.len()),
        });
    }

    /// The value starting here (whitespace skipped), whose entries sit under `path`, also
    /// spelled `alias` (map keys written as fields, as serde_path_to_error names them).
    fn value(&mut self, path: &str, alias: &str) {
        if self.depth >= MAX_DEPTH {
            self.at = self.bytes.len();
            return;
        }
        self.depth += 1;
        match self.peek() {
            Some(b'(') => self.entries(path, alias, b')'),
            Some(b'[') => self.entries(path, alias, b']'),
            Some(b'{') => self.entries(path, alias, b'}'),
            Some(b'"') => {
                self.string();
            }
            Some(b'\'') => self.char_literal(),
            Some(b'r') if matches!(self.peek_at(1), Some(b'#' | b'"')) => self.raw_string(),
            Some(b) if is_ident_start(b) => {
                self.ident();
                match self.peek() {
                    // `b"bytes"`, `b'x'`.
                    Some(b'"') => {
                        self.string();
                    }
                    Some(b'\'') => self.char_literal(),
                    _ => {
                        self.skip_ws();
                        if self.peek() == Some(b'(') {
                            self.wrapped(path, alias);
                        }
                    }
                }
            }
            Some(_) => {
                // A number or anything else: up to the next delimiter.
                while self
                    .peek()
                    .is_some_and(|b| !b.is_ascii_whitespace() && !b",:()[]{}/\"".contains(&b))
                {
                    self.bump();
                }
            }
            None => {}
        }
        self.depth -= 1;
    }

    /// The parentheses after a name: `Variant(field: …)` holds fields of this value;
    /// `Some(…)` and newtypes hold the value itself.
    fn wrapped(&mut self, path: &str, alias: &str) {
        let open = self.at;
        self.at += 1;
        self.skip_ws();
        if self.field_name().is_some() {
            self.at = open;
            self.entries(path, alias, b')');
            return;
        }
        self.value(path, alias);
        // Anything after the first value (a tuple variant's others) is only stepped over.
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(b']' | b'}') => return,
                Some(b')') => {
                    self.at += 1;
                    return;
                }
                Some(b',') => self.at += 1,
                Some(_) => {
                    let before = self.at;
                    self.value(path, alias);
                    if self.at == before {
                        self.bump();
                    }
                }
            }
        }
    }

    fn ident(&mut self) {
        if self.peek() == Some(b'r') && self.peek_at(1) == Some(b'#') {
            self.at += 2;
        }
        while self.peek().is_some_and(is_ident_char) {
            self.at += 1;
        }
    }

    /// A `"…"` string, its escapes resolved (map keys are matched by their value).
    fn string(&mut self) -> String {
        self.at += 1;
        let mut out = String::new();
        while let Some(b) = self.peek() {
            match b {
                b'"' => break,
                b'\\' => {
                    self.at += 1;
                    match self.peek() {
                        Some(b'n') => out.push('\n'),
                        Some(b't') => out.push('\t'),
                        Some(b'r') => out.push('\r'),
                        Some(b'0') => out.push('\0'),
                        Some(_) => {
                            let from = self.at;
                            self.bump();
                            out.push_str(self.text(from..self.at));
                            continue;
                        }
                        None => {}
                    }
                    self.bump();
                }
                _ => {
                    let from = self.at;
                    self.bump();
                    out.push_str(self.text(from..self.at));
                }
            }
        }
        self.at += 1;
        out
    }

    fn raw_string(&mut self) {
        self.at += 1;
        let mut hashes = 0;
        while self.peek() == Some(b'#') {
            hashes += 1;
            self.at += 1;
        }
        self.at += 1;
        while self.peek().is_some() {
            if self.peek() == Some(b'"') && (1..=hashes).all(|i| self.peek_at(i) == Some(b'#')) {
                self.at += 1 + hashes;
                return;
            }
            self.bump();
        }
    }

    fn char_literal(&mut self) {
        self.at += 1;
        while let Some(b) = self.peek() {
            self.bump();
            match b {
                b'\\' => self.bump(),
                b'\'' => return,
                _ => {}
            }
        }
    }

    fn text(&self, range: Range<usize>) -> &str {
        std::str::from_utf8(self.bytes.get(range).unwrap_or_default()).unwrap_or("")
    }

    /// Whether `ident:` (not `ident::`) starts here: a struct field.
    fn field_name(&self) -> Option<(String, usize)> {
        let mut end = self.at;
        if self.bytes.get(end) == Some(&b'r') && self.bytes.get(end + 1) == Some(&b'#') {
            end += 2;
        }
        let name_start = end;
        if !self.bytes.get(end).copied().is_some_and(is_ident_start) {
            return None;
        }
        while self.bytes.get(end).copied().is_some_and(is_ident_char) {
            end += 1;
        }
        let name = self.text(name_start..end).to_string();
        while self.bytes.get(end).is_some_and(u8::is_ascii_whitespace) {
            end += 1;
        }
        (self.bytes.get(end) == Some(&b':') && self.bytes.get(end + 1) != Some(&b':'))
            .then_some((name, end + 1))
    }

    /// The entries of `(…)`, `[…]` or `{…}` up to `close`.
    fn entries(&mut self, path: &str, alias: &str, close: u8) {
        self.at += 1;
        let mut index = 0;
        loop {
            self.skip_ws();
            let start = self.at;
            match self.peek() {
                None => return,
                Some(b) if b == close => {
                    self.at += 1;
                    return;
                }
                Some(b')' | b']' | b'}') => {
                    // A bracket that closes something else: let the caller see it.
                    return;
                }
                _ => {}
            }
            let (child, child_alias) =
                if let Some((name, after)) = (close == b')').then(|| self.field_name()).flatten() {
                    self.at = after;
                    (join_field(path, &name), join_field(alias, &name))
                } else if close == b'}' {
                    let key = if self.peek() == Some(b'"') {
                        self.string()
                    } else {
                        let from = self.at;
                        self.value(path, alias);
                        self.text(from..self.at).to_string()
                    };
                    self.skip_ws();
                    if self.peek() == Some(b':') {
                        self.at += 1;
                    }
                    (format!("{path}[{key:?}]"), join_field(alias, &key))
                } else {
                    index += 1;
                    (
                        format!("{path}[{}]", index - 1),
                        format!("{alias}[{}]", index - 1),
                    )
                };
            self.skip_ws();
            let value = self.at;
            self.value(&child, &child_alias);
            let value_end = self.at.min(self.bytes.len());
            self.skip_ws();
            if self.peek() == Some(b',') {
                self.at += 1;
            }
            let end = self.at.min(self.bytes.len());
            self.found.push(Found {
                alias: (child_alias != child).then_some(child_alias),
                path: child,
                key: start,
                value,
                value_end,
                end,
            });
            if self.at == start {
                self.bump();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the key and the value of `path` start, and its entry as written.
    fn at(text: &str, path: &str) -> Option<[String; 3]> {
        let positions = Positions::scan(text);
        positions.find(path).map(|spot| {
            [
                format!("{:?}", spot.key),
                format!("{:?}", spot.value),
                text[spot.entry.clone()].trim().to_string(),
            ]
        })
    }

    #[test]
    fn the_scanner_finds_fields_map_entries_list_items_and_variant_fields() {
        let text = "(\n  web: Some((bind: \"x\", limits: (max_connections: 10))),\n  aliases: {\"b\": \"brb\", \"a\\\"q\": r#\"x\"#},\n  servers: [(name: \"a\"), (kind: Srt(url: 'u'))], // c: 1\n  /* d: 2 */ e: 3.5,\n)";
        assert_eq!(
            at(text, "web.limits.max_connections"),
            Some(["(2, 34)", "(2, 51)", "max_connections: 10"].map(String::from))
        );
        assert_eq!(
            at(text, "aliases[\"b\"]"),
            Some(["(3, 13)", "(3, 18)", "\"b\": \"brb\","].map(String::from))
        );
        assert_eq!(at(text, "aliases.b").unwrap()[1], "(3, 18)");
        assert!(at(text, "aliases[\"a\\\"q\"]").is_some());
        assert_eq!(at(text, "servers[1].kind.url").unwrap()[1], "(4, 42)");
        assert_eq!(at(text, "e").unwrap()[0], "(5, 14)");
        assert!(at(text, "c").is_none() && at(text, "d").is_none());
    }

    #[test]
    fn a_value_without_an_entry_of_its_own_is_placed_at_its_nearest_ancestor() {
        let positions = Positions::scan("(\n  power: (host: \"pc\"),\n)");
        assert_eq!(positions.value("power.mac"), (2, 10));
        assert_eq!(positions.value("services.units"), (1, 1));
        let keyed = Positions::scan("(units: {\"a.b[c\": 1})");
        assert_eq!(keyed.value("units[\"a.b[c\"].x"), (1, 19));
    }

    #[test]
    fn blanking_keeps_every_position() {
        let mut text = "(a: \"é\",\n b: 1)".to_string();
        blank(&mut text, &(1..9));
        assert_eq!(text.len(), "(a: \"é\",\n b: 1)".len());
        assert_eq!(text.find('b'), Some(11));
    }
}
