//! A position-keeping RON reader with a serde `Deserializer` that reports every problem at once.
//!
//! `config.ron` is written by hand, so it tends to contain several mistakes at a time. serde (and
//! the `ron` crate) stop at the first error, which turns fixing a config into a slow
//! edit-run-edit loop. This module parses the RON text itself into a small node tree that
//! remembers where every value starts (line and column, 1-based, columns counted in chars) and
//! its key path (`web.bind`, `commands.aliases["b"]`, `servers[2]`), then deserializes a `T` from
//! that tree with a custom serde `Deserializer`.
//!
//! Every deserialization error is tagged with the position and path of the node that caused it.
//! [`from_str`] runs a recovery loop: it records the error, removes the offending entry (struct
//! field, map entry or list element) from the tree and tries again, so that fields with
//! `#[serde(default)]` fall back to their defaults and the next problem can be found. All
//! problems are then returned together, sorted by position.
//!
//! Syntax errors are not recovered from: the first one is reported alone.
//!
//! The reader always behaves as if RON's `implicit_some` extension is enabled: a bare value where
//! an `Option` is expected means `Some(value)`. Inner attributes like
//! `#![enable(implicit_some)]` are accepted and ignored.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, Expected, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};

/// One problem found in the document. Line and column are 1-based; column counts chars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub col: usize,
    pub path: String,
    pub message: String,
}

/// Where each value of a parsed document starts, by key path, for semantic checks done after
/// deserialization.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    map: BTreeMap<String, (usize, usize)>,
}

impl Positions {
    /// Position of the value at `path` (e.g. "web.bind", "commands.aliases[\"b\"]",
    /// "servers[2].url"), or of the nearest ancestor that exists; (1,1) if none.
    pub fn find(&self, path: &str) -> (usize, usize) {
        let mut current = Some(path);
        while let Some(p) = current {
            if let Some(pos) = self.map.get(p) {
                return *pos;
            }
            current = parent_path(p);
        }
        (1, 1)
    }

    fn from_tree(root: &Node) -> Self {
        let mut positions = Positions::default();
        positions.collect(root);
        positions
    }

    fn collect(&mut self, node: &Node) {
        self.map
            .entry(node.path.clone())
            .or_insert((node.line, node.col));
        match &node.kind {
            Kind::Some(inner) => self.collect(inner),
            Kind::List(items) | Kind::Tuple { items, .. } => {
                for item in items {
                    self.collect(item);
                }
            }
            Kind::Struct { fields, .. } => {
                for field in fields {
                    self.collect(&field.value);
                }
            }
            Kind::Map(entries) => {
                for (_, value) in entries {
                    self.collect(value);
                }
            }
            _ => {}
        }
    }
}

/// The path of the parent of `path` (`a.b[3]` -> `a.b` -> `a` -> ``), or `None` for the root.
fn parent_path(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let mut last = 0;
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in path.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' if depth > 0 => quote = Some(c),
            '[' => {
                if depth == 0 {
                    last = i;
                }
                depth += 1;
            }
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => last = i,
            _ => {}
        }
    }
    Some(&path[..last])
}

/// Parse `text` and deserialize a `T`, collecting every problem:
/// - a syntax error: Err(vec![that one problem]) (recovery from syntax errors is not required);
/// - otherwise deserialization errors (unknown field, wrong type, invalid value, bad enum
///   variant…) are collected by the recovery loop, and all of them are returned together.
#[cfg(test)]
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<(T, Positions), Vec<Problem>> {
    match from_str_partial(text) {
        (Some(parsed), problems) if problems.is_empty() => Ok(parsed),
        (_, problems) => Err(problems),
    }
}

/// Like [`from_str`], but also returns the value deserialized once the problem entries were
/// removed (when recovery got that far), so semantic checks can run on the rest of the document
/// in the same pass. The problems are sorted; a value with an empty problem list is clean.
pub fn from_str_partial<T: DeserializeOwned>(text: &str) -> (Option<(T, Positions)>, Vec<Problem>) {
    let mut root = match Parser::new(text).parse_document() {
        Ok(root) => root,
        Err(problem) => return (None, vec![problem]),
    };
    let mut problems: Vec<Problem> = Vec::new();
    // Paths of the entries removed from the tree by earlier iterations.
    let mut removed: HashSet<String> = HashSet::new();

    for _ in 0..MAX_RECOVERY_ITERATIONS {
        let error = match T::deserialize(De::new(&root)) {
            Ok(value) => {
                problems.sort_by_key(|p| (p.line, p.col));
                problems.dedup();
                return (Some((value, Positions::from_tree(&root))), problems);
            }
            Err(error) => error.at_node(&root),
        };
        let Some(at) = error.at else { break };
        // A field reported missing only because we removed it earlier is not a new problem.
        let consequence = error
            .missing_field
            .as_deref()
            .is_some_and(|field| removed.contains(&join_field(&at.path, field)));
        if !consequence {
            problems.push(Problem {
                line: at.line,
                col: at.col,
                path: at.path.clone(),
                message: error.message,
            });
        }
        match remove_entry(&mut root, at.id) {
            Found::Removed(path) => {
                removed.insert(path);
            }
            Found::Here | Found::No => break,
        }
    }

    if problems.is_empty() {
        // Only reachable if the iteration limit was hit without recording anything.
        problems.push(Problem {
            line: 1,
            col: 1,
            path: String::new(),
            message: "too many problems".to_owned(),
        });
    }
    problems.sort_by_key(|p| (p.line, p.col));
    problems.dedup();
    (None, problems)
}

const MAX_RECOVERY_ITERATIONS: usize = 200;
const MAX_DEPTH: usize = 128;

// ---------------------------------------------------------------------------------------------
// Node tree
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Node {
    /// Unique within one document; used to find the node again after the tree was edited.
    id: usize,
    line: usize,
    col: usize,
    /// Char offsets of the value in the source (end exclusive).
    start: usize,
    end: usize,
    path: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    /// Position of the field name.
    line: usize,
    col: usize,
    value: Node,
}

#[derive(Debug, Clone)]
enum Kind {
    Unit,
    Bool(bool),
    Int(i128),
    Float(f64),
    Char(char),
    Str(String),
    /// A bare identifier: unit variant or unit struct.
    Ident(String),
    None,
    Some(Box<Node>),
    List(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// `Name(field: value, …)`, `(field: value, …)` or `Name()`.
    Struct {
        name: Option<String>,
        fields: Vec<Field>,
    },
    /// `Name(a, b)` or `(a, b)`.
    Tuple {
        name: Option<String>,
        items: Vec<Node>,
    },
}

fn join_field(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

enum Found {
    /// The node is not in this subtree.
    No,
    /// This subtree is the node, and the caller must remove it if it can.
    Here,
    /// The entry holding the node was removed; its path.
    Removed(String),
}

/// Remove the struct field, map entry or list element that contains the node with `id`
/// (going up through `Some(…)` and tuples, which cannot lose an element).
fn remove_entry(node: &mut Node, id: usize) -> Found {
    if node.id == id {
        return Found::Here;
    }
    match &mut node.kind {
        Kind::Some(inner) => remove_entry(inner, id),
        Kind::Tuple { items, .. } => {
            for item in items {
                match remove_entry(item, id) {
                    Found::No => {}
                    other => return other,
                }
            }
            Found::No
        }
        Kind::List(items) => {
            let mut hit = None;
            for (i, item) in items.iter_mut().enumerate() {
                match remove_entry(item, id) {
                    Found::No => {}
                    Found::Here => {
                        hit = Some(i);
                        break;
                    }
                    removed => return removed,
                }
            }
            match hit {
                Some(i) => Found::Removed(items.remove(i).path),
                None => Found::No,
            }
        }
        Kind::Struct { fields, .. } => {
            let mut hit = None;
            for (i, field) in fields.iter_mut().enumerate() {
                match remove_entry(&mut field.value, id) {
                    Found::No => {}
                    Found::Here => {
                        hit = Some(i);
                        break;
                    }
                    removed => return removed,
                }
            }
            match hit {
                Some(i) => Found::Removed(fields.remove(i).value.path),
                None => Found::No,
            }
        }
        Kind::Map(entries) => {
            let mut hit = None;
            for (i, (key, value)) in entries.iter_mut().enumerate() {
                let found = match remove_entry(key, id) {
                    Found::No => remove_entry(value, id),
                    other => other,
                };
                match found {
                    Found::No => {}
                    Found::Here => {
                        hit = Some(i);
                        break;
                    }
                    removed => return removed,
                }
            }
            match hit {
                Some(i) => Found::Removed(entries.remove(i).1.path),
                None => Found::No,
            }
        }
        _ => Found::No,
    }
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Mark {
    pos: usize,
    line: usize,
    col: usize,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
    next_id: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_raw_ident_char(c: char) -> bool {
    is_ident_char(c) || matches!(c, '.' | '+' | '-')
}

impl Parser {
    fn new(text: &str) -> Self {
        Parser {
            // A leading byte-order mark is not part of the document.
            chars: text
                .strip_prefix('\u{feff}')
                .unwrap_or(text)
                .chars()
                .collect(),
            pos: 0,
            line: 1,
            col: 1,
            next_id: 0,
        }
    }

    // --- low level -----------------------------------------------------------------------

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            line: self.line,
            col: self.col,
        }
    }

    fn reset(&mut self, mark: Mark) {
        self.pos = mark.pos;
        self.line = mark.line;
        self.col = mark.col;
    }

    /// Description of what is at the current position, for "found …" messages.
    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("{c:?}"),
            None => "end of file".to_owned(),
        }
    }

    fn error_at(mark: Mark, path: &str, message: impl Into<String>) -> Problem {
        Problem {
            line: mark.line,
            col: mark.col,
            path: path.to_owned(),
            message: message.into(),
        }
    }

    fn error_here(&self, path: &str, message: impl Into<String>) -> Problem {
        Self::error_at(self.mark(), path, message)
    }

    fn eof_inside(&self, path: &str, what: &str, open: Mark) -> Problem {
        self.error_here(
            path,
            format!(
                "unexpected end of file inside {what} (opened at line {}, column {})",
                open.line, open.col
            ),
        )
    }

    fn starts_with_word(&self, word: &str) -> bool {
        let len = word.chars().count();
        word.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
            && !self.peek_at(len).is_some_and(is_ident_char)
    }

