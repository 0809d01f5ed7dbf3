//! Dispatch end to end: permission (with configuration overrides and allow lists), cooldowns
//! (paused time), features that are not enabled, the meta commands, aliases, usage errors and
//! `dispatch_isolated`.

use commands::Feature;
use commands::obs::ObsCommand;
use commands::{Command, Permission, SPECS, SceneName};
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::Context;
use stream_control::config::Config;
use stream_control::dispatch::{
    Invocation, Invoker, Surface, dispatch, dispatch_isolated, parse_line,
};
use stream_control::reply::{self, Outcome, Reply, ReplyArg, keys};
use stream_control::secrets::{Redactor, Secrets};
use stream_control::status::Event;
use tokio::sync::broadcast::error::TryRecvError;

/// No cooldowns at all, so every admitted command reaches its handler.
const NO_COOLDOWNS: &str = r#"(commands: (cooldowns: (command: "0s", user: "0s")))"#;

/// Like the shipped `config.ron`: web on, no feature sections, aliases, a bitrate cooldown.
const SHIPPED_LIKE: &str = r#"(
    locale: "en-US",
    state_dir: "state",
    log: (format: Pretty, filter: "info"),
    web: (bind: "127.0.0.1:8080"),
    commands: (
        prefix: "!",
        aliases: {"b": "brb", "l": "live"},
        permissions: {},
        allow: {},
        cooldowns: (
            command: "3s",
            user: "10s",
            exempt: Moderator,
            overrides: {"bitrate": (command: "5s", user: "30s")},
        ),
    ),
    messages: {"en-US": {"pong": "Pong! The bot is here."}},
)"#;

/// One line per command form: every command word, and every sub-form that needs another level.
const FORMS: &[&str] = &[
    "!start",
    "!stop",
    "!record start",
    "!record stop",
    "!live",
    "!brb",
    "!starting",
    "!scene Main",
    "!fix",
    "!refresh",
    "!mute Mic",
    "!unmute Mic",
    "!source Webcam show",
    "!source Webcam hide",
    "!bitrate",
    "!guard",
    "!guard status",
    "!guard on",
    "!guard off",
    "!trigger low",
    "!trigger low 800",
    "!trigger low off",
    "!trigger offline",
    "!trigger offline 300",
    "!trigger rtt",
    "!trigger rtt 1.5s",
    "!trigger rtt-offline",
    "!trigger rtt-offline off",
    "!dryrun on",
    "!dryrun off",
    "!title Hello",
    "!category IRL",
    "!raid someone",
    "!marker",
    "!marker Bridge down",
    "!clip",
    "!ad",
    "!ad 90",
    "!snooze",
    "!restream",
    "!restream list",
    "!restream on X",
    "!restream off X",
    "!restream add X rtmp://a.example/app/key",
    "!restream remove X",
    "!pc",
    "!pc status",
    "!pc wake",
    "!pc restart",
    "!pc restart force",
    "!pc shutdown",
    "!pc shutdown force",
    "!service",
    "!service status",
    "!service status obs",
    "!service restart x",
    "!service repair",
    "!logs x",
    "!logs x 10",
    "!alert test low",
    "!alert test custom",
    "!ban-ip 1.2.3.4",
    "!unban-ip ::1",
    "!bans",
    "!panel",
    "!help",
    "!help scene",
    "!status",
    "!ping",
    "!version",
];

/// The meta command words: the only ones that do not belong to a feature.
const META: &[&str] = &["help", "status", "ping", "version"];

fn context(text: &str) -> Arc<Context> {
    let config = stream_control_test_support::test_config(text);
    Context::new(config, Secrets::default(), Redactor::default()).expect("context")
}

fn invoker(surface: Surface, user_id: &str, permission: Permission) -> Invoker {
    Invoker {
        surface,
        user_id: user_id.into(),
        display_name: format!("user {user_id}"),
        permission,
    }
}

fn viewer(user_id: &str) -> Invoker {
    invoker(Surface::Twitch, user_id, Permission::Viewer)
}

fn at_level(permission: Permission) -> Invoker {
    invoker(Surface::Twitch, permission.as_str(), permission)
}

fn command(ctx: &Context, line: &str) -> Command {
    match parse_line(&ctx.config.commands, line) {
        Some(Ok(command)) => command,
        other => panic!("{line:?} gave {other:?}"),
    }
}

fn invocation(command: Command, invoker: Invoker) -> Invocation {
    Invocation {
        command,
        invoker,
        locale: "en-US".into(),
        reply_to: None,
        progress: stream_control::dispatch::Progress::none(),
    }
}

async fn run(ctx: &Context, line: &str, invoker: Invoker) -> Reply {
    dispatch(ctx, invocation(command(ctx, line), invoker)).await
}

