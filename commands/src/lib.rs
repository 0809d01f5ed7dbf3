//! The stream-control command vocabulary.
//!
//! Every action a person can take (from Twitch chat, Discord or the console) is a [`Command`].
//! Surfaces translate their input into it; the application's `dispatch` module checks permission
//! and cooldown once and hands it to the one handler of its feature.
//!
//! **Invariant:** this crate is pure. It depends on `std` and `thiserror` only (checked by a test
//! in the application's `tests/it/invariants.rs`): no I/O, no async runtime, no platform crates.
//!
//! Parsing is `parse(line, prefix)` with three outcomes (see [`parse`]). One module per feature,
//! each stating its grammar; arguments are typed, with units in the types ([`Kbps`], [`Millis`]).

mod args;
mod error;
mod permission;
#[cfg(test)]
mod test_support;
mod tokens;

pub mod discord;
pub mod guard;
pub mod meta;
pub mod obs;
pub mod overlay;
pub mod power;
pub mod restream;
pub mod services;
pub mod twitch;
pub mod web;

pub use args::{
    AdSeconds, AlertKind, CategoryQuery, ChannelLogin, EndpointName, Kbps, LineCount, MarkerText,
    Millis, PushUrl, SceneName, ServiceName, SourceName, TitleText, Toggle,
};
pub use error::{ParseError, ParseErrorKind, ValueProblem};
pub use permission::Permission;

use tokens::Tokens;

/// One action, with typed arguments. One variant per feature; each wraps that feature's command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Obs(obs::ObsCommand),
    Guard(guard::GuardCommand),
    Twitch(twitch::TwitchCommand),
    Restream(restream::RestreamCommand),
    Power(power::PowerCommand),
    Services(services::ServicesCommand),
    Overlay(overlay::OverlayCommand),
    Discord(discord::DiscordCommand),
    Web(web::WebCommand),
    Meta(meta::MetaCommand),
}

/// A part of the bot that is on when its configuration section is present. Its name is that
/// section's (`overlay` is `web.overlay`), the command module's, the handler's and the locale
/// section's. [`Command::feature`] names the one a command needs; the application refuses the
/// command, once, when it is not configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    Obs,
    Guard,
    Twitch,
    Discord,
    Restream,
    Power,
    Services,
    Overlay,
    Web,
}

impl Feature {
    /// Every feature, in the order `help`, `status` and `/api/status` list them.
    pub const ALL: [Feature; 9] = [
        Feature::Obs,
        Feature::Guard,
        Feature::Twitch,
        Feature::Discord,
        Feature::Restream,
        Feature::Power,
        Feature::Services,
        Feature::Overlay,
        Feature::Web,
    ];

    /// The configuration section's name.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Obs => "obs",
            Feature::Guard => "guard",
            Feature::Twitch => "twitch",
            Feature::Discord => "discord",
            Feature::Restream => "restream",
            Feature::Power => "power",
            Feature::Services => "services",
            Feature::Overlay => "overlay",
            Feature::Web => "web",
        }
    }
}

/// What a surface needs to know about one command word: its grammar and metadata keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// The command word, without prefix (also the Discord command name).
    pub name: &'static str,
    /// The grammar, without prefix, e.g. `scene <name…>`.
    pub usage: &'static str,
    /// Argument names; each has a localised description (`cmd-<name>.arg-<arg>`).
    pub args: &'static [&'static str],
    /// The lowest level that may use at least one form of this command by default.
    pub min_permission: Permission,
}

const fn spec(
    name: &'static str,
    usage: &'static str,
    args: &'static [&'static str],
    min_permission: Permission,
) -> CommandSpec {
    CommandSpec {
        name,
        usage,
        args,
        min_permission,
    }
}

use Permission::{Admin, Moderator, Viewer};