    fn skip_ws(&mut self, path: &str) -> Result<(), Problem> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') if self.peek_at(1) == Some('/') => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                Some('/') if self.peek_at(1) == Some('*') => {
                    let start = self.mark();
                    self.bump();
                    self.bump();
                    let mut depth = 1usize;
                    while depth > 0 {
                        match (self.peek(), self.peek_at(1)) {
                            (None, _) => {
                                return Err(Self::error_at(
                                    start,
                                    path,
                                    "unterminated block comment",
                                ));
                            }
                            (Some('*'), Some('/')) => {
                                self.bump();
                                self.bump();
                                depth -= 1;
                            }
                            (Some('/'), Some('*')) => {
                                self.bump();
                                self.bump();
                                depth += 1;
                            }
                            _ => {
                                self.bump();
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn new_node(&mut self, start: Mark, path: &str, kind: Kind) -> Node {
        let id = self.next_id;
        self.next_id += 1;
        Node {
            id,
            line: start.line,
            col: start.col,
            start: start.pos,
            end: self.pos,
            path: path.to_owned(),
            kind,
        }
    }

    // --- identifiers ---------------------------------------------------------------------

    /// Read a plain identifier; the current char must be an identifier start.
    fn read_ident(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if !is_ident_char(c) {
                break;
            }
            name.push(c);
            self.bump();
        }
        name
    }

    fn at_raw_ident(&self) -> bool {
        self.peek() == Some('r')
            && self.peek_at(1) == Some('#')
            && self.peek_at(2).is_some_and(is_raw_ident_char)
    }

    /// Read `r#name`; the reader must be at a raw identifier.
    fn read_raw_ident(&mut self) -> String {
        self.bump();
        self.bump();
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if !is_raw_ident_char(c) {
                break;
            }
            name.push(c);
            self.bump();
        }
        name
    }

    /// Read a field name (plain or raw identifier) if there is one.
    fn try_field_name(&mut self) -> Option<String> {
        if self.at_raw_ident() {
            Some(self.read_raw_ident())
        } else if self.peek().is_some_and(is_ident_start) {
            Some(self.read_ident())
        } else {
            None
        }
    }

    /// After `(`: is the first thing inside `identifier :`?
    fn looks_like_field(&mut self) -> bool {
        let mark = self.mark();
        let result =
            self.try_field_name().is_some() && self.skip_ws("").is_ok() && self.peek() == Some(':');
        self.reset(mark);
        result
    }

    // --- document ------------------------------------------------------------------------

    fn parse_document(&mut self) -> Result<Node, Problem> {
        self.skip_ws("")?;
        while self.peek() == Some('#') {
            self.parse_attribute()?;
            self.skip_ws("")?;
        }
        if self.peek().is_none() {
            return Err(self.error_here("", "expected a value, found end of file"));
        }
        let root = self.parse_value("", 0)?;
        self.skip_ws("")?;
        if self.peek().is_some() {
            return Err(self.error_here(
                "",
                format!(
                    "expected end of file after the top-level value, found {}",
                    self.found()
                ),
            ));
        }
        Ok(root)
    }

    /// `#![enable(implicit_some, …)]`, accepted and ignored.
    fn parse_attribute(&mut self) -> Result<(), Problem> {
        let open = self.mark();
        self.bump();
        if self.peek() != Some('!') {
            return Err(self.error_here(
                "",
                format!(
                    "expected '!' after '#' in an inner attribute, found {}",
                    self.found()
                ),
            ));
        }
        self.bump();
        self.skip_ws("")?;
        if self.peek() != Some('[') {
            return Err(self.error_here(
                "",
                format!("expected '[' after '#!', found {}", self.found()),
            ));
        }
        self.bump();
        self.skip_ws("")?;
        if !self.peek().is_some_and(is_ident_start) {
            return Err(self.error_here(
                "",
                format!("expected an attribute name, found {}", self.found()),
            ));
        }
        self.read_ident();
        self.skip_ws("")?;
        if self.peek() == Some('(') {
            self.bump();
            loop {
                self.skip_ws("")?;
                match self.peek() {
                    Some(')') => {
                        self.bump();
                        break;
                    }
                    None => return Err(self.eof_inside("", "an attribute", open)),
                    Some(c) if is_ident_start(c) => {
                        self.read_ident();
                        self.skip_ws("")?;
                        match self.peek() {
                            Some(',') => {
                                self.bump();
                            }
                            Some(')') => {
                                self.bump();
                                break;
                            }
                            None => return Err(self.eof_inside("", "an attribute", open)),
                            Some(_) => {
                                return Err(self.error_here(
                                    "",
                                    format!(
                                        "expected ',' or ')' in an attribute, found {}",
                                        self.found()
                                    ),
                                ));
                            }
                        }
                    }
                    Some(_) => {
                        return Err(self.error_here(
                            "",
                            format!("expected an extension name or ')', found {}", self.found()),
                        ));
                    }
                }
            }
            self.skip_ws("")?;
        }
        match self.peek() {
            Some(']') => {
                self.bump();
                Ok(())
            }
            None => Err(self.eof_inside("", "an attribute", open)),
            Some(_) => Err(self.error_here(
                "",
                format!(
                    "expected ']' to close the attribute, found {}",
                    self.found()
                ),
            )),
        }
    }

    // --- values --------------------------------------------------------------------------

    /// Parse one value; the reader must be at its first char (whitespace already skipped).
    fn parse_value(&mut self, path: &str, depth: usize) -> Result<Node, Problem> {
        if depth > MAX_DEPTH {
            return Err(self.error_here(
                path,
                format!("values are nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        let start = self.mark();
        let kind = match self.peek() {
            None => return Err(self.error_here(path, "expected a value, found end of file")),
            Some('(') => self.parse_paren(None, path, depth)?,
            Some('[') => self.parse_list(path, depth)?,
            Some('{') => self.parse_map(path, depth)?,
            Some('"') => Kind::Str(self.parse_string(path)?),
            Some('\'') => Kind::Char(self.parse_char(path)?),
            Some('r') if matches!(self.peek_at(1), Some('"' | '#')) => {
                let mut hashes = 0;
                while self.peek_at(1 + hashes) == Some('#') {
                    hashes += 1;
                }
                if self.peek_at(1 + hashes) == Some('"') {
                    Kind::Str(self.parse_raw_string(path)?)
                } else if self.at_raw_ident() {
                    let name = self.read_raw_ident();
                    self.ident_value(name, true, path, depth)?
                } else {
                    return Err(self.error_here(
                        path,
                        "expected a raw string (r\"…\", r#\"…\"#) or a raw identifier (r#name)",
                    ));
                }
            }
            Some(c) if c.is_ascii_digit() || matches!(c, '+' | '-' | '.') => {
                self.parse_number(path)?
            }
            Some(c) if is_ident_start(c) => {
                let name = self.read_ident();
                self.ident_value(name, false, path, depth)?
            }
            Some(_) => {
                return Err(
                    self.error_here(path, format!("expected a value, found {}", self.found()))
                );
            }
        };
        Ok(self.new_node(start, path, kind))
    }

    /// What an identifier at the start of a value means: a keyword, `Some(…)`, a named
    /// struct or tuple `Name(…)`, or a bare identifier (unit variant / unit struct).
    fn ident_value(
        &mut self,
        name: String,
        raw: bool,
        path: &str,
        depth: usize,
    ) -> Result<Kind, Problem> {
        if !raw {
            match name.as_str() {
                "true" => return Ok(Kind::Bool(true)),
                "false" => return Ok(Kind::Bool(false)),
                "None" => return Ok(Kind::None),
                "inf" => return Ok(Kind::Float(f64::INFINITY)),
                "NaN" => return Ok(Kind::Float(f64::NAN)),
                _ => {}
            }
        }
        let after_name = self.mark();
        self.skip_ws(path)?;
        if self.peek() != Some('(') {
            self.reset(after_name);
            return Ok(Kind::Ident(name));
        }
        if !raw && name == "Some" {
            return self.parse_some(path, depth);
        }
        self.parse_paren(Some(name), path, depth)
    }

    fn parse_some(&mut self, path: &str, depth: usize) -> Result<Kind, Problem> {
        let open = self.mark();
        self.bump();
        self.skip_ws(path)?;
        match self.peek() {
            None => return Err(self.eof_inside(path, "`Some(…)`", open)),
            Some(')') => {
                return Err(self.error_here(path, "expected a value inside `Some(…)`, found ')'"));
            }
            Some(_) => {}
        }
        let inner = self.parse_value(path, depth + 1)?;
        self.skip_ws(path)?;
        if self.peek() == Some(',') {
            self.bump();
            self.skip_ws(path)?;
        }
        match self.peek() {
            Some(')') => {
                self.bump();
                Ok(Kind::Some(Box::new(inner)))
            }
            None => Err(self.eof_inside(path, "`Some(…)`", open)),
            Some(_) => Err(self.error_here(
                path,
                format!("expected ')' to close `Some(…)`, found {}", self.found()),
            )),
        }
    }

    /// `(…)` after an optional name: unit, struct or tuple.
    fn parse_paren(
        &mut self,
        name: Option<String>,
        path: &str,
        depth: usize,
    ) -> Result<Kind, Problem> {
        let open = self.mark();
        self.bump();
        self.skip_ws(path)?;
        match self.peek() {
            None => return Err(self.eof_inside(path, "parentheses", open)),
            Some(')') => {
                self.bump();
                return Ok(match name {
                    None => Kind::Unit,
                    Some(name) => Kind::Struct {
                        name: Some(name),
                        fields: Vec::new(),
                    },
                });
            }
            Some(_) => {}
        }
        if self.looks_like_field() {
            let fields = self.parse_struct_body(path, depth, open)?;
            Ok(Kind::Struct { name, fields })
        } else {
            let items = self.parse_tuple_body(path, depth, open)?;
            Ok(Kind::Tuple { name, items })
        }
    }

    fn parse_struct_body(
        &mut self,
        path: &str,
        depth: usize,
        open: Mark,
    ) -> Result<Vec<Field>, Problem> {
        let mut fields = Vec::new();
        loop {
            self.skip_ws(path)?;
            let key = self.mark();
            let name = match self.peek() {
                None => return Err(self.eof_inside(path, "a struct", open)),
                Some(')') => {
                    self.bump();
                    return Ok(fields);
                }
                Some(_) => match self.try_field_name() {
                    Some(name) => name,
                    None => {
                        return Err(self.error_here(
                            path,
                            format!("expected a field name or ')', found {}", self.found()),
                        ));
                    }
                },
            };
            self.skip_ws(path)?;
            match self.peek() {
                Some(':') => {
                    self.bump();
                }
                None => return Err(self.eof_inside(path, "a struct", open)),
                Some(_) => {
                    return Err(self.error_here(
                        path,
                        format!(
                            "expected ':' after the field name `{name}`, found {}",
                            self.found()
                        ),
                    ));
                }
            }
            self.skip_ws(path)?;
            if self.peek().is_none() {
                return Err(self.eof_inside(path, "a struct", open));
            }
            let field_path = join_field(path, &name);
            let value = self.parse_value(&field_path, depth + 1)?;
            fields.push(Field {
                name,
                line: key.line,
                col: key.col,
                value,
            });
            self.skip_ws(path)?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(')') => {
                    self.bump();
                    return Ok(fields);
                }
                None => return Err(self.eof_inside(path, "a struct", open)),
                Some(_) => {
                    return Err(self.error_here(
                        path,
                        format!(
                            "expected ',' or ')' after a struct field, found {}",
                            self.found()
                        ),
                    ));
                }
            }
        }
    }

    fn parse_tuple_body(
        &mut self,
        path: &str,
        depth: usize,
        open: Mark,
    ) -> Result<Vec<Node>, Problem> {
        let mut items = Vec::new();
        loop {
            self.skip_ws(path)?;
            match self.peek() {
                None => return Err(self.eof_inside(path, "a tuple", open)),
                Some(')') => {
                    self.bump();
                    return Ok(items);
                }
                Some(_) => {}
            }
            let item_path = format!("{path}[{}]", items.len());
            items.push(self.parse_value(&item_path, depth + 1)?);
            self.skip_ws(path)?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(')') => {
                    self.bump();
                    return Ok(items);
                }
                None => return Err(self.eof_inside(path, "a tuple", open)),
                Some(_) => {
                    return Err(self.error_here(
                        path,
                        format!(
                            "expected ',' or ')' after a tuple element, found {}",
                            self.found()
                        ),
                    ));
                }
            }
        }
    }

    fn parse_list(&mut self, path: &str, depth: usize) -> Result<Kind, Problem> {
        let open = self.mark();
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_ws(path)?;
            match self.peek() {
                None => return Err(self.eof_inside(path, "a list", open)),
                Some(']') => {
                    self.bump();
                    return Ok(Kind::List(items));
                }
                Some(_) => {}
            }
            let item_path = format!("{path}[{}]", items.len());
            items.push(self.parse_value(&item_path, depth + 1)?);
            self.skip_ws(path)?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {
                    self.bump();
                    return Ok(Kind::List(items));
                }
                None => return Err(self.eof_inside(path, "a list", open)),
                Some(_) => {
                    return Err(self.error_here(
                        path,
                        format!(
                            "expected ',' or ']' after a list element, found {}",
                            self.found()
                        ),
                    ));
                }
            }
        }
    }

    fn parse_map(&mut self, path: &str, depth: usize) -> Result<Kind, Problem> {
        let open = self.mark();
        self.bump();
        let mut entries = Vec::new();
        loop {
            self.skip_ws(path)?;
            match self.peek() {
                None => return Err(self.eof_inside(path, "a map", open)),
                Some('}') => {
                    self.bump();
                    return Ok(Kind::Map(entries));
                }
                Some(_) => {}
            }
            let mut key = self.parse_value(path, depth + 1)?;
            self.skip_ws(path)?;
            match self.peek() {
                Some(':') => {
                    self.bump();
                }
                None => return Err(self.eof_inside(path, "a map", open)),
                Some(_) => {
                    return Err(self.error_here(
                        path,
                        format!("expected ':' after a map key, found {}", self.found()),
                    ));
                }
            }
            self.skip_ws(path)?;
            if self.peek().is_none() {
                return Err(self.eof_inside(path, "a map", open));
            }
            let entry_path = match &key.kind {
                Kind::Str(s) => format!("{path}[{s:?}]"),
                _ => {
                    let written: String = self.chars[key.start..key.end].iter().collect();
                    format!("{path}[{written}]")
                }
            };
            key.path.clone_from(&entry_path);
            let value = self.parse_value(&entry_path, depth + 1)?;
            entries.push((key, value));
            self.skip_ws(path)?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {
                    self.bump();
                    return Ok(Kind::Map(entries));
                }
                None => return Err(self.eof_inside(path, "a map", open)),
                Some(_) => {
                    return Err(self.error_here(
                        path,
                        format!(
                            "expected ',' or '}}' after a map entry, found {}",
                            self.found()
                        ),
                    ));
                }
            }
        }
    }