fn text(ctx: &Context, reply: &Reply) -> String {
    ctx.render("en-US", reply)
}

/// The exact reply of a refusal.
fn permission_reply(name: &str, required: Permission) -> Reply {
    Reply::new(keys::ERROR_PERMISSION)
        .arg("command", format!("!{name}"))
        .message("level", reply::level(required))
        .with_outcome(Outcome::Refused)
}

fn seconds_arg(reply: &Reply) -> Option<f64> {
    reply.args.iter().find_map(|(name, value)| match value {
        ReplyArg::Number(n) if *name == "seconds" => Some(*n),
        _ => None,
    })
}

#[track_caller]
fn assert_cooldown(ctx: &Context, reply: &Reply, command: &str, seconds: u64) {
    assert_eq!(reply.outcome, Outcome::Cooldown, "{reply:?}");
    assert_eq!(reply.key, keys::ERROR_COOLDOWN);
    assert_eq!(seconds_arg(reply), Some(seconds as f64), "{reply:?}");
    let shown = text(ctx, reply);
    assert!(shown.contains(command), "{shown}");
    assert!(
        shown.contains(&format!("try again in {seconds} s")),
        "{shown}"
    );
}

#[track_caller]
fn assert_admitted(reply: &Reply) {
    assert!(
        !matches!(reply.outcome, Outcome::Cooldown | Outcome::Refused),
        "not admitted: {reply:?}"
    );
}

// ---- 1. permission matrix ----

#[test]
fn forms_cover_every_command_word_and_every_default_level_of_it() {
    let ctx = context(NO_COOLDOWNS);
    let commands: Vec<Command> = FORMS.iter().map(|line| command(&ctx, line)).collect();
    for (line, command) in FORMS.iter().zip(&commands) {
        assert_eq!(
            Some(command.name()),
            line.strip_prefix('!').unwrap().split_whitespace().next(),
            "{line:?}"
        );
    }
    for name in Command::NAMES {
        assert!(
            commands.iter().any(|c| c.name() == *name),
            "no form of {name:?} in FORMS"
        );
    }
    for spec in SPECS {
        let levels: Vec<Permission> = commands
            .iter()
            .filter(|c| c.name() == spec.name)
            .map(Command::required_permission)
            .collect();
        assert!(
            levels.contains(&spec.min_permission),
            "{}: no form needing {}",
            spec.name,
            spec.min_permission
        );
    }
    // The sub-forms that need more than the word's minimum are all there.
    for (line, level) in [
        ("!guard", Permission::Moderator),
        ("!guard on", Permission::Admin),
        ("!trigger low", Permission::Moderator),
        ("!trigger low 800", Permission::Admin),
        ("!restream", Permission::Moderator),
        ("!restream on X", Permission::Admin),
        ("!pc", Permission::Moderator),
        ("!pc wake", Permission::Admin),
        ("!service", Permission::Moderator),
        ("!service restart x", Permission::Admin),
        ("!logs x", Permission::Admin),
        ("!bitrate", Permission::Viewer),
        ("!status", Permission::Moderator),
    ] {
        assert!(FORMS.contains(&line), "{line:?} missing from FORMS");
        assert_eq!(command(&ctx, line).required_permission(), level, "{line:?}");
    }
}

#[tokio::test]
async fn refused_exactly_below_the_required_level_for_every_form_and_level() {
    let ctx = context(NO_COOLDOWNS);
    for line in FORMS {
        let cmd = command(&ctx, line);
        let name = cmd.name();
        let required = cmd.required_permission();
        for level in Permission::ALL {
            let who = at_level(level);
            let mut events = ctx.events.subscribe();
            let reply = dispatch(&ctx, invocation(cmd.clone(), who.clone())).await;
            let case = format!("{line:?} as {level}: {reply:?}");
            if level < required {
                // Exactly the permission reply: no handler ran.
                assert_eq!(reply, permission_reply(name, required), "{case}");
                assert_eq!(reply.key, keys::ERROR_PERMISSION, "{case}");
                let shown = text(&ctx, &reply);
                assert_eq!(
                    shown,
                    format!(
                        "!{name} needs {} or higher.",
                        text(&ctx, &reply::level(required))
                    ),
                    "{case}"
                );
            } else if cmd.is_private() {
                // Twitch chat is public: private answers are refused there, to anyone.
                assert_eq!(reply.outcome, Outcome::Refused, "{case}");
                assert!(
                    reply.key == keys::ERROR_PRIVATE || reply.key == keys::RESTREAM_ADD_PUBLIC,
                    "{case}"
                );
            } else {
                assert!(
                    matches!(reply.outcome, Outcome::Done | Outcome::NotEnabled),
                    "{case}"
                );
                assert_ne!(reply.key, keys::ERROR_PERMISSION, "{case}");
            }
            match events.try_recv() {
                Ok(Event::CommandHandled {
                    surface,
                    user_id,
                    command,
                    outcome,
                }) => {
                    assert_eq!(surface, who.surface, "{case}");
                    assert_eq!(user_id, who.user_id, "{case}");
                    assert_eq!(command, name, "{case}");
                    assert_eq!(outcome, reply.outcome, "{case}");
                    assert_eq!(
                        outcome == Outcome::Refused,
                        level < required || cmd.is_private(),
                        "{case}"
                    );
                }
                other => panic!("{case}: expected one CommandHandled event, got {other:?}"),
            }
            assert_eq!(events.try_recv(), Err(TryRecvError::Empty), "{case}");
        }
    }
}