/// Every command word, in help order, with its grammar.
pub const SPECS: &[CommandSpec] = &[
    // obs: the output
    spec("start", "start", &[], Admin),
    spec("stop", "stop", &[], Admin),
    spec("record", "record start|stop", &["action"], Admin),
    // obs: scenes
    spec("live", "live", &[], Moderator),
    spec("brb", "brb", &[], Moderator),
    spec("starting", "starting", &[], Moderator),
    spec("scene", "scene <name…>", &["name"], Moderator),
    spec("fix", "fix", &[], Moderator),
    spec("refresh", "refresh", &[], Moderator),
    // obs: audio and sources
    spec("mute", "mute <input…>", &["input"], Moderator),
    spec("unmute", "unmute <input…>", &["input"], Moderator),
    spec(
        "source",
        "source <name…> show|hide",
        &["name", "action"],
        Moderator,
    ),
    // guard
    spec("bitrate", "bitrate", &[], Viewer),
    spec("guard", "guard [status|on|off]", &["action"], Moderator),
    spec(
        "trigger",
        "trigger low|offline|rtt|rtt-offline [value|off] | reset",
        &["kind", "value"],
        Moderator,
    ),
    spec("dryrun", "dryrun on|off", &["state"], Admin),
    // twitch
    spec("title", "title <text…>", &["text"], Moderator),
    spec("category", "category <query…>", &["query"], Moderator),
    spec("raid", "raid <channel>", &["channel"], Admin),
    spec("marker", "marker [text…]", &["text"], Moderator),
    spec("clip", "clip", &[], Moderator),
    spec("ad", "ad [seconds]", &["seconds"], Moderator),
    spec("snooze", "snooze", &[], Moderator),
    // restream
    spec(
        "restream",
        "restream [list] | on <name> | off <name> | add <name> <url> | remove <name>",
        &["action", "name", "url"],
        Moderator,
    ),
    // power
    spec(
        "pc",
        "pc [status] | wake | restart [force] | shutdown [force]",
        &["action", "force"],
        Moderator,
    ),
    // services
    spec(
        "service",
        "service [status [name]] | restart <name> | repair",
        &["action", "name"],
        Moderator,
    ),
    spec(
        "logs",
        "logs <service> [lines]",
        &["service", "lines"],
        Admin,
    ),
    // overlay
    spec(
        "alert",
        "alert test low|restored|offline|raid|custom",
        &["action", "kind"],
        Moderator,
    ),
    // web
    spec("ban-ip", "ban-ip <ip>", &["ip"], Admin),
    spec("unban-ip", "unban-ip <ip>", &["ip"], Admin),
    spec("bans", "bans", &[], Admin),
    // discord
    spec("panel", "panel", &[], Moderator),
    // meta
    spec("help", "help [command]", &["command"], Viewer),
    spec("status", "status", &[], Moderator),
    spec("ping", "ping", &[], Viewer),
    spec("version", "version", &[], Viewer),
];

