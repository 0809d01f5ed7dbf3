//! OBS control: the stream output, the scenes, audio inputs and sources. Handler:
//! `handlers::obs`; configuration: `obs`.
//!
//! ```text
//! start
//! stop
//! record start|stop
//! live
//! brb
//! starting
//! scene <name…>      the rest of the line, case kept
//! fix
//! refresh
//! mute <input…>                 the rest of the line, case kept
//! unmute <input…>
//! source <name…> show|hide      the last word is show or hide; the name is what precedes it
//! ```

use crate::Permission;
use crate::args::{SceneName, SourceName};
use crate::error::ParseError;
use crate::tokens::Tokens;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObsCommand {
    /// Start streaming (then the starting scene, if configured).
    Start,
    /// Stop streaming (ending scene, confirmed stop, offline scene).
    Stop,
    /// Start or stop recording.
    Record(RecordAction),
    /// The configured LIVE scene.
    Live,
    /// The configured BRB scene.
    Brb,
    /// The configured starting scene.
    Starting,
    /// Any scene by name (exact, then case-insensitive, then an unambiguous partial match).
    Switch(SceneName),
    /// Repair a frozen ingest source (restart media sources, or the BRB → LIVE bounce).
    Fix,
    /// Refresh the configured sources.
    Refresh,
    /// Mute a configured audio input (matched like a scene name).
    Mute(SourceName),
    /// Unmute a configured audio input.
    Unmute(SourceName),
    /// Show or hide a configured source (its scene item's enabled state).
    Source(SourceName, Visibility),
}

/// `source <name> show|hide`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Show,
    Hide,
}