/// Kick chat is as public as Twitch chat: what answers only privately (logs, restream
/// targets, IP bans) is refused there, to the broadcaster too, and runs on Discord.
#[tokio::test]
async fn private_answers_are_refused_in_kick_chat_as_in_twitch_chat() {
    let ctx = context(NO_COOLDOWNS);
    let private: Vec<&str> = FORMS
        .iter()
        .copied()
        .filter(|line| command(&ctx, line).is_private())
        .collect();
    assert!(private.len() >= 3, "{private:?}");
    for line in private {
        for surface in [Surface::Kick, Surface::Twitch] {
            let who = invoker(surface, "1", Permission::Broadcaster);
            let reply = dispatch(&ctx, invocation(command(&ctx, line), who)).await;
            assert_eq!(reply.outcome, Outcome::Refused, "{line} on {surface:?}");
            assert!(
                reply.key == keys::ERROR_PRIVATE || reply.key == keys::RESTREAM_ADD_PUBLIC,
                "{line} on {surface:?}: {reply:?}"
            );
        }
        let on_discord = invoker(Surface::Discord, "1", Permission::Broadcaster);
        let reply = dispatch(&ctx, invocation(command(&ctx, line), on_discord)).await;
        assert_ne!(
            reply.outcome,
            Outcome::Refused,
            "{line} on Discord: {reply:?}"
        );
    }
}

// ---- 2. configuration overrides ----

#[tokio::test]
async fn permission_override_raises_bitrate_to_moderator() {
    let ctx = context(
        r#"(commands: (permissions: {"bitrate": Moderator}, cooldowns: (command: "0s", user: "0s")))"#,
    );
    let reply = run(&ctx, "!bitrate", viewer("1")).await;
    assert_eq!(reply, permission_reply("bitrate", Permission::Moderator));
    let reply = run(
        &ctx,
        "!bitrate",
        invoker(Surface::Twitch, "2", Permission::Vip),
    )
    .await;
    assert_eq!(reply.outcome, Outcome::Refused);
    let reply = run(&ctx, "!bitrate", at_level(Permission::Moderator)).await;
    assert_eq!(reply.outcome, Outcome::NotEnabled, "{reply:?}");
}

#[tokio::test]
async fn permission_override_lowers_stop_to_moderator() {
    let ctx = context(r#"(commands: (permissions: {"stop": Moderator}))"#);
    let reply = run(&ctx, "!stop", at_level(Permission::Moderator)).await;
    assert_eq!(reply.outcome, Outcome::NotEnabled, "{reply:?}");
    assert_eq!(reply.key, keys::ERROR_NOT_ENABLED);
    let reply = run(&ctx, "!stop", at_level(Permission::Vip)).await;
    assert_eq!(reply, permission_reply("stop", Permission::Moderator));
    // Other words keep their defaults.
    let reply = run(&ctx, "!start", at_level(Permission::Moderator)).await;
    assert_eq!(reply, permission_reply("start", Permission::Admin));
}

/// `panel` is a word like any other (level, override, feature), but the panel is made of
/// Discord buttons: elsewhere the answer says where to ask.
#[tokio::test]
async fn panel_is_checked_like_any_word_and_answered_with_where_to_ask_outside_discord() {
    let ctx = context(NO_COOLDOWNS);
    let reply = run(&ctx, "!panel", Invoker::console()).await;
    assert_eq!(reply, Reply::not_enabled(Feature::Discord));
    let ctx = context(
        r#"(discord: (guild_id: 1), commands: (permissions: {"panel": Vip},
            cooldowns: (exempt: Viewer)))"#,
    );
    let reply = run(&ctx, "!panel", viewer("a")).await;
    assert_eq!(reply, permission_reply("panel", Permission::Vip));
    let reply = run(&ctx, "!panel", at_level(Permission::Vip)).await;
    assert_eq!(reply.key, keys::PANEL_ON_DISCORD, "{reply:?}");
    assert_eq!(
        text(&ctx, &reply),
        "The control panel is made of Discord buttons: ask for it on Discord with /panel."
    );
    let on_discord = invoker(Surface::Discord, "7", Permission::Vip);
    let reply = run(&ctx, "!panel", on_discord).await;
    assert_eq!(
        (reply.key, reply.outcome),
        (keys::PANEL_POSTED, Outcome::Done)
    );
}

