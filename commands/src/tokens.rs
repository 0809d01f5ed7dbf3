//! A whitespace tokenizer that remembers byte positions, for error reporting.

use crate::error::{ParseError, ParseErrorKind, ValueProblem};

/// The arguments after a command word.
pub(crate) struct Tokens<'a> {
    input: &'a str,
    pos: usize,
    command: &'static str,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(input: &'a str, pos: usize, command: &'static str) -> Self {
        Tokens {
            input,
            pos,
            command,
        }
    }

    fn skip_space(&mut self) {
        let rest = &self.input[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// The next whitespace-separated word and its byte position.
    pub(crate) fn word(&mut self) -> Option<(usize, &'a str)> {
        self.skip_space();
        let rest = &self.input[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let at = self.pos;
        self.pos += len;
        Some((at, &rest[..len]))
    }

    /// Everything that is left, trimmed (internal spacing kept), and its position.
    pub(crate) fn rest(&mut self) -> Option<(usize, &'a str)> {
        self.skip_space();
        let rest = self.input[self.pos..].trim_end();
        if rest.is_empty() {
            return None;
        }
        let at = self.pos;
        self.pos = self.input.len();
        Some((at, rest))
    }

    /// A required word.
    pub(crate) fn expect_word(
        &mut self,
        argument: &'static str,
    ) -> Result<(usize, &'a str), ParseError> {
        self.word().ok_or_else(|| self.missing(argument))
    }

    /// The rest of the line, required.
    pub(crate) fn expect_rest(
        &mut self,
        argument: &'static str,
    ) -> Result<(usize, &'a str), ParseError> {
        self.rest().ok_or_else(|| self.missing(argument))
    }

    /// The rest of the line split before its last word, which must be one of `choices`
    /// (case-insensitive): for names with spaces followed by a keyword (`source Web cam show`).
    /// Only one word: the keyword is missing (the name takes the words it is given).
    pub(crate) fn expect_rest_then_choice(
        &mut self,
        argument: &'static str,
        choice_argument: &'static str,
        choices: &'static [&'static str],
    ) -> Result<((usize, &'a str), &'static str), ParseError> {
        let (at, rest) = self.expect_rest(argument)?;
        let Some(split) = rest.rfind(char::is_whitespace) else {
            return Err(self.missing(choice_argument));
        };
        let last_at = at + split + rest[split..].len() - rest[split..].trim_start().len();
        let last = &self.input[last_at..at + rest.len()];
        match choices.iter().find(|c| c.eq_ignore_ascii_case(last)) {
            Some(choice) => Ok(((at, rest[..split].trim_end()), choice)),
            None => Err(self.error(
                last_at,
                ParseErrorKind::UnknownChoice {
                    argument: choice_argument,
                    found: last.to_string(),
                    expected: choices,
                },
            )),
        }
    }

    /// An optional word that must be one of `choices` (case-insensitive); returns the choice.
    pub(crate) fn choice(
        &mut self,
        argument: &'static str,
        choices: &'static [&'static str],
    ) -> Result<Option<&'static str>, ParseError> {
        let Some((at, word)) = self.word() else {
            return Ok(None);
        };
        match choices.iter().find(|c| c.eq_ignore_ascii_case(word)) {
            Some(choice) => Ok(Some(choice)),
            None => Err(self.error(
                at,
                ParseErrorKind::UnknownChoice {
                    argument,
                    found: word.to_string(),
                    expected: choices,
                },
            )),
        }
    }

    /// A required word from `choices`.
    pub(crate) fn expect_choice(
        &mut self,
        argument: &'static str,
        choices: &'static [&'static str],
    ) -> Result<&'static str, ParseError> {
        match self.choice(argument, choices)? {
            Some(choice) => Ok(choice),
            None => Err(self.missing(argument)),
        }
    }

    /// Parse a value with `parse`, turning its problem into a positioned error.
    pub(crate) fn value<T>(
        &self,
        argument: &'static str,
        (at, text): (usize, &str),
        parse: impl FnOnce(&str) -> Result<T, ValueProblem>,
    ) -> Result<T, ParseError> {
        parse(text).map_err(|problem| {
            self.error(
                at,
                ParseErrorKind::InvalidValue {
                    argument,
                    found: text.to_string(),
                    problem,
                },
            )
        })
    }

    /// Nothing may follow a complete command.
    pub(crate) fn finish(&mut self) -> Result<(), ParseError> {
        match self.rest() {
            None => Ok(()),
            Some((at, found)) => Err(self.error(
                at,
                ParseErrorKind::UnexpectedArgument {
                    found: found.to_string(),
                },
            )),
        }
    }

    pub(crate) fn missing(&self, argument: &'static str) -> ParseError {
        self.error(
            self.input.trim_end().len(),
            ParseErrorKind::MissingArgument { argument },
        )
    }

    pub(crate) fn error(&self, position: usize, kind: ParseErrorKind) -> ParseError {
        ParseError {
            command: self.command,
            input: self.input.to_string(),
            position,
            kind,
        }
    }
}