    // --- strings and chars ---------------------------------------------------------------

    fn parse_string(&mut self, path: &str) -> Result<String, Problem> {
        let open = self.mark();
        self.bump();
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err(Self::error_at(open, path, "unterminated string")),
                Some('"') => {
                    self.bump();
                    return Ok(s);
                }
                Some('\\') => s.push(self.parse_escape(path, open, "unterminated string")?),
                Some(c) => {
                    self.bump();
                    s.push(c);
                }
            }
        }
    }

    fn parse_raw_string(&mut self, path: &str) -> Result<String, Problem> {
        let open = self.mark();
        self.bump();
        let mut hashes = 0;
        while self.peek() == Some('#') {
            self.bump();
            hashes += 1;
        }
        self.bump();
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err(Self::error_at(open, path, "unterminated raw string")),
                Some('"') if (1..=hashes).all(|i| self.peek_at(i) == Some('#')) => {
                    for _ in 0..=hashes {
                        self.bump();
                    }
                    return Ok(s);
                }
                Some(c) => {
                    self.bump();
                    s.push(c);
                }
            }
        }
    }

    fn parse_char(&mut self, path: &str) -> Result<char, Problem> {
        let open = self.mark();
        self.bump();
        let c = match self.peek() {
            None => return Err(Self::error_at(open, path, "unterminated character literal")),
            Some('\'') => return Err(Self::error_at(open, path, "empty character literal")),
            Some('\\') => self.parse_escape(path, open, "unterminated character literal")?,
            Some(c) => {
                self.bump();
                c
            }
        };
        match self.peek() {
            Some('\'') => {
                self.bump();
                Ok(c)
            }
            None => Err(Self::error_at(open, path, "unterminated character literal")),
            Some(_) => Err(self.error_here(
                path,
                format!(
                    "expected ''' to close the character literal, found {}",
                    self.found()
                ),
            )),
        }
    }

    /// Parse an escape sequence; the reader must be at the backslash.
    fn parse_escape(&mut self, path: &str, open: Mark, eof_message: &str) -> Result<char, Problem> {
        let at = self.mark();
        self.bump();
        let Some(c) = self.bump() else {
            return Err(Self::error_at(open, path, eof_message));
        };
        let decoded = match c {
            '"' => '"',
            '\'' => '\'',
            '\\' => '\\',
            '/' => '/',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0' => '\0',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'x' => {
                let value = self.hex_digits(2, 2, path, open, eof_message)?;
                if value > 0x7f {
                    return Err(Self::error_at(
                        at,
                        path,
                        "invalid escape sequence: '\\x' allows at most '\\x7F'",
                    ));
                }
                char::from_u32(value).unwrap_or('\u{fffd}')
            }
            'u' => self.unicode_escape(path, open, at, eof_message)?,
            other => {
                return Err(Self::error_at(
                    at,
                    path,
                    format!("invalid escape sequence '\\{other}'"),
                ));
            }
        };
        Ok(decoded)
    }

    /// `\u{1F600}` or `\u00e9` (with `\uD83D\uDE00` surrogate pairs); the reader is after `u`.
    fn unicode_escape(
        &mut self,
        path: &str,
        open: Mark,
        at: Mark,
        eof_message: &str,
    ) -> Result<char, Problem> {
        let invalid = |message: &str| Self::error_at(at, path, message);
        if self.peek() == Some('{') {
            self.bump();
            let value = self.hex_digits(1, 6, path, open, eof_message)?;
            match self.peek() {
                Some('}') => {
                    self.bump();
                }
                None => return Err(Self::error_at(open, path, eof_message)),
                Some(_) => return Err(invalid("invalid unicode escape: expected '}'")),
            }
            return char::from_u32(value)
                .ok_or_else(|| invalid("invalid unicode escape: not a valid char"));
        }
        let high = self.hex_digits(4, 4, path, open, eof_message)?;
        if !(0xD800..0xDC00).contains(&high) {
            return char::from_u32(high)
                .ok_or_else(|| invalid("invalid unicode escape: lone surrogate"));
        }
        if self.peek() != Some('\\') || self.peek_at(1) != Some('u') {
            return Err(invalid("invalid unicode escape: lone surrogate"));
        }
        self.bump();
        self.bump();
        let low = self.hex_digits(4, 4, path, open, eof_message)?;
        if !(0xDC00..0xE000).contains(&low) {
            return Err(invalid("invalid unicode escape: lone surrogate"));
        }
        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            .ok_or_else(|| invalid("invalid unicode escape: not a valid char"))
    }

    fn hex_digits(
        &mut self,
        min: usize,
        max: usize,
        path: &str,
        open: Mark,
        eof_message: &str,
    ) -> Result<u32, Problem> {
        let mut value = 0u32;
        let mut count = 0;
        while count < max {
            let Some(digit) = self.peek().and_then(|c| c.to_digit(16)) else {
                break;
            };
            self.bump();
            value = value * 16 + digit;
            count += 1;
        }
        if count < min {
            return match self.peek() {
                None => Err(Self::error_at(open, path, eof_message)),
                Some(_) => Err(self.error_here(
                    path,
                    format!("expected a hexadecimal digit, found {}", self.found()),
                )),
            };
        }
        Ok(value)
    }

    // --- numbers -------------------------------------------------------------------------

    fn parse_number(&mut self, path: &str) -> Result<Kind, Problem> {
        let start = self.mark();
        let mut negative = false;
        let mut sign = None;
        if let Some(c @ ('+' | '-')) = self.peek() {
            negative = c == '-';
            sign = Some(c);
            self.bump();
        }
        if self.starts_with_word("inf") {
            for _ in 0..3 {
                self.bump();
            }
            return Ok(Kind::Float(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }));
        }
        if self.starts_with_word("NaN") {
            for _ in 0..3 {
                self.bump();
            }
            return Ok(Kind::Float(f64::NAN));
        }

        let radix = match (self.peek(), self.peek_at(1)) {
            (Some('0'), Some('x')) => 16,
            (Some('0'), Some('o')) => 8,
            (Some('0'), Some('b')) => 2,
            _ => 10,
        };
        if radix != 10 {
            self.bump();
            self.bump();
            let mut digits = String::new();
            while let Some(c) = self.peek() {
                if c == '_' {
                    self.bump();
                } else if c.is_digit(radix) {
                    digits.push(c);
                    self.bump();
                } else {
                    break;
                }
            }
            if digits.is_empty() {
                return Err(self.error_here(
                    path,
                    format!("expected a base-{radix} digit, found {}", self.found()),
                ));
            }
            self.check_number_end(path)?;
            return Self::integer(&digits, radix, negative)
                .map(Kind::Int)
                .ok_or_else(|| Self::error_at(start, path, "integer literal is too large"));
        }

        let mut text = String::new();
        if negative {
            text.push('-');
        }
        let mut int_digits = String::new();
        while let Some(c) = self.peek() {
            if c == '_' && !int_digits.is_empty() {
                self.bump();
            } else if c.is_ascii_digit() {
                int_digits.push(c);
                self.bump();
            } else {
                break;
            }
        }
        text.push_str(&int_digits);
        let mut is_float = false;
        if self.peek() == Some('.') {
            if int_digits.is_empty() && !self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
                return Err(match sign {
                    Some(sign) => self.error_here(
                        path,
                        format!("expected a number after '{sign}', found {}", self.found()),
                    ),
                    None => self.error_here(path, "expected a value, found '.'"),
                });
            }
            is_float = true;
            self.bump();
            text.push('.');
            while let Some(c) = self.peek() {
                if c == '_' {
                    self.bump();
                } else if c.is_ascii_digit() {
                    text.push(c);
                    self.bump();
                } else {
                    break;
                }
            }
        } else if int_digits.is_empty() {
            let sign = sign.unwrap_or('+');
            return Err(self.error_here(
                path,
                format!("expected a number after '{sign}', found {}", self.found()),
            ));
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            is_float = true;
            self.bump();
            text.push('e');
            if let Some(c @ ('+' | '-')) = self.peek() {
                text.push(c);
                self.bump();
            }
            let mut exp_digits = 0;
            while let Some(c) = self.peek() {
                if c == '_' && exp_digits > 0 {
                    self.bump();
                } else if c.is_ascii_digit() {
                    text.push(c);
                    exp_digits += 1;
                    self.bump();
                } else {
                    break;
                }
            }
            if exp_digits == 0 {
                return Err(self.error_here(
                    path,
                    format!("expected a digit in the exponent, found {}", self.found()),
                ));
            }
        }
        self.check_number_end(path)?;
        if is_float {
            text.parse::<f64>()
                .map(Kind::Float)
                .map_err(|_| Self::error_at(start, path, "invalid float literal"))
        } else {
            Self::integer(&int_digits, 10, negative)
                .map(Kind::Int)
                .ok_or_else(|| Self::error_at(start, path, "integer literal is too large"))
        }
    }

    /// A number must not run into an identifier or another dot (`12abc`, `1.2.3`).
    fn check_number_end(&self, path: &str) -> Result<(), Problem> {
        match self.peek() {
            Some(c) if is_ident_char(c) || c == '.' => {
                Err(self.error_here(path, format!("unexpected {} in a number", self.found())))
            }
            _ => Ok(()),
        }
    }

    fn integer(digits: &str, radix: u32, negative: bool) -> Option<i128> {
        let mut magnitude: u128 = 0;
        for c in digits.chars() {
            let digit = c.to_digit(radix)?;
            magnitude = magnitude
                .checked_mul(u128::from(radix))?
                .checked_add(u128::from(digit))?;
        }
        if negative {
            if magnitude == 1u128 << 127 {
                Some(i128::MIN)
            } else {
                i128::try_from(magnitude).ok().map(|m| -m)
            }
        } else {
            i128::try_from(magnitude).ok()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct At {
    line: usize,
    col: usize,
    path: String,
    id: usize,
}

/// A deserialization error, tagged with the node it belongs to by the innermost
/// deserializer method (or access) that sees it.
#[derive(Debug, Clone)]
struct Error {
    message: String,
    at: Option<At>,
    /// Set by `missing_field`, so the recovery loop can tell these apart.
    missing_field: Option<String>,
}

impl Error {
    fn new(message: String) -> Self {
        Error {
            message,
            at: None,
            missing_field: None,
        }
    }

    fn at(mut self, line: usize, col: usize, path: &str, id: usize) -> Self {
        if self.at.is_none() {
            self.at = Some(At {
                line,
                col,
                path: path.to_owned(),
                id,
            });
        }
        self
    }

    fn at_node(self, node: &Node) -> Self {
        self.at(node.line, node.col, &node.path, node.id)
    }

    /// At a struct field's name, with the field's path; removing it removes the whole field.
    fn at_key(self, field: &Field) -> Self {
        self.at(field.line, field.col, &field.value.path, field.value.id)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Error::new(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        Error {
            message: format!("missing field `{field}`"),
            at: None,
            missing_field: Some(field.to_owned()),
        }
    }
}

fn invalid_type(node: &Node, expected: &dyn Expected) -> Error {
    let description = match &node.kind {
        Kind::Ident(name) => format!("identifier `{name}`"),
        Kind::Struct { name: Some(n), .. } => format!("struct `{n}`"),
        Kind::Tuple { name: Some(n), .. } => format!("`{n}(…)`"),
        _ => String::new(),
    };
    let unexpected = match &node.kind {
        Kind::Unit => Unexpected::Unit,
        Kind::Bool(b) => Unexpected::Bool(*b),
        Kind::Int(i) => {
            if let Ok(i) = i64::try_from(*i) {
                Unexpected::Signed(i)
            } else if let Ok(u) = u64::try_from(*i) {
                Unexpected::Unsigned(u)
            } else {
                Unexpected::Other("128-bit integer")
            }
        }
        Kind::Float(f) => Unexpected::Float(*f),
        Kind::Char(c) => Unexpected::Char(*c),
        Kind::Str(s) => Unexpected::Str(s),
        Kind::None | Kind::Some(_) => Unexpected::Option,
        Kind::List(_) => Unexpected::Seq,
        Kind::Map(_) => Unexpected::Map,
        Kind::Struct { name: None, .. } => Unexpected::Other("struct"),
        Kind::Tuple { name: None, .. } => Unexpected::Other("tuple"),
        Kind::Ident(_) | Kind::Struct { .. } | Kind::Tuple { .. } => {
            Unexpected::Other(&description)
        }
    };
    de::Error::invalid_type(unexpected, expected)
}

struct ExpectedLen(usize);

impl Expected for ExpectedLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 1 {
            f.write_str("1 element")
        } else {
            write!(f, "{} elements", self.0)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deserializer
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct De<'a> {
    node: &'a Node,
    /// Ignore the struct/tuple name (the node is the content of a newtype wrapper).
    anon: bool,
}

impl<'a> De<'a> {
    fn new(node: &'a Node) -> Self {
        De { node, anon: false }
    }

    fn name(&self) -> Option<&'a str> {
        if self.anon {
            return None;
        }
        match &self.node.kind {
            Kind::Struct { name, .. } | Kind::Tuple { name, .. } => name.as_deref(),
            _ => None,
        }
    }

    fn any<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Unit => visitor.visit_unit(),
            Kind::Bool(b) => visitor.visit_bool(*b),
            Kind::Int(i) => visit_int(*i, visitor),
            Kind::Float(f) => visitor.visit_f64(*f),
            Kind::Char(c) => visitor.visit_char(*c),
            Kind::Str(s) => visitor.visit_string(s.clone()),
            Kind::Ident(name) => visitor.visit_str(name),
            Kind::None => visitor.visit_none(),
            Kind::Some(inner) => visitor.visit_some(De::new(inner)),
            Kind::List(items) | Kind::Tuple { items, .. } => visit_items(items, visitor),
            Kind::Map(entries) => visit_entries(entries, visitor),
            Kind::Struct { fields, .. } => visit_fields(fields, visitor),
        }
    }

    /// For scalar types: identifiers and compound values are wrong types outright.
    fn primitive<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Ident(_)
            | Kind::List(_)
            | Kind::Map(_)
            | Kind::Struct { .. }
            | Kind::Tuple { .. } => Err(invalid_type(self.node, &visitor)),
            _ => self.any(visitor),
        }
    }

    fn check_name(self, expected: &str, what: &str) -> Result<(), Error> {
        match self.name() {
            Some(found) if found != expected => Err(Error::new(format!(
                "expected {what} `{expected}`, found `{found}`"
            ))),
            _ => Ok(()),
        }
    }

    fn option<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::None => visitor.visit_none(),
            Kind::Some(inner) => visitor.visit_some(De::new(inner)),
            _ => visitor.visit_some(self),
        }
    }

    fn unit_struct<'de, V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Unit => visitor.visit_unit(),
            Kind::Ident(found) if found == name => visitor.visit_unit(),
            Kind::Struct { fields, .. } if fields.is_empty() => {
                self.check_name(name, "unit struct")?;
                visitor.visit_unit()
            }
            _ => Err(invalid_type(self.node, &visitor)),
        }
    }

    fn newtype_struct<'de, V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Tuple { items, .. }
                if items.len() == 1 && self.name().is_none_or(|n| n == name) =>
            {
                visitor.visit_newtype_struct(De::new(&items[0]))
            }
            Kind::Struct { .. } if self.name() == Some(name) => visitor.visit_newtype_struct(De {
                node: self.node,
                anon: true,
            }),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn seq<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::List(items) => visit_items(items, visitor),
            _ => Err(invalid_type(self.node, &visitor)),
        }
    }

    fn tuple<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Tuple { items, .. } | Kind::List(items) => visit_items(items, visitor),
            Kind::Unit => visit_items(&[], visitor),
            Kind::Struct { fields, .. } if fields.is_empty() => visit_items(&[], visitor),
            _ => Err(invalid_type(self.node, &visitor)),
        }
    }

    fn tuple_struct<'de, V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if matches!(self.node.kind, Kind::Tuple { .. } | Kind::Struct { .. }) {
            self.check_name(name, "tuple struct")?;
        }
        self.tuple(visitor)
    }

    fn map<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Map(entries) => visit_entries(entries, visitor),
            _ => Err(invalid_type(self.node, &visitor)),
        }
    }

    fn structure<'de, V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Struct { fields, .. } => {
                self.check_name(name, "struct")?;
                visit_fields(fields, visitor)
            }
            Kind::Unit => visit_fields(&[], visitor),
            _ => Err(invalid_type(self.node, &visitor)),
        }
    }

    fn enumeration<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        let (name, content) = match &node.kind {
            Kind::Ident(name) | Kind::Str(name) => (name.as_str(), Content::Unit),
            Kind::Tuple {
                name: Some(name),
                items,
            } if !self.anon => (name.as_str(), Content::Items(items)),
            Kind::Struct {
                name: Some(name),
                fields,
            } if !self.anon => (name.as_str(), Content::Fields(fields)),
            _ => return Err(invalid_type(node, &visitor)),
        };
        visitor.visit_enum(Variant {
            node,
            name,
            content,
        })
    }

    fn identifier<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Ident(name) | Kind::Str(name) => visitor.visit_str(name),
            _ => self.primitive(visitor),
        }
    }
}