#[tokio::test]
async fn allow_list_admits_that_surface_and_user_only() {
    let ctx = context(
        r#"(commands: (allow: {"raid": ["twitch:42"]}, cooldowns: (command: "0s", user: "0s")))"#,
    );
    let reply = run(
        &ctx,
        "!raid someone",
        invoker(Surface::Twitch, "42", Permission::Viewer),
    )
    .await;
    assert_eq!(reply.outcome, Outcome::NotEnabled, "{reply:?}");
    assert!(text(&ctx, &reply).contains("Twitch"));
    let refused = permission_reply("raid", Permission::Admin);
    for who in [
        invoker(Surface::Discord, "42", Permission::Viewer),
        invoker(Surface::Console, "42", Permission::Viewer),
        invoker(Surface::Twitch, "43", Permission::Viewer),
        invoker(Surface::Twitch, "420", Permission::Moderator),
    ] {
        let reply = run(&ctx, "!raid someone", who.clone()).await;
        assert_eq!(reply, refused, "{who:?}");
    }
    // The allow list is per command word.
    let reply = run(
        &ctx,
        "!stop",
        invoker(Surface::Twitch, "42", Permission::Viewer),
    )
    .await;
    assert_eq!(reply, permission_reply("stop", Permission::Admin));
}

/// `Config::validate` accepts command words in any case (`commands::spec_of` is
/// case-insensitive), so a map entry that passes validation must also take effect. Rejecting the
/// spelling at validation would be correct too.
#[tokio::test]
async fn command_words_in_configuration_maps_apply_whatever_their_case() {
    let mut ignored = Vec::new();

    let text = r#"(commands: (permissions: {"Bitrate": Moderator}))"#;
    if let Ok(config) = Config::parse(text) {
        let ctx = Context::new(config, Secrets::default(), Redactor::default()).unwrap();
        if run(&ctx, "!bitrate", viewer("1")).await.outcome != Outcome::Refused {
            ignored.push(text);
        }
    }

    let text = r#"(commands: (allow: {"RAID": ["twitch:42"]}))"#;
    if let Ok(config) = Config::parse(text) {
        let ctx = Context::new(config, Secrets::default(), Redactor::default()).unwrap();
        if run(&ctx, "!raid someone", viewer("42")).await.outcome == Outcome::Refused {
            ignored.push(text);
        }
    }

    let text = r#"(commands: (cooldowns: (overrides: {"Ping": (command: "0s", user: "0s")})))"#;
    if let Ok(config) = Config::parse(text) {
        let ctx = Context::new(config, Secrets::default(), Redactor::default()).unwrap();
        assert_admitted(&run(&ctx, "!ping", viewer("1")).await);
        if run(&ctx, "!ping", viewer("1")).await.outcome == Outcome::Cooldown {
            ignored.push(text);
        }
    }

    assert!(
        ignored.is_empty(),
        "accepted by Config::parse but ignored by dispatch: {ignored:#?}"
    );
}

// ---- 3. features that are not enabled ----

/// The localised name of the feature each non-meta command word belongs to.
fn feature_of(name: &str) -> Option<(Feature, &'static str)> {
    Some(match name {
        "start" | "stop" | "record" | "live" | "brb" | "starting" | "scene" | "fix" | "refresh"
        | "mute" | "unmute" | "source" => (Feature::Obs, "OBS control"),
        "bitrate" | "guard" | "trigger" | "dryrun" => (Feature::Guard, "the bitrate guard"),
        "title" | "category" | "raid" | "marker" | "clip" | "ad" | "snooze" => {
            (Feature::Twitch, "Twitch")
        }
        "restream" => (Feature::Restream, "restreaming"),
        "pc" => (Feature::Power, "stream-PC power"),
        "service" | "logs" => (Feature::Services, "services and logs"),
        "alert" => (Feature::Overlay, "the overlay"),
        "ban-ip" | "unban-ip" | "bans" => (Feature::Web, "the status page"),
        "panel" => (Feature::Discord, "Discord"),
        _ => return None,
    })
}

