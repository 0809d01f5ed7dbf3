//! Stream output control. Handler: `handlers::stream`.
//!
//! ```text
//! start
//! stop
//! record start|stop
//! ```

use crate::error::ParseError;
use crate::tokens::Tokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCommand {
    /// Start streaming (then the starting scene, if configured).
    Start,
    /// Stop streaming (ending scene, confirmed stop, offline scene).
    Stop,
    /// Start or stop recording.
    Record(RecordAction),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordAction {
    Start,
    Stop,
}

impl StreamCommand {
    pub fn name(&self) -> &'static str {
        match self {
            StreamCommand::Start => "start",
            StreamCommand::Stop => "stop",
            StreamCommand::Record(_) => "record",
        }
    }
}

pub(crate) fn parse(
    word: &'static str,
    tokens: &mut Tokens<'_>,
) -> Result<StreamCommand, ParseError> {
    Ok(match word {
        "start" => StreamCommand::Start,
        "stop" => StreamCommand::Stop,
        _ => match tokens.expect_choice("action", &["start", "stop"])? {
            "start" => StreamCommand::Record(RecordAction::Start),
            _ => StreamCommand::Record(RecordAction::Stop),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::{RecordAction, StreamCommand};
    use crate::Command;
    use crate::test_support::{Expected, missing, parse_bang, unexpected, unknown};

    fn check(input: &str, expected: Expected<StreamCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Stream(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    const ACTIONS: &[&str] = &["start", "stop"];

    #[test]
    fn start_and_stop_take_no_arguments() {
        check("!start", Ok(StreamCommand::Start));
        check("!stop", Ok(StreamCommand::Stop));
        check("  !start \t", Ok(StreamCommand::Start));
    }

    #[test]
    fn command_words_are_case_insensitive() {
        check("!START", Ok(StreamCommand::Start));
        check("!Stop", Ok(StreamCommand::Stop));
        check(
            "!ReCoRd start",
            Ok(StreamCommand::Record(RecordAction::Start)),
        );
    }

    #[test]
    fn record_takes_start_or_stop_in_any_case() {
        check(
            "!record start",
            Ok(StreamCommand::Record(RecordAction::Start)),
        );
        check(
            "!record stop",
            Ok(StreamCommand::Record(RecordAction::Stop)),
        );
        check(
            "!record START",
            Ok(StreamCommand::Record(RecordAction::Start)),
        );
        check(
            "!record   Stop  ",
            Ok(StreamCommand::Record(RecordAction::Stop)),
        );
    }

    #[test]
    fn record_without_action_points_at_the_end_of_the_trimmed_input() {
        check("!record", missing("action", 7));
        check("!record   ", missing("action", 7));
        check("  !record \n", missing("action", 9));
    }

    #[test]
    fn record_with_an_unknown_action_names_the_choices() {
        check("!record pause", unknown("action", "pause", ACTIONS, 8));
        check("!record on", unknown("action", "on", ACTIONS, 8));
        check("!record  begin now", unknown("action", "begin", ACTIONS, 9));
    }

    #[test]
    fn trailing_words_are_unexpected() {
        check("!start now", unexpected("now", 7));
        check("!stop now please ", unexpected("now please", 6));
        check("!record start now", unexpected("now", 14));
        check("!record stop stop", unexpected("stop", 13));
    }
}
