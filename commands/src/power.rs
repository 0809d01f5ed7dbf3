//! Stream-PC power. Handler: `handlers::power`.
//!
//! ```text
//! pc [status]                bare `pc` = status
//! pc wake
//! pc restart [force]         refused while streaming unless `force`
//! pc shutdown [force]
//! ```

use crate::error::ParseError;
use crate::permission::Permission;
use crate::tokens::Tokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerCommand {
    Status,
    Wake,
    Restart { force: bool },
    Shutdown { force: bool },
}

impl PowerCommand {
    pub fn required_permission(&self) -> Permission {
        match self {
            PowerCommand::Status => Permission::Moderator,
            _ => Permission::Admin,
        }
    }
}

pub(crate) fn parse(tokens: &mut Tokens<'_>) -> Result<PowerCommand, ParseError> {
    Ok(
        match tokens.choice("action", &["status", "wake", "restart", "shutdown"])? {
            None | Some("status") => PowerCommand::Status,
            Some("wake") => PowerCommand::Wake,
            Some(action) => {
                let force = tokens.choice("force", &["force"])?.is_some();
                if action == "restart" {
                    PowerCommand::Restart { force }
                } else {
                    PowerCommand::Shutdown { force }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::PowerCommand;
    use crate::test_support::{Expected, parse_bang, unexpected, unknown};
    use crate::{Command, Permission};

    fn check(input: &str, expected: Expected<PowerCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Power(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    const ACTIONS: &[&str] = &["status", "wake", "restart", "shutdown"];

    #[test]
    fn bare_pc_shows_status() {
        check("!pc", Ok(PowerCommand::Status));
        check("  !pc  ", Ok(PowerCommand::Status));
        check("!pc status", Ok(PowerCommand::Status));
        check("!PC STATUS", Ok(PowerCommand::Status));
    }

    #[test]
    fn wake_takes_no_force() {
        check("!pc wake", Ok(PowerCommand::Wake));
        check("!Pc Wake", Ok(PowerCommand::Wake));
        check("!pc wake force", unexpected("force", 9));
    }

    #[test]
    fn restart_and_shutdown_take_an_optional_force() {
        check("!pc restart", Ok(PowerCommand::Restart { force: false }));
        check(
            "!pc restart force",
            Ok(PowerCommand::Restart { force: true }),
        );
        check("!pc shutdown", Ok(PowerCommand::Shutdown { force: false }));
        check(
            "!pc shutdown force",
            Ok(PowerCommand::Shutdown { force: true }),
        );
        check(
            "!PC SHUTDOWN FORCE",
            Ok(PowerCommand::Shutdown { force: true }),
        );
        check(
            "!pc Restart  Force ",
            Ok(PowerCommand::Restart { force: true }),
        );
    }

    #[test]
    fn force_is_the_only_word_after_restart_or_shutdown() {
        check("!pc restart now", unknown("force", "now", &["force"], 12));
        check("!pc shutdown -f", unknown("force", "-f", &["force"], 13));
        check("!pc restart force now", unexpected("now", 18));
    }

    #[test]
    fn pc_refuses_unknown_actions_and_trailing_words() {
        check("!pc reboot", unknown("action", "reboot", ACTIONS, 4));
        check("!pc on", unknown("action", "on", ACTIONS, 4));
        check("!pc force restart", unknown("action", "force", ACTIONS, 4));
        check("!pc status force", unexpected("force", 11));
    }

    #[test]
    fn status_needs_less_permission_than_power_actions() {
        let cases = [
            ("!pc", Permission::Moderator),
            ("!pc status", Permission::Moderator),
            ("!pc wake", Permission::Admin),
            ("!pc restart", Permission::Admin),
            ("!pc restart force", Permission::Admin),
            ("!pc shutdown", Permission::Admin),
            ("!pc shutdown force", Permission::Admin),
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
