//! systemd services and their logs. Handler: `handlers::services`; configuration: `services`.
//!
//! ```text
//! service [status [name]]       bare `service` = status of all
//! service restart <name>
//! service repair                the configured repair sequence
//! logs <service> [lines]        lines 1–1000
//! ```

use crate::args::{LineCount, ServiceName};
use crate::error::ParseError;
use crate::permission::Permission;
use crate::tokens::Tokens;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServicesCommand {
    Status(Option<ServiceName>),
    Restart(ServiceName),
    Repair,
    Logs(ServiceName, Option<LineCount>),
}

impl ServicesCommand {
    pub fn name(&self) -> &'static str {
        match self {
            ServicesCommand::Logs(..) => "logs",
            _ => "service",
        }
    }

    pub fn required_permission(&self) -> Permission {
        match self {
            ServicesCommand::Status(_) => Permission::Moderator,
            _ => Permission::Admin,
        }
    }
}

pub(crate) fn parse(
    word: &'static str,
    tokens: &mut Tokens<'_>,
) -> Result<ServicesCommand, ParseError> {
    if word == "logs" {
        let service = tokens.expect_word("service")?;
        let service = tokens.value("service", service, ServiceName::parse)?;
        let lines = match tokens.word() {
            None => None,
            Some(lines) => Some(tokens.value("lines", lines, LineCount::parse)?),
        };
        return Ok(ServicesCommand::Logs(service, lines));
    }
    Ok(
        match tokens.choice("action", &["status", "restart", "repair"])? {
            None | Some("status") => match tokens.word() {
                None => ServicesCommand::Status(None),
                Some(name) => {
                    ServicesCommand::Status(Some(tokens.value("name", name, ServiceName::parse)?))
                }
            },
            Some("restart") => {
                let name = tokens.expect_word("name")?;
                ServicesCommand::Restart(tokens.value("name", name, ServiceName::parse)?)
            }
            _ => ServicesCommand::Repair,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::ServicesCommand;
    use crate::test_support::{Expected, invalid, missing, parse_bang, unexpected, unknown};
    use crate::{Command, LineCount, Permission, ServiceName, ValueProblem};

    fn check(input: &str, expected: Expected<ServicesCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Services(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    // The expected names are written as they are stored.
    fn name(text: &str) -> ServiceName {
        let name = ServiceName::parse(text).unwrap();
        assert_eq!(name.as_str(), text);
        name
    }

    fn logs(service: &str, lines: Option<u16>) -> Expected<ServicesCommand> {
        Ok(ServicesCommand::Logs(name(service), lines.map(LineCount)))
    }

    const ACTIONS: &[&str] = &["status", "restart", "repair"];
    const LINES_RANGE: ValueProblem = ValueProblem::OutOfRange { min: 1, max: 1000 };

    #[test]
    fn bare_service_shows_status_of_all() {
        check("!service", Ok(ServicesCommand::Status(None)));
        check("!service  ", Ok(ServicesCommand::Status(None)));
        check("!service status", Ok(ServicesCommand::Status(None)));
        check("!SERVICE Status", Ok(ServicesCommand::Status(None)));
    }

    #[test]
    fn status_of_one_service_keeps_its_case() {
        check(
            "!service status obs",
            Ok(ServicesCommand::Status(Some(name("obs")))),
        );
        check(
            "!service STATUS OBS",
            Ok(ServicesCommand::Status(Some(name("OBS")))),
        );
        let unit = "srtla-rec@1.service_x";
        check(
            &format!("!service status {unit}"),
            Ok(ServicesCommand::Status(Some(name(unit)))),
        );
    }

    #[test]
    fn restart_needs_a_service_name() {
        check(
            "!service restart obs",
            Ok(ServicesCommand::Restart(name("obs"))),
        );
        check(
            "!Service RESTART Obs",
            Ok(ServicesCommand::Restart(name("Obs"))),
        );
        check("!service restart", missing("name", 16));
        check("!service restart   ", missing("name", 16));
    }

    #[test]
    fn repair_takes_no_arguments() {
        check("!service repair", Ok(ServicesCommand::Repair));
        check("!Service REPAIR", Ok(ServicesCommand::Repair));
        check("!service repair now", unexpected("now", 16));
    }

    #[test]
    fn service_refuses_unknown_actions_and_trailing_words() {
        check("!service obs", unknown("action", "obs", ACTIONS, 9));
        check("!service stop obs", unknown("action", "stop", ACTIONS, 9));
        check("!service status obs extra", unexpected("extra", 20));
        check("!service restart obs nginx", unexpected("nginx", 21));
    }

    #[test]
    fn service_name_is_1_to_64_of_letters_digits_and_underscore_dot_at_dash() {
        let bad = |found: &str, at| invalid("name", found, ValueProblem::BadCharacters, at);
        check("!service status a/b", bad("a/b", 16));
        check("!service restart obs;reboot", bad("obs;reboot", 17));
        check("!service restart öbs", bad("öbs", 17));
        let longest = "s".repeat(64);
        let input = format!("!service restart {longest}");
        check(&input, Ok(ServicesCommand::Restart(name(&longest))));
        let too_long = "s".repeat(65);
        let input = format!("!service restart {too_long}");
        check(
            &input,
            invalid("name", &too_long, ValueProblem::TooLong { max: 64 }, 17),
        );
    }

    #[test]
    fn logs_takes_a_service_and_optional_lines() {
        check("!logs obs", logs("obs", None));
        check("!logs obs 1", logs("obs", Some(1)));
        check("!logs obs 50", logs("obs", Some(50)));
        check("!logs obs 1000", logs("obs", Some(1000)));
        check("!LOGS OBS 0050", logs("OBS", Some(50)));
        check("  !logs   nginx   20  ", logs("nginx", Some(20)));
    }

    #[test]
    fn logs_lines_are_1_to_1000() {
        check("!logs obs 0", invalid("lines", "0", LINES_RANGE, 10));
        check("!logs obs 1001", invalid("lines", "1001", LINES_RANGE, 10));
        check(
            "!logs obs 99999",
            invalid("lines", "99999", LINES_RANGE, 10),
        );
        let nan = |found: &str| invalid("lines", found, ValueProblem::NotANumber, 10);
        check("!logs obs ten", nan("ten"));
        check("!logs obs -1", nan("-1"));
        check("!logs obs +5", nan("+5"));
        check("!logs obs 1.5", nan("1.5"));
        check("!logs obs ５", nan("５"));
    }

    #[test]
    fn logs_needs_a_valid_service_and_nothing_after_lines() {
        check("!logs", missing("service", 5));
        check("!logs  ", missing("service", 5));
        check(
            "!logs a;b",
            invalid("service", "a;b", ValueProblem::BadCharacters, 6),
        );
        check("!logs obs 50 more", unexpected("more", 13));
    }

    #[test]
    fn status_needs_less_permission_than_changing_or_reading_logs() {
        let cases = [
            ("!service", Permission::Moderator),
            ("!service status obs", Permission::Moderator),
            ("!service restart obs", Permission::Admin),
            ("!service repair", Permission::Admin),
            ("!logs obs", Permission::Admin),
            ("!logs obs 10", Permission::Admin),
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
