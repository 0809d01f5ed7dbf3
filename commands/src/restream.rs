//! Restream endpoints (nginx-rtmp push list). Handler: `handlers::restream`.
//!
//! ```text
//! restream [list]                 bare `restream` = list
//! restream on <name…>
//! restream off <name…>
//! restream add <name…> <url>      the last word is the URL (it holds a stream key)
//! restream remove <name…>
//! ```

use crate::args::{EndpointName, PushUrl, Toggle};
use crate::error::ParseError;
use crate::permission::Permission;
use crate::tokens::Tokens;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestreamCommand {
    List,
    Set(EndpointName, Toggle),
    Add(EndpointName, PushUrl),
    Remove(EndpointName),
}

impl RestreamCommand {
    pub fn required_permission(&self) -> Permission {
        match self {
            RestreamCommand::List => Permission::Moderator,
            _ => Permission::Admin,
        }
    }
}

pub(crate) fn parse(tokens: &mut Tokens<'_>) -> Result<RestreamCommand, ParseError> {
    let action = tokens.choice("action", &["list", "on", "off", "add", "remove"])?;
    Ok(match action {
        None | Some("list") => RestreamCommand::List,
        Some("add") => {
            let (at, rest) = tokens.expect_rest("name")?;
            let Some((split, space)) = rest.char_indices().rfind(|&(_, c)| c.is_whitespace())
            else {
                return Err(tokens.missing("url"));
            };
            // The separator may be wider than one byte (e.g. a no-break space).
            let url_at = split + space.len_utf8();
            let name = (at, rest[..split].trim_end());
            let url = (at + url_at, &rest[url_at..]);
            RestreamCommand::Add(
                tokens.value("name", name, EndpointName::parse)?,
                tokens.value("url", url, PushUrl::parse)?,
            )
        }
        Some(action) => {
            let name = tokens.expect_rest("name")?;
            let name = tokens.value("name", name, EndpointName::parse)?;
            match action {
                "remove" => RestreamCommand::Remove(name),
                toggle => RestreamCommand::Set(name, Toggle::from_word(toggle)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::RestreamCommand;
    use crate::test_support::{Expected, invalid, missing, parse_bang, unexpected, unknown};
    use crate::{Command, EndpointName, Permission, PushUrl, Toggle, ValueProblem};

    fn check(input: &str, expected: Expected<RestreamCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Restream(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    // The expected values are written as they are stored.
    fn name(text: &str) -> EndpointName {
        let name = EndpointName::parse(text).unwrap();
        assert_eq!(name.as_str(), text);
        name
    }

    fn add(endpoint: &str, url: &str) -> Expected<RestreamCommand> {
        let push = PushUrl::parse(url).unwrap();
        assert_eq!(push.as_str(), url);
        Ok(RestreamCommand::Add(name(endpoint), push))
    }

    fn set(endpoint: &str, toggle: Toggle) -> Expected<RestreamCommand> {
        Ok(RestreamCommand::Set(name(endpoint), toggle))
    }

    fn remove(endpoint: &str) -> Expected<RestreamCommand> {
        Ok(RestreamCommand::Remove(name(endpoint)))
    }

    const ACTIONS: &[&str] = &["list", "on", "off", "add", "remove"];
    const URL: &str = "rtmp://a.example/app/key";

    #[test]
    fn bare_restream_lists() {
        check("!restream", Ok(RestreamCommand::List));
        check("!restream  ", Ok(RestreamCommand::List));
        check("!restream list", Ok(RestreamCommand::List));
        check("!Restream LIST", Ok(RestreamCommand::List));
        check("!restream list extra", unexpected("extra", 15));
    }

    #[test]
    fn restream_refuses_unknown_actions() {
        check(
            "!restream delete Main",
            unknown("action", "delete", ACTIONS, 10),
        );
        check("!restream enable", unknown("action", "enable", ACTIONS, 10));
    }

    #[test]
    fn on_and_off_take_a_name_with_spaces() {
        check("!restream on Main", set("Main", Toggle::On));
        check("!restream off My Target", set("My Target", Toggle::Off));
        check("!RESTREAM ON  My  Target ", set("My  Target", Toggle::On));
        check("!restream Off yt-backup_2", set("yt-backup_2", Toggle::Off));
        check("!restream on", missing("name", 12));
        check("!restream off   ", missing("name", 13));
    }

    #[test]
    fn remove_takes_a_name_with_spaces() {
        check("!restream remove My Target", remove("My Target"));
        check("!restream REMOVE main", remove("main"));
        check("!restream remove", missing("name", 16));
    }

    #[test]
    fn endpoint_name_is_1_to_32_of_letters_digits_space_underscore_and_dash() {
        let bad = |found: &str, at| invalid("name", found, ValueProblem::BadCharacters, at);
        check("!restream on a.b", bad("a.b", 13));
        check("!restream off Ünïcode", bad("Ünïcode", 14));
        check("!restream remove a/b", bad("a/b", 17));
        check("!restream on a\tb", bad("a\tb", 13));
        let longest = "n".repeat(32);
        check(
            &format!("!restream on {longest}"),
            set(&longest, Toggle::On),
        );
        let too_long = "n".repeat(33);
        let input = format!("!restream on {too_long}");
        check(
            &input,
            invalid("name", &too_long, ValueProblem::TooLong { max: 32 }, 13),
        );
    }

    #[test]
    fn add_takes_a_name_with_spaces_then_the_url_as_the_last_word() {
        check(
            "!restream add Main rtmp://a.example/app/key",
            add("Main", URL),
        );
        check(
            "!restream add My Target rtmp://a.example/app/key",
            add("My Target", URL),
        );
        check(
            "!restream ADD  My   Target   rtmps://live.example:443/App/KeY  ",
            add("My   Target", "rtmps://live.example:443/App/KeY"),
        );
        check(
            "!restream add yt RTMP://A.Example/x",
            add("yt", "RTMP://A.Example/x"),
        );
        check(
            "!restream add v6 rtmp://[::1]/app",
            add("v6", "rtmp://[::1]/app"),
        );
    }

    #[test]
    fn add_splits_on_the_last_whitespace_of_any_width() {
        check(
            "!restream add Main\u{a0}rtmp://a.example/app/key",
            add("Main", URL),
        );
        check(
            "!restream add My Target\u{3000}rtmp://a.example/app/key",
            add("My Target", URL),
        );
        let http = "!restream add Main\u{2003}http://a.example/app";
        check(
            http,
            invalid("url", "http://a.example/app", ValueProblem::BadUrl, 21),
        );
    }

    #[test]
    fn add_without_name_or_url_is_refused() {
        check("!restream add", missing("name", 13));
        check("!restream add   ", missing("name", 13));
        check("!restream add Main", missing("url", 18));
        check("!restream add Main  ", missing("url", 18));
    }

    #[test]
    fn add_refuses_urls_that_are_not_rtmp_with_a_host() {
        let bad_url = |found: &str| invalid("url", found, ValueProblem::BadUrl, 19);
        check(
            "!restream add Main http://a.example/app",
            bad_url("http://a.example/app"),
        );
        check(
            "!restream add Main a.example/app/key",
            bad_url("a.example/app/key"),
        );
        check(
            "!restream add Main rtmp:/a.example/app",
            bad_url("rtmp:/a.example/app"),
        );
        check(
            "!restream add Main rtmp:///app/key",
            bad_url("rtmp:///app/key"),
        );
        check("!restream add Main rtmp://", bad_url("rtmp://"));
        check(
            "!restream add Main rtmp://:1935/app",
            bad_url("rtmp://:1935/app"),
        );
        check(
            "!restream add Main rtmp://exämple.com/app",
            bad_url("rtmp://exämple.com/app"),
        );
        check(
            "!restream add Main rtmp://a.example/kéy",
            bad_url("rtmp://a.example/kéy"),
        );
        check(
            "!restream add Main rtmp://user@host/app",
            bad_url("rtmp://user@host/app"),
        );
        let at = "!restream add My Target http://a.example/app";
        check(
            at,
            invalid("url", "http://a.example/app", ValueProblem::BadUrl, 24),
        );
    }

    #[test]
    fn add_refuses_urls_with_characters_that_are_unsafe_in_nginx_configuration() {
        let bad = |found: &str| invalid("url", found, ValueProblem::BadCharacters, 19);
        check(
            "!restream add Main rtmp://a.example/app;rm",
            bad("rtmp://a.example/app;rm"),
        );
        check(
            "!restream add Main rtmp://a.example/{key}",
            bad("rtmp://a.example/{key}"),
        );
        check(
            "!restream add Main rtmp://a.example/k}",
            bad("rtmp://a.example/k}"),
        );
        check(
            "!restream add Main rtmp://a.example/'k'",
            bad("rtmp://a.example/'k'"),
        );
        check(
            "!restream add Main rtmp://a.example/\"k\"",
            bad("rtmp://a.example/\"k\""),
        );
        check(
            "!restream add Main rtmp://a.example/`k`",
            bad("rtmp://a.example/`k`"),
        );
        check(
            "!restream add Main rtmp://a.example/k#1",
            bad("rtmp://a.example/k#1"),
        );
        check(
            "!restream add Main rtmp://a.example/$key",
            bad("rtmp://a.example/$key"),
        );
        check(
            "!restream add Main rtmp://a.example/k\\x",
            bad("rtmp://a.example/k\\x"),
        );
        check(
            "!restream add Main rtmp://a.example/k\u{7}",
            bad("rtmp://a.example/k\u{7}"),
        );
    }

    #[test]
    fn url_is_at_most_1024_characters() {
        let longest = format!("rtmp://a.example/{}", "k".repeat(1024 - 17));
        assert_eq!(longest.len(), 1024);
        check(
            &format!("!restream add Main {longest}"),
            add("Main", &longest),
        );
        let too_long = format!("{longest}k");
        let input = format!("!restream add Main {too_long}");
        check(
            &input,
            invalid("url", &too_long, ValueProblem::TooLong { max: 1024 }, 19),
        );
    }

    #[test]
    fn url_cannot_contain_whitespace_because_it_is_the_last_word() {
        // The words before the last one are the name, so a URL cut in two is refused as a name.
        let input = "!restream add Main rtmp://a.example/app key";
        let name = "Main rtmp://a.example/app";
        check(
            input,
            invalid("name", name, ValueProblem::BadCharacters, 14),
        );
        // A valid name followed by a word that is not a URL is refused as a URL.
        let input = "!restream add My Target key";
        check(input, invalid("url", "key", ValueProblem::BadUrl, 24));
    }

    #[test]
    fn add_checks_the_name_before_the_url() {
        let input = "!restream add a.b http://x";
        check(
            input,
            invalid("name", "a.b", ValueProblem::BadCharacters, 14),
        );
    }

    #[test]
    fn listing_needs_less_permission_than_changing() {
        let cases = [
            ("!restream", Permission::Moderator),
            ("!restream list", Permission::Moderator),
            ("!restream on Main", Permission::Admin),
            ("!restream off Main", Permission::Admin),
            ("!restream add Main rtmp://a/b", Permission::Admin),
            ("!restream remove Main", Permission::Admin),
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
