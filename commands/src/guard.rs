//! The bitrate guard. Handler: `handlers::guard`.
//!
//! ```text
//! bitrate
//! guard [status|on|off]                       bare `guard` = status
//! trigger low|offline|rtt|rtt-offline [value|off]
//! trigger reset                              the configured thresholds again
//!     no value: show the current trigger; `off` or 0 (in any unit: `0k`, `0ms`): disable it
//!     low/offline take kbps (`800`, `800k`, `2.5m`), rtt/rtt-offline take ms (`1500`, `1.5s`)
//! dryrun on|off
//! ```

use crate::args::{Kbps, Millis, Toggle};
use crate::error::ParseError;
use crate::permission::Permission;
use crate::tokens::Tokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardCommand {
    /// Current ingest bitrate and RTT per stats server.
    Bitrate,
    /// Whether the guard runs, its state and triggers.
    Status,
    /// Turn automatic switching on or off.
    Switching(Toggle),
    /// Show or change one trigger at run time (kept in the state directory, never written to
    /// the configuration).
    Trigger(TriggerCommand),
    /// Put back the configured thresholds.
    ResetTriggers,
    /// Decide and announce, but do not switch.
    DryRun(Toggle),
}

/// One trigger and what to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerCommand {
    /// Below this bitrate the guard switches to the LOW scene.
    Low(TriggerValue<Kbps>),
    /// Below this bitrate the guard switches to the OFFLINE scene.
    Offline(TriggerValue<Kbps>),
    /// Above this round-trip time the guard switches to the LOW scene.
    Rtt(TriggerValue<Millis>),
    /// Above this round-trip time the guard switches to the OFFLINE scene.
    RttOffline(TriggerValue<Millis>),
}

/// Show, disable or set a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerValue<T> {
    Show,
    Disable,
    Set(T),
}

impl TriggerCommand {
    /// Whether this only reads the trigger.
    pub fn is_show(&self) -> bool {
        matches!(
            self,
            TriggerCommand::Low(TriggerValue::Show)
                | TriggerCommand::Offline(TriggerValue::Show)
                | TriggerCommand::Rtt(TriggerValue::Show)
                | TriggerCommand::RttOffline(TriggerValue::Show)
        )
    }
}

impl GuardCommand {
    pub fn name(&self) -> &'static str {
        match self {
            GuardCommand::Bitrate => "bitrate",
            GuardCommand::Status | GuardCommand::Switching(_) => "guard",
            GuardCommand::Trigger(_) | GuardCommand::ResetTriggers => "trigger",
            GuardCommand::DryRun(_) => "dryrun",
        }
    }

    pub fn required_permission(&self) -> Permission {
        match self {
            GuardCommand::Bitrate => Permission::Viewer,
            GuardCommand::Status => Permission::Moderator,
            GuardCommand::Trigger(t) if t.is_show() => Permission::Moderator,
            GuardCommand::Switching(_)
            | GuardCommand::Trigger(_)
            | GuardCommand::ResetTriggers
            | GuardCommand::DryRun(_) => Permission::Admin,
        }
    }
}

pub(crate) fn parse(
    word: &'static str,
    tokens: &mut Tokens<'_>,
) -> Result<GuardCommand, ParseError> {
    Ok(match word {
        "bitrate" => GuardCommand::Bitrate,
        "guard" => match tokens.choice("action", &["status", "on", "off"])? {
            None | Some("status") => GuardCommand::Status,
            Some(toggle) => GuardCommand::Switching(Toggle::from_word(toggle)),
        },
        "dryrun" => GuardCommand::DryRun(Toggle::from_word(
            tokens.expect_choice("state", Toggle::WORDS)?,
        )),
        _ => parse_trigger(tokens)?,
    })
}

/// A value of zero in any spelling (`0k`, `0ms`, `0.0`) disables the trigger, like `0` and `off`.
fn set_or_disable<T: PartialEq>(value: T, zero: T) -> TriggerValue<T> {
    if value == zero {
        TriggerValue::Disable
    } else {
        TriggerValue::Set(value)
    }
}

