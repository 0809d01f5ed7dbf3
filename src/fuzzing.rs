//! Fuzz targets: one function per parser, each taking the fuzzer's bytes and running them
//! through the same code that reads that input in production. Not an API: the `fuzz/` crate
//! (coverage-guided, AFL++ through cargo-afl) calls one per binary, and `tests/it/fuzzing.rs`
//! runs every seed and every input that once crashed through them.
//!
//! A target panics only when the code under it has a bug: a parser that panics, or a parser
//! that says yes to something it promises to refuse (the `assert!`s below check those
//! promises). Inputs arrive as bytes; text parsers get them through `from_utf8_lossy`, as
//! every text arrives in production only after UTF-8 decoding.
//!
//! Each target returns whether the parser accepted the input (`tests/it/fuzzing.rs` checks that
//! the seeds do, so the corpora start past the first refusal); AFL ignores it.
//!
//! Targets that need names beside a body (the stats servers' application and stream) read
//! them from the input's first line, separated by spaces; the body is the rest.
//!
//! Sits with the wiring (it reaches surfaces, peers and the configuration); nothing imports it.

use crate::config::{CommandsConfig, Config, ConfigError, StunnelConfig};
use crate::guard::stats::{self, StatsError};
use crate::restream::endpoint::{BaseUrl, Endpoint, Platform, check_name};
use crate::secrets::{Redactor, Secrets};
use crate::surfaces::discord::{interact, panel, tree};
use crate::surfaces::twitch_chat;
use crate::twitch::eventsub::{self, Frame, Notification};
use poise::serenity_prelude as serenity;

/// The names before the first `\n` (space-separated, empty when there is no line break) and
/// the body after it.
fn names_and_body(data: &[u8]) -> (Vec<String>, &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(at) => {
            let names = String::from_utf8_lossy(&data[..at])
                .split(' ')
                .map(str::to_string)
                .collect();
            (names, &data[at + 1..])
        }
        None => (Vec::new(), data),
    }
}

fn name(names: &[String], i: usize) -> &str {
    names.get(i).map_or("", String::as_str)
}

/// Whether a stats parser read the body; its error rendered as people read it (it must render).
fn shown<T>(result: &Result<T, StatsError>) -> bool {
    if let Err(error) = result {
        let _ = error.to_string();
    }
    result.is_ok()
}

/// A chat line as the Twitch surface reads it (invisible characters removed, aliases
/// expanded), parsed by the vocabulary, and what is said back (usage, the reply split into
/// chat messages).
pub fn chat_line(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let config = CommandsConfig {
        aliases: vec![
            ("b".into(), "brb".into()),
            ("cam2".into(), "!scene Camera 2".into()),
        ],
        ..CommandsConfig::default()
    };
    let cleaned = twitch_chat::clean(&text);
    let ours = crate::dispatch::parse_line(&config, &cleaned).is_some();
    for parsed in [
        crate::dispatch::parse_line(&config, &cleaned),
        commands::parse(&cleaned, ""),
    ]
    .into_iter()
    .flatten()
    {
        match parsed {
            Ok(command) => {
                let _ = crate::dispatch::required_permission(&config, &command);
            }
            Err(error) => {
                let _ = crate::reply::usage(&error, &config.prefix);
            }
        }
    }
    for part in twitch_chat::chat_parts(&text, &config.prefix) {
        assert!(
            !twitch_chat::starts_like_a_command(&part, &config.prefix),
            "a reply part starts like a command: {part:?}"
        );
    }
    ours
}

/// nginx-rtmp's `stat` XML; first line `application stream`.
pub fn stats_nginx(data: &[u8]) -> bool {
    let (names, body) = names_and_body(data);
    shown(&stats::nginx::parse(body, name(&names, 0), name(&names, 1)))
}

/// SRS's `/api/v1/streams`; first line `application stream`.
pub fn stats_srs(data: &[u8]) -> bool {
    let (names, body) = names_and_body(data);
    shown(&stats::srs::parse(body, name(&names, 0), name(&names, 1)))
}

/// BELABOX cloud's stats (SLS-shaped); first line the publisher, none when empty.
pub fn stats_belabox(data: &[u8]) -> bool {
    let (names, body) = names_and_body(data);
    let publisher = Some(name(&names, 0)).filter(|p| !p.is_empty());
    shown(&stats::belabox::parse(body, publisher))
}