#[tokio::test]
async fn every_feature_command_answers_not_enabled_naming_its_feature() {
    // IP bans come with the web server: without it, no feature is on.
    let web = r#"web: (bind: "127.0.0.1:8080"),"#;
    assert!(SHIPPED_LIKE.contains(web));
    let ctx = context(&SHIPPED_LIKE.replace(web, ""));
    for name in Command::NAMES {
        if META.contains(name) {
            assert_eq!(feature_of(name), None);
            continue;
        }
        let (feature, feature_text) =
            feature_of(name).unwrap_or_else(|| panic!("no feature for {name:?}"));
        for line in FORMS.iter().filter(|l| command(&ctx, l).name() == *name) {
            let reply = run(&ctx, line, Invoker::console()).await;
            assert_eq!(reply.outcome, Outcome::NotEnabled, "{line:?}: {reply:?}");
            assert_eq!(reply.key, keys::ERROR_NOT_ENABLED, "{line:?}");
            assert_eq!(reply, Reply::not_enabled(feature), "{line:?}");
            assert_eq!(
                text(&ctx, &reply),
                format!("{feature_text} is not enabled on this bot."),
                "{line:?}"
            );
        }
    }
    let reply = run(&ctx, "!brb", Invoker::console()).await;
    assert!(text(&ctx, &reply).contains("OBS control"));
    // The shipped alias reaches the same handler.
    let reply = run(&ctx, "!b", Invoker::console()).await;
    assert_eq!(reply, Reply::not_enabled(Feature::Obs));
}

// ---- 4. meta commands ----

#[tokio::test]
async fn ping_answers_pong_and_honours_message_overrides() {
    let ctx = context("()");
    let reply = run(&ctx, "!ping", viewer("1")).await;
    assert_eq!(reply.key, keys::PONG);
    assert_eq!(reply.outcome, Outcome::Done);
    assert_eq!(text(&ctx, &reply), "Pong!");
    let ctx = context(SHIPPED_LIKE);
    let reply = run(&ctx, "!ping", viewer("1")).await;
    assert_eq!(text(&ctx, &reply), "Pong! The bot is here.");
}

#[tokio::test]
async fn version_names_the_crate_version() {
    let ctx = context("()");
    let reply = run(&ctx, "!version", viewer("1")).await;
    assert_eq!(reply.key, keys::VERSION);
    assert_eq!(reply.outcome, Outcome::Done);
    let shown = text(&ctx, &reply);
    assert!(shown.contains(env!("CARGO_PKG_VERSION")), "{shown}");
}

#[tokio::test]
async fn help_lists_exactly_the_words_each_level_may_use() {
    let ctx = context(NO_COOLDOWNS);
    let list = |reply: &Reply| -> String {
        assert_eq!(reply.key, keys::HELP_LIST, "{reply:?}");
        let shown = text(&ctx, reply);
        shown
            .strip_prefix("Commands you can use: ")
            .unwrap_or_else(|| panic!("{shown}"))
            .to_string()
    };
    let reply = run(&ctx, "!help", viewer("1")).await;
    assert_eq!(list(&reply), "!bitrate !help !ping !version");
    let reply = run(&ctx, "!help", Invoker::console()).await;
    let all: Vec<String> = Command::NAMES.iter().map(|n| format!("!{n}")).collect();
    assert_eq!(list(&reply), all.join(" "));
    for level in Permission::ALL {
        let expected: Vec<String> = SPECS
            .iter()
            .filter(|spec| spec.min_permission <= level)
            .map(|spec| format!("!{}", spec.name))
            .collect();
        let reply = run(&ctx, "!help", at_level(level)).await;
        assert_eq!(list(&reply), expected.join(" "), "{level}");
    }
}

#[tokio::test]
async fn help_follows_configured_permissions_and_allow_lists() {
    let ctx = context(
        r#"(commands: (
            permissions: {"bitrate": Moderator, "scene": Viewer},
            allow: {"raid": ["twitch:42"]},
            cooldowns: (command: "0s", user: "0s"),
        ))"#,
    );
    let reply = run(&ctx, "!help", viewer("1")).await;
    assert_eq!(
        text(&ctx, &reply),
        "Commands you can use: !scene !help !ping !version"
    );
    let reply = run(&ctx, "!help", viewer("42")).await;
    assert_eq!(
        text(&ctx, &reply),
        "Commands you can use: !scene !raid !help !ping !version"
    );
}