impl Visibility {
    /// The word that asks for it.
    pub fn word(self) -> &'static str {
        match self {
            Visibility::Show => "show",
            Visibility::Hide => "hide",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordAction {
    Start,
    Stop,
}

impl ObsCommand {
    pub fn name(&self) -> &'static str {
        match self {
            ObsCommand::Start => "start",
            ObsCommand::Stop => "stop",
            ObsCommand::Record(_) => "record",
            ObsCommand::Live => "live",
            ObsCommand::Brb => "brb",
            ObsCommand::Starting => "starting",
            ObsCommand::Switch(_) => "scene",
            ObsCommand::Fix => "fix",
            ObsCommand::Refresh => "refresh",
            ObsCommand::Mute(_) => "mute",
            ObsCommand::Unmute(_) => "unmute",
            ObsCommand::Source(..) => "source",
        }
    }

    /// The output (stream, recording) is the admin's; scenes, audio and sources are the
    /// moderators'.
    pub fn required_permission(&self) -> Permission {
        match self {
            ObsCommand::Start | ObsCommand::Stop | ObsCommand::Record(_) => Permission::Admin,
            ObsCommand::Live
            | ObsCommand::Brb
            | ObsCommand::Starting
            | ObsCommand::Switch(_)
            | ObsCommand::Fix
            | ObsCommand::Refresh
            | ObsCommand::Mute(_)
            | ObsCommand::Unmute(_)
            | ObsCommand::Source(..) => Permission::Moderator,
        }
    }
}

pub(crate) fn parse(word: &'static str, tokens: &mut Tokens<'_>) -> Result<ObsCommand, ParseError> {
    Ok(match word {
        "start" => ObsCommand::Start,
        "stop" => ObsCommand::Stop,
        "record" => match tokens.expect_choice("action", &["start", "stop"])? {
            "start" => ObsCommand::Record(RecordAction::Start),
            _ => ObsCommand::Record(RecordAction::Stop),
        },
        "live" => ObsCommand::Live,
        "brb" => ObsCommand::Brb,
        "starting" => ObsCommand::Starting,
        "fix" => ObsCommand::Fix,
        "refresh" => ObsCommand::Refresh,
        "mute" | "unmute" => {
            let input = tokens.expect_rest("input")?;
            let input = tokens.value("input", input, SourceName::parse)?;
            if word == "mute" {
                ObsCommand::Mute(input)
            } else {
                ObsCommand::Unmute(input)
            }
        }
        "source" => {
            let (name, action) =
                tokens.expect_rest_then_choice("name", "action", &["show", "hide"])?;
            let name = tokens.value("name", name, SourceName::parse)?;
            let visibility = if action == "show" {
                Visibility::Show
            } else {
                Visibility::Hide
            };
            ObsCommand::Source(name, visibility)
        }
        _ => {
            let name = tokens.expect_rest("name")?;
            ObsCommand::Switch(tokens.value("name", name, SceneName::parse)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{ObsCommand, RecordAction, Visibility};
    use crate::test_support::{Expected, invalid, missing, parse_bang, unexpected, unknown};
    use crate::{Command, SceneName, SourceName, ValueProblem};

    fn check(input: &str, expected: Expected<ObsCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Obs(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    fn switch(name: &str) -> Expected<ObsCommand> {
        let scene = SceneName::parse(name).unwrap();
        assert_eq!(scene.as_str(), name, "expected names are written as stored");
        Ok(ObsCommand::Switch(scene))
    }

    const ACTIONS: &[&str] = &["start", "stop"];

    #[test]
    fn start_and_stop_take_no_arguments() {
        check("!start", Ok(ObsCommand::Start));
        check("!stop", Ok(ObsCommand::Stop));
        check("  !start \t", Ok(ObsCommand::Start));
    }

    #[test]
    fn stream_words_are_case_insensitive() {
        check("!START", Ok(ObsCommand::Start));
        check("!Stop", Ok(ObsCommand::Stop));
        check("!ReCoRd start", Ok(ObsCommand::Record(RecordAction::Start)));
    }

    #[test]
    fn record_takes_start_or_stop_in_any_case() {
        check("!record start", Ok(ObsCommand::Record(RecordAction::Start)));
        check("!record stop", Ok(ObsCommand::Record(RecordAction::Stop)));
        check("!record START", Ok(ObsCommand::Record(RecordAction::Start)));
        check(
            "!record   Stop  ",
            Ok(ObsCommand::Record(RecordAction::Stop)),
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

    #[test]
    fn fixed_scenes_take_no_arguments() {
        check("!live", Ok(ObsCommand::Live));
        check("!brb", Ok(ObsCommand::Brb));
        check("!starting", Ok(ObsCommand::Starting));
        check("!fix", Ok(ObsCommand::Fix));
        check("!refresh", Ok(ObsCommand::Refresh));
        check(" \t!brb  ", Ok(ObsCommand::Brb));
    }

    #[test]
    fn scene_words_are_case_insensitive() {
        check("!BRB", Ok(ObsCommand::Brb));
        check("!Live", Ok(ObsCommand::Live));
        check("!sTaRtInG", Ok(ObsCommand::Starting));
        check("!FIX", Ok(ObsCommand::Fix));
        check("!Refresh", Ok(ObsCommand::Refresh));
        check("!SCENE Main", switch("Main"));
    }

    #[test]
    fn scene_name_is_the_rest_of_the_line_with_its_case_kept() {
        check("!scene Just Chatting", switch("Just Chatting"));
        check("!scene just chatting", switch("just chatting"));
        check("!scene   Just   Chatting  ", switch("Just   Chatting"));
        check("!scene Café ☕ #2", switch("Café ☕ #2"));
        check("!scene live", switch("live"));
    }

    #[test]
    fn scene_without_name_points_at_the_end_of_the_trimmed_input() {
        check("!scene", missing("name", 6));
        check("!scene    ", missing("name", 6));
        check("  !scene\t", missing("name", 8));
    }

    #[test]
    fn scene_name_is_at_most_256_characters() {
        let longest = format!("!scene {}", "é".repeat(256));
        check(&longest, switch(&"é".repeat(256)));
        let name = "a".repeat(257);
        let too_long = format!("!scene {name}");
        check(
            &too_long,
            invalid("name", &name, ValueProblem::TooLong { max: 256 }, 7),
        );
    }

    #[test]
    fn scene_name_with_control_characters_is_refused() {
        check(
            "!scene A\u{7}B",
            invalid("name", "A\u{7}B", ValueProblem::BadCharacters, 7),
        );
        check(
            "!scene A\tB",
            invalid("name", "A\tB", ValueProblem::BadCharacters, 7),
        );
        check(
            "!scene A\nB",
            invalid("name", "A\nB", ValueProblem::BadCharacters, 7),
        );
    }

    #[test]
    fn fixed_scenes_refuse_trailing_words() {
        check("!brb now", unexpected("now", 5));
        check("!live Main Scene", unexpected("Main Scene", 6));
        check("!fix it ", unexpected("it", 5));
        check("!starting soon", unexpected("soon", 10));
        check("!refresh all", unexpected("all", 9));
    }

    fn source(name: &str) -> SourceName {
        let source = SourceName::parse(name).unwrap();
        assert_eq!(
            source.as_str(),
            name,
            "expected names are written as stored"
        );
        source
    }

    const VISIBILITY: &[&str] = &["show", "hide"];

    #[test]
    fn mute_and_unmute_take_the_rest_of_the_line_with_its_case_kept() {
        check("!mute Mic", Ok(ObsCommand::Mute(source("Mic"))));
        check("!unmute Mic", Ok(ObsCommand::Unmute(source("Mic"))));
        check(
            "!MUTE Desktop Audio",
            Ok(ObsCommand::Mute(source("Desktop Audio"))),
        );
        check(
            "!Unmute  mic/aux  ",
            Ok(ObsCommand::Unmute(source("mic/aux"))),
        );
        check("!mute Mic show", Ok(ObsCommand::Mute(source("Mic show"))));
    }

    #[test]
    fn mute_without_input_points_at_the_end_of_the_trimmed_input() {
        check("!mute", missing("input", 5));
        check("!unmute   ", missing("input", 7));
        check(" !mute\t", missing("input", 6));
    }

    #[test]
    fn input_names_are_checked_like_scene_names() {
        let name = "a".repeat(257);
        check(
            &format!("!mute {name}"),
            invalid("input", &name, ValueProblem::TooLong { max: 256 }, 6),
        );
        check(
            "!unmute A\u{7}B",
            invalid("input", "A\u{7}B", ValueProblem::BadCharacters, 8),
        );
    }

    #[test]
    fn source_takes_a_name_with_spaces_then_show_or_hide() {
        check(
            "!source Webcam show",
            Ok(ObsCommand::Source(source("Webcam"), Visibility::Show)),
        );
        check(
            "!source Chat box hide",
            Ok(ObsCommand::Source(source("Chat box"), Visibility::Hide)),
        );
        check(
            "!SOURCE  Web   cam   SHOW  ",
            Ok(ObsCommand::Source(source("Web   cam"), Visibility::Show)),
        );
        check(
            "!source hide hide",
            Ok(ObsCommand::Source(source("hide"), Visibility::Hide)),
        );
    }

    #[test]
    fn source_without_name_or_action_says_what_is_missing() {
        check("!source", missing("name", 7));
        check("!source   ", missing("name", 7));
        check("!source Webcam", missing("action", 14));
        check("!source show", missing("action", 12));
    }

    #[test]
    fn source_with_another_last_word_names_the_choices() {
        check("!source Webcam on", unknown("action", "on", VISIBILITY, 15));
        check(
            "!source Web cam  visible ",
            unknown("action", "visible", VISIBILITY, 17),
        );
    }

    #[test]
    fn source_name_is_checked_like_a_scene_name() {
        let name = "é".repeat(257);
        check(
            &format!("!source {name} show"),
            invalid("name", &name, ValueProblem::TooLong { max: 256 }, 8),
        );
        check(
            "!source A\u{7}B hide",
            invalid("name", "A\u{7}B", ValueProblem::BadCharacters, 8),
        );
    }

    #[test]
    fn audio_and_sources_are_for_moderators() {
        for line in ["!mute Mic", "!unmute Mic", "!source Webcam show"] {
            let Ok(command) = parse_bang(line) else {
                panic!("{line}")
            };
            assert_eq!(
                command.required_permission(),
                crate::Permission::Moderator,
                "{line}"
            );
        }
    }
}
