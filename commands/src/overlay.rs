//! Overlay alerts. Handler: `handlers::overlay`; configuration: `web.overlay`.
//!
//! ```text
//! alert test low|restored|offline|raid|custom
//! ```

use crate::args::AlertKind;
use crate::error::ParseError;
use crate::tokens::Tokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlayCommand {
    /// Send a test alert of this kind to the overlay.
    Test(AlertKind),
}

pub(crate) fn parse(tokens: &mut Tokens<'_>) -> Result<OverlayCommand, ParseError> {
    tokens.expect_choice("action", &["test"])?;
    let kind = tokens.expect_choice("kind", AlertKind::WORDS)?;
    Ok(OverlayCommand::Test(AlertKind::from_word(kind)))
}

#[cfg(test)]
mod tests {
    use super::OverlayCommand;
    use crate::test_support::{Expected, missing, parse_bang, unexpected, unknown};
    use crate::{AlertKind, Command};

    fn check(input: &str, expected: Expected<OverlayCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Overlay(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    const KINDS: &[&str] = &["low", "restored", "offline", "raid", "custom"];

    #[test]
    fn alert_test_takes_every_kind() {
        check("!alert test low", Ok(OverlayCommand::Test(AlertKind::Low)));
        check(
            "!alert test restored",
            Ok(OverlayCommand::Test(AlertKind::Restored)),
        );
        check(
            "!alert test offline",
            Ok(OverlayCommand::Test(AlertKind::Offline)),
        );
        check(
            "!alert test raid",
            Ok(OverlayCommand::Test(AlertKind::Raid)),
        );
        check(
            "!alert test custom",
            Ok(OverlayCommand::Test(AlertKind::Custom)),
        );
    }

    #[test]
    fn every_kind_word_parses_to_the_kind_of_that_wire_name() {
        for kind in AlertKind::ALL {
            let input = format!("!alert test {}", kind.as_str());
            check(&input, Ok(OverlayCommand::Test(kind)));
        }
    }

    #[test]
    fn alert_words_are_case_insensitive() {
        check(
            "!ALERT TEST RAID",
            Ok(OverlayCommand::Test(AlertKind::Raid)),
        );
        check(
            "!Alert Test Restored",
            Ok(OverlayCommand::Test(AlertKind::Restored)),
        );
        check(
            "  !alert   test   low  ",
            Ok(OverlayCommand::Test(AlertKind::Low)),
        );
    }

    #[test]
    fn alert_needs_test_then_a_kind() {
        check("!alert", missing("action", 6));
        check("!alert test", missing("kind", 11));
        check("!alert test   ", missing("kind", 11));
        check("!alert low", unknown("action", "low", &["test"], 7));
        check("!alert test boom", unknown("kind", "boom", KINDS, 12));
        check("!alert test test", unknown("kind", "test", KINDS, 12));
    }

    #[test]
    fn alert_refuses_trailing_words() {
        check("!alert test low now", unexpected("now", 16));
        check(
            "!alert test custom hello world",
            unexpected("hello world", 19),
        );
    }
}