fn visit_int<'de, V: Visitor<'de>>(value: i128, visitor: V) -> Result<V::Value, Error> {
    if let Ok(i) = i64::try_from(value) {
        visitor.visit_i64(i)
    } else if let Ok(u) = u64::try_from(value) {
        visitor.visit_u64(u)
    } else if let Ok(u) = u128::try_from(value) {
        visitor.visit_u128(u)
    } else {
        visitor.visit_i128(value)
    }
}

fn visit_items<'de, V: Visitor<'de>>(items: &[Node], visitor: V) -> Result<V::Value, Error> {
    let mut access = Items {
        iter: items.iter(),
        consumed: 0,
    };
    let value = visitor.visit_seq(&mut access)?;
    if access.iter.len() > 0 {
        return Err(de::Error::invalid_length(
            items.len(),
            &ExpectedLen(access.consumed),
        ));
    }
    Ok(value)
}

fn visit_entries<'de, V: Visitor<'de>>(
    entries: &[(Node, Node)],
    visitor: V,
) -> Result<V::Value, Error> {
    let mut access = Entries {
        iter: entries.iter(),
        pending: None,
    };
    visitor
        .visit_map(&mut access)
        .map_err(|e| match access.pending {
            Some((key, _)) => e.at_node(key),
            None => e,
        })
}

