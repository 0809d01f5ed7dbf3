//! Scene switching. Handler: `handlers::scene`.
//!
//! ```text
//! live
//! brb
//! starting
//! scene <name…>      the rest of the line, case kept
//! fix
//! refresh
//! ```

use crate::args::SceneName;
use crate::error::ParseError;
use crate::tokens::Tokens;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SceneCommand {
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
}

impl SceneCommand {
    pub fn name(&self) -> &'static str {
        match self {
            SceneCommand::Live => "live",
            SceneCommand::Brb => "brb",
            SceneCommand::Starting => "starting",
            SceneCommand::Switch(_) => "scene",
            SceneCommand::Fix => "fix",
            SceneCommand::Refresh => "refresh",
        }
    }
}

pub(crate) fn parse(
    word: &'static str,
    tokens: &mut Tokens<'_>,
) -> Result<SceneCommand, ParseError> {
    Ok(match word {
        "live" => SceneCommand::Live,
        "brb" => SceneCommand::Brb,
        "starting" => SceneCommand::Starting,
        "fix" => SceneCommand::Fix,
        "refresh" => SceneCommand::Refresh,
        _ => {
            let name = tokens.expect_rest("name")?;
            SceneCommand::Switch(tokens.value("name", name, SceneName::parse)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::SceneCommand;
    use crate::test_support::{Expected, invalid, missing, parse_bang, unexpected};
    use crate::{Command, SceneName, ValueProblem};

    fn check(input: &str, expected: Expected<SceneCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Scene(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    fn switch(name: &str) -> Expected<SceneCommand> {
        let scene = SceneName::parse(name).unwrap();
        assert_eq!(scene.as_str(), name, "expected names are written as stored");
        Ok(SceneCommand::Switch(scene))
    }

    #[test]
    fn fixed_scenes_take_no_arguments() {
        check("!live", Ok(SceneCommand::Live));
        check("!brb", Ok(SceneCommand::Brb));
        check("!starting", Ok(SceneCommand::Starting));
        check("!fix", Ok(SceneCommand::Fix));
        check("!refresh", Ok(SceneCommand::Refresh));
        check(" \t!brb  ", Ok(SceneCommand::Brb));
    }

    #[test]
    fn command_words_are_case_insensitive() {
        check("!BRB", Ok(SceneCommand::Brb));
        check("!Live", Ok(SceneCommand::Live));
        check("!sTaRtInG", Ok(SceneCommand::Starting));
        check("!FIX", Ok(SceneCommand::Fix));
        check("!Refresh", Ok(SceneCommand::Refresh));
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
}
