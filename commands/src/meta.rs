//! About the bot itself. Handler: `handlers::meta`.
//!
//! ```text
//! help [command]     a command word, with or without the prefix
//! status
//! ping
//! version
//! ```

use crate::error::{ParseError, ValueProblem};
use crate::permission::Permission;
use crate::tokens::Tokens;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaCommand {
    /// The commands the invoker may use, or one command's usage. The topic is lower-cased,
    /// without any leading punctuation; it may name an alias or nothing known.
    Help(Option<String>),
    Status,
    Ping,
    Version,
}

impl MetaCommand {
    pub fn name(&self) -> &'static str {
        match self {
            MetaCommand::Help(_) => "help",
            MetaCommand::Status => "status",
            MetaCommand::Ping => "ping",
            MetaCommand::Version => "version",
        }
    }

    pub fn required_permission(&self) -> Permission {
        match self {
            MetaCommand::Status => Permission::Moderator,
            _ => Permission::Viewer,
        }
    }
}

fn parse_topic(text: &str) -> Result<String, ValueProblem> {
    const MAX_CHARS: usize = 32;
    let topic = text.trim_start_matches(|c: char| c.is_ascii_punctuation());
    if topic.chars().count() > MAX_CHARS {
        return Err(ValueProblem::TooLong { max: MAX_CHARS });
    }
    let ok = !topic.is_empty()
        && topic
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(topic.to_lowercase())
    } else {
        Err(ValueProblem::BadCharacters)
    }
}

pub(crate) fn parse(
    word: &'static str,
    tokens: &mut Tokens<'_>,
) -> Result<MetaCommand, ParseError> {
    Ok(match word {
        "help" => match tokens.word() {
            None => MetaCommand::Help(None),
            Some(topic) => MetaCommand::Help(Some(tokens.value("command", topic, parse_topic)?)),
        },
        "status" => MetaCommand::Status,
        "ping" => MetaCommand::Ping,
        _ => MetaCommand::Version,
    })
}

#[cfg(test)]
mod tests {
    use super::MetaCommand;
    use crate::test_support::{Expected, invalid, parse_bang, unexpected};
    use crate::{Command, Permission, ValueProblem};

    fn check(input: &str, expected: Expected<MetaCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Meta(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    fn help(topic: &str) -> Expected<MetaCommand> {
        Ok(MetaCommand::Help(Some(topic.to_string())))
    }

    #[test]
    fn bare_help_lists_commands() {
        check("!help", Ok(MetaCommand::Help(None)));
        check("  !HELP  ", Ok(MetaCommand::Help(None)));
    }

    #[test]
    fn help_topic_is_lowercased_without_the_prefix() {
        check("!help scene", help("scene"));
        check("!help !scene", help("scene"));
        check("!help SCENE", help("scene"));
        check("!Help !Trigger", help("trigger"));
        check("!help ??brb", help("brb"));
        check("!help ban-ip", help("ban-ip"));
        check("!help rtt_offline", help("rtt_offline"));
    }

    #[test]
    fn help_topic_may_name_nothing_known() {
        check("!help nonsense", help("nonsense"));
        check("!help Überblick", help("überblick"));
    }

    #[test]
    fn help_topic_must_look_like_a_command_word() {
        let bad = |found: &str| invalid("command", found, ValueProblem::BadCharacters, 6);
        check("!help !", bad("!"));
        check("!help ???", bad("???"));
        check("!help a/b", bad("a/b"));
        check("!help scene!", bad("scene!"));
        check("!help 🎬", bad("🎬"));
    }

    #[test]
    fn help_topic_is_at_most_32_characters() {
        let longest = "h".repeat(32);
        check(&format!("!help {longest}"), help(&longest));
        check(&format!("!help !{longest}"), help(&longest));
        let too_long = "h".repeat(33);
        let input = format!("!help {too_long}");
        check(
            &input,
            invalid("command", &too_long, ValueProblem::TooLong { max: 32 }, 6),
        );
    }

    #[test]
    fn help_takes_one_topic() {
        check("!help scene extra", unexpected("extra", 12));
        check(
            "!help ! scene",
            invalid("command", "!", ValueProblem::BadCharacters, 6),
        );
    }

    #[test]
    fn status_ping_and_version_take_no_arguments() {
        check("!status", Ok(MetaCommand::Status));
        check("!ping", Ok(MetaCommand::Ping));
        check("!version", Ok(MetaCommand::Version));
        check("!PING", Ok(MetaCommand::Ping));
        check("!Version ", Ok(MetaCommand::Version));
        check("!ping extra", unexpected("extra", 6));
        check("!status now", unexpected("now", 8));
        check("!version  2 ", unexpected("2", 10));
    }

    #[test]
    fn only_status_needs_a_moderator() {
        let cases = [
            ("!help", Permission::Viewer),
            ("!help scene", Permission::Viewer),
            ("!status", Permission::Moderator),
            ("!ping", Permission::Viewer),
            ("!version", Permission::Viewer),
        ];
        for (input, permission) in cases {
            let command = parse_bang(input).unwrap();
            assert_eq!(
                command.required_permission(),
                permission,
                "input: {input:?}"
            );
        }
    }
}
