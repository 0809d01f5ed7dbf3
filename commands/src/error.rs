//! The malformed-command error: which command, the input, the byte position and what was wrong.

use std::fmt;

/// A line that is one of our commands but does not match its grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {position} of {input:?} (usage: {usage})", usage = self.usage())]
pub struct ParseError {
    /// The command word (as in [`crate::SPECS`]).
    pub command: &'static str,
    /// The whole input line.
    pub input: String,
    /// Byte offset in `input` where the problem is (the end of input for a missing argument).
    pub position: usize,
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// The grammar of the command, without prefix.
    pub fn usage(&self) -> &'static str {
        crate::spec_of(self.command).map_or("", |s| s.usage)
    }
}

/// What was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// A required argument is missing.
    MissingArgument { argument: &'static str },
    /// Something follows a complete command.
    UnexpectedArgument { found: String },
    /// A word that must be one of a fixed set is not.
    UnknownChoice {
        argument: &'static str,
        found: String,
        expected: &'static [&'static str],
    },
    /// An argument has the wrong form.
    InvalidValue {
        argument: &'static str,
        found: String,
        problem: ValueProblem,
    },
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueProblem {
    /// Expected a number (with an optional unit).
    NotANumber,
    /// A number outside the allowed range (inclusive, in the argument's unit).
    OutOfRange { min: u64, max: u64 },
    /// Longer than allowed, in characters.
    TooLong { max: usize },
    /// Contains characters that are not allowed here.
    BadCharacters,
    /// Not an `rtmp://` or `rtmps://` URL with a host.
    BadUrl,
    /// Not an IPv4 or IPv6 address.
    NotAnIp,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::MissingArgument { argument } => write!(f, "missing <{argument}>"),
            ParseErrorKind::UnexpectedArgument { found } => write!(f, "unexpected {found:?}"),
            ParseErrorKind::UnknownChoice {
                argument,
                found,
                expected,
            } => write!(
                f,
                "<{argument}> {found:?} is not one of {}",
                expected.join(", ")
            ),
            ParseErrorKind::InvalidValue {
                argument,
                found,
                problem,
            } => write!(f, "<{argument}> {found:?}: {problem}"),
        }
    }
}

impl fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueProblem::NotANumber => f.write_str("not a number"),
            ValueProblem::OutOfRange { min, max } => write!(f, "must be {min}..={max}"),
            ValueProblem::TooLong { max } => write!(f, "longer than {max} characters"),
            ValueProblem::BadCharacters => f.write_str("contains characters that are not allowed"),
            ValueProblem::BadUrl => f.write_str("not an rtmp:// or rtmps:// URL"),
            ValueProblem::NotAnIp => f.write_str("not an IP address"),
        }
    }
}
