//! Discord's own commands. Handler: `handlers::discord`; configuration: `discord`.
//!
//! ```text
//! panel      post a control panel in this Discord channel
//! ```
//!
//! The panel is made of Discord buttons, so only the Discord surface can post it; elsewhere
//! the answer says where to ask. It is a vocabulary word all the same, so dispatch checks its
//! level (configurable like any word), cooldown and feature, and logs it.

use crate::error::ParseError;
use crate::tokens::Tokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscordCommand {
    /// Post a control panel where it was asked for.
    Panel,
}

pub(crate) fn parse(_tokens: &mut Tokens<'_>) -> Result<DiscordCommand, ParseError> {
    Ok(DiscordCommand::Panel)
}

#[cfg(test)]
mod tests {
    use super::DiscordCommand;
    use crate::Command;
    use crate::test_support::{Expected, parse_bang, unexpected};

    fn check(input: &str, expected: Expected<DiscordCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Discord(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    #[test]
    fn panel_takes_no_arguments() {
        check("!panel", Ok(DiscordCommand::Panel));
        check(" !PANEL ", Ok(DiscordCommand::Panel));
        check("!panel here", unexpected("here", 7));
    }
}
