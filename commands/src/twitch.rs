//! Twitch channel management. Handler: `handlers::twitch`.
//!
//! ```text
//! title <text…>        1–140 characters
//! category <query…>    a search; the best unambiguous match is chosen
//! raid <channel>       a login, with or without a leading @
//! ```

use crate::args::{CategoryQuery, ChannelLogin, TitleText};
use crate::error::ParseError;
use crate::permission::Permission;
use crate::tokens::Tokens;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwitchCommand {
    Title(TitleText),
    Category(CategoryQuery),
    Raid(ChannelLogin),
}

impl TwitchCommand {
    pub fn name(&self) -> &'static str {
        match self {
            TwitchCommand::Title(_) => "title",
            TwitchCommand::Category(_) => "category",
            TwitchCommand::Raid(_) => "raid",
        }
    }

    pub fn required_permission(&self) -> Permission {
        match self {
            TwitchCommand::Title(_) | TwitchCommand::Category(_) => Permission::Moderator,
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
    use crate::{CategoryQuery, ChannelLogin, Command, Permission, TitleText, ValueProblem};

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
    fn raiding_needs_more_permission_than_editing_the_channel() {
        let cases = [
            ("!title x", Permission::Moderator),
            ("!category x", Permission::Moderator),
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
