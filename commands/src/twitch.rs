//! Twitch channel management. Handler: `handlers::twitch`.
//!
//! ```text
//! title <text…>        1–140 characters
//! category <query…>    a search; the best unambiguous match is chosen
//! raid <channel>       a login, with or without a leading @
//! marker [text…]       a stream marker, 1–140 characters of description (optional)
//! clip                 a clip of the last seconds
//! ad [seconds]         a commercial, 30–180 s (default 60), rounded up to a multiple of 30
//! snooze               push the next scheduled ad back
//! ```

use crate::args::{AdSeconds, CategoryQuery, ChannelLogin, MarkerText, TitleText};
use crate::error::ParseError;
use crate::permission::Permission;
use crate::tokens::Tokens;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwitchCommand {
    Title(TitleText),
    Category(CategoryQuery),
    Raid(ChannelLogin),
    /// A stream marker (Helix Create Stream Marker), with a description if given.
    Marker(Option<MarkerText>),
    /// A clip (Helix Create Clip); answered with its URL once Twitch has made it.
    Clip,
    /// A commercial (Helix Start Commercial).
    Ad(AdSeconds),
    /// Snooze the next scheduled ad (Helix Snooze Next Ad).
    Snooze,
}

impl TwitchCommand {
    pub fn name(&self) -> &'static str {
        match self {
            TwitchCommand::Title(_) => "title",
            TwitchCommand::Category(_) => "category",
            TwitchCommand::Raid(_) => "raid",
            TwitchCommand::Marker(_) => "marker",
            TwitchCommand::Clip => "clip",
            TwitchCommand::Ad(_) => "ad",
            TwitchCommand::Snooze => "snooze",
        }
    }

    pub fn required_permission(&self) -> Permission {
        match self {
            TwitchCommand::Title(_)
            | TwitchCommand::Category(_)
            | TwitchCommand::Marker(_)
            | TwitchCommand::Clip
            | TwitchCommand::Ad(_)
            | TwitchCommand::Snooze => Permission::Moderator,
            TwitchCommand::Raid(_) => Permission::Admin,
        }
    }
}