impl Command {
    /// Every command word, in the order of [`SPECS`].
    pub const NAMES: &'static [&'static str] = &[
        "start", "stop", "record", "live", "brb", "starting", "scene", "fix", "refresh", "mute",
        "unmute", "source", "bitrate", "guard", "trigger", "dryrun", "title", "category", "raid",
        "marker", "clip", "ad", "snooze", "restream", "pc", "service", "logs", "alert", "ban-ip",
        "unban-ip", "bans", "panel", "help", "status", "ping", "version",
    ];

    /// The command word this command was (or would be) typed with.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Obs(c) => c.name(),
            Command::Guard(c) => c.name(),
            Command::Twitch(c) => c.name(),
            Command::Restream(_) => "restream",
            Command::Power(_) => "pc",
            Command::Services(c) => c.name(),
            Command::Overlay(_) => "alert",
            Command::Discord(_) => "panel",
            Command::Web(c) => c.name(),
            Command::Meta(c) => c.name(),
        }
    }

    /// The feature this command needs, or `None` for the bot's own commands (`help`, `status`,
    /// `ping`, `version`), which work whatever is configured.
    pub fn feature(&self) -> Option<Feature> {
        match self {
            Command::Obs(_) => Some(Feature::Obs),
            Command::Guard(_) => Some(Feature::Guard),
            Command::Twitch(_) => Some(Feature::Twitch),
            Command::Restream(_) => Some(Feature::Restream),
            Command::Power(_) => Some(Feature::Power),
            Command::Services(_) => Some(Feature::Services),
            Command::Overlay(_) => Some(Feature::Overlay),
            Command::Discord(_) => Some(Feature::Discord),
            Command::Web(_) => Some(Feature::Web),
            Command::Meta(_) => None,
        }
    }

    /// The default level needed for this exact form (e.g. `guard status` is lower than `guard on`).
    /// The application may override it per command word from its configuration.
    pub fn required_permission(&self) -> Permission {
        match self {
            Command::Obs(c) => c.required_permission(),
            Command::Guard(c) => c.required_permission(),
            Command::Twitch(c) => c.required_permission(),
            Command::Restream(c) => c.required_permission(),
            Command::Power(c) => c.required_permission(),
            Command::Services(c) => c.required_permission(),
            Command::Overlay(_) => Moderator,
            Command::Discord(_) => Moderator,
            Command::Web(_) => Admin,
            Command::Meta(c) => c.required_permission(),
        }
    }

    /// Whether the answer may carry private data: journal lines (`logs`), IP addresses and the
    /// ban list (`ban-ip`, `unban-ip`, `bans`), restream endpoints (`restream list`, whose
    /// URLs name hosts, and `restream add`, which shows a stream key to whoever reads the
    /// command). Such a command is refused in a public chat and answered privately elsewhere.
    pub fn is_private(&self) -> bool {
        match self {
            Command::Services(c) => matches!(c, services::ServicesCommand::Logs(..)),
            Command::Web(_) => true,
            Command::Restream(c) => matches!(
                c,
                restream::RestreamCommand::List | restream::RestreamCommand::Add(..)
            ),
            Command::Obs(_)
            | Command::Guard(_)
            | Command::Twitch(_)
            | Command::Power(_)
            | Command::Overlay(_)
            | Command::Discord(_)
            | Command::Meta(_) => false,
        }
    }

    /// Whether the answer is for the invoker's eyes only where a surface can answer privately
    /// (Discord: ephemeral, or a private channel): every [`Command::is_private`] command, and
    /// `service`, whose answers name units and carry systemctl's errors (fine in a public chat
    /// to those allowed to use it, not to a whole Discord channel).
    pub fn answered_privately(&self) -> bool {
        self.is_private() || matches!(self, Command::Services(_))
    }

    /// Whether adding `force` would make a different command: `pc restart` and `pc shutdown`
    /// without it (refused while streaming). The panel's confirmation offers the forced form
    /// as a second button.
    pub fn can_force(&self) -> bool {
        matches!(
            self,
            Command::Power(
                power::PowerCommand::Restart { force: false }
                    | power::PowerCommand::Shutdown { force: false }
            )
        )
    }

    /// The spec of this command's word.
    pub fn spec(&self) -> &'static CommandSpec {
        spec_of(self.name()).unwrap_or(&SPECS[0])
    }
}

/// One line per command form (without prefix), with minimal valid arguments: every command word
/// and every sub-form, so a test can go over the whole vocabulary (the application's
/// authorisation matrix does). A new command word without a line here fails this crate's tests.
pub const FORMS: &[&str] = &[
    "start",
    "stop",
    "record start",
    "record stop",
    "live",
    "brb",
    "starting",
    "scene Main",
    "fix",
    "refresh",
    "mute Mic",
    "unmute Mic",
    "source Webcam show",
    "source Webcam hide",
    "bitrate",
    "guard",
    "guard status",
    "guard on",
    "guard off",
    "trigger low",
    "trigger reset",
    "trigger low off",
    "trigger low 800k",
    "trigger offline",
    "trigger offline 0",
    "trigger offline 300",
    "trigger rtt",
    "trigger rtt off",
    "trigger rtt 1.5s",
    "trigger rtt-offline",
    "trigger rtt-offline 0",
    "trigger rtt-offline 3000ms",
    "dryrun on",
    "dryrun off",
    "title Hello",
    "category IRL",
    "raid someone",
    "marker",
    "marker Bridge down",
    "clip",
    "ad",
    "ad 90",
    "snooze",
    "restream",
    "restream list",
    "restream on Main",
    "restream off Main",
    "restream add Main rtmp://a.example/app/key",
    "restream remove Main",
    "pc",
    "pc status",
    "pc wake",
    "pc restart",
    "pc restart force",
    "pc shutdown",
    "pc shutdown force",
    "service",
    "service status",
    "service status obs",
    "service restart obs",
    "service repair",
    "logs obs",
    "logs obs 10",
    "alert test low",
    "alert test restored",
    "alert test offline",
    "alert test raid",
    "alert test custom",
    "ban-ip 1.2.3.4",
    "unban-ip ::1",
    "bans",
    "panel",
    "help",
    "help scene",
    "status",
    "ping",
    "version",
];

/// The spec of a command word (case-insensitive), if it is one.
pub fn spec_of(name: &str) -> Option<&'static CommandSpec> {
    SPECS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// Parse one line of chat (or console) text.