fn visit_fields<'de, V: Visitor<'de>>(fields: &[Field], visitor: V) -> Result<V::Value, Error> {
    let mut access = Fields {
        iter: fields.iter(),
        pending: None,
    };
    // An error raised between a key and its value (e.g. a duplicate field) belongs to the key.
    visitor
        .visit_map(&mut access)
        .map_err(|e| match access.pending {
            Some(field) => e.at_key(field),
            None => e,
        })
}

macro_rules! primitive_methods {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                let node = self.node;
                self.primitive(visitor).map_err(|e| e.at_node(node))
            }
        )*
    };
}

impl<'de> Deserializer<'de> for De<'_> {
    type Error = Error;

    primitive_methods! {
        deserialize_bool
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
        deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        self.any(visitor).map_err(|e| e.at_node(node))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        self.option(visitor).map_err(|e| e.at_node(node))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        match &node.kind {
            Kind::Unit => visitor.visit_unit(),
            _ => Err(invalid_type(node, &visitor)),
        }
        .map_err(|e| e.at_node(node))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.node;
        self.unit_struct(name, visitor).map_err(|e| e.at_node(node))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.node;
        self.newtype_struct(name, visitor)
            .map_err(|e| e.at_node(node))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        self.seq(visitor).map_err(|e| e.at_node(node))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.node;
        self.tuple(visitor).map_err(|e| e.at_node(node))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.node;
        self.tuple_struct(name, visitor)
            .map_err(|e| e.at_node(node))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        self.map(visitor).map_err(|e| e.at_node(node))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.node;
        self.structure(name, visitor).map_err(|e| e.at_node(node))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.node;
        self.enumeration(visitor).map_err(|e| e.at_node(node))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        self.identifier(visitor).map_err(|e| e.at_node(node))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        visitor.visit_unit::<Error>().map_err(|e| e.at_node(node))
    }
}

/// Deserializes a struct field name or an enum variant name.
struct KeyDe<'a>(&'a str);

