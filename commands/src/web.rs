//! IP bans for the web server. Handler: `handlers::web`.
//!
//! ```text
//! ban-ip <ip>        IPv4 or IPv6
//! unban-ip <ip>
//! bans
//! ```

use crate::error::{ParseError, ValueProblem};
use crate::tokens::Tokens;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebCommand {
    Ban(IpAddr),
    Unban(IpAddr),
    List,
}

impl WebCommand {
    pub fn name(&self) -> &'static str {
        match self {
            WebCommand::Ban(_) => "ban-ip",
            WebCommand::Unban(_) => "unban-ip",
            WebCommand::List => "bans",
        }
    }
}

fn parse_ip(text: &str) -> Result<IpAddr, ValueProblem> {
    text.parse().map_err(|_| ValueProblem::NotAnIp)
}

pub(crate) fn parse(word: &'static str, tokens: &mut Tokens<'_>) -> Result<WebCommand, ParseError> {
    Ok(match word {
        "bans" => WebCommand::List,
        _ => {
            let ip = tokens.expect_word("ip")?;
            let ip = tokens.value("ip", ip, parse_ip)?;
            if word == "ban-ip" {
                WebCommand::Ban(ip)
            } else {
                WebCommand::Unban(ip)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::WebCommand;
    use crate::test_support::{Expected, invalid, missing, parse_bang, unexpected};
    use crate::{Command, ValueProblem};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn check(input: &str, expected: Expected<WebCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Web(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn v6(segments: [u16; 8]) -> IpAddr {
        IpAddr::V6(Ipv6Addr::from(segments))
    }

    #[test]
    fn ban_and_unban_take_ipv4() {
        check(
            "!ban-ip 192.168.1.10",
            Ok(WebCommand::Ban(v4(192, 168, 1, 10))),
        );
        check("!unban-ip 10.0.0.1", Ok(WebCommand::Unban(v4(10, 0, 0, 1))));
        check("!ban-ip 0.0.0.0", Ok(WebCommand::Ban(v4(0, 0, 0, 0))));
        check(
            "!ban-ip 255.255.255.255",
            Ok(WebCommand::Ban(v4(255, 255, 255, 255))),
        );
    }

    #[test]
    fn ban_and_unban_take_ipv6() {
        check(
            "!ban-ip ::1",
            Ok(WebCommand::Ban(v6([0, 0, 0, 0, 0, 0, 0, 1]))),
        );
        let doc = v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
        check("!ban-ip 2001:db8::1", Ok(WebCommand::Ban(doc)));
        check("!unban-ip 2001:DB8:0:0:0:0:0:1", Ok(WebCommand::Unban(doc)));
        let mapped = v6([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
        check("!unban-ip ::ffff:1.2.3.4", Ok(WebCommand::Unban(mapped)));
    }

    #[test]
    fn command_words_are_case_insensitive() {
        check("!BAN-IP 1.2.3.4", Ok(WebCommand::Ban(v4(1, 2, 3, 4))));
        check("!Unban-Ip 1.2.3.4", Ok(WebCommand::Unban(v4(1, 2, 3, 4))));
        check("!BANS", Ok(WebCommand::List));
    }

    #[test]
    fn bans_lists_and_takes_no_arguments() {
        check("!bans", Ok(WebCommand::List));
        check(" !bans ", Ok(WebCommand::List));
        check("!bans all", unexpected("all", 6));
    }

    #[test]
    fn ip_is_required() {
        check("!ban-ip", missing("ip", 7));
        check("!ban-ip   ", missing("ip", 7));
        check("!unban-ip", missing("ip", 9));
    }

    #[test]
    fn garbage_is_not_an_ip() {
        let not_ip = |found: &str, at| invalid("ip", found, ValueProblem::NotAnIp, at);
        check("!ban-ip 256.1.1.1", not_ip("256.1.1.1", 8));
        check("!ban-ip 1.2.3", not_ip("1.2.3", 8));
        check("!ban-ip 1.2.3.4.5", not_ip("1.2.3.4.5", 8));
        check("!ban-ip 10.0.0.1/24", not_ip("10.0.0.1/24", 8));
        check("!ban-ip 10.0.0.1:80", not_ip("10.0.0.1:80", 8));
        check("!ban-ip example.com", not_ip("example.com", 8));
        check("!ban-ip 2001:db8:::1", not_ip("2001:db8:::1", 8));
        check("!ban-ip [::1]", not_ip("[::1]", 8));
        check("!ban-ip fe80::1%eth0", not_ip("fe80::1%eth0", 8));
        check("!ban-ip １.２.３.４", not_ip("１.２.３.４", 8));
        check("!unban-ip everyone", not_ip("everyone", 10));
    }

    #[test]
    fn only_one_ip_at_a_time() {
        check("!ban-ip 1.2.3.4 5.6.7.8", unexpected("5.6.7.8", 16));
        check("!unban-ip ::1 now", unexpected("now", 14));
    }

    #[test]
    fn every_form_needs_admin() {
        for input in ["!ban-ip 1.2.3.4", "!unban-ip ::1", "!bans"] {
            let command = parse_bang(input).unwrap();
            assert_eq!(
                command.required_permission(),
                crate::Permission::Admin,
                "{input:?}"
            );
        }
    }
}