/// SRT Live Server's stats; first line the publisher, none when empty.
pub fn stats_sls(data: &[u8]) -> bool {
    let (names, body) = names_and_body(data);
    let publisher = Some(name(&names, 0)).filter(|p| !p.is_empty());
    shown(&stats::sls::parse(body, publisher))
}

/// MediaMTX: a path (`/v3/paths/get/…`) and an SRT connection (`/v3/srtconns/get/…`), the
/// same body read as both.
pub fn stats_mediamtx(data: &[u8]) -> bool {
    let path = shown(&stats::mediamtx::parse_path(data));
    let srt = shown(&stats::mediamtx::parse_srt_conn(data));
    path || srt
}

/// Nimble: `rtmp_status`, then (after a NUL byte, if any) `srt_receiver_stats`; first line
/// `receiver-id application stream`.
pub fn stats_nimble(data: &[u8]) -> bool {
    let (names, body) = names_and_body(data);
    let (rtmp, srt) = match body.iter().position(|b| *b == 0) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (id, application, stream) = (name(&names, 0), name(&names, 1), name(&names, 2));
    shown(&stats::nimble::parse(rtmp, srt, id, application, stream))
}

/// Node-Media-Server's stream answer (v2 and v4).
pub fn stats_node_media_server(data: &[u8]) -> bool {
    shown(&stats::node_media_server::parse(data))
}

/// OpenIRL's receiver stats.
pub fn stats_openirl(data: &[u8]) -> bool {
    shown(&stats::openirl::parse(data))
}

/// One EventSub WebSocket text frame, and what the session loop reads of it (the timestamp
/// for the age check, the revocation's reason, a chat message's text as a command line).
pub fn eventsub_frame(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let Ok(frame) = eventsub::parse_frame(&text) else {
        return false;
    };
    match frame {
        Frame::Notification {
            timestamp,
            notification,
            ..
        } => {
            let _ = crate::timestamp::parse_rfc3339(&timestamp);
            if let Notification::Chat(message) = notification {
                chat_line(message.message.text.as_bytes());
            }
        }
        Frame::Revocation { status, .. } => {
            let _ = eventsub::revocation_reason(&status);
        }
        Frame::Welcome { .. } | Frame::Keepalive | Frame::Reconnect { .. } => {}
    }
    true
}

/// `config.ron` text: read, validated, and every problem rendered with its line:col.
pub fn config(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let Err(problems) = Config::parse(&text) else {
        return true;
    };
    assert!(!problems.is_empty(), "refused without a problem");
    let _ = ConfigError::Invalid {
        path: "config.ron".into(),
        problems,
    }
    .to_string();
    false
}

/// Restream endpoint validation: lines `name`, `push URL`, `base URL`, `key`, `platform`, as
/// `restream add` and the store file give them; what validation accepts is rendered into the
/// nginx include and the stunnel file, and must not carry anything the include cannot hold.
pub fn restream_endpoint(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or("");
    let (name, push_url, base_url, key, platform) = (next(), next(), next(), next(), next());
    let platform = Platform::parse(platform);
    let _ = check_name(name);
    if let Ok(base) = BaseUrl::parse(base_url) {
        let again = BaseUrl::parse(&base.to_string()).ok();
        assert_eq!(again.as_ref(), Some(&base), "a base URL does not read back");
        let _ = Platform::detect(&base);
    }
    let endpoints: Vec<Endpoint> = [
        Endpoint::from_push_url(name, push_url, platform, true),
        Endpoint::new(name, platform, base_url, key, true),
    ]
    .into_iter()
    .filter_map(|e| e.map_err(|error| error.reply()).ok())
    .collect();
    for endpoint in &endpoints {
        let _ = endpoint.masked_url();
    }
    let stunnel = StunnelConfig::default();
    if let Ok(rendered) = crate::restream::render::render(&endpoints, Some(&stunnel)) {
        for line in rendered.include.lines().filter(|l| !l.starts_with('#')) {
            let value = line
                .strip_prefix("push ")
                .and_then(|rest| rest.strip_suffix(';'));
            assert!(
                value.is_some_and(|v| !v.contains(|c: char| {
                    c.is_whitespace()
                        || matches!(c, ';' | '{' | '}' | '"' | '\'' | '#' | '$' | '\\')
                })),
                "an include line that is not one plain push: {line:?}"
            );
        }
    }
    !endpoints.is_empty()
}