///
/// - `None`: not for the bot (no prefix, or an unknown command word): stay silent.
/// - `Some(Err(_))`: one of our commands, but malformed: answer with its usage.
/// - `Some(Ok(_))`: a command.
///
/// The command word (and sub-command words) are case-insensitive; arguments keep their case.
/// An empty prefix means every line is a candidate (the console and tests use it).
pub fn parse(line: &str, prefix: &str) -> Option<Result<Command, ParseError>> {
    let start = line.len() - line.trim_start().len();
    let rest = &line[start..];
    if !rest.starts_with(prefix) {
        return None;
    }
    let word_start = start + prefix.len();
    let after = &line[word_start..];
    let word_len = after
        .find(|c: char| c.is_whitespace())
        .unwrap_or(after.len());
    if word_len == 0 {
        return None;
    }
    let word = &after[..word_len];
    let spec = spec_of(word)?;
    let mut tokens = Tokens::new(line, word_start + word_len, spec.name);
    let parsed = match spec.name {
        "start" | "stop" | "record" | "live" | "brb" | "starting" | "scene" | "fix" | "refresh"
        | "mute" | "unmute" | "source" => obs::parse(spec.name, &mut tokens).map(Command::Obs),
        "bitrate" | "guard" | "trigger" | "dryrun" => {
            guard::parse(spec.name, &mut tokens).map(Command::Guard)
        }
        "title" | "category" | "raid" | "marker" | "clip" | "ad" | "snooze" => {
            twitch::parse(spec.name, &mut tokens).map(Command::Twitch)
        }
        "restream" => restream::parse(&mut tokens).map(Command::Restream),
        "pc" => power::parse(&mut tokens).map(Command::Power),
        "service" | "logs" => services::parse(spec.name, &mut tokens).map(Command::Services),
        "alert" => overlay::parse(&mut tokens).map(Command::Overlay),
        "panel" => discord::parse(&mut tokens).map(Command::Discord),
        "ban-ip" | "unban-ip" | "bans" => web::parse(spec.name, &mut tokens).map(Command::Web),
        _ => meta::parse(spec.name, &mut tokens).map(Command::Meta),
    };
    Some(parsed.and_then(|command| tokens.finish().map(|()| command)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn ok(line: &str, prefix: &str) -> Command {
        match parse(line, prefix) {
            Some(Ok(command)) => command,
            other => panic!("{line:?} with prefix {prefix:?} gave {other:?}"),
        }
    }

    fn err(line: &str) -> ParseError {
        match parse(line, "!") {
            Some(Err(error)) => error,
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    #[test]
    fn seed_bot_chat_commands_work_unchanged() {
        use obs::ObsCommand;
        let cases = [
            ("!start", Command::Obs(ObsCommand::Start)),
            ("!live", Command::Obs(ObsCommand::Live)),
            ("!brb", Command::Obs(ObsCommand::Brb)),
            ("!fix", Command::Obs(ObsCommand::Fix)),
            ("!stop", Command::Obs(ObsCommand::Stop)),
            ("  !brb  ", Command::Obs(ObsCommand::Brb)),
            ("\t!live\r\n", Command::Obs(ObsCommand::Live)),
            (" !fix", Command::Obs(ObsCommand::Fix)),
            ("!stop \n", Command::Obs(ObsCommand::Stop)),
        ];
        for (line, expected) in cases {
            assert_eq!(ok(line, "!"), expected, "line: {line:?}");
        }
    }

    #[test]
    fn lines_that_are_not_for_the_bot_are_ignored() {
        let cases = [
            ("", "!"),
            ("   ", "!"),
            ("hello", "!"),
            ("brb", "!"),
            ("hello !brb", "!"),
            ("!", "!"),
            ("  !  ", "!"),
            ("! brb", "!"),
            ("!\tbrb", "!"),
            ("!\u{a0}brb", "!"),
            ("!hello", "!"),
            ("!brbx", "!"),
            ("!scenes Main", "!"),
            ("!!brb", "!"),
            ("!brb\u{200b}", "!"),
            ("?brb", "!"),
            ("!brb", "?"),
            ("", ""),
            ("  \t ", ""),
            ("!brb", ""),
            ("hello world", ""),
            ("?? brb", "??"),
            ("?brb", "??"),
            ("???brb", "??"),
            ("!brb", "??"),
        ];
        for (line, prefix) in cases {
            assert_eq!(
                parse(line, prefix),
                None,
                "line {line:?} with prefix {prefix:?}"
            );
        }
    }

    #[test]
    fn multi_character_and_empty_prefixes_work() {
        let brb = Command::Obs(obs::ObsCommand::Brb);
        assert_eq!(ok("??brb", "??"), brb);
        assert_eq!(ok("  ??BRB  ", "??"), brb);
        assert_eq!(ok("brb", ""), brb);
        assert_eq!(ok("  Brb ", ""), brb);
        let guard_on = Command::Guard(guard::GuardCommand::Switching(Toggle::On));
        assert_eq!(ok("guard on", ""), guard_on);
        assert_eq!(ok("??guard on", "??"), guard_on);
        assert_eq!(ok("\u{1f916}guard on", "\u{1f916}"), guard_on);
    }

    #[test]
    fn error_positions_are_byte_offsets_in_the_whole_line() {
        let error = err("  !trigger low abc  ");
        assert_eq!(error.position, 15);
        assert_eq!(error.input, "  !trigger low abc  ");
        let error = err("  !record  ");
        assert_eq!(error.position, 9);
        assert_eq!(
            error.kind,
            ParseErrorKind::MissingArgument { argument: "action" }
        );
        // Multi-byte text before the error moves it by bytes, not characters.
        let error = err("\u{3000}!raid é");
        assert_eq!(error.position, 9);
        assert_eq!(&error.input[error.position..], "é");
        let error = parse("??trigger low abc", "??").unwrap().unwrap_err();
        assert_eq!(error.position, 14);
    }

    #[test]
    fn names_match_specs_in_order_without_duplicates() {
        let spec_names: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
        assert_eq!(Command::NAMES, spec_names.as_slice());
        let unique: HashSet<&str> = Command::NAMES.iter().copied().collect();
        assert_eq!(
            unique.len(),
            Command::NAMES.len(),
            "duplicate command names"
        );
        for name in Command::NAMES {
            assert_eq!(
                name.to_ascii_lowercase(),
                *name,
                "{name:?} is not lower case"
            );
            assert!(
                !name.contains(char::is_whitespace),
                "{name:?} contains whitespace"
            );
        }
    }

    #[test]
    fn every_spec_usage_starts_with_its_name() {
        for spec in SPECS {
            let first = spec.usage.split_whitespace().next();
            assert_eq!(first, Some(spec.name), "usage of {:?}", spec.name);
        }
    }

    #[test]
    fn every_name_parses_to_a_command_of_that_name() {
        for name in Command::NAMES {
            let form = FORMS
                .iter()
                .find(|form| form.split_whitespace().next() == Some(name))
                .unwrap_or_else(|| panic!("no form of {name:?}"));
            for prefix in ["!", "", "??"] {
                let command = ok(&format!("{prefix}{form}"), prefix);
                assert_eq!(command.name(), *name, "form {form:?}");
                assert_eq!(command.spec().name, *name, "form {form:?}");
            }
            let upper = format!("!{}", form.to_ascii_uppercase());
            assert_eq!(ok(&upper, "!").name(), *name, "form {upper:?}");
        }
    }

    #[test]
    fn every_form_parses_to_its_own_command_word() {
        for form in FORMS {
            let command = ok(&format!("!{form}"), "!");
            assert_eq!(
                Some(command.name()),
                form.split_whitespace().next(),
                "form {form:?}"
            );
        }
    }

    #[test]
    fn answers_with_logs_addresses_bans_or_endpoints_are_private() {
        let private: Vec<&str> = FORMS
            .iter()
            .copied()
            .filter(|form| ok(&format!("!{form}"), "!").is_private())
            .collect();
        assert_eq!(
            private,
            [
                "restream",
                "restream list",
                "restream add Main rtmp://a.example/app/key",
                "logs obs",
                "logs obs 10",
                "ban-ip 1.2.3.4",
                "unban-ip ::1",
                "bans",
            ]
        );
        // Where an answer can be private (Discord), `service`'s are too.
        for form in FORMS {
            let command = ok(&format!("!{form}"), "!");
            assert_eq!(
                command.answered_privately(),
                command.is_private() || command.name() == "service",
                "{form}"
            );
        }
    }

    #[test]
    fn spec_of_is_case_insensitive() {
        for spec in SPECS {
            assert_eq!(spec_of(spec.name), Some(spec));
            assert_eq!(spec_of(&spec.name.to_ascii_uppercase()), Some(spec));
        }
        assert_eq!(spec_of("Ban-IP").map(|s| s.name), Some("ban-ip"));
        assert_eq!(spec_of("bRb").map(|s| s.name), Some("brb"));
        assert_eq!(spec_of("rtt"), None);
        assert_eq!(spec_of(""), None);
        assert_eq!(spec_of("!brb"), None);
        assert_eq!(spec_of(" brb"), None);
    }

    #[test]
    fn every_form_needs_at_least_the_spec_minimum() {
        for form in FORMS {
            let command = ok(&format!("!{form}"), "!");
            let spec = command.spec();
            assert!(
                command.required_permission() >= spec.min_permission,
                "{form:?} needs {} but {} allows {}",
                command.required_permission(),
                spec.name,
                spec.min_permission
            );
        }
    }

    #[test]
    fn every_spec_minimum_is_the_permission_of_some_form() {
        for spec in SPECS {
            let levels: Vec<Permission> = FORMS
                .iter()
                .map(|form| ok(&format!("!{form}"), "!"))
                .filter(|command| command.name() == spec.name)
                .map(|command| command.required_permission())
                .collect();
            assert!(!levels.is_empty(), "no form of {:?}", spec.name);
            assert!(
                levels.contains(&spec.min_permission),
                "no form of {:?} needs exactly {} (forms need {levels:?})",
                spec.name,
                spec.min_permission
            );
        }
    }

    #[test]
    fn parse_error_display_includes_the_usage() {
        let error = err("!trigger low abc");
        assert_eq!(
            error.usage(),
            "trigger low|offline|rtt|rtt-offline [value|off] | reset"
        );
        assert_eq!(
            error.to_string(),
            "<value> \"abc\": not a number at byte 13 of \"!trigger low abc\" \
             (usage: trigger low|offline|rtt|rtt-offline [value|off] | reset)"
        );
        for line in [
            "!record",
            "!scene",
            "!guard maybe",
            "!raid a-b",
            "!restream add Main http://x",
            "!pc reboot",
            "!service restart",
            "!logs obs 0",
            "!alert test boom",
            "!ban-ip nope",
            "!ping extra",
        ] {
            let error = err(line);
            let usage = spec_of(error.command).unwrap().usage;
            assert_eq!(error.usage(), usage);
            let shown = error.to_string();
            assert!(shown.contains(&format!("(usage: {usage})")), "{shown}");
            assert!(
                shown.contains(&format!("at byte {}", error.position)),
                "{shown}"
            );
        }
    }

    // ---- property test: parse never panics and errors point inside the input ----

    /// Characters that tend to break byte/char arithmetic and tokenising.
    const TRICKY: &[char] = &[
        ' ',
        '\t',
        '\n',
        '\r',
        '\u{b}',
        '\u{c}',
        '\u{85}',
        '\u{a0}',
        '\u{1680}',
        '\u{2003}',
        '\u{2028}',
        '\u{2029}',
        '\u{202f}',
        '\u{3000}',
        '\u{200b}',
        '\u{200c}',
        '\u{200d}',
        '\u{2060}',
        '\u{feff}',
        '\u{301}',
        '\u{308}',
        '\u{345}',
        '\u{20e3}',
        '\u{fe0f}',
        '\u{1f600}',
        '\u{1f3ac}',
        '\u{1f469}',
        '\u{1f3fb}',
        '\u{1f1f3}',
        '\u{e9}',
        '\u{df}',
        '\u{130}',
        '\u{212a}',
        '\u{17f}',
        '\u{ff11}',
        '\u{0}',
        '\u{7}',
        '\u{1b}',
        '\u{7f}',
        '\u{fffd}',
        '!',
        '?',
        '@',
        ':',
        '/',
        '.',
        ';',
        '{',
        '}',
        '#',
        '$',
        '\\',
        '"',
        '\'',
        '`',
        '-',
        '_',
        '0',
        '5',
        '9',
        'k',
        'm',
        's',
        'b',
        'p',
    ];

    /// Words of the grammar, to reach the deeper parsing paths.
    const WORDS: &[&str] = &[
        "on",
        "off",
        "add",
        "list",
        "remove",
        "status",
        "restart",
        "repair",
        "force",
        "wake",
        "shutdown",
        "test",
        "low",
        "offline",
        "rtt",
        "rtt-offline",
        "raid",
        "800",
        "800k",
        "2.5Mbps",
        "1.5s",
        "1500ms",
        "0",
        "1000",
        "1001",
        "rtmp://a.example/app/key",
        "rtmps://",
        "http://x",
        "@SomeUser",
        "::1",
        "1.2.3.4",
        "!scene",
        "Main",
        "a.b",
        "é",
        "\u{301}",
        "\u{200b}",
        "\u{1f600}",
        "!",
        "??",
    ];

    /// What goes between the words: whitespace of one to three bytes, or nothing.
    const SEPARATORS: &[&str] = &[
        " ", "  ", "\t", "\n", "\u{85}", "\u{a0}", "\u{2003}", "\u{3000}", "",
    ];

    fn tricky_text() -> impl Strategy<Value = String> {
        let character = prop_oneof![
            3 => any::<char>(),
            2 => proptest::char::range(' ', '~'),
            3 => proptest::sample::select(TRICKY),
        ];
        proptest::collection::vec(character, 0..2000).prop_map(String::from_iter)
    }

    fn lossy_bytes() -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<u8>(), 0..2000)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    fn word_soup() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            3 => proptest::sample::select(WORDS),
            1 => proptest::sample::select(Command::NAMES),
        ];
        let pair = (word, proptest::sample::select(SEPARATORS));
        proptest::collection::vec(pair, 0..16).prop_map(|pairs| {
            pairs
                .into_iter()
                .flat_map(|(word, separator)| [word, separator])
                .collect()
        })
    }

    /// Every way the text is offered to `parse`: alone, after `!`, and after each command word
    /// with each prefix, with and without a space.
    fn check_everything(text: &str) {
        let mut lines = vec![text.to_string(), format!("!{text}")];
        for name in Command::NAMES {
            for prefix in ["!", "", "??"] {
                lines.push(format!("{prefix}{name} {text}"));
                lines.push(format!("{prefix}{name}{text}"));
            }
        }
        for line in &lines {
            for prefix in ["!", "", "??"] {
                check_line(line, prefix);
            }
        }
    }

    fn check_line(line: &str, prefix: &str) {
        match parse(line, prefix) {
            None => {}
            Some(Ok(command)) => {
                assert!(Command::NAMES.contains(&command.name()));
                assert_eq!(command.spec().name, command.name());
            }
            Some(Err(e)) => {
                assert_eq!(e.input, line);
                assert!(e.position <= e.input.len(), "{e:?}");
                assert!(e.input.is_char_boundary(e.position), "{e:?}");
                assert!(Command::NAMES.contains(&e.command), "{e:?}");
                assert!(e.to_string().contains(e.usage()));
            }
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_text(text in tricky_text()) {
            check_everything(&text);
        }

        #[test]
        fn parse_never_panics_on_arbitrary_bytes(text in lossy_bytes()) {
            check_everything(&text);
        }
    }

    proptest! {
        // Short lines, so many more cases: the grammar's deeper paths need the right words.
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parse_never_panics_on_grammar_words(text in word_soup()) {
            check_everything(&text);
        }
    }

    #[test]
    fn restream_add_with_a_multi_byte_space_before_the_url_does_not_panic() {
        // Found by the property test: the URL was sliced one byte after the separator.
        for space in ['\u{a0}', '\u{2003}', '\u{3000}', '\u{85}'] {
            let line = format!("!restream add Main{space}rtmp://a.example/app/key");
            assert!(
                matches!(parse(&line, "!"), Some(Ok(Command::Restream(_)))),
                "{line:?}"
            );
        }
    }

    #[test]
    fn every_form_names_its_feature_and_only_the_bots_own_commands_need_none() {
        for form in FORMS {
            let command = parse(&format!("!{form}"), "!").unwrap().unwrap();
            let meta = matches!(command, Command::Meta(_));
            assert_eq!(command.feature().is_none(), meta, "{form}");
        }
        let names: std::collections::BTreeSet<_> = Feature::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), Feature::ALL.len());
    }

    #[test]
    fn only_unforced_restart_and_shutdown_can_be_forced() {
        let forceable: Vec<&str> = FORMS
            .iter()
            .copied()
            .filter(|form| {
                parse(&format!("!{form}"), "!")
                    .unwrap()
                    .unwrap()
                    .can_force()
            })
            .collect();
        assert_eq!(forceable, ["pc restart", "pc shutdown"]);
    }
}