#[tokio::test]
async fn help_for_one_command_gives_usage_and_description_to_those_who_may_use_it() {
    let ctx =
        context(r#"(commands: (aliases: {"b": "brb"}, cooldowns: (command: "0s", user: "0s")))"#);
    for line in ["!help scene", "!help !scene", "!help SCENE"] {
        let reply = run(&ctx, line, at_level(Permission::Moderator)).await;
        assert_eq!(reply.key, keys::HELP_COMMAND, "{line:?}");
        assert_eq!(reply.outcome, Outcome::Done);
        assert_eq!(
            text(&ctx, &reply),
            "!scene <name…> — Switch to any scene by name",
            "{line:?}"
        );
    }
    let reply = run(&ctx, "!help scene", viewer("1")).await;
    assert_eq!(reply.key, keys::HELP_UNKNOWN);
    let shown = text(&ctx, &reply);
    assert!(
        shown.contains("scene") && shown.contains("!help"),
        "{shown}"
    );
    let reply = run(&ctx, "!help nosuchthing", Invoker::console()).await;
    assert_eq!(reply.key, keys::HELP_UNKNOWN);
    let reply = run(&ctx, "!help b", viewer("1")).await;
    assert_eq!(reply.key, keys::HELP_ALIAS);
    assert_eq!(text(&ctx, &reply), "!b is short for !brb");
}

#[tokio::test(start_paused = true)]
async fn status_shows_uptime_and_what_is_not_enabled() {
    let ctx = context(NO_COOLDOWNS);
    let reply = run(&ctx, "!status", viewer("1")).await;
    assert_eq!(reply, permission_reply("status", Permission::Moderator));
    tokio::time::advance(Duration::from_secs(65)).await;
    let reply = run(&ctx, "!status", at_level(Permission::Moderator)).await;
    assert_eq!(reply.key, keys::STATUS_SUMMARY);
    assert_eq!(reply.outcome, Outcome::Done);
    let shown = text(&ctx, &reply);
    assert!(shown.starts_with("Up 1m 5s."), "{shown}");
    assert!(shown.contains("Enabled: none."), "{shown}");
    assert!(shown.contains("Not enabled: "), "{shown}");
    assert!(shown.contains("OBS control"), "{shown}");
    assert!(shown.contains("the status page"), "{shown}");
    assert!(shown.contains("All tasks running."), "{shown}");

    let ctx = context(SHIPPED_LIKE);
    let reply = run(&ctx, "!status", Invoker::console()).await;
    let shown = text(&ctx, &reply);
    assert!(shown.starts_with("Up 0s."), "{shown}");
    assert!(shown.contains("Enabled: the status page."), "{shown}");
}

// ---- 5. aliases ----

const ALIASES: &str = r#"(commands: (aliases: {"b": "brb", "cam2": "scene Camera 2", "l": "!live", "t": "trigger low"}))"#;

fn scene(name: &str) -> Option<Result<Command, commands::ParseError>> {
    Some(Ok(Command::Obs(ObsCommand::Switch(
        SceneName::parse(name).unwrap(),
    ))))
}

#[test]
fn aliases_expand_to_their_command_line() {
    let ctx = context(ALIASES);
    let config = &ctx.config.commands;
    let brb = Some(Ok(Command::Obs(ObsCommand::Brb)));
    assert_eq!(parse_line(config, "!brb"), brb);
    assert_eq!(parse_line(config, "!b"), parse_line(config, "!brb"));
    assert_eq!(parse_line(config, "  !B  "), brb);
    assert_eq!(
        parse_line(config, "!l"),
        Some(Ok(Command::Obs(ObsCommand::Live)))
    );
    for line in ["!cam2", "!CAM2", "!Cam2", "!cam2   ", "  !cam2\t"] {
        assert_eq!(parse_line(config, line), scene("Camera 2"), "{line:?}");
    }
    // Arguments after an alias are appended to its command line.
    assert_eq!(parse_line(config, "!cam2 Left"), scene("Camera 2 Left"));
    assert_eq!(
        parse_line(config, "!t 800"),
        parse_line(config, "!trigger low 800")
    );
    match parse_line(config, "!t abc") {
        Some(Err(error)) => assert_eq!(error.command, "trigger"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn aliases_need_the_configured_prefix_and_unknown_words_stay_silent() {
    let ctx = context(ALIASES);
    let config = &ctx.config.commands;
    for line in [
        "b", "?b", "!!b", "! b", "hello !b", "!bee", "!camera", "!cam", "!x", "",
    ] {
        assert_eq!(parse_line(config, line), None, "{line:?}");
    }
    let ctx = context(r#"(commands: (prefix: "??", aliases: {"b": "brb"}))"#);
    let config = &ctx.config.commands;
    assert_eq!(
        parse_line(config, "??b"),
        Some(Ok(Command::Obs(ObsCommand::Brb)))
    );
    assert_eq!(parse_line(config, "!b"), None);
    assert_eq!(parse_line(config, "!brb"), None);
}

// ---- 6. cooldowns (paused time) ----

#[tokio::test(start_paused = true)]
async fn cooldowns_hold_back_per_command_and_per_user() {
    let ctx = context("()");
    let cooldowns = &ctx.config.commands.cooldowns;
    assert_eq!(cooldowns.command, Duration::from_secs(3));
    assert_eq!(cooldowns.user, Duration::from_secs(10));
    assert_eq!(cooldowns.exempt, stream_control::config::Level::Moderator);

    let reply = run(&ctx, "!ping", viewer("a")).await;
    assert_eq!(reply.key, keys::PONG);
    let reply = run(&ctx, "!ping", viewer("a")).await;
    assert_cooldown(&ctx, &reply, "!ping", 10);
    // Another viewer waits for the per-command window.
    let reply = run(&ctx, "!ping", viewer("b")).await;
    assert_cooldown(&ctx, &reply, "!ping", 3);
    // Another command is not affected.
    let reply = run(&ctx, "!version", viewer("a")).await;
    assert_eq!(reply.key, keys::VERSION);

    tokio::time::advance(Duration::from_secs(3)).await;
    let reply = run(&ctx, "!ping", viewer("b")).await;
    assert_eq!(reply.key, keys::PONG, "per-command window passed");
    let reply = run(&ctx, "!ping", viewer("a")).await;
    assert_cooldown(&ctx, &reply, "!ping", 7);

    tokio::time::advance(Duration::from_millis(6500)).await;
    let reply = run(&ctx, "!ping", viewer("a")).await;
    assert_cooldown(&ctx, &reply, "!ping", 1); // 0.5 s left, rounded up
    tokio::time::advance(Duration::from_millis(500)).await;
    let reply = run(&ctx, "!ping", viewer("a")).await;
    assert_eq!(reply.key, keys::PONG, "user window passed");
}

#[tokio::test(start_paused = true)]
async fn moderators_and_above_are_never_held_back() {
    let ctx = context("()");
    for level in [
        Permission::Moderator,
        Permission::Admin,
        Permission::Broadcaster,
    ] {
        for _ in 0..3 {
            let reply = run(&ctx, "!ping", at_level(level)).await;
            assert_eq!(reply.key, keys::PONG, "{level}");
        }
    }
    // Exempt uses start no window for others.
    let reply = run(&ctx, "!ping", viewer("a")).await;
    assert_eq!(reply.key, keys::PONG);
    // And a viewer's window does not hold a moderator back.
    let reply = run(&ctx, "!ping", at_level(Permission::Moderator)).await;
    assert_eq!(reply.key, keys::PONG);
    let reply = run(
        &ctx,
        "!ping",
        invoker(Surface::Twitch, "v", Permission::Vip),
    )
    .await;
    assert_cooldown(&ctx, &reply, "!ping", 3);
}

#[tokio::test(start_paused = true)]
async fn cooldown_overrides_apply_per_command() {
    let ctx =
        context(r#"(commands: (cooldowns: (overrides: {"ping": (command: "0s", user: "1s")})))"#);
    let reply = run(&ctx, "!ping", viewer("a")).await;
    assert_eq!(reply.key, keys::PONG);
    let reply = run(&ctx, "!ping", viewer("a")).await;
    assert_cooldown(&ctx, &reply, "!ping", 1);
    let reply = run(&ctx, "!ping", viewer("b")).await;
    assert_eq!(reply.key, keys::PONG, "no per-command window");
    // Other words keep the defaults.
    assert_eq!(run(&ctx, "!version", viewer("a")).await.key, keys::VERSION);
    let reply = run(&ctx, "!version", viewer("a")).await;
    assert_cooldown(&ctx, &reply, "!version", 10);

    tokio::time::advance(Duration::from_secs(1)).await;
    let reply = run(&ctx, "!ping", viewer("a")).await;
    assert_eq!(reply.key, keys::PONG);

    // Only one side overridden: the other keeps its default.
    let ctx = context(r#"(commands: (cooldowns: (overrides: {"ping": (user: "2s")})))"#);
    assert_eq!(run(&ctx, "!ping", viewer("a")).await.key, keys::PONG);
    let reply = run(&ctx, "!ping", viewer("b")).await;
    assert_cooldown(&ctx, &reply, "!ping", 3);
    let reply = run(&ctx, "!ping", viewer("a")).await;
    assert_cooldown(&ctx, &reply, "!ping", 3);
}

#[tokio::test(start_paused = true)]
async fn refused_invocations_start_no_cooldown() {
    let ctx = context(r#"(commands: (cooldowns: (exempt: Broadcaster)))"#);
    for _ in 0..3 {
        let reply = run(&ctx, "!brb", viewer("a")).await;
        assert_eq!(reply, permission_reply("brb", Permission::Moderator));
    }
    let reply = run(&ctx, "!brb", at_level(Permission::Moderator)).await;
    assert_eq!(reply.outcome, Outcome::NotEnabled, "{reply:?}");
    let reply = run(&ctx, "!brb", at_level(Permission::Admin)).await;
    assert_cooldown(&ctx, &reply, "!brb", 3);
    // Permission comes before cooldown: a viewer is still told they may not.
    let reply = run(&ctx, "!brb", viewer("a")).await;
    assert_eq!(reply.outcome, Outcome::Refused);
}

#[tokio::test(start_paused = true)]
async fn allow_listed_users_are_exempt_from_cooldowns() {
    let ctx = context(r#"(commands: (allow: {"ping": ["twitch:42"]}))"#);
    for _ in 0..3 {
        let reply = run(&ctx, "!ping", viewer("42")).await;
        assert_eq!(reply.key, keys::PONG);
    }
    // The same id on another surface is an ordinary viewer.
    let discord = invoker(Surface::Discord, "42", Permission::Viewer);
    assert_eq!(run(&ctx, "!ping", discord.clone()).await.key, keys::PONG);
    let reply = run(&ctx, "!ping", discord).await;
    assert_cooldown(&ctx, &reply, "!ping", 10);
    // Only for the listed command word.
    assert_eq!(run(&ctx, "!version", viewer("42")).await.key, keys::VERSION);
    let reply = run(&ctx, "!version", viewer("42")).await;
    assert_cooldown(&ctx, &reply, "!version", 10);
}

// ---- 7. usage errors ----

fn usage_text(ctx: &Context, line: &str) -> String {
    match parse_line(&ctx.config.commands, line) {
        Some(Err(error)) => {
            let reply = reply::usage(&error, "!");
            assert_eq!(reply.outcome, Outcome::Usage, "{line:?}");
            assert_eq!(reply.key, keys::ERROR_USAGE, "{line:?}");
            text(ctx, &reply)
        }
        other => panic!("{line:?} gave {other:?}"),
    }
}

#[test]
fn usage_reply_names_the_grammar_and_the_problem() {
    let ctx = context("()");
    let shown = usage_text(&ctx, "!trigger low abc");
    assert!(shown.contains("Usage: !trigger"), "{shown}");
    assert!(shown.contains("not a number"), "{shown}");
    assert_eq!(
        shown,
        "Usage: !trigger low|offline|rtt|rtt-offline [value|off] | reset (<value> “abc” is not a number)"
    );
}

#[test]
fn usage_reply_never_echoes_the_url_of_restream_add() {
    let ctx = context("()");
    for line in [
        "!restream add Name http://host/app/secretkey123",
        "!restream add Name rtmp://host/app/secret{key123",
        "!restream add Name rtmp:///secretkey123",
        "!restream add Na;me rtmp://host/app/secretkey123",
    ] {
        let shown = usage_text(&ctx, line);
        assert!(shown.contains("Usage: !restream"), "{shown}");
        assert!(
            !shown.contains("secretkey123"),
            "{line:?} echoed the key: {shown}"
        );
        assert!(
            !shown.contains("key123"),
            "{line:?} echoed the key: {shown}"
        );
    }
}

/// A push URL typed where the grammar expects something else is still a stream key.
#[test]
fn usage_reply_never_echoes_a_push_url_typed_in_another_position() {
    let ctx = context("()");
    let leaks: Vec<String> = [
        "!restream rtmp://host/app/secretkey123",
        "!restream list rtmp://host/app/secretkey123",
        "!restream remove Main rtmp://host/app/secretkey123",
        "!restream add rtmp://host/app/secretkey123",
        "!pc rtmps://host/app/secretkey123",
        "!restream rtmp://live.twitch.tv/app/live_123456789_secretkey123",
    ]
    .iter()
    .map(|line| (line, usage_text(&ctx, line)))
    .filter(|(_, shown)| shown.contains("secretkey123") || shown.contains("live_12345"))
    .map(|(line, shown)| format!("{line:?} -> {shown:?}"))
    .collect();
    assert!(leaks.is_empty(), "usage echoed a stream key: {leaks:#?}");
}

// ---- 8. dispatch_isolated ----

#[tokio::test]
async fn dispatch_isolated_answers_like_dispatch() {
    let ctx = context(NO_COOLDOWNS);
    for (line, who) in [
        ("!ping", viewer("1")),
        ("!brb", viewer("1")),
        ("!brb", Invoker::console()),
        ("!help", at_level(Permission::Vip)),
    ] {
        let direct = dispatch(&ctx, invocation(command(&ctx, line), who.clone())).await;
        let isolated = dispatch_isolated(ctx.clone(), invocation(command(&ctx, line), who)).await;
        assert_eq!(isolated, direct, "{line:?}");
    }
    let reply =
        dispatch_isolated(ctx.clone(), invocation(command(&ctx, "!ping"), viewer("1"))).await;
    assert_eq!(reply.key, keys::PONG);
    assert_eq!(reply.outcome, Outcome::Done);
}