pub(crate) fn parse(
    word: &'static str,
    tokens: &mut Tokens<'_>,
) -> Result<TwitchCommand, ParseError> {
    Ok(match word {
        "title" => {
            let text = tokens.expect_rest("text")?;
            TwitchCommand::Title(tokens.value("text", text, TitleText::parse)?)
        }
        "category" => {
            let query = tokens.expect_rest("query")?;
            TwitchCommand::Category(tokens.value("query", query, CategoryQuery::parse)?)
        }
        "marker" => match tokens.rest() {
            None => TwitchCommand::Marker(None),
            Some(text) => {
                TwitchCommand::Marker(Some(tokens.value("text", text, MarkerText::parse)?))
            }
        },
        "clip" => TwitchCommand::Clip,
        "ad" => match tokens.word() {
            None => TwitchCommand::Ad(AdSeconds::default()),
            Some(seconds) => {
                TwitchCommand::Ad(tokens.value("seconds", seconds, AdSeconds::parse)?)
            }
        },
        "snooze" => TwitchCommand::Snooze,
        _ => {
            let channel = tokens.expect_word("channel")?;
            TwitchCommand::Raid(tokens.value("channel", channel, ChannelLogin::parse)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::TwitchCommand;
    use crate::test_support::{Expected, invalid, missing, parse_bang, unexpected};
    use crate::{
        AdSeconds, CategoryQuery, ChannelLogin, Command, MarkerText, Permission, TitleText,
        ValueProblem,
    };

    fn check(input: &str, expected: Expected<TwitchCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Twitch(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    // The expected values are written as they are stored.
    fn title(text: &str) -> Expected<TwitchCommand> {
        let title = TitleText::parse(text).unwrap();
        assert_eq!(title.as_str(), text);
        Ok(TwitchCommand::Title(title))
    }

    fn category(query: &str) -> Expected<TwitchCommand> {
        let category = CategoryQuery::parse(query).unwrap();
        assert_eq!(category.as_str(), query);
        Ok(TwitchCommand::Category(category))
    }

    fn raid(login: &str) -> Expected<TwitchCommand> {
        let channel = ChannelLogin::parse(login).unwrap();
        assert_eq!(channel.as_str(), login);
        Ok(TwitchCommand::Raid(channel))
    }

    #[test]
    fn title_is_the_rest_of_the_line_with_its_case_kept() {
        check("!title Hello World", title("Hello World"));
        check("!TITLE  IRL in Tokyo!  ", title("IRL in Tokyo!"));
        check("!Title   two   spaces", title("two   spaces"));
        check("!title 東京 🚶 IRL", title("東京 🚶 IRL"));
    }

    #[test]
    fn title_without_text_points_at_the_end_of_the_trimmed_input() {
        check("!title", missing("text", 6));
        check("!title   ", missing("text", 6));
    }

    #[test]
    fn title_is_one_to_140_characters() {
        let longest = "é".repeat(140);
        check(&format!("!title {longest}"), title(&longest));
        let too_long = "a".repeat(141);
        let input = format!("!title {too_long}");
        check(
            &input,
            invalid("text", &too_long, ValueProblem::TooLong { max: 140 }, 7),
        );
    }

    #[test]
    fn title_with_control_characters_is_refused() {
        let bad = |found: &str| invalid("text", found, ValueProblem::BadCharacters, 7);
        check("!title a\u{0}b", bad("a\u{0}b"));
        check("!title line\none", bad("line\none"));
        check("!title a\u{1b}[31m", bad("a\u{1b}[31m"));
    }

    #[test]
    fn category_is_the_rest_of_the_line_with_its_case_kept() {
        check("!category Just Chatting", category("Just Chatting"));
        check("!CATEGORY  IRL ", category("IRL"));
        check("!category Pokémon Scarlet", category("Pokémon Scarlet"));
    }

    #[test]
    fn category_is_one_to_100_characters_without_control_characters() {
        check("!category", missing("query", 9));
        check("!category \t ", missing("query", 9));
        let longest = "q".repeat(100);
        check(&format!("!category {longest}"), category(&longest));
        let too_long = "q".repeat(101);
        let input = format!("!category {too_long}");
        check(
            &input,
            invalid("query", &too_long, ValueProblem::TooLong { max: 100 }, 10),
        );
        check(
            "!category a\u{7f}",
            invalid("query", "a\u{7f}", ValueProblem::BadCharacters, 10),
        );
    }

    #[test]
    fn raid_strips_at_sign_and_lowercases() {
        check("!raid @SomeUser", raid("someuser"));
        check("!raid SomeUser", raid("someuser"));
        check("!RAID some_user_42", raid("some_user_42"));
        check("!raid   @ABC  ", raid("abc"));
    }

    #[test]
    fn raid_login_is_one_to_25_of_letters_digits_and_underscores() {
        let bad = |found: &str| invalid("channel", found, ValueProblem::BadCharacters, 6);
        check("!raid some-user", bad("some-user"));
        check("!raid some.user", bad("some.user"));
        check("!raid üser", bad("üser"));
        check("!raid @", bad("@"));
        check("!raid user@", bad("user@"));
        let longest = "a".repeat(25);
        check(&format!("!raid {longest}"), raid(&longest));
        check(&format!("!raid @{longest}"), raid(&longest));
        let too_long = "a".repeat(26);
        let input = format!("!raid {too_long}");
        check(
            &input,
            invalid("channel", &too_long, ValueProblem::TooLong { max: 25 }, 6),
        );
    }

    #[test]
    fn raid_needs_exactly_one_channel() {
        check("!raid", missing("channel", 5));
        check("!raid   ", missing("channel", 5));
        check("!raid someone else", unexpected("else", 14));
        check("!raid @a @b", unexpected("@b", 9));
    }

    #[test]
    fn marker_text_is_optional_and_kept_as_typed() {
        check("!marker", Ok(TwitchCommand::Marker(None)));
        check("!marker   ", Ok(TwitchCommand::Marker(None)));
        let marker = |text: &str| {
            Ok(TwitchCommand::Marker(Some(
                MarkerText::parse(text).unwrap(),
            )))
        };
        check("!marker  Bridge collapse! ", marker("Bridge collapse!"));
        check("!MARKER 東京 🚶", marker("東京 🚶"));
        let longest = "m".repeat(140);
        check(&format!("!marker {longest}"), marker(&longest));
        let too_long = "m".repeat(141);
        check(
            &format!("!marker {too_long}"),
            invalid("text", &too_long, ValueProblem::TooLong { max: 140 }, 8),
        );
        check(
            "!marker a\u{7}b",
            invalid("text", "a\u{7}b", ValueProblem::BadCharacters, 8),
        );
    }

    #[test]
    fn clip_and_snooze_take_nothing() {
        check("!clip", Ok(TwitchCommand::Clip));
        check("!snooze", Ok(TwitchCommand::Snooze));
        check("!clip now", unexpected("now", 6));
        check("!snooze 5m", unexpected("5m", 8));
    }

    #[test]
    fn ad_length_is_30_to_180_seconds_rounded_up_to_a_multiple_of_30() {
        let ad = |seconds: u32| {
            let command = parse_bang(&format!("!ad {seconds}")).unwrap();
            match command {
                Command::Twitch(TwitchCommand::Ad(length)) => length.get(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(ad(30), 30);
        assert_eq!(ad(31), 60);
        assert_eq!(ad(90), 90);
        assert_eq!(ad(170), 180);
        assert_eq!(ad(180), 180);
        check("!ad", Ok(TwitchCommand::Ad(AdSeconds::default())));
        assert_eq!(AdSeconds::default().get(), 60);
        let seconds = |text: &str| Ok(TwitchCommand::Ad(AdSeconds::parse(text).unwrap()));
        check("!ad 2m", seconds("120"));
        check("!ad 1.5min", seconds("90"));
        check("!ad 150s", seconds("150"));
        let range = ValueProblem::OutOfRange { min: 30, max: 180 };
        check("!ad 29", invalid("seconds", "29", range.clone(), 4));
        check("!ad 181", invalid("seconds", "181", range.clone(), 4));
        check("!ad 10m", invalid("seconds", "10m", range, 4));
        check(
            "!ad long",
            invalid("seconds", "long", ValueProblem::NotANumber, 4),
        );
        check("!ad 60 90", unexpected("90", 7));
    }

    #[test]
    fn raiding_needs_more_permission_than_editing_the_channel() {
        let cases = [
            ("!title x", Permission::Moderator),
            ("!category x", Permission::Moderator),
            ("!marker", Permission::Moderator),
            ("!clip", Permission::Moderator),
            ("!ad", Permission::Moderator),
            ("!snooze", Permission::Moderator),
            ("!raid x", Permission::Admin),
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