impl<'de> Deserializer<'de> for KeyDe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct Items<'a> {
    iter: std::slice::Iter<'a, Node>,
    consumed: usize,
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        let Some(item) = self.iter.next() else {
            return Ok(None);
        };
        self.consumed += 1;
        seed.deserialize(De::new(item))
            .map(Some)
            .map_err(|e| e.at_node(item))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Entries<'a> {
    iter: std::slice::Iter<'a, (Node, Node)>,
    /// The entry whose key was just returned and whose value has not been asked for yet.
    pending: Option<&'a (Node, Node)>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.iter.next() else {
            return Ok(None);
        };
        self.pending = Some(entry);
        let key = &entry.0;
        seed.deserialize(De::new(key))
            .map(Some)
            .map_err(|e| e.at_node(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some((_, value)) = self.pending.take() else {
            return Err(Error::new("map value requested before its key".to_owned()));
        };
        seed.deserialize(De::new(value))
            .map_err(|e| e.at_node(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Fields<'a> {
    iter: std::slice::Iter<'a, Field>,
    /// The field whose name was just returned and whose value has not been asked for yet.
    pending: Option<&'a Field>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(field) = self.iter.next() else {
            return Ok(None);
        };
        self.pending = Some(field);
        // An unknown field is reported by the field-identifier visitor: at the field's name.
        seed.deserialize(KeyDe(&field.name))
            .map(Some)
            .map_err(|e| e.at_key(field))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some(field) = self.pending.take() else {
            return Err(Error::new(
                "struct field value requested before its name".to_owned(),
            ));
        };
        seed.deserialize(De::new(&field.value))
            .map_err(|e| e.at_node(&field.value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

enum Content<'a> {
    /// `Variant` or `"Variant"`.
    Unit,
    /// `Variant(a, b)`.
    Items(&'a [Node]),
    /// `Variant(f: v)` or `Variant()`.
    Fields(&'a [Field]),
}

struct Variant<'a> {
    node: &'a Node,
    name: &'a str,
    content: Content<'a>,
}

impl<'de, 'a> EnumAccess<'de> for Variant<'a> {
    type Error = Error;
    type Variant = Variant<'a>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let variant = seed.deserialize(KeyDe(self.name))?;
        Ok((variant, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.content {
            Content::Unit => Ok(()),
            Content::Items([]) | Content::Fields([]) => Ok(()),
            Content::Items([_]) => Err(de::Error::invalid_type(
                Unexpected::NewtypeVariant,
                &"unit variant",
            )),
            Content::Items(_) => Err(de::Error::invalid_type(
                Unexpected::TupleVariant,
                &"unit variant",
            )),
            Content::Fields(_) => Err(de::Error::invalid_type(
                Unexpected::StructVariant,
                &"unit variant",
            )),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        match self.content {
            Content::Unit => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
            Content::Items([item]) => seed.deserialize(De::new(item)).map_err(|e| e.at_node(item)),
            // `Variant(a, b)` / `Variant(f: v)` for a newtype variant holding a tuple or struct.
            Content::Items(_) | Content::Fields(_) => seed.deserialize(De {
                node: self.node,
                anon: true,
            }),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.content {
            Content::Items(items) => visit_items(items, visitor),
            Content::Fields([]) => visit_items(&[], visitor),
            Content::Unit => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
            Content::Fields(_) => Err(de::Error::invalid_type(
                Unexpected::StructVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.content {
            Content::Fields(fields) => visit_fields(fields, visitor),
            Content::Items([]) => visit_fields(&[], visitor),
            Content::Unit => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
            Content::Items(_) => Err(de::Error::invalid_type(
                Unexpected::TupleVariant,
                &"struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::{BTreeMap, HashMap};
    use std::net::SocketAddr;

    // --- test types ---------------------------------------------------------------------

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        #[serde(default)]
        locale: String,
        #[serde(default)]
        web: Option<Web>,
        #[serde(default)]
        commands: Commands,
        #[serde(default)]
        level: Level,
        #[serde(default)]
        list: Vec<u16>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Web {
        #[serde(default = "default_bind")]
        bind: SocketAddr,
        #[serde(default)]
        public_url: Option<String>,
    }

    fn default_bind() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    }

    #[derive(Deserialize, Debug, PartialEq, Default)]
    #[serde(deny_unknown_fields)]
    struct Commands {
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        aliases: BTreeMap<String, String>,
        #[serde(default)]
        cooldown_secs: u32,
    }

    #[derive(Deserialize, Debug, PartialEq, Default)]
    enum Level {
        #[default]
        Viewer,
        Moderator,
        Admin,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    enum Shape {
        Dot,
        Circle(f64),
        Rect(u32, u32),
        Sized { w: u32, h: u32 },
        Wrapped(Inner),
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Inner {
        a: u8,
        #[serde(default)]
        b: u8,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Port(u16);

    #[derive(Deserialize, Debug, PartialEq)]
    struct Marker;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Pair(u8, u8);

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    struct Renamed {
        max_bitrate: u32,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(untagged)]
    enum Loose {
        Num(i64),
        Text(String),
        List(Vec<u8>),
        Obj { a: u8 },
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Req {
        name: String,
        port: u16,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        req: Req,
        #[serde(default)]
        other: u8,
    }

    fn parse_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        text.strip_suffix('s')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| de::Error::custom(format!("`{text}` is not a duration like `10s`")))
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Timed {
        #[serde(deserialize_with = "parse_seconds")]
        timeout: u64,
        #[serde(default)]
        retries: u8,
    }

    /// Expected problem: line, column, path, message.
    type Expect<'a> = (usize, usize, &'a str, &'a str);

    // --- helpers ------------------------------------------------------------------------

    fn parse(text: &str) -> Result<Node, Problem> {
        Parser::new(text).parse_document()
    }

    fn join<T>(items: &[T], show_item: impl Fn(&T) -> String) -> String {
        items.iter().map(show_item).collect::<Vec<_>>().join(", ")
    }

    /// A compact rendering of a node tree: `Name{a: 1i}` is a struct, `Name(1i)` a tuple.
    fn show(node: &Node) -> String {
        match &node.kind {
            Kind::Unit => "()".to_owned(),
            Kind::Bool(b) => b.to_string(),
            Kind::Int(i) => format!("{i}i"),
            Kind::Float(f) => format!("{f:?}f"),
            Kind::Char(c) => format!("{c:?}"),
            Kind::Str(s) => format!("{s:?}"),
            Kind::Ident(name) => name.clone(),
            Kind::None => "None".to_owned(),
            Kind::Some(inner) => format!("Some({})", show(inner)),
            Kind::List(items) => format!("[{}]", join(items, show)),
            Kind::Map(entries) => format!(
                "{{{}}}",
                join(entries, |(k, v)| format!("{}: {}", show(k), show(v)))
            ),
            Kind::Struct { name, fields } => format!(
                "{}{{{}}}",
                name.as_deref().unwrap_or(""),
                join(fields, |f| format!("{}: {}", f.name, show(&f.value)))
            ),
            Kind::Tuple { name, items } => {
                format!("{}({})", name.as_deref().unwrap_or(""), join(items, show))
            }
        }
    }

    fn problems<T: DeserializeOwned + fmt::Debug>(
        text: &str,
    ) -> Vec<(usize, usize, String, String)> {
        match from_str::<T>(text) {
            Ok((value, _)) => panic!("expected problems, got {value:?}"),
            Err(problems) => problems
                .into_iter()
                .map(|p| (p.line, p.col, p.path, p.message))
                .collect(),
        }
    }

    fn value<T: DeserializeOwned>(text: &str) -> T {
        match from_str::<T>(text) {
            Ok((value, _)) => value,
            Err(problems) => panic!("unexpected problems for {text:?}: {problems:?}"),
        }
    }

    fn p(line: usize, col: usize, path: &str, message: &str) -> (usize, usize, String, String) {
        (line, col, path.to_owned(), message.to_owned())
    }

    // --- syntax -------------------------------------------------------------------------

    #[test]
    fn every_syntax_construct_parses_to_the_expected_tree() {
        let cases: &[(&str, &str, &str)] = &[
            ("unit", "()", "()"),
            ("true", "true", "true"),
            ("false", "false", "false"),
            ("decimal integer", "42", "42i"),
            ("negative integer", "-7", "-7i"),
            ("explicit plus", "+7", "7i"),
            ("hex integer", "0x1F", "31i"),
            ("octal integer", "0o17", "15i"),
            ("binary integer", "0b1010", "10i"),
            ("negative hex", "-0x10", "-16i"),
            ("underscores", "1_000_000", "1000000i"),
            ("u64 max", "18446744073709551615", "18446744073709551615i"),
            ("float", "1.5", "1.5f"),
            ("float exponent", "-2e3", "-2000.0f"),
            ("float negative exponent", "1.5E-3", "0.0015f"),
            ("float trailing dot", "1.", "1.0f"),
            ("float leading dot", ".5", "0.5f"),
            ("negative leading dot", "-.5", "-0.5f"),
            ("infinity", "inf", "inff"),
            ("negative infinity", "-inf", "-inff"),
            ("nan", "NaN", "NaNf"),
            ("char", "'a'", "'a'"),
            ("non-ascii char", "'é'", "'é'"),
            ("char escape", r"'\n'", r"'\n'"),
            ("char quote escape", r"'\''", r"'\''"),
            ("char unicode escape", r"'\u{1F600}'", "'😀'"),
            ("string", r#""hi there""#, r#""hi there""#),
            (
                "string escapes",
                r#""q\" b\\ n\n r\r t\t z\0 s\' u\u{e9} x\x41 j\u00e9""#,
                r#""q\" b\\ n\n r\r t\t z\0 s' ué xA jé""#,
            ),
            ("surrogate pair escape", r#""\uD83D\uDE00""#, r#""😀""#),
            ("multi-line string", "\"a\nb\"", r#""a\nb""#),
            ("raw string", r#"r"a\b""#, r#""a\\b""#),
            (
                "raw string with hash",
                r##"r#"say "hi""#"##,
                r#""say \"hi\"""#,
            ),
            (
                "raw string with two hashes",
                r###"r##"a "# b"##"###,
                r##""a \"# b""##,
            ),
            ("None", "None", "None"),
            ("Some", "Some(5)", "Some(5i)"),
            (
                "Some with spaces and trailing comma",
                "Some ( \"x\" , )",
                "Some(\"x\")",
            ),
            ("nested Some", "Some(Some(1))", "Some(Some(1i))"),
            ("list", "[1, 2, 3,]", "[1i, 2i, 3i]"),
            ("empty list", "[]", "[]"),
            ("nested list", "[[1], []]", "[[1i], []]"),
            ("map", r#"{"a": 1, "b": 2,}"#, r#"{"a": 1i, "b": 2i}"#),
            ("map with int keys", r#"{1: "x"}"#, r#"{1i: "x"}"#),
            ("empty map", "{}", "{}"),
            ("named struct", "Name(a: 1, b: 2,)", "Name{a: 1i, b: 2i}"),
            ("anonymous struct", "(a: 1)", "{a: 1i}"),
            ("empty named struct", "Name()", "Name{}"),
            ("raw identifier field", "(r#type: 1)", "{type: 1i}"),
            ("struct with spaces before colon", "( a : 1 )", "{a: 1i}"),
            ("struct with comment first", "( /* c */ a: 1)", "{a: 1i}"),
            ("named struct with space", "Name (a: 1)", "Name{a: 1i}"),
            ("tuple", r#"(1, "a")"#, r#"(1i, "a")"#),
            ("one-element tuple", "(1,)", "(1i)"),
            ("tuple of identifier", "(a)", "(a)"),
            ("named tuple", "Name(1, 2)", "Name(1i, 2i)"),
            ("tuple variant of identifier", "Name(x)", "Name(x)"),
            ("unit variant", "Pretty", "Pretty"),
            ("raw identifier value", "r#type", "type"),
            ("identifier starting with r", "ready", "ready"),
            ("line comment", "// hello\n5 // after", "5i"),
            ("nested block comment", "/* a /* b */ c */ 5 /**/", "5i"),
            ("attribute", "#![enable(implicit_some)]\n5", "5i"),
            (
                "attribute with several extensions",
                "#![enable(implicit_some, unwrap_newtypes,)]\n#![enable(implicit_some)] 5",
                "5i",
            ),
            ("crlf line endings", "(\r\n  a: 1,\r\n)\r\n", "{a: 1i}"),
        ];
        for (name, input, expected) in cases {
            match parse(input) {
                Ok(node) => assert_eq!(show(&node), *expected, "case {name}: {input:?}"),
                Err(problem) => panic!("case {name}: {input:?} failed: {problem:?}"),
            }
        }
    }

    #[test]
    fn syntax_errors_report_one_problem_at_the_right_place() {
        let cases: &[(&str, &str, usize, usize, &str, &str)] = &[
            (
                "unterminated string",
                "(a: \"abc",
                1,
                5,
                "a",
                "unterminated string",
            ),
            (
                "missing comma between fields",
                "(\n  a: 1\n  b: 2\n)",
                3,
                3,
                "",
                "expected ',' or ')' after a struct field, found 'b'",
            ),
            (
                "string after a field without comma",
                "(a: 1 \"x\")",
                1,
                7,
                "",
                "expected ',' or ')' after a struct field, found '\"'",
            ),
            (
                "unbalanced parens",
                "(\n  a: (b: 1),\n  c: (d: 2\n",
                4,
                1,
                "c",
                "unexpected end of file inside a struct (opened at line 3, column 6)",
            ),
            (
                "extra closing paren",
                "(a: 1))",
                1,
                7,
                "",
                "expected end of file after the top-level value, found ')'",
            ),
            (
                "trailing garbage",
                "(a: 1)\n\n  junk",
                3,
                3,
                "",
                "expected end of file after the top-level value, found 'j'",
            ),
            (
                "unexpected end of file in a list",
                "(a: [1, 2",
                1,
                10,
                "a",
                "unexpected end of file inside a list (opened at line 1, column 5)",
            ),
            (
                "missing comma in a list",
                "[1 2]",
                1,
                4,
                "",
                "expected ',' or ']' after a list element, found '2'",
            ),
            (
                "missing colon in a map",
                "{\"a\" 1}",
                1,
                6,
                "",
                "expected ':' after a map key, found '1'",
            ),
            (
                "missing comma in a map",
                "{\"a\": 1 \"b\": 2}",
                1,
                9,
                "",
                "expected ',' or '}' after a map entry, found '\"'",
            ),
            (
                "missing comma in a tuple",
                "(1 2)",
                1,
                4,
                "",
                "expected ',' or ')' after a tuple element, found '2'",
            ),
            (
                "field name then garbage",
                "(a: 1, 5)",
                1,
                8,
                "",
                "expected a field name or ')', found '5'",
            ),
            (
                "empty document",
                "  // nothing\n",
                2,
                1,
                "",
                "expected a value, found end of file",
            ),
            (
                "bad value",
                "(a: @)",
                1,
                5,
                "a",
                "expected a value, found '@'",
            ),
            (
                "bad escape",
                r#"(a: "x\q")"#,
                1,
                7,
                "a",
                r"invalid escape sequence '\q'",
            ),
            (
                "unterminated comment",
                "(a: 1) /* x",
                1,
                8,
                "",
                "unterminated block comment",
            ),
            (
                "unterminated raw string",
                "r#\"abc\"",
                1,
                1,
                "",
                "unterminated raw string",
            ),
            (
                "unterminated char",
                "'a",
                1,
                1,
                "",
                "unterminated character literal",
            ),
            ("empty char", "''", 1, 1, "", "empty character literal"),
            (
                "number running into letters",
                "12abc",
                1,
                3,
                "",
                "unexpected 'a' in a number",
            ),
            (
                "lone minus",
                "[-]",
                1,
                3,
                "[0]",
                "expected a number after '-', found ']'",
            ),
            (
                "exponent without digits",
                "1e",
                1,
                3,
                "",
                "expected a digit in the exponent, found end of file",
            ),
            (
                "integer too large",
                "(n: 999999999999999999999999999999999999999999)",
                1,
                5,
                "n",
                "integer literal is too large",
            ),
            (
                "missing field colon",
                "(a: 1, b 2)",
                1,
                10,
                "",
                "expected ':' after the field name `b`, found '2'",
            ),
            (
                "nested path in error",
                "(x: (y: [(z: \"a)]))",
                1,
                14,
                "x.y[0].z",
                "unterminated string",
            ),
            (
                "bad attribute",
                "#[enable(x)] 5",
                1,
                2,
                "",
                "expected '!' after '#' in an inner attribute, found '['",
            ),
        ];
        for (name, input, line, col, path, message) in cases {
            match parse(input) {
                Ok(node) => panic!("case {name}: expected an error, got {}", show(&node)),
                Err(problem) => assert_eq!(
                    (
                        problem.line,
                        problem.col,
                        problem.path.as_str(),
                        problem.message.as_str()
                    ),
                    (*line, *col, *path, *message),
                    "case {name}: {input:?}"
                ),
            }
            // from_str reports exactly that one problem.
            match from_str::<Cfg>(input) {
                Ok(_) => panic!("case {name}: from_str accepted {input:?}"),
                Err(problems) => assert_eq!(problems.len(), 1, "case {name}: {problems:?}"),
            }
        }
    }

    #[test]
    fn deeply_nested_input_is_a_syntax_error_not_a_stack_overflow() {
        let text = "[".repeat(10_000);
        let problem = parse(&text).err();
        assert!(
            problem.is_some_and(|p| p.message.contains("nested too deeply")),
            "deep nesting must be rejected"
        );
    }

    #[test]
    fn deep_nesting_within_the_limit_deserializes_without_overflow() {
        let depth = MAX_DEPTH;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse(&text).is_ok());
        // deserialize_any recursion (untagged enums buffer the whole value) and ignored values.
        assert!(from_str::<Loose>(&text).is_err());
        assert!(from_str::<serde::de::IgnoredAny>(&text).is_ok());
        let text = format!("{}5{}", "Some(".repeat(depth), ")".repeat(depth));
        assert!(from_str::<Option<u8>>(&text).is_err());
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let cfg: Cfg = value("\u{feff}(locale: \"nb-NO\")");
        assert_eq!(cfg.locale, "nb-NO");
        assert_eq!(
            problems::<Cfg>("\u{feff}(locale: 1)"),
            vec![p(
                1,
                10,
                "locale",
                "invalid type: integer `1`, expected a string"
            )]
        );
    }

    // --- deserialization ----------------------------------------------------------------

    const SHIPPED_STYLE: &str = r#"#![enable(implicit_some)]
// stream-control configuration.
(
    /* UI language */
    locale: "en-US",

    // The status page.
    web: (
        bind: "0.0.0.0:8080", // all interfaces
        public_url: "https://example.org/status",
    ),

    commands: (
        prefix: "!",
        aliases: {
            "b": "bitrate",
            "s": "start", /* trailing comma next */
        },
        cooldown_secs: 10,
    ),
    level: Moderator,
    list: [1, 2, 0xff,],
)
"#;

    #[test]
    fn shipped_style_document_deserializes() {
        let cfg: Cfg = value(SHIPPED_STYLE);
        let expected = Cfg {
            locale: "en-US".to_owned(),
            web: Some(Web {
                bind: SocketAddr::from(([0, 0, 0, 0], 8080)),
                public_url: Some("https://example.org/status".to_owned()),
            }),
            commands: Commands {
                prefix: "!".to_owned(),
                aliases: BTreeMap::from([
                    ("b".to_owned(), "bitrate".to_owned()),
                    ("s".to_owned(), "start".to_owned()),
                ]),
                cooldown_secs: 10,
            },
            level: Level::Moderator,
            list: vec![1, 2, 255],
        };
        assert_eq!(cfg, expected);
    }

    #[test]
    fn empty_struct_and_unit_fall_back_to_defaults() {
        for text in [
            "()",
            "(  )",
            "Cfg()",
            "(web: None)",
            "(web: Some((bind: \"127.0.0.1:8080\")))",
        ] {
            let cfg: Cfg = value(text);
            assert_eq!(cfg.commands, Commands::default(), "{text}");
            assert_eq!(cfg.locale, "", "{text}");
        }
        let cfg: Cfg = value("(web: ())");
        assert_eq!(cfg.web.map(|w| w.bind), Some(default_bind()));
    }

    #[test]
    fn enums_accept_every_variant_form() {
        let cases: &[(&str, Shape)] = &[
            ("Dot", Shape::Dot),
            ("\"Dot\"", Shape::Dot),
            ("Dot()", Shape::Dot),
            ("Circle(1.5)", Shape::Circle(1.5)),
            ("Circle(2)", Shape::Circle(2.0)),
            ("Rect(1, 2)", Shape::Rect(1, 2)),
            ("Sized(w: 3, h: 4)", Shape::Sized { w: 3, h: 4 }),
            ("Wrapped((a: 1))", Shape::Wrapped(Inner { a: 1, b: 0 })),
            (
                "Wrapped(Inner(a: 1, b: 2))",
                Shape::Wrapped(Inner { a: 1, b: 2 }),
            ),
            ("Wrapped(a: 5)", Shape::Wrapped(Inner { a: 5, b: 0 })),
        ];
        for (text, expected) in cases {
            assert_eq!(&value::<Shape>(text), expected, "{text}");
        }
    }

    #[test]
    fn enum_errors_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            (
                "Square",
                "unknown variant `Square`, expected one of `Dot`, `Circle`, `Rect`, `Sized`, `Wrapped`",
            ),
            (
                "Dot(1)",
                "invalid type: newtype variant, expected unit variant",
            ),
            (
                "Circle",
                "invalid type: unit variant, expected newtype variant",
            ),
            (
                "Rect(w: 1, h: 2)",
                "invalid type: struct variant, expected tuple variant",
            ),
            (
                "Sized(1, 2)",
                "invalid type: tuple variant, expected struct variant",
            ),
            ("(w: 1)", "invalid type: struct, expected enum Shape"),
            ("5", "invalid type: integer `5`, expected enum Shape"),
        ];
        for (text, message) in cases {
            assert_eq!(
                problems::<Shape>(text),
                vec![p(1, 1, "", message)],
                "{text}"
            );
        }
    }

    #[test]
    fn scalars_and_std_types_deserialize() {
        assert_eq!(value::<u8>("0xff"), 255);
        assert_eq!(value::<i8>("-128"), -128);
        assert_eq!(value::<i16>("-0b1"), -1);
        assert_eq!(value::<u32>("4_000_000_000"), 4_000_000_000);
        assert_eq!(value::<i64>("-9223372036854775808"), i64::MIN);
        assert_eq!(value::<u64>("18446744073709551615"), u64::MAX);
        assert_eq!(
            value::<i128>("-170141183460469231731687303715884105728"),
            i128::MIN
        );
        assert_eq!(
            value::<u128>("99999999999999999999999"),
            99_999_999_999_999_999_999_999
        );
        assert_eq!(value::<f64>("-2.5e2"), -250.0);
        assert_eq!(value::<f32>("1"), 1.0);
        assert!(value::<f64>("NaN").is_nan());
        assert_eq!(value::<f64>("-inf"), f64::NEG_INFINITY);
        assert!(value::<bool>("true"));
        assert_eq!(value::<char>("'\\t'"), '\t');
        assert_eq!(value::<String>("r#\"raw \"quoted\"\"#"), "raw \"quoted\"");
        assert_eq!(value::<()>("()"), ());
        assert_eq!(value::<Option<u8>>("None"), None);
        assert_eq!(value::<Option<u8>>("Some(3)"), Some(3));
        assert_eq!(value::<Option<u8>>("3"), Some(3));
        assert_eq!(value::<Option<Option<u8>>>("Some(None)"), Some(None));
        assert_eq!(value::<Vec<String>>("[\"a\", \"b\",]"), vec!["a", "b"]);
        assert_eq!(
            value::<HashMap<String, u8>>("{\"x\": 1}"),
            HashMap::from([("x".to_owned(), 1)])
        );
        assert_eq!(
            value::<BTreeMap<u8, bool>>("{1: true, 2: false}"),
            BTreeMap::from([(1, true), (2, false)])
        );
        assert_eq!(value::<(u8, String)>("(1, \"a\")"), (1, "a".to_owned()));
        assert_eq!(value::<[u8; 2]>("(1, 2)"), [1, 2]);
        assert_eq!(
            value::<SocketAddr>("\"[::1]:9000\""),
            "[::1]:9000".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(value::<Port>("Port(80)"), Port(80));
        assert_eq!(value::<Port>("(80)"), Port(80));
        assert_eq!(value::<Port>("80"), Port(80));
        assert_eq!(value::<Marker>("Marker"), Marker);
        assert_eq!(value::<Marker>("()"), Marker);
        assert_eq!(value::<Marker>("Marker()"), Marker);
        assert_eq!(value::<Pair>("Pair(1, 2)"), Pair(1, 2));
        assert_eq!(value::<Pair>("(1, 2)"), Pair(1, 2));
        assert_eq!(
            value::<Renamed>("(MAX_BITRATE: 6000)"),
            Renamed { max_bitrate: 6000 }
        );
        assert_eq!(
            value::<Timed>("(timeout: \"10s\")"),
            Timed {
                timeout: 10,
                retries: 0
            }
        );
        assert_eq!(value::<Inner>("Inner(a: 1)"), Inner { a: 1, b: 0 });
        assert_eq!(
            value::<serde::de::IgnoredAny>("[(a: 1), {2: 3}]"),
            serde::de::IgnoredAny
        );
    }

    #[test]
    fn deserialize_any_serves_untagged_enums() {
        let cases: &[(&str, Loose)] = &[
            ("5", Loose::Num(5)),
            ("\"x\"", Loose::Text("x".to_owned())),
            ("Bare", Loose::Text("Bare".to_owned())),
            ("[1, 2]", Loose::List(vec![1, 2])),
            ("(a: 1)", Loose::Obj { a: 1 }),
        ];
        for (text, expected) in cases {
            assert_eq!(&value::<Loose>(text), expected, "{text}");
        }
    }

    #[test]
    fn wrong_values_are_reported_at_the_value() {
        let cases: &[(&str, &str, Expect)] = &[
            (
                "string for an integer",
                "(commands: (cooldown_secs: \"ten\"))",
                (
                    1,
                    28,
                    "commands.cooldown_secs",
                    "invalid type: string \"ten\", expected u32",
                ),
            ),
            (
                "identifier for a string",
                "(locale: en)",
                (
                    1,
                    10,
                    "locale",
                    "invalid type: identifier `en`, expected a string",
                ),
            ),
            (
                "struct for a string",
                "(locale: (a: 1))",
                (1, 10, "locale", "invalid type: struct, expected a string"),
            ),
            (
                "integer out of range in a list",
                "(list: [1, 70000, 3])",
                (
                    1,
                    12,
                    "list[1]",
                    "invalid value: integer `70000`, expected u16",
                ),
            ),
            (
                "negative into unsigned",
                "(list: [-1])",
                (1, 9, "list[0]", "invalid value: integer `-1`, expected u16"),
            ),
            (
                "float into integer",
                "(list: [1.5])",
                (
                    1,
                    9,
                    "list[0]",
                    "invalid type: floating point `1.5`, expected u16",
                ),
            ),
            (
                "invalid socket address",
                "(web: (bind: \"127.0.0.1:99999\"))",
                (1, 14, "web.bind", "invalid socket address syntax"),
            ),
            (
                "map for a struct",
                "(commands: {})",
                (
                    1,
                    12,
                    "commands",
                    "invalid type: map, expected struct Commands",
                ),
            ),
            (
                "struct for a map",
                "(commands: (aliases: (b: \"x\")))",
                (
                    1,
                    22,
                    "commands.aliases",
                    "invalid type: struct, expected a map",
                ),
            ),
            (
                "wrong map value",
                "(commands: (aliases: {\"b\": 1}))",
                (
                    1,
                    28,
                    "commands.aliases[\"b\"]",
                    "invalid type: integer `1`, expected a string",
                ),
            ),
            (
                "wrong struct name",
                "(web: Website(bind: \"127.0.0.1:1\"))",
                (1, 7, "web", "expected struct `Web`, found `Website`"),
            ),
            (
                "list for a struct",
                "(web: [1])",
                (1, 7, "web", "invalid type: sequence, expected struct Web"),
            ),
            (
                "unknown variant",
                "(level: Owner)",
                (
                    1,
                    9,
                    "level",
                    "unknown variant `Owner`, expected one of `Viewer`, `Moderator`, `Admin`",
                ),
            ),
            (
                "unknown field points at the key",
                "(\n  web: (\n    bnid: \"127.0.0.1:8080\",\n  ),\n)",
                (
                    3,
                    5,
                    "web.bnid",
                    "unknown field `bnid`, expected `bind` or `public_url`",
                ),
            ),
            (
                "unknown top-level field",
                "(locale: \"en\", colour: 1)",
                (
                    1,
                    16,
                    "colour",
                    "unknown field `colour`, expected one of `locale`, `web`, `commands`, `level`, `list`",
                ),
            ),
            (
                "duplicate field points at the second key",
                "(locale: \"a\", locale: \"b\")",
                (1, 15, "locale", "duplicate field `locale`"),
            ),
        ];
        for (name, text, (line, col, path, message)) in cases {
            assert_eq!(
                problems::<Cfg>(text),
                vec![p(*line, *col, path, message)],
                "case {name}: {text}"
            );
        }
    }

    #[test]
    fn non_string_map_keys_use_the_key_as_written() {
        assert_eq!(
            problems::<BTreeMap<u8, bool>>("{\n  1: true,\n  0x2: 5,\n  300: false,\n}"),
            vec![
                p(
                    3,
                    8,
                    "[0x2]",
                    "invalid type: integer `5`, expected a boolean"
                ),
                p(4, 3, "[300]", "invalid value: integer `300`, expected u8"),
            ]
        );
        assert_eq!(
            problems::<BTreeMap<u8, bool>>("{ 1: true, 'x': false }"),
            vec![p(1, 12, "['x']", "invalid type: string \"x\", expected u8")]
        );
    }

    #[test]
    fn three_mistakes_and_a_bad_variant_are_all_reported() {
        let text = r#"(
    locale: "en",
    web: (
        bnid: "127.0.0.1:8080",
    ),
    commands: (
        prefix: "!",
        cooldown_secs: "ten",
    ),
    level: Admn,
)"#;
        assert_eq!(
            problems::<Cfg>(text),
            vec![
                p(
                    4,
                    9,
                    "web.bnid",
                    "unknown field `bnid`, expected `bind` or `public_url`"
                ),
                p(
                    8,
                    24,
                    "commands.cooldown_secs",
                    "invalid type: string \"ten\", expected u32"
                ),
                p(
                    10,
                    12,
                    "level",
                    "unknown variant `Admn`, expected one of `Viewer`, `Moderator`, `Admin`"
                ),
            ]
        );
    }

    #[test]
    fn invalid_address_and_list_range_error_are_reported_together() {
        let text = "(\n  list: [1, 70000, 2, 80000],\n  web: (bind: \"127.0.0.1:99999\", public_url: 5),\n  commands: (aliases: {\"b\": 1, \"c\": \"ok\", \"d\": []}),\n)";
        assert_eq!(
            problems::<Cfg>(text),
            vec![
                p(
                    2,
                    13,
                    "list[1]",
                    "invalid value: integer `70000`, expected u16"
                ),
                p(
                    2,
                    23,
                    "list[3]",
                    "invalid value: integer `80000`, expected u16"
                ),
                p(3, 15, "web.bind", "invalid socket address syntax"),
                p(
                    3,
                    46,
                    "web.public_url",
                    "invalid type: integer `5`, expected a string"
                ),
                p(
                    4,
                    29,
                    "commands.aliases[\"b\"]",
                    "invalid type: integer `1`, expected a string"
                ),
                p(
                    4,
                    48,
                    "commands.aliases[\"d\"]",
                    "invalid type: sequence, expected a string"
                ),
            ]
        );
    }

    #[test]
    fn missing_fields_point_at_the_struct() {
        // At the root: nothing to remove, so recovery stops.
        assert_eq!(
            problems::<Req>("(\n  port: 1,\n)"),
            vec![p(1, 1, "", "missing field `name`")]
        );
        // Nested: reported once; the `req` it causes to go missing is not reported again.
        assert_eq!(
            problems::<Outer>("(other: 1, req: (port: 1))"),
            vec![p(1, 17, "req", "missing field `name`")]
        );
    }

    #[test]
    fn fields_missing_because_recovery_removed_them_are_not_reported() {
        assert_eq!(
            problems::<Outer>("(req: (name: 5, port: 1), other: \"x\")"),
            vec![
                p(
                    1,
                    14,
                    "req.name",
                    "invalid type: integer `5`, expected a string"
                ),
                p(1, 34, "other", "invalid type: string \"x\", expected u8"),
            ]
        );
    }

    #[test]
    fn errors_from_deserialize_with_point_at_the_value() {
        assert_eq!(
            problems::<Timed>("(\n  timeout: \"ten\",\n  retries: -1,\n)"),
            vec![
                p(2, 12, "timeout", "`ten` is not a duration like `10s`"),
                p(3, 12, "retries", "invalid value: integer `-1`, expected u8"),
            ]
        );
    }

    #[test]
    fn tuple_and_newtype_errors() {
        let cases: &[(&str, Expect)] = &[
            (
                "Pair(1, 2, 3)",
                (1, 1, "", "invalid length 3, expected 2 elements"),
            ),
            (
                "Pair(1)",
                (
                    1,
                    1,
                    "",
                    "invalid length 1, expected tuple struct Pair with 2 elements",
                ),
            ),
            (
                "Twin(1, 2)",
                (1, 1, "", "expected tuple struct `Pair`, found `Twin`"),
            ),
            (
                "(1, 300)",
                (1, 5, "[1]", "invalid value: integer `300`, expected u8"),
            ),
        ];
        for (text, (line, col, path, message)) in cases {
            assert_eq!(
                problems::<Pair>(text),
                vec![p(*line, *col, path, message)],
                "{text}"
            );
        }
        assert_eq!(
            problems::<Port>("Port(\"x\")"),
            vec![p(1, 6, "[0]", "invalid type: string \"x\", expected u16")]
        );
        assert_eq!(
            problems::<Marker>("Other"),
            vec![p(
                1,
                1,
                "",
                "invalid type: identifier `Other`, expected unit struct Marker"
            )]
        );
    }

    #[test]
    fn problems_are_sorted_by_position() {
        // `level` is visited before `locale` by serde but comes later in the file.
        let text = "(level: Nope, locale: 5)";
        let found = problems::<Cfg>(text);
        let positions: Vec<_> = found.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(positions, vec![(1, 9), (1, 23)]);
    }

    // --- positions ----------------------------------------------------------------------

    #[derive(Deserialize, Debug)]
    struct Servers {
        servers: Vec<Server>,
    }

    #[derive(Deserialize, Debug)]
    struct Server {
        url: String,
        #[serde(default)]
        tags: BTreeMap<String, String>,
    }

    #[test]
    fn positions_find_nested_paths_and_map_entries() {
        let (_, positions) = match from_str::<Cfg>(SHIPPED_STYLE) {
            Ok(ok) => ok,
            Err(problems) => panic!("{problems:?}"),
        };
        let cases: &[(&str, (usize, usize))] = &[
            ("", (3, 1)),
            ("locale", (5, 13)),
            ("web", (8, 10)),
            ("web.bind", (9, 15)),
            ("web.public_url", (10, 21)),
            ("commands.aliases", (15, 18)),
            ("commands.aliases[\"b\"]", (16, 18)),
            ("commands.aliases[\"s\"]", (17, 18)),
            ("commands.aliases[\"zz\"]", (15, 18)),
            ("commands.aliases[\"a.b[1]\"].x", (15, 18)),
            ("list[2]", (22, 18)),
            ("list[9]", (22, 11)),
            ("web.nope.deeper", (8, 10)),
            ("nothing", (3, 1)),
        ];
        for (path, expected) in cases {
            assert_eq!(positions.find(path), *expected, "{path}");
        }

        let text = "(servers: [\n  (url: \"a\"),\n  (url: \"b\"),\n  (url: \"c\", tags: {\"x\": \"1\"}),\n])";
        let (servers, positions) = match from_str::<Servers>(text) {
            Ok(ok) => ok,
            Err(problems) => panic!("{problems:?}"),
        };
        let urls: Vec<&str> = servers.servers.iter().map(|s| s.url.as_str()).collect();
        assert_eq!(urls, ["a", "b", "c"]);
        assert_eq!(
            servers.servers[2].tags.get("x").map(String::as_str),
            Some("1")
        );
        assert_eq!(positions.find("servers[2].url"), (4, 9));
        assert_eq!(positions.find("servers[2].tags[\"x\"]"), (4, 26));
        assert_eq!(positions.find("servers[1]"), (3, 3));
        assert_eq!(positions.find("servers[1].port"), (3, 3));
        assert_eq!(Positions::default().find("servers"), (1, 1));
    }

    #[test]
    fn parent_path_understands_quoted_keys() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", None),
            ("web", Some("")),
            ("web.bind", Some("web")),
            ("a[\"x.y[\"]", Some("a")),
            ("a[\"q\\\"]\"].b", Some("a[\"q\\\"]\"]")),
            ("a[']'][0]", Some("a[']']")),
            ("servers[2].url", Some("servers[2]")),
        ];
        for (path, expected) in cases {
            assert_eq!(parent_path(path), *expected, "{path}");
        }
    }

    // --- robustness ---------------------------------------------------------------------

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_text_never_panics(
            chars in proptest::collection::vec(proptest::prelude::any::<char>(), 0..3000)
        ) {
            let text: String = chars.into_iter().collect();
            let _ = from_str::<Cfg>(&text);
        }

        #[test]
        fn ron_like_text_never_panics(
            chars in proptest::collection::vec(
                proptest::sample::select(vec![
                    '(', ')', '[', ']', '{', '}', ',', ':', '"', '\'', '#', '!', '/', '*', '\\',
                    'r', 'a', 'e', 'x', '_', '0', '1', '9', '.', '-', '+', ' ', '\n',
                ]),
                0..2000,
            )
        ) {
            let text: String = chars.into_iter().collect();
            let _ = from_str::<Cfg>(&text);
            let _ = from_str::<Shape>(&text);
            let _ = from_str::<Loose>(&text);
        }

        #[test]
        fn mutated_valid_document_never_panics(
            edits in proptest::collection::vec(
                (
                    proptest::prelude::any::<proptest::sample::Index>(),
                    0usize..6,
                    "[(){}\\[\\],:\"'#/*\\\\rR0-9a-zé_ .+-]{0,4}",
                ),
                0..12,
            )
        ) {
            let mut chars: Vec<char> = SHIPPED_STYLE.chars().collect();
            for (index, delete, insert) in edits {
                let at = index.index(chars.len() + 1);
                let end = (at + delete).min(chars.len());
                chars.splice(at..end, insert.chars());
            }
            let text: String = chars.into_iter().collect();
            let _ = from_str::<Cfg>(&text);
        }
    }
}