fn parse_trigger(tokens: &mut Tokens<'_>) -> Result<GuardCommand, ParseError> {
    let kind = tokens.expect_choice("kind", &["low", "offline", "rtt", "rtt-offline", "reset"])?;
    if kind == "reset" {
        return Ok(GuardCommand::ResetTriggers);
    }
    let value = tokens.word();
    let is_off = |text: &str| text.eq_ignore_ascii_case("off") || text == "0";
    Ok(GuardCommand::Trigger(match kind {
        "low" | "offline" => {
            let value = match value {
                None => TriggerValue::Show,
                Some((_, text)) if is_off(text) => TriggerValue::Disable,
                Some(v) => set_or_disable(tokens.value("value", v, Kbps::parse)?, Kbps(0)),
            };
            if kind == "low" {
                TriggerCommand::Low(value)
            } else {
                TriggerCommand::Offline(value)
            }
        }
        _ => {
            let value = match value {
                None => TriggerValue::Show,
                Some((_, text)) if is_off(text) => TriggerValue::Disable,
                Some(v) => set_or_disable(tokens.value("value", v, Millis::parse)?, Millis(0)),
            };
            if kind == "rtt" {
                TriggerCommand::Rtt(value)
            } else {
                TriggerCommand::RttOffline(value)
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::{GuardCommand, TriggerCommand, TriggerValue};
    use crate::test_support::{Expected, invalid, missing, parse_bang, unexpected, unknown};
    use crate::{Command, Kbps, Millis, Permission, Toggle, ValueProblem};

    fn check(input: &str, expected: Expected<GuardCommand>) {
        let actual = parse_bang(input).map(|command| match command {
            Command::Guard(command) => command,
            other => panic!("{input:?} parsed as another feature's command: {other:?}"),
        });
        assert_eq!(actual, expected, "input: {input:?}");
    }

    fn low(value: TriggerValue<Kbps>) -> Expected<GuardCommand> {
        Ok(GuardCommand::Trigger(TriggerCommand::Low(value)))
    }

    fn offline(value: TriggerValue<Kbps>) -> Expected<GuardCommand> {
        Ok(GuardCommand::Trigger(TriggerCommand::Offline(value)))
    }

    fn rtt(value: TriggerValue<Millis>) -> Expected<GuardCommand> {
        Ok(GuardCommand::Trigger(TriggerCommand::Rtt(value)))
    }

    fn rtt_offline(value: TriggerValue<Millis>) -> Expected<GuardCommand> {
        Ok(GuardCommand::Trigger(TriggerCommand::RttOffline(value)))
    }

    const KINDS: &[&str] = &["low", "offline", "rtt", "rtt-offline", "reset"];
    const KBPS_RANGE: ValueProblem = ValueProblem::OutOfRange {
        min: 0,
        max: 1_000_000,
    };
    const MILLIS_RANGE: ValueProblem = ValueProblem::OutOfRange {
        min: 0,
        max: 600_000,
    };

    #[test]
    fn bitrate_takes_no_arguments() {
        check("!bitrate", Ok(GuardCommand::Bitrate));
        check("!BITRATE", Ok(GuardCommand::Bitrate));
        check("!bitrate now", unexpected("now", 9));
    }

    #[test]
    fn bare_guard_shows_status() {
        check("!guard", Ok(GuardCommand::Status));
        check("!guard   ", Ok(GuardCommand::Status));
        check("!guard status", Ok(GuardCommand::Status));
    }

    #[test]
    fn guard_switches_on_and_off_case_insensitively() {
        check("!guard on", Ok(GuardCommand::Switching(Toggle::On)));
        check("!guard off", Ok(GuardCommand::Switching(Toggle::Off)));
        check("!Guard ON", Ok(GuardCommand::Switching(Toggle::On)));
        check("!GUARD Off", Ok(GuardCommand::Switching(Toggle::Off)));
        check("!guard STATUS", Ok(GuardCommand::Status));
    }

    #[test]
    fn guard_refuses_unknown_actions_and_trailing_words() {
        let actions: &[&str] = &["status", "on", "off"];
        check("!guard maybe", unknown("action", "maybe", actions, 7));
        check("!guard enable", unknown("action", "enable", actions, 7));
        check("!guard on now", unexpected("now", 10));
        check("!guard status all", unexpected("all", 14));
    }

    #[test]
    fn dryrun_needs_on_or_off() {
        check("!dryrun on", Ok(GuardCommand::DryRun(Toggle::On)));
        check("!DryRun OFF", Ok(GuardCommand::DryRun(Toggle::Off)));
        check("!dryrun", missing("state", 7));
        check("!dryrun  ", missing("state", 7));
        check("!dryrun yes", unknown("state", "yes", &["on", "off"], 8));
        check("!dryrun on off", unexpected("off", 11));
    }

    #[test]
    fn trigger_without_value_shows_current() {
        check("!trigger low", low(TriggerValue::Show));
        check("!trigger offline", offline(TriggerValue::Show));
        check("!trigger rtt", rtt(TriggerValue::Show));
        check("!trigger rtt-offline  ", rtt_offline(TriggerValue::Show));
    }

    #[test]
    fn trigger_kind_is_case_insensitive() {
        check("!TRIGGER LOW", low(TriggerValue::Show));
        check(
            "!Trigger Offline 500",
            offline(TriggerValue::Set(Kbps(500))),
        );
        check(
            "!trigger RTT-Offline 2S",
            rtt_offline(TriggerValue::Set(Millis(2000))),
        );
        check("!trigger Rtt 1.5S", rtt(TriggerValue::Set(Millis(1500))));
    }

    #[test]
    fn trigger_without_kind_or_with_unknown_kind_is_refused() {
        check("!trigger", missing("kind", 8));
        check("!trigger  ", missing("kind", 8));
        check("!trigger high", unknown("kind", "high", KINDS, 9));
        check("!trigger 800 low", unknown("kind", "800", KINDS, 9));
        check(
            "!trigger rtt_offline",
            unknown("kind", "rtt_offline", KINDS, 9),
        );
    }

    #[test]
    fn trigger_off_or_zero_disables() {
        check("!trigger low off", low(TriggerValue::Disable));
        check("!trigger low OFF", low(TriggerValue::Disable));
        check("!trigger low 0", low(TriggerValue::Disable));
        check("!trigger offline Off", offline(TriggerValue::Disable));
        check("!trigger rtt off", rtt(TriggerValue::Disable));
        check("!trigger rtt-offline 0", rtt_offline(TriggerValue::Disable));
    }

    #[test]
    fn trigger_zero_in_any_spelling_or_rounding_to_zero_disables() {
        check("!trigger low 0k", low(TriggerValue::Disable));
        check("!trigger low 0kbps", low(TriggerValue::Disable));
        check("!trigger offline 0.0m", offline(TriggerValue::Disable));
        check("!trigger low 00", low(TriggerValue::Disable));
        check("!trigger rtt 0ms", rtt(TriggerValue::Disable));
        check(
            "!trigger rtt-offline 0s",
            rtt_offline(TriggerValue::Disable),
        );
        check("!trigger rtt 0.0", rtt(TriggerValue::Disable));
        check("!trigger low 0.4", low(TriggerValue::Disable));
    }

    #[test]
    fn bitrate_triggers_take_kbps_with_optional_unit() {
        check("!trigger low 800", low(TriggerValue::Set(Kbps(800))));
        check("!trigger low 800k", low(TriggerValue::Set(Kbps(800))));
        check("!trigger low 800kb", low(TriggerValue::Set(Kbps(800))));
        check("!trigger low 800kbps", low(TriggerValue::Set(Kbps(800))));
        check("!trigger low 800KBPS", low(TriggerValue::Set(Kbps(800))));
        check("!trigger low 2.5m", low(TriggerValue::Set(Kbps(2500))));
        check("!trigger low 2.5mb", low(TriggerValue::Set(Kbps(2500))));
        check("!trigger low 2.5Mbps", low(TriggerValue::Set(Kbps(2500))));
        check(
            "!trigger offline 0.25M",
            offline(TriggerValue::Set(Kbps(250))),
        );
        check(
            "!trigger offline 150.4",
            offline(TriggerValue::Set(Kbps(150))),
        );
        check(
            "!trigger offline .5m",
            offline(TriggerValue::Set(Kbps(500))),
        );
    }

    #[test]
    fn bitrate_triggers_accept_up_to_one_gbps() {
        check(
            "!trigger low 1000000",
            low(TriggerValue::Set(Kbps(1_000_000))),
        );
        check(
            "!trigger low 1000m",
            low(TriggerValue::Set(Kbps(1_000_000))),
        );
        check(
            "!trigger low 1000001",
            invalid("value", "1000001", KBPS_RANGE, 13),
        );
        check(
            "!trigger low 1000.001m",
            invalid("value", "1000.001m", KBPS_RANGE, 13),
        );
        let huge = "9".repeat(400);
        let input = format!("!trigger offline {huge}");
        check(&input, invalid("value", &huge, KBPS_RANGE, 17));
    }

    #[test]
    fn bitrate_trigger_value_that_is_not_a_number_is_refused() {
        let nan = |found: &str, at| invalid("value", found, ValueProblem::NotANumber, at);
        check("!trigger low abc", nan("abc", 13));
        check("!trigger low -5", nan("-5", 13));
        check("!trigger low 1.2.3", nan("1.2.3", 13));
        check("!trigger low k", nan("k", 13));
        check("!trigger low .", nan(".", 13));
        check("!trigger low 1e3", nan("1e3", 13));
        check("!trigger low 5ms", nan("5ms", 13));
        check("!trigger low 800kbit", nan("800kbit", 13));
        check("!trigger low ８００", nan("８００", 13));
        check("!trigger offline NaN", nan("NaN", 17));
        check("!trigger offline inf", nan("inf", 17));
    }

    #[test]
    fn rtt_triggers_take_millis_with_optional_unit() {
        check("!trigger rtt 1500", rtt(TriggerValue::Set(Millis(1500))));
        check("!trigger rtt 1500ms", rtt(TriggerValue::Set(Millis(1500))));
        check("!trigger rtt 1500MS", rtt(TriggerValue::Set(Millis(1500))));
        check("!trigger rtt 1.5s", rtt(TriggerValue::Set(Millis(1500))));
        check("!trigger rtt 0.1s", rtt(TriggerValue::Set(Millis(100))));
        check(
            "!trigger rtt-offline 3s",
            rtt_offline(TriggerValue::Set(Millis(3000))),
        );
        check(
            "!trigger rtt-offline 600000",
            rtt_offline(TriggerValue::Set(Millis(600_000))),
        );
        check(
            "!trigger rtt-offline 600s",
            rtt_offline(TriggerValue::Set(Millis(600_000))),
        );
    }

    #[test]
    fn rtt_trigger_value_out_of_range_or_not_a_number_is_refused() {
        check(
            "!trigger rtt 601s",
            invalid("value", "601s", MILLIS_RANGE, 13),
        );
        check(
            "!trigger rtt-offline 600001",
            invalid("value", "600001", MILLIS_RANGE, 21),
        );
        let nan = |found: &str, at| invalid("value", found, ValueProblem::NotANumber, at);
        check("!trigger rtt fast", nan("fast", 13));
        check("!trigger rtt 1500k", nan("1500k", 13));
        check("!trigger rtt 1m", nan("1m", 13));
        check("!trigger rtt s", nan("s", 13));
        check("!trigger rtt-offline -1s", nan("-1s", 21));
    }

    #[test]
    fn trigger_refuses_a_second_value() {
        check("!trigger low 800 900", unexpected("900", 17));
        check("!trigger low off now", unexpected("now", 17));
        check("!trigger rtt 1.5 s", unexpected("s", 17));
    }

    #[test]
    fn reading_needs_less_permission_than_changing() {
        let cases = [
            ("!bitrate", Permission::Viewer),
            ("!guard", Permission::Moderator),
            ("!guard status", Permission::Moderator),
            ("!guard on", Permission::Admin),
            ("!guard off", Permission::Admin),
            ("!trigger low", Permission::Moderator),
            ("!trigger rtt-offline", Permission::Moderator),
            ("!trigger low 800", Permission::Admin),
            ("!trigger rtt off", Permission::Admin),
            ("!dryrun on", Permission::Admin),
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

    #[test]
    fn trigger_reset_takes_nothing_more_and_is_for_admins() {
        check("!trigger reset", Ok(GuardCommand::ResetTriggers));
        check("!trigger RESET", Ok(GuardCommand::ResetTriggers));
        check("!trigger reset 800", unexpected("800", 15));
        assert_eq!(
            GuardCommand::ResetTriggers.required_permission(),
            Permission::Admin
        );
        assert_eq!(GuardCommand::ResetTriggers.name(), "trigger");
    }
}