/// A `POST /api/alert` body: read, redacted, serialised for the overlay.
pub fn alert_body(data: &[u8]) -> bool {
    let Ok((kind, message)) = crate::web::overlay::read_alert(data) else {
        return false;
    };
    if let Some(message) = &message {
        assert!(
            message.chars().count() <= crate::web::overlay::MAX_MESSAGE_CHARS
                && !message.chars().any(char::is_control),
            "an accepted message that is too long or has control characters: {message:?}"
        );
    }
    let redactor = Redactor::new(&Secrets::from_lookup(|name| {
        (name == "ALERT_TOKEN").then(|| "alert-secret".to_string())
    }));
    let message = redactor.redact(message.as_deref().unwrap_or(""));
    let alert = crate::alerts::OverlayAlert { kind, message };
    serde_json::to_string(&alert).expect("an alert serialises");
    true
}

/// A Discord interaction as the gateway delivers it (`INTERACTION_CREATE`'s `d`): serenity's
/// model, then what the bot reads of it: a slash command's leaf and options as a command line
/// (as poise hands them to `interact::slash_action`), a button's custom id, an autocomplete's
/// typed text.
pub fn discord_interaction(data: &[u8]) -> bool {
    let Ok(interaction) = serde_json::from_slice::<serenity::Interaction>(data) else {
        return false;
    };
    let mut line_read = false;
    match interaction {
        serenity::Interaction::Command(command) | serenity::Interaction::Autocomplete(command) => {
            let (qualified, options) = leaf_options(&command.data);
            if let Some(leaf) = tree::leaf_at(&qualified)
                && let Ok((line, _follow)) = interact::line_of(leaf, &options)
            {
                line_read = commands::parse(&line, "").is_some();
            }
            if let Some(focused) = command.data.autocomplete() {
                let partial: String = focused.value.trim().chars().take(100).collect();
                let _ = partial.to_lowercase();
                line_read = true;
            }
        }
        serenity::Interaction::Component(component) => {
            match panel::Action::parse(&component.data.custom_id) {
                Some(panel::Action::Run(line) | panel::Action::Confirm(line)) => {
                    line_read = commands::parse(line, "").is_some();
                }
                None => {}
            }
        }
        _ => {}
    }
    line_read
}

/// The qualified name of the invoked leaf (`guard trigger`) and its options: the subcommand
/// (group) options walked down, as poise finds the command it runs.
fn leaf_options(data: &serenity::CommandData) -> (String, Vec<serenity::ResolvedOption<'_>>) {
    let mut qualified = data.name.clone();
    let mut options = data.options();
    while let Some(first) = options.first() {
        if !matches!(
            first.value,
            serenity::ResolvedValue::SubCommand(_) | serenity::ResolvedValue::SubCommandGroup(_)
        ) {
            break;
        }
        let first = options.swap_remove(0);
        qualified.push(' ');
        qualified.push_str(first.name);
        options = match first.value {
            serenity::ResolvedValue::SubCommand(inner)
            | serenity::ResolvedValue::SubCommandGroup(inner) => inner,
            _ => Vec::new(),
        };
    }
    (qualified, options)
}

/// A fuzz target: the input's bytes in, whether the parser read them out.
pub type Target = fn(&[u8]) -> bool;

/// Every target by name, and whether it read the input (the parser accepted it; for the chat
/// line, that it was a command, well-formed or not; for an interaction, that it became a
/// command line or an autocomplete request), for the fuzz crate's binaries and `tests/it/fuzzing.rs`.
pub const TARGETS: &[(&str, Target)] = &[
    ("chat_line", chat_line),
    ("stats_nginx", stats_nginx),
    ("stats_srs", stats_srs),
    ("stats_belabox", stats_belabox),
    ("stats_sls", stats_sls),
    ("stats_mediamtx", stats_mediamtx),
    ("stats_nimble", stats_nimble),
    ("stats_node_media_server", stats_node_media_server),
    ("stats_openirl", stats_openirl),
    ("eventsub_frame", eventsub_frame),
    ("config", config),
    ("restream_endpoint", restream_endpoint),
    ("alert_body", alert_body),
    ("discord_interaction", discord_interaction),
];
