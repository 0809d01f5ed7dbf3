//! Shared helpers for the table-driven parser tests of the feature modules.
//!
//! Each feature module has one `check(input, expected)` that parses `input` with the `!` prefix
//! and compares the outcome with `expected`: the command, or the error's kind and byte position.

use crate::{Command, ParseErrorKind, ValueProblem, spec_of};

/// What one table row expects: the command, or the error kind and the byte position.
pub(crate) type Expected<T> = Result<T, (ParseErrorKind, usize)>;

/// Parse `input` with the `!` prefix. It must be one of our commands; errors are checked for what
/// every error must satisfy (its command, its input, a position on a character boundary, a
/// message that shows the usage) and reduced to their kind and position.
pub(crate) fn parse_bang(input: &str) -> Expected<Command> {
    let word = input
        .trim_start()
        .strip_prefix('!')
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("test input {input:?} does not start with `!word`"));
    let spec = spec_of(word).unwrap_or_else(|| panic!("{word:?} is not a command word"));
    match crate::parse(input, "!") {
        None => panic!("{input:?} was not recognised as a command"),
        Some(Ok(command)) => {
            assert_eq!(command.name(), spec.name, "name() of {input:?}");
            Ok(command)
        }
        Some(Err(error)) => {
            assert_eq!(
                error.command, spec.name,
                "command of the error for {input:?}"
            );
            assert_eq!(error.input, input, "input of the error for {input:?}");
            assert!(
                error.input.is_char_boundary(error.position),
                "position {} of the error for {input:?} is not a character boundary",
                error.position
            );
            assert!(
                error.to_string().contains(spec.usage),
                "the message for {input:?} does not show the usage: {error}"
            );
            Err((error.kind, error.position))
        }
    }
}

/// `MissingArgument` at `position` (the end of the trimmed input).
pub(crate) fn missing<T>(argument: &'static str, position: usize) -> Expected<T> {
    Err((ParseErrorKind::MissingArgument { argument }, position))
}

/// `UnexpectedArgument`: `found` (the rest of the line) at `position`.
pub(crate) fn unexpected<T>(found: &str, position: usize) -> Expected<T> {
    let found = found.to_string();
    Err((ParseErrorKind::UnexpectedArgument { found }, position))
}

/// `UnknownChoice`: `found` at `position` is not one of `expected`.
pub(crate) fn unknown<T>(
    argument: &'static str,
    found: &str,
    expected: &'static [&'static str],
    position: usize,
) -> Expected<T> {
    let found = found.to_string();
    let kind = ParseErrorKind::UnknownChoice {
        argument,
        found,
        expected,
    };
    Err((kind, position))
}

/// `InvalidValue`: `found` at `position` has `problem`.
pub(crate) fn invalid<T>(
    argument: &'static str,
    found: &str,
    problem: ValueProblem,
    position: usize,
) -> Expected<T> {
    let found = found.to_string();
    let kind = ParseErrorKind::InvalidValue {
        argument,
        found,
        problem,
    };
    Err((kind, position))
}
