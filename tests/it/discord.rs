//! Discord end to end: the real poise/serenity bot against the fake Discord (REST + gateway) and
//! the fake OBS. Slash commands, buttons, permissions, the status message, alerts, the chat
//! mirror, gateway resume, and bad input. Real sockets on 127.0.0.1, so real time; every wait is
//! bounded and driven by what the fakes record.

use stream_control_test_support as support;
use stream_control_test_support::fake_discord;
use stream_control_test_support::fake_exec;
use stream_control_test_support::fake_obs;

use fake_discord::{CHANNEL_ID, FakeDiscord, GUILD_ID, Member, OTHER_GUILD_ID};
use fake_obs::{FakeObs, FakeObsOptions};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::status::{Event, GuardTransition, UploadProblem};
use stream_control::surfaces::discord::tree;

const MOD_ROLE: u64 = 400_000_000_000_000_001;
const STATUS_CHANNEL: u64 = 300_000_000_000_000_010;
const ALERTS_CHANNEL: u64 = 300_000_000_000_000_011;
const MIRROR_CHANNEL: u64 = 300_000_000_000_000_012;
const PRIVATE_CHANNEL: u64 = 300_000_000_000_000_013;
const ALERT_ROLE: u64 = 400_000_000_000_000_009;

fn moderator() -> Member {
    Member {
        user_id: 800_000_000_000_000_001,
        name: "modder".into(),
        roles: vec![MOD_ROLE],
    }
}

fn viewer() -> Member {
    Member {
        user_id: 800_000_000_000_000_002,
        name: "lurker".into(),
        roles: vec![],
    }
}

struct Bot {
    app: App,
    ctx: Arc<Context>,
    discord: FakeDiscord,
    obs: FakeObs,
    _state: tempfile::TempDir,
}

async fn start_with(
    discord: FakeDiscord,
    state: tempfile::TempDir,
    extra: &str,
    stop: &str,
    top: &str,
) -> Bot {
    start_when(discord, state, extra, stop, top, |d| d.commands.is_some()).await
}

/// [`start_with`], ready when OBS is connected and `ready` holds for Discord's status.
async fn start_when(
    discord: FakeDiscord,
    state: tempfile::TempDir,
    extra: &str,
    stop: &str,
    top: &str,
    ready: impl Fn(&stream_control::status::DiscordStatus) -> bool,
) -> Bot {
    let obs = FakeObs::start(FakeObsOptions {
        password: Some(support::fake_secret_values()["OBS_PASSWORD"].clone()),
        ..FakeObsOptions::default()
    })
    .await;
    let config = format!(
        r#"(state_dir: "{state}",
            obs: (port: {port}, reconnect_min: "100ms", reconnect_max: "500ms",
                  request_timeout: "2s", {stop}),
            discord: (guild_id: {GUILD_ID}, roles: {{"{MOD_ROLE}": Moderator}},
                      {proxy}, {extra}),
            commands: (cooldowns: (command: "0s", user: "0s")), {tls}, {top})"#,
        state = state.path().display(),
        port = obs.port(),
        proxy = discord.bot_config(),
        tls = discord.tls_config(),
    );
    let ctx = support::context(&config);
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut status = ctx.status.subscribe();
    tokio::time::timeout(
        Duration::from_secs(15),
        status.wait_for(|s| {
            s.discord.as_ref().is_some_and(&ready)
                && s.obs.as_ref().is_some_and(|o| {
                    o.connection == stream_control::status::ObsConnection::Connected
                })
        }),
    )
    .await
    .ok()
    .and_then(|r| r.ok())
    .unwrap_or_else(|| panic!("bot not ready: {:?}", ctx.status.borrow().discord));
    Bot {
        app,
        ctx,
        discord,
        obs,
        _state: state,
    }
}

async fn start(extra: &str) -> Bot {
    start_with(
        FakeDiscord::start().await,
        tempfile::tempdir().unwrap(),
        extra,
        DEFAULT_STOP,
        "",
    )
    .await
}

impl Bot {
    /// A Twitch chat line from `viewer_1`, as EventSub hands it to the event bus.
    fn twitch_chat(&self, text: &str) {
        self.ctx
            .events
            .send(Event::TwitchChatMessage {
                user_id: "1".into(),
                display_name: "viewer_1".into(),
                text: text.into(),
            })
            .unwrap();
    }

    /// `n` LOW transitions on the event bus (each an alert).
    fn lows(&self, n: usize) {
        for _ in 0..n {
            self.ctx
                .events
                .send(Event::BitrateLow(transition("low")))
                .unwrap();
        }
    }

    /// Waits for a message in the status channel that passes `check`.
    async fn status_message(
        &self,
        what: &str,
        check: impl Fn(&fake_discord::FakeMessage) -> bool,
    ) -> fake_discord::FakeMessage {
        self.discord
            .wait_for(what, |v| {
                v.messages_in(STATUS_CHANNEL).into_iter().find(|m| check(m))
            })
            .await
    }
}

/// The status message's embed mentions `text`.
fn embed_says(text: &'static str) -> impl Fn(&fake_discord::FakeMessage) -> bool {
    move |m| {
        m.embeds
            .first()
            .is_some_and(|e| e.to_string().contains(text))
    }
}

const DEFAULT_STOP: &str = r#"stop: (ending_delay: "50ms", confirm_timeout: "2s")"#;

fn content(answer: &fake_discord::Answer) -> String {
    answer.text().unwrap_or_default()
}

#[test]
fn the_slash_tree_covers_the_whole_vocabulary() {
    let words: BTreeSet<&str> = tree::leaves().iter().map(|(_, l)| l.word).collect();
    let names: BTreeSet<&str> = commands::Command::NAMES.iter().copied().collect();
    assert_eq!(words, names);
}

#[tokio::test]
async fn commands_are_registered_once_with_localisations_and_again_only_when_changed() {
    let bot = start("").await;
    let registered = bot
        .discord
        .view(|v| (v.command_puts(), v.commands().to_vec()));
    assert_eq!(registered.0, 1);
    let names: BTreeSet<String> = registered
        .1
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    for top in [
        "stream", "scene", "brb", "guard", "twitch", "restream", "pc", "logs", "panel",
    ] {
        assert!(names.contains(top), "{top} registered: {names:?}");
    }
    let brb = registered.1.iter().find(|c| c["name"] == "brb").unwrap();
    assert_eq!(brb["description"], "Switch to the BRB scene");
    assert_eq!(
        brb["description_localizations"]["no"], "Bytt til BRB-scenen",
        "Norwegian from locales/nb-NO"
    );
    let guard = registered.1.iter().find(|c| c["name"] == "guard").unwrap();
    let trigger = guard["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "trigger")
        .unwrap();
    assert_eq!(trigger["type"], 1, "subcommand");
    assert_eq!(trigger["options"][0]["choices"][3]["name"], "rtt-offline");
    assert_eq!(
        bot.ctx
            .status
            .borrow()
            .discord
            .as_ref()
            .unwrap()
            .commands
            .as_deref(),
        Some("registered")
    );

    // A restart with the same tree: read, compared, not sent again.
    let Bot {
        app,
        discord,
        _state,
        ..
    } = bot;
    assert!(app.shutdown(Duration::from_secs(5)).await);
    let mut bot = start_with(discord, _state, "", DEFAULT_STOP, "").await;
    assert_eq!(bot.discord.view(|v| v.command_puts()), 1);
    assert_eq!(
        bot.ctx
            .status
            .borrow()
            .discord
            .as_ref()
            .unwrap()
            .commands
            .as_deref(),
        Some("unchanged")
    );
    // A panel button posted before the restart still works: its id is the command.
    let token = bot.discord.click(&moderator(), "run:brb");
    bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(bot.obs.current_scene(), "BRB");

    // A real change (Norwegian as the default language: other descriptions) is sent once, and
    // accepted by the strict fake; the next restart with it sends nothing.
    for (puts, outcome) in [(2, "registered"), (2, "unchanged")] {
        let Bot {
            app,
            discord,
            _state,
            ..
        } = bot;
        assert!(app.shutdown(Duration::from_secs(5)).await);
        bot = start_with(discord, _state, "", DEFAULT_STOP, r#"locale: "nb-NO""#).await;
        assert_eq!(bot.discord.view(|v| v.command_puts()), puts);
        assert_eq!(commands_status(&bot).as_deref(), Some(outcome));
    }
    let brb = bot
        .discord
        .view(|v| v.commands().iter().find(|c| c["name"] == "brb").cloned())
        .unwrap();
    assert_eq!(brb["description"], "Bytt til BRB-scenen");
    assert_eq!(
        brb["description_localizations"]["en-US"],
        "Switch to the BRB scene"
    );
}

fn commands_status(bot: &Bot) -> Option<String> {
    bot.ctx.status.borrow().discord.as_ref()?.commands.clone()
}

/// The option `name` in a list of options (or subcommands).
fn option<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|o| o["name"] == name))
        .unwrap_or_else(|| panic!("no option {name} in {list}"))
}

#[tokio::test]
async fn names_are_localised_under_discords_code_for_norwegian() {
    let bot = start("").await;
    assert_eq!(commands_status(&bot).as_deref(), Some("registered"));
    let commands = Value::Array(bot.discord.view(|v| v.commands().to_vec()));
    let guard = option(&commands, "guard");
    assert_eq!(
        guard["name_localizations"],
        json!({"no": "vakt"}),
        "command"
    );
    let trigger = option(&guard["options"], "trigger");
    assert_eq!(trigger["name_localizations"]["no"], "terskel", "subcommand");
    let kind = option(&trigger["options"], "kind");
    assert_eq!(kind["name_localizations"]["no"], "type", "option");
    assert_eq!(kind["choices"][0]["name"], "low");
    assert_eq!(
        kind["choices"][0]["name_localizations"]["no"], "lav",
        "choice"
    );
    assert_eq!(
        kind["choices"][3]["name_localizations"]["no"],
        "rtt-frakoblet"
    );
    // A name equal in both languages is not sent; Discord answers null for it.
    assert_eq!(
        option(&commands, "scene")["name_localizations"],
        Value::Null
    );
    // Only Discord's locale codes (the strict fake would refuse `nb-NO` anyway).
    assert!(!commands.to_string().contains("nb-NO"));
    assert_eq!(
        option(&commands, "brb")["description_localizations"]["no"],
        "Bytt til BRB-scenen"
    );
}

#[tokio::test]
async fn brb_by_a_moderator_switches_obs_and_answers_in_the_channel() {
    let bot = start("").await;
    let token = bot
        .discord
        .slash(&moderator(), Some(GUILD_ID), &["brb"], json!([]));
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(bot.obs.current_scene(), "BRB");
    assert!(!answer.ephemeral(), "actions are visible to the channel");
    assert!(content(&answer).contains("BRB"), "{answer:?}");
    assert_eq!(answer.callbacks[0]["type"], 4);
    assert_eq!(
        answer.callbacks[0]["data"]["allowed_mentions"]["parse"],
        json!([])
    );
}

#[tokio::test]
async fn brb_without_the_role_is_refused_ephemerally_and_nothing_happens() {
    let bot = start("").await;
    let before = bot.obs.requests().len();
    let token = bot
        .discord
        .slash(&viewer(), Some(GUILD_ID), &["brb"], json!([]));
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert!(answer.ephemeral());
    assert!(content(&answer).contains("moderator"), "{answer:?}");
    assert_eq!(bot.obs.current_scene(), "LIVE");
    assert!(
        bot.obs.requests()[before..]
            .iter()
            .all(|r| r.request_type != "SetCurrentProgramScene")
    );
}

#[tokio::test]
async fn other_servers_and_dms_are_refused() {
    let bot = start("").await;
    for guild in [Some(OTHER_GUILD_ID), None] {
        let token = bot.discord.slash(&moderator(), guild, &["brb"], json!([]));
        let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
        assert!(answer.ephemeral());
        assert!(content(&answer).contains("own server"), "{answer:?}");
    }
    assert_eq!(bot.obs.current_scene(), "LIVE");
}

#[tokio::test]
async fn subcommands_with_choices_and_text_become_command_lines() {
    let bot = start("").await;
    let token = bot.discord.slash(
        &moderator(),
        Some(GUILD_ID),
        &["scene"],
        json!([{"name": "name", "type": 3, "value": "starting"}]),
    );
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(bot.obs.current_scene(), "Starting soon", "{answer:?}");

    // A usage error (a value the grammar refuses) is ephemeral and shows the usage.
    let token = bot.discord.slash(
        &moderator(),
        Some(GUILD_ID),
        &["guard", "trigger"],
        json!([{"name": "kind", "type": 4, "value": 0}, {"name": "value", "type": 3,
                "value": "lots"}]),
    );
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert!(answer.ephemeral(), "{answer:?}");
}

#[tokio::test]
async fn norwegian_users_get_norwegian_answers() {
    let bot = start("").await;
    use stream_control::reply::{Outcome, Reply, keys, level};
    let token = bot.discord.slash_in(&viewer(), &["brb"], json!([]), "no");
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    let refusal = Reply::new(keys::ERROR_PERMISSION)
        .arg("command", "!brb")
        .message("level", level(commands::Permission::Moderator))
        .with_outcome(Outcome::Refused);
    assert_eq!(content(&answer), bot.ctx.render("nb-NO", &refusal));
    assert_ne!(content(&answer), bot.ctx.render("en-US", &refusal));

    // A Norwegian client shows `/scene navn:`, but Discord sends the default names.
    let token = bot.discord.slash_in(
        &moderator(),
        &["scene"],
        json!([{"name": "name", "type": 3, "value": "starting"}]),
        "no",
    );
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(bot.obs.current_scene(), "Starting soon", "{answer:?}");
    let token = bot.discord.slash_in(
        &moderator(),
        &["guard"],
        json!([{"name": "dryrun", "type": 1, "options": [{"name": "state", "type": 4,
                "value": 0}]}]),
        "no",
    );
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    let unknown = "Jeg kjenner ikke denne kommandoen";
    assert!(!content(&answer).contains(unknown), "resolved: {answer:?}");
    // (A Norwegian name would not be: Discord never sends one.)
    let token = bot
        .discord
        .slash_in(&moderator(), &["vakt"], json!([]), "no");
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert!(content(&answer).contains(unknown), "{answer:?}");
}

/// The fake's checks of a registration body, as Discord's API makes them.
mod strict_registration {
    use super::*;
    use fake_discord::discord_commands::{valid_name, validate_commands};

    fn command() -> Value {
        json!({"name": "guard", "description": "The guard", "type": 1,
            "name_localizations": {"no": "vakt"}, "description_localizations": {"no": "Vakten"},
            "options": [{"type": 1, "name": "trigger", "description": "A trigger", "options": [
                {"type": 4, "name": "kind", "description": "Which", "required": true,
                 "choices": [{"name": "Low bitrate (kbps)", "value": 0,
                              "name_localizations": {"no": "Lav bitrate"}}]},
                {"type": 3, "name": "value", "description": "New value"}]}]})
    }

    /// `change` applied to a valid command makes Discord refuse it with `code` at `path`.
    fn refused(change: impl Fn(&mut Value), path: &str, code: &str) {
        let mut body = command();
        change(&mut body);
        let errors = validate_commands(&json!([body])).expect_err(path);
        let mut node = &errors["0"];
        for key in path.split('.').filter(|k| !k.is_empty()) {
            node = &node[key];
        }
        assert_eq!(node["_errors"][0]["code"], code, "{path}: {errors}");
    }

    #[test]
    fn a_valid_command_with_free_text_choices_is_accepted() {
        assert_eq!(validate_commands(&json!([command()])), Ok(()));
    }

    #[test]
    fn names_follow_discords_pattern() {
        refused(
            |c| c["name"] = json!("Guard"),
            "name",
            "APPLICATION_COMMAND_INVALID_NAME",
        );
        refused(
            |c| c["name"] = json!("the guard"),
            "name",
            "APPLICATION_COMMAND_INVALID_NAME",
        );
        refused(
            |c| c["name"] = json!("x".repeat(33)),
            "name",
            "BASE_TYPE_BAD_LENGTH",
        );
        refused(|c| c["name"] = json!(""), "name", "BASE_TYPE_BAD_LENGTH");
        refused(
            |c| c["options"][0]["options"][1]["name"] = json!("new value"),
            "options.0.options.1.name",
            "APPLICATION_COMMAND_INVALID_NAME",
        );
        refused(
            |c| c["name_localizations"]["no"] = json!("Vakt"),
            "name_localizations.no",
            "APPLICATION_COMMAND_INVALID_NAME",
        );
        for good in ["vakt", "slå-av", "ผู้ใช้", "नमस्ते", "x_1", "l'eau"]
        {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["Vakt", "slå av", "a.b", "a/b", "ÆØÅ"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn descriptions_and_choice_names_are_1_to_100_characters() {
        refused(
            |c| c["description"] = json!("d".repeat(101)),
            "description",
            "BASE_TYPE_BAD_LENGTH",
        );
        refused(
            |c| c["description_localizations"]["no"] = json!("ø".repeat(101)),
            "description_localizations.no",
            "BASE_TYPE_BAD_LENGTH",
        );
        refused(
            |c| c["options"][0]["options"][0]["choices"][0]["name"] = json!("c".repeat(101)),
            "options.0.options.0.choices.0.name",
            "BASE_TYPE_BAD_LENGTH",
        );
        let mut ok = command();
        ok["description"] = json!("ø".repeat(100));
        assert_eq!(validate_commands(&json!([ok])), Ok(()));
    }

    #[test]
    fn only_discords_locale_codes() {
        refused(
            |c| c["name_localizations"] = json!({"nb-NO": "vakt"}),
            "name_localizations.nb-NO",
            "BASE_TYPE_CHOICES",
        );
        refused(
            |c| {
                c["options"][0]["options"][0]["choices"][0]["name_localizations"] =
                    json!({"nb": "lav"})
            },
            "options.0.options.0.choices.0.name_localizations.nb",
            "BASE_TYPE_CHOICES",
        );
    }

    #[test]
    fn counts_order_and_nesting() {
        let many: Vec<Value> = (0..26)
            .map(|i| json!({"type": 3, "name": format!("o{i}"), "description": "o"}))
            .collect();
        refused(
            |c| c["options"][0]["options"] = json!(many),
            "options.0.options",
            "BASE_TYPE_MAX_LENGTH",
        );
        let choices: Vec<Value> = (0..26).map(|i| json!({"name": "c", "value": i})).collect();
        refused(
            |c| c["options"][0]["options"][0]["choices"] = json!(choices),
            "options.0.options.0.choices",
            "BASE_TYPE_MAX_LENGTH",
        );
        refused(
            |c| {
                c["options"][0]["options"][0]["required"] = json!(false);
                c["options"][0]["options"][1]["required"] = json!(true);
            },
            "options.0.options.1",
            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
        );
        // A group inside a subcommand, and a plain option beside a subcommand.
        refused(
            |c| {
                c["options"][0]["options"][1] =
                    json!({"type": 2, "name": "deeper", "description": "d", "options": []})
            },
            "options.0.options",
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
        );
        refused(
            |c| {
                let loose = json!({"type": 3, "name": "loose", "description": "l"});
                c["options"].as_array_mut().unwrap().push(loose);
            },
            "options",
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
        );
        refused(
            |c| c["options"][0]["options"][0]["autocomplete"] = json!(true),
            "options.0.options.0.choices",
            "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES",
        );
        let commands: Vec<Value> = (0..101)
            .map(|i| json!({"name": format!("c{i}"), "description": "c"}))
            .collect();
        let errors = validate_commands(&json!(commands)).unwrap_err();
        assert_eq!(errors["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
        assert_eq!(validate_commands(&json!(commands[..100])), Ok(()));
    }

    #[test]
    fn the_bots_tree_passes_in_both_default_languages() {
        for default in stream_control::i18n::LOCALES {
            let i18n = stream_control::i18n::I18n::new(default, &Default::default()).unwrap();
            let commands = tree::commands(&i18n, default);
            let body =
                serde_json::to_value(poise::builtins::create_application_commands(&commands))
                    .unwrap();
            assert_eq!(validate_commands(&body), Ok(()), "{default}");
        }
    }

    #[tokio::test]
    async fn a_refused_registration_is_a_400_with_discords_body_and_stores_nothing() {
        let discord = FakeDiscord::start().await;
        let url = format!(
            "{}/api/v10/applications/{}/guilds/{GUILD_ID}/commands",
            discord.api_url,
            fake_discord::APP_ID
        );
        let mut bad = command();
        bad["name_localizations"] = json!({"nb-NO": "vakt"});
        let response = support::http()
            .put(&url)
            .json(&json!([bad]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 50035);
        assert_eq!(body["message"], "Invalid Form Body");
        assert_eq!(
            body["errors"]["0"]["name_localizations"]["nb-NO"]["_errors"][0]["code"],
            "BASE_TYPE_CHOICES"
        );
        assert_eq!(
            discord.view(|v| (v.command_puts(), v.commands().len())),
            (0, 0)
        );

        // Accepted: answered in Discord's normal form, and the same on GET.
        let response = support::http()
            .put(&url)
            .json(&json!([command()]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let stored: Value = response.json().await.unwrap();
        let guard = &stored[0];
        assert_eq!(guard["guild_id"], GUILD_ID.to_string());
        assert_eq!(guard["default_member_permissions"], Value::Null);
        assert_eq!(guard["nsfw"], false);
        assert!(guard["version"].is_string() && guard["id"].is_string());
        let value = &guard["options"][0]["options"][1];
        assert_eq!(value["name_localizations"], Value::Null);
        assert!(
            value.get("required").is_none(),
            "false is left out: {value}"
        );
        let got: Value = support::http()
            .get(format!("{url}?with_localizations=true"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got, stored);
    }
}

#[tokio::test]
async fn buttons_run_their_command_with_the_clickers_level() {
    let admin = Member {
        user_id: 800_000_000_000_000_003,
        name: "admin".into(),
        roles: vec![],
    };
    let bot = start(&format!(r#"users: {{"{}": Admin}}"#, admin.user_id)).await;
    let token = bot.discord.click(&moderator(), "run:brb");
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(bot.obs.current_scene(), "BRB");
    assert!(answer.ephemeral(), "button answers go to the clicker only");

    let token = bot.discord.click(&viewer(), "run:live");
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert!(content(&answer).contains("moderator"));
    assert_eq!(bot.obs.current_scene(), "BRB", "refused: nothing happened");

    // Stop asks first, and only those who may stop (admins): the confirmation carries the
    // real button. A moderator is refused at once, not shown a "Yes" that would be refused.
    let token = bot.discord.click(&moderator(), "ask:stop");
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert!(content(&answer).contains("admin"), "{answer:?}");
    assert!(answer.ephemeral());
    assert!(
        answer.callbacks[0]["data"]["components"]
            .as_array()
            .is_none_or(|rows| rows.is_empty()),
        "{answer:?}"
    );
    let token = bot.discord.click(&admin, "ask:stop");
    let answer = bot
        .discord
        .answer(&token, |a| !a.callbacks.is_empty())
        .await;
    let components = &answer.callbacks[0]["data"]["components"];
    assert_eq!(components[0]["components"][0]["custom_id"], "run:stop");
    assert!(answer.ephemeral());

    // An id from nowhere.
    let token = bot.discord.click(&moderator(), "boop-1");
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert!(answer.ephemeral());
}

#[tokio::test]
async fn panel_shows_the_current_scene_and_its_buttons_work() {
    let bot = start("").await;
    let buttons = panel_buttons(&bot).await;
    let live = buttons.iter().find(|(id, _, _)| id == "run:live").unwrap();
    assert_eq!(live.2, 3, "the current scene is highlighted");
    assert!(buttons.iter().any(|(id, _, _)| id == "run:brb"));
    assert!(buttons.iter().any(|(id, _, _)| id == "run:start"));
    // Without `obs.audio_inputs` and `obs.sources`: no toggles.
    assert!(
        !buttons
            .iter()
            .any(|(id, _, _)| id.starts_with("run:mute") || id.starts_with("run:source")),
        "{buttons:?}"
    );
    let token = bot.discord.click(&moderator(), "run:brb");
    bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(bot.obs.current_scene(), "BRB");

    let token = bot
        .discord
        .slash(&viewer(), Some(GUILD_ID), &["panel"], json!([]));
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert!(answer.ephemeral());
}

/// The panel's buttons, by custom id: (label, style).
/// The `/panel` answer's data: `content` and `components`.
async fn panel_answer(bot: &Bot) -> serde_json::Value {
    let token = bot
        .discord
        .slash(&moderator(), Some(GUILD_ID), &["panel"], json!([]));
    let answer = bot
        .discord
        .answer(&token, |a| !a.callbacks.is_empty())
        .await;
    answer.callbacks[0]["data"].clone()
}

async fn panel_buttons(bot: &Bot) -> Vec<(String, String, u64)> {
    panel_answer(bot).await["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["components"].as_array().unwrap().clone())
        .map(|b| {
            (
                b["custom_id"].as_str().unwrap().to_string(),
                b["label"].as_str().unwrap().to_string(),
                b["style"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Discord takes five rows: with the toggles and the stream PC, the restream targets get what
/// is left, and the panel names the targets it has no room for; the PC's row is never cut.
#[tokio::test]
async fn a_full_panel_keeps_the_pc_row_and_names_the_restream_targets_it_has_no_room_for() {
    let bot = with_audio_and_sources().await;
    bot.ctx
        .status
        .publisher(|s| &mut s.power)
        .modify(|p| *p = Some(Default::default()));
    bot.ctx.status.publisher(|s| &mut s.restream).modify(|r| {
        *r = Some(stream_control::status::RestreamStatus {
            endpoints: (1..=11)
                .map(|i| stream_control::status::EndpointStatus {
                    name: format!("T{i}"),
                    platform: "custom",
                    enabled: false,
                    url_masked: "rtmp://example/app".into(),
                })
                .collect(),
            last_apply: None,
        })
    });
    let data = panel_answer(&bot).await;
    let rows = data["components"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let ids: Vec<&str> = rows
        .iter()
        .flat_map(|r| r["components"].as_array().unwrap())
        .map(|b| b["custom_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"run:pc wake"), "{ids:?}");
    let targets: Vec<&&str> = ids
        .iter()
        .filter(|i| i.starts_with("run:restream"))
        .collect();
    assert_eq!(targets.len(), 5, "{ids:?}");
    let content = data["content"].as_str().unwrap();
    assert!(
        content.contains("6 more restream targets than the panel has room for: /restream list"),
        "{content}"
    );
}

/// A bot whose `obs` section lists one audio input and one source (the simulator has more).
async fn with_audio_and_sources() -> Bot {
    start_with(
        FakeDiscord::start().await,
        tempfile::tempdir().unwrap(),
        "",
        &format!(
            r#"{DEFAULT_STOP}, audio_inputs: ["Mic/Aux"], sources: [(name: "Webcam", scene: Some("LIVE"))]"#
        ),
        "",
    )
    .await
}

#[tokio::test]
async fn the_panel_toggles_the_configured_inputs_and_sources_by_their_state() {
    let bot = with_audio_and_sources().await;
    let buttons = panel_buttons(&bot).await;
    let toggles: Vec<_> = buttons
        .iter()
        .filter(|(id, _, _)| {
            id.starts_with("run:mute")
                || id.starts_with("run:unmute")
                || id.starts_with("run:source")
        })
        .cloned()
        .collect();
    // Unmuted and visible: a click mutes, hides. Nothing else OBS has gets a button.
    assert_eq!(
        toggles,
        [
            ("run:mute Mic/Aux".into(), "🎙️ Mic/Aux".into(), 2),
            ("run:source Webcam hide".into(), "👁️ Webcam".into(), 3),
        ]
    );
    // A click runs the line through dispatch with the clicker's level.
    let token = bot.discord.click(&moderator(), "run:mute Mic/Aux");
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(answer.text().as_deref(), Some("Mic/Aux muted."));
    assert_eq!(bot.obs.input_muted("Mic/Aux"), Some(true));
    let token = bot.discord.click(&moderator(), "run:source Webcam hide");
    bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(bot.obs.scene_item_enabled("LIVE", "Webcam"), Some(false));
    let token = bot.discord.click(&viewer(), "run:unmute Mic/Aux");
    let refused = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert!(refused.ephemeral());
    assert_eq!(
        bot.obs.input_muted("Mic/Aux"),
        Some(true),
        "a viewer changes nothing"
    );
    // Once OBS reports the new states, a new panel offers the way back.
    let mut status = bot.ctx.status.subscribe();
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| {
            s.obs.as_ref().is_some_and(|o| {
                o.audio[0].muted == Some(true) && o.sources[0].visible == Some(false)
            })
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let buttons = panel_buttons(&bot).await;
    assert!(
        buttons.contains(&("run:unmute Mic/Aux".into(), "🔇 Mic/Aux".into(), 4)),
        "{buttons:?}"
    );
    assert!(
        buttons.contains(&("run:source Webcam show".into(), "🙈 Webcam".into(), 2)),
        "{buttons:?}"
    );
}

/// A bot whose OBS streams and whose `stream stop` takes longer than Discord waits (the ending
/// delay, then OBS's confirmation); the moderator is an admin.
async fn streaming_with_a_slow_stop() -> Bot {
    let admin = moderator().user_id;
    let bot = start_with(
        FakeDiscord::start().await,
        tempfile::tempdir().unwrap(),
        &format!(r#"users: {{"{admin}": Admin}}"#),
        r#"stop: (ending_delay: "1800ms", confirm_timeout: "2s"),
           scenes: (ending: Some("BRB"))"#,
        "",
    )
    .await;
    bot.obs.set_streaming(true);
    let mut status = bot.ctx.status.subscribe();
    status
        .wait_for(|s| s.obs.as_ref().is_some_and(|o| o.streaming))
        .await
        .unwrap();
    bot
}

#[tokio::test]
async fn a_slow_command_is_deferred_then_edited() {
    let bot = streaming_with_a_slow_stop().await;
    // `stop` waits for the ending delay, then for OBS to confirm: longer than Discord waits.
    let token = bot
        .discord
        .slash(&moderator(), Some(GUILD_ID), &["stream", "stop"], json!([]));
    let answer = bot.discord.answer(&token, |a| !a.edits.is_empty()).await;
    assert_eq!(answer.callbacks[0]["type"], 5, "deferred: {answer:?}");
    assert!(!bot.obs.is_streaming());
    assert!(!content(&answer).is_empty());
}

#[tokio::test]
async fn the_status_message_is_kept_and_edited_after_a_scene_change() {
    let bot = start(&format!("status_channel: Some({STATUS_CHANNEL})")).await;
    let first = bot
        .status_message("the status message", embed_says("LIVE"))
        .await;
    bot.obs.set_scene("BRB");
    let edited = bot
        .status_message("the status message edited", embed_says("BRB"))
        .await;
    assert_eq!(edited.id, first.id, "edited in place");
    assert!(edited.edits >= 1);
    assert_eq!(bot.discord.view(|v| v.messages_in(STATUS_CHANNEL).len()), 1);
    let colour = edited.embeds[0]["color"].as_u64().unwrap();
    assert_eq!(colour, 0x57f287, "green: OBS up, nothing failing");

    // Deleted by someone: posted again, and the new id is kept.
    bot.discord.delete_message(edited.id);
    bot.obs.set_scene("LIVE");
    let again = bot.status_message("a new status message", |_| true).await;
    assert_ne!(again.id, edited.id);
}

/// A guard transition from LIVE to `to` at 420 kbps.
fn transition(to: &'static str) -> GuardTransition {
    GuardTransition {
        from: "live",
        to,
        cause: "low_bitrate",
        error: None,
        bitrate_kbps: Some(420),
        rtt_ms: Some(80),
        server: Some("home".into()),
        dry_run: false,
    }
}

#[tokio::test]
async fn low_bitrate_is_alerted_with_the_role_mention_and_floods_are_counted() {
    let bot = start(&format!(
        r#"alerts: Some((channel: {ALERTS_CHANNEL}, mention: {{"low": "{ALERT_ROLE}"}}, per_minute: 2))"#
    ))
    .await;
    bot.lows(5);
    let messages = bot
        .discord
        .wait_for("two alerts", |v| {
            let m = v.messages_in(ALERTS_CHANNEL);
            (m.len() >= 2).then_some(m)
        })
        .await;
    assert!(
        messages[0]
            .content
            .starts_with(&format!("<@&{ALERT_ROLE}>"))
    );
    assert!(
        messages[0].content.contains("420 kbps"),
        "{}",
        messages[0].content
    );
    assert_eq!(
        messages[0].allowed_mentions["roles"],
        json!([ALERT_ROLE.to_string()])
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        bot.discord.view(|v| v.messages_in(ALERTS_CHANNEL).len()),
        2,
        "flood control holds the rest"
    );
}

#[tokio::test]
async fn upload_and_eventsub_alerts_are_posted_with_their_numbers_and_mentions() {
    let bot = start(&format!(
        r#"alerts: Some((channel: {ALERTS_CHANNEL}, mention: {{"congestion": "{ALERT_ROLE}"}}, per_minute: 6))"#
    ))
    .await;
    let upload = |problem, active, value| Event::ObsUpload {
        problem,
        active,
        value,
        gone: false,
    };
    for event in [
        upload(UploadProblem::Congestion, true, Some(0.61)),
        upload(UploadProblem::DiskLow, true, Some(812.4)),
        upload(UploadProblem::Congestion, false, None),
        Event::ObsUpload {
            problem: UploadProblem::DiskLow,
            active: false,
            value: None,
            gone: true,
        },
        Event::EventSubDown {
            reason: "Twitch closed the socket (4006: network error)".into(),
        },
        Event::EventSubBack,
    ] {
        bot.ctx.events.send(event).unwrap();
    }
    let messages = bot
        .discord
        .wait_for("six alerts", |v| {
            let m = v.messages_in(ALERTS_CHANNEL);
            (m.len() >= 6).then_some(m)
        })
        .await;
    let texts: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        texts,
        [
            format!("<@&{ALERT_ROLE}> 📶 The upload is congested: 61 %").as_str(),
            "💾 The recording disk is running low: 812 MB free",
            // The same kind, so the same mention.
            format!("<@&{ALERT_ROLE}> 📶 The upload is no longer congested").as_str(),
            "💾 Recording disk low: over, as the recording stopped (or OBS went away)",
            "📡 Twitch EventSub is down (chat commands, raids and live state wait for it): Twitch closed the socket (4006: network error)",
            "📡 Twitch EventSub is back",
        ]
    );
}

#[tokio::test]
async fn an_upload_alert_from_obs_reaches_the_alerts_channel_and_the_status_message() {
    let bot = start_with(
        FakeDiscord::start().await,
        tempfile::tempdir().unwrap(),
        &format!(
            r#"status_channel: Some({STATUS_CHANNEL}), alerts: Some((channel: {ALERTS_CHANNEL}))"#
        ),
        &format!(r#"{DEFAULT_STOP}, upload: (congestion: 0.5, congestion_for: "0s")"#),
        "",
    )
    .await;
    bot.obs.set_streaming(true);
    bot.obs.set_congestion(0.9);
    bot.status_message(
        "the upload problem",
        embed_says("⚠️ the upload is congested"),
    )
    .await;
    let alert = |text: &'static str| {
        move |v: &fake_discord::FakeView<'_>| {
            v.messages_in(ALERTS_CHANNEL)
                .into_iter()
                .find(|m| m.content == text)
        }
    };
    bot.discord
        .wait_for("the alert", alert("📶 The upload is congested: 90 %"))
        .await;
    bot.obs.set_congestion(0.0);
    bot.discord
        .wait_for("the clear", alert("📶 The upload is no longer congested"))
        .await;
    bot.status_message("no upload problem", |m| {
        m.embeds
            .first()
            .is_some_and(|e| !e.to_string().contains("congested"))
    })
    .await;
}

#[tokio::test]
async fn chat_is_mirrored_in_batches_without_mentions() {
    let bot = start(&format!("chat_mirror_channel: Some({MIRROR_CHANNEL})")).await;
    for i in 0..5 {
        bot.twitch_chat(&format!("hello {i} @everyone **bold**"));
    }
    let first = bot
        .discord
        .wait_for("a mirror message", |v| {
            v.messages_in(MIRROR_CHANNEL).into_iter().next()
        })
        .await;
    let batch = bot
        .discord
        .wait_for("all five lines", |v| {
            let all: String = v
                .messages_in(MIRROR_CHANNEL)
                .iter()
                .map(|m| m.content.clone())
                .collect();
            (all.matches("hello").count() == 5).then_some(v.messages_in(MIRROR_CHANNEL))
        })
        .await;
    assert_eq!(batch.len(), 1, "one message for a burst: {batch:?}");
    assert_eq!(first.allowed_mentions["parse"], json!([]));
    assert!(
        first.content.contains("\\*\\*bold\\*\\*"),
        "markdown escaped"
    );
    assert!(first.content.contains("viewer\\_1"));
}

/// Issue #20: with Kick configured too, each mirrored line says which chat it came from.
#[tokio::test]
async fn with_kick_too_mirrored_lines_are_tagged_with_their_chat() {
    let bot = start_with(
        FakeDiscord::start().await,
        tempfile::tempdir().unwrap(),
        &format!("chat_mirror_channel: Some({MIRROR_CHANNEL})"),
        DEFAULT_STOP,
        // Nothing is read from Kick here (no reader): the lines are put on the bus.
        r#"kick: (channel: "someone", api_url: "http://127.0.0.1:9/", oauth_url: "http://127.0.0.1:9/")"#,
    )
    .await;
    bot.twitch_chat("from twitch");
    bot.ctx
        .events
        .send(Event::KickChatMessage {
            user_id: "7".into(),
            display_name: "kick_viewer".into(),
            text: "from kick".into(),
        })
        .unwrap();
    let all = bot
        .discord
        .wait_for("both lines", |v| {
            let all: String = v
                .messages_in(MIRROR_CHANNEL)
                .iter()
                .map(|m| m.content.clone() + "\n")
                .collect();
            (all.contains("from twitch") && all.contains("from kick")).then_some(all)
        })
        .await;
    assert!(
        all.contains("[Twitch] **viewer\\_1**: from twitch"),
        "{all}"
    );
    assert!(all.contains("[Kick] **kick\\_viewer**: from kick"), "{all}");
}

/// Issue #18 §5: the audit channel gets one line per command run (who, surface, command,
/// outcome), refusals included, and per automatic action; batched, never mentioning anyone.
#[tokio::test]
async fn the_audit_channel_has_a_line_per_command_and_automatic_action() {
    let bot = start(&format!("audit_channel: Some({MIRROR_CHANNEL})")).await;
    let token = bot
        .discord
        .slash(&moderator(), Some(GUILD_ID), &["brb"], json!([]));
    bot.discord
        .answer(&token, |a| !a.callbacks.is_empty())
        .await;
    let token = bot
        .discord
        .slash(&viewer(), Some(GUILD_ID), &["stream", "stop"], json!([]));
    bot.discord
        .answer(&token, |a| !a.callbacks.is_empty())
        .await;
    let _ = bot
        .ctx
        .events
        .send(stream_control::status::Event::OfflineTimeout { stopped: true });
    let all = bot
        .discord
        .wait_for("three audit lines", |v| {
            let all: String = v
                .messages_in(MIRROR_CHANNEL)
                .iter()
                .map(|m| m.content.clone())
                .collect();
            (all.lines().count() >= 3).then_some(all)
        })
        .await;
    let moderator_id = moderator().user_id;
    let viewer_id = viewer().user_id;
    assert!(
        all.contains(&format!("discord:{moderator_id} ran brb: done")),
        "{all}"
    );
    assert!(
        all.contains(&format!("discord:{viewer_id} ran stop: refused")),
        "{all}"
    );
    assert!(
        all.contains("the guard stopped the stream: offline too long"),
        "{all}"
    );
    let messages = bot.discord.view(|v| v.messages_in(MIRROR_CHANNEL));
    assert!(
        messages
            .iter()
            .all(|m| m.allowed_mentions["parse"] == json!([]))
    );
}

/// Issue #18 §5: a "live" post when the stream goes online (the role mentioned, nobody else),
/// once per stream, edited when it ends to say how long it was live.
#[tokio::test]
async fn the_live_post_is_made_once_and_edited_when_the_stream_ends() {
    let bot = start(&format!(
        "live: Some((channel: {MIRROR_CHANNEL}, mention_role: Some(900000000000000001)))"
    ))
    .await;
    let live = |on: bool| {
        let _ = bot
            .ctx
            .events
            .send(stream_control::status::Event::TwitchLive { live: on });
    };
    live(true);
    let post = bot
        .discord
        .wait_for("the live post", |v| {
            v.messages_in(MIRROR_CHANNEL).into_iter().next()
        })
        .await;
    assert!(
        post.content.starts_with("<@&900000000000000001> 🔴"),
        "{}",
        post.content
    );
    assert!(post.content.contains("is live"), "{}", post.content);
    assert_eq!(
        post.allowed_mentions["roles"],
        json!(["900000000000000001"])
    );
    live(true);
    live(false);
    let ended = bot
        .discord
        .wait_for("the edited post", |v| {
            v.messages_in(MIRROR_CHANNEL)
                .into_iter()
                .find(|m| m.content.contains("was live for"))
        })
        .await;
    assert_eq!(ended.id, post.id, "the same post, edited");
    assert_eq!(
        bot.discord.view(|v| v.messages_in(MIRROR_CHANNEL).len()),
        1,
        "one post per stream"
    );
}

/// A stream key typed into chat is masked in the mirror, escapes and all (issue #15 §3): the
/// key has `_` and `*`, which the mirror escapes.
#[tokio::test]
async fn a_secret_typed_into_chat_is_not_mirrored() {
    let bot = start(&format!("chat_mirror_channel: Some({MIRROR_CHANNEL})")).await;
    let key = "live_1234*5678_abcd";
    bot.ctx.redactor.add(key);
    bot.twitch_chat(&format!("my key is {key} oops"));
    let line = bot
        .discord
        .wait_for("the mirror message", |v| {
            v.messages_in(MIRROR_CHANNEL).into_iter().next()
        })
        .await;
    assert!(
        line.content.contains("my key is \\*\\*\\* oops"),
        "{}",
        line.content
    );
    for part in ["1234", "5678", "abcd"] {
        assert!(!line.content.contains(part), "{}", line.content);
    }
}

#[tokio::test]
async fn a_dropped_gateway_is_resumed_and_commands_keep_working() {
    let bot = start("").await;
    bot.discord.drop_gateway();
    let resume = bot
        .discord
        .wait_for("RESUME", |v| v.resumes().first().cloned())
        .await;
    assert_eq!(resume["session_id"], "fake-session-1");
    assert!(resume["seq"].as_u64().unwrap() >= 1);
    assert_eq!(
        bot.discord.view(|v| v.identifies()),
        1,
        "resumed, not identified again"
    );
    let token = bot
        .discord
        .slash(&moderator(), Some(GUILD_ID), &["brb"], json!([]));
    bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(bot.obs.current_scene(), "BRB");
}

#[tokio::test]
async fn junk_interactions_are_refused_without_action() {
    let bot = start("").await;
    let before = bot.obs.requests().len();
    let cases = [
        // An option the command does not have.
        (
            vec!["brb"],
            json!([{"name": "evil", "type": 3, "value": "x"}]),
        ),
        // A choice index out of range.
        (
            vec!["guard", "dryrun"],
            json!([{"name": "state", "type": 4, "value": 99}]),
        ),
        // A value of the wrong type.
        (
            vec!["scene"],
            json!([{"name": "name", "type": 4, "value": 3}]),
        ),
        // Over-long text (Discord would stop it; a forged interaction does not).
        (
            vec!["scene"],
            json!([{"name": "name", "type": 3, "value": "x".repeat(20_000)}]),
        ),
        // A command we never registered.
        (vec!["format-disk"], json!([])),
    ];
    for (path, options) in cases {
        let token = bot
            .discord
            .slash(&moderator(), Some(GUILD_ID), &path, options);
        let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
        assert!(answer.ephemeral(), "{path:?}: {answer:?}");
    }
    assert!(
        bot.obs.requests()[before..]
            .iter()
            .all(|r| r.request_type != "SetCurrentProgramScene"),
        "no action"
    );
    // Junk autocomplete input: answered, with nothing or only real names.
    for typed in ["\u{0}\u{202e}", &"ä".repeat(500), "LI"] {
        let token = bot
            .discord
            .autocomplete(&moderator(), Some(GUILD_ID), "scene", "name", typed);
        let answer = bot
            .discord
            .answer(&token, |a| !a.callbacks.is_empty())
            .await;
        assert_eq!(answer.callbacks[0]["type"], 8);
        let choices = answer.callbacks[0]["data"]["choices"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if typed == "LI" {
            assert_eq!(choices[0]["value"], "LIVE");
        } else {
            assert!(choices.is_empty(), "{choices:?}");
        }
    }
    // Autocomplete from another server: nothing.
    let token = bot
        .discord
        .autocomplete(&moderator(), Some(OTHER_GUILD_ID), "scene", "name", "L");
    let answer = bot
        .discord
        .answer(&token, |a| !a.callbacks.is_empty())
        .await;
    assert!(
        answer.callbacks[0]["data"]["choices"]
            .as_array()
            .is_none_or(|c| c.is_empty())
    );
    let _ = CHANNEL_ID;
}

#[tokio::test]
async fn a_missing_token_is_reported_in_status_not_a_crash() {
    let config =
        format!(r#"(discord: (guild_id: {GUILD_ID}, api_url: Some("http://127.0.0.1:9")))"#);
    let config = stream_control_test_support::test_config(&config);
    let secrets = stream_control::secrets::Secrets::from_lookup(|_| None);
    let redactor = stream_control::secrets::Redactor::new(&secrets);
    let ctx = Context::new(config, secrets, redactor).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut status = ctx.status.subscribe();
    let status = tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.discord.as_ref().is_some_and(|d| d.state == "failed")),
    )
    .await
    .unwrap()
    .unwrap()
    .clone();
    let reason = status.discord.unwrap().reason.unwrap();
    assert!(reason.contains("DISCORD_TOKEN"), "{reason}");
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

/// The bot with fake systemctl and journalctl, and the stream PC configured (never answering).
async fn start_with_operations() -> (Bot, fake_exec::FakeProgram, fake_exec::FakeProgram) {
    start_with_operations_and("").await
}

/// [`start_with_operations`], with `discord_extra` in the `discord` section.
async fn start_with_operations_and(
    discord_extra: &str,
) -> (Bot, fake_exec::FakeProgram, fake_exec::FakeProgram) {
    let state = tempfile::tempdir().unwrap();
    let systemctl = fake_exec::FakeProgram::new(state.path(), "systemctl");
    let journalctl = fake_exec::FakeProgram::new(state.path(), "journalctl");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let top = format!(
        r#"services: (units: {{"nginx": "nginx.service", "bot": "stream-control.service"}},
                      repair: Some(["nginx", "bot"]), command_timeout: "1s"),
           power: (mac: "AA:BB:CC:DD:EE:FF", host: "127.0.0.1", probe_port: {closed_port},
                   broadcast: "127.0.0.1:9"),
           programs: (use_sudo: Some(false), systemctl: "{systemctl}", journalctl: "{journalctl}")"#,
        systemctl = systemctl.path.display(),
        journalctl = journalctl.path.display(),
    );
    let bot = start_with(
        FakeDiscord::start().await,
        state,
        &format!(
            r#"users: {{"{}": Admin}}, logs_follow_max: "5s", {discord_extra}"#,
            moderator().user_id
        ),
        DEFAULT_STOP,
        &top,
    )
    .await;
    (bot, systemctl, journalctl)
}

#[tokio::test]
async fn a_long_action_shows_its_progress_by_editing_the_answer() {
    let (bot, systemctl, _journalctl) = start_with_operations().await;
    // The first step answers at once, the second hangs until the 1 s timeout.
    systemctl.hang(Some("stream-control.service"));
    let token = bot.discord.slash(
        &moderator(),
        Some(GUILD_ID),
        &["service", "repair"],
        json!([]),
    );
    let answer = bot.discord.answer(&token, |a| !a.edits.is_empty()).await;
    assert_eq!(answer.callbacks[0]["type"], 4, "{answer:?}");
    let first = answer.callbacks[0]["data"]["content"].as_str().unwrap();
    assert!(
        first.contains("nginx"),
        "the first step is shown at once: {first}"
    );
    let last = answer.edits.last().unwrap();
    assert!(
        last != first && last.contains("bot") && last.contains("1 s"),
        "the final answer replaces it: {last}"
    );
}

#[tokio::test]
async fn logs_come_as_code_blocks_and_follow_edits_one_message() {
    let (bot, _systemctl, journalctl) = start_with_operations().await;
    let lines: String = (0..120)
        .map(|i| {
            format!(
                "2026-11-24T18:00:00+0000 host nginx[1]: line {i} {}\n",
                "x".repeat(30)
            )
        })
        .collect();
    journalctl.answer(Some("--no-pager"), 0, &lines, "");
    let follow_lines: String = (0..3)
        .map(|i| format!("{{\"MESSAGE\": \"followed {i}\", \"__REALTIME_TIMESTAMP\": \"1\"}}\n"))
        .collect();
    journalctl.answer(Some("nginx.service"), 0, &follow_lines, "");
    let token = bot.discord.slash(
        &moderator(),
        Some(GUILD_ID),
        &["logs"],
        json!([{"name": "service", "type": 3, "value": "nginx"},
               {"name": "lines", "type": 4, "value": 120},
               {"name": "follow", "type": 5, "value": true}]),
    );
    let answer = bot
        .discord
        .answer(&token, |a| {
            a.followup_edits
                .last()
                .is_some_and(|c| c.contains("Stopped following"))
        })
        .await;
    // Logs are private (issue #15): ephemeral, follow-ups included (the fake checks those).
    assert!(answer.ephemeral(), "{answer:?}");
    let first = answer.callbacks[0]["data"]["content"].as_str().unwrap();
    assert!(
        first.starts_with("The last 120 lines of nginx.service"),
        "{first}"
    );
    let blocks: Vec<&str> = std::iter::once(first)
        .chain(
            answer
                .followups
                .iter()
                .filter_map(|f| f["content"].as_str()),
        )
        .collect();
    assert!(blocks.iter().all(|b| b.chars().count() <= 2000));
    let all = blocks.concat();
    assert!(all.contains("line 0 ") && all.contains("line 119 "));
    assert!(
        blocks[1..]
            .iter()
            .filter(|b| !b.starts_with("Following"))
            .all(|b| b.starts_with("```\n") && b.ends_with("```"))
    );
    // The follow message: posted once ("Following nginx…"), then edited in place.
    let follow_posts = answer
        .followups
        .iter()
        .filter(|f| {
            f["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("Following nginx"))
        })
        .count();
    assert_eq!(follow_posts, 1);
    let last = answer.followup_edits.last().unwrap();
    assert!(
        last.contains("followed 0") && last.contains("followed 2"),
        "{last}"
    );
}

/// `/logs nginx` by the admin moderator, with `discord.private_channel` set (and the bot
/// denied access to it when `denied`): the bot and the answer, once given.
async fn logs_with_a_private_channel(denied: bool) -> (Bot, fake_discord::Answer) {
    let (bot, _systemctl, journalctl) =
        start_with_operations_and(&format!("private_channel: Some({PRIVATE_CHANNEL})")).await;
    if denied {
        bot.discord.deny_channel(PRIVATE_CHANNEL);
    }
    // `/logs` shows its default 25 lines (journalctl runs with a fixed `-n 1000` for sudoers).
    journalctl.answer(None, 0, &journal_lines(25), "");
    let token = bot.discord.slash(
        &moderator(),
        Some(GUILD_ID),
        &["logs"],
        json!([{"name": "service", "type": 3, "value": "nginx"}]),
    );
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    (bot, answer)
}

/// Issue #15 §2: with `discord.private_channel`, `/logs` posts the journal lines in that channel
/// and the invoker's (ephemeral) answer only points there: no line of the logs is in it.
#[tokio::test]
async fn logs_go_to_the_private_channel_and_the_answer_only_points_there() {
    let (bot, answer) = logs_with_a_private_channel(false).await;
    let posted: String = bot.discord.view(|v| {
        v.messages_in(PRIVATE_CHANNEL)
            .iter()
            .map(|m| m.content.clone())
            .collect()
    });
    assert!(
        posted.contains("secret line 0 ") && posted.contains("secret line 24 "),
        "{posted}"
    );
    let shown = serde_json::to_string(&(
        &answer.callbacks,
        &answer.edits,
        &answer.followups,
        &answer.followup_edits,
    ))
    .unwrap();
    assert!(!shown.contains("secret line"), "{shown}");
    assert!(
        content(&answer).contains(&format!("<#{PRIVATE_CHANNEL}>")),
        "{answer:?}"
    );
    assert!(answer.ephemeral(), "{answer:?}");
    // Nothing of it anywhere else.
    let elsewhere = bot.discord.view(|v| {
        v.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.contains("/channels/"))
            .filter(|r| !r.path.contains(&PRIVATE_CHANNEL.to_string()))
            .map(|r| r.body.to_string())
            .collect::<Vec<_>>()
    });
    assert!(elsewhere.is_empty(), "{elsewhere:?}");
}

/// A private channel the bot may not post in (Discord answers 403 Missing Access): the logs
/// are the invoker's ephemeral answer instead, and nothing is posted.
#[tokio::test]
async fn logs_are_answered_ephemerally_when_the_private_channel_refuses_them() {
    let (bot, answer) = logs_with_a_private_channel(true).await;
    assert!(answer.ephemeral(), "{answer:?}");
    let shown = content(&answer)
        + &answer
            .followups
            .iter()
            .filter_map(|f| f["content"].as_str())
            .collect::<String>();
    assert!(
        shown.contains("secret line 0 ") && shown.contains("secret line 24 "),
        "{answer:?}"
    );
    assert!(
        bot.discord
            .view(|v| v.messages_in(PRIVATE_CHANNEL).is_empty())
    );
}

/// `n` journal lines as journalctl prints them.
fn journal_lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("2026-11-24T18:00:00+0000 host nginx[1]: secret line {i} x\n"))
        .collect()
}

#[tokio::test]
async fn the_panel_has_stream_pc_buttons_and_the_status_message_shows_operations() {
    let (bot, systemctl, _journalctl) = start_with_operations().await;
    systemctl.answer(None, 3, "active\nfailed\n", "");
    let token = bot
        .discord
        .slash(&moderator(), Some(GUILD_ID), &["panel"], json!([]));
    let answer = bot
        .discord
        .answer(&token, |a| !a.callbacks.is_empty())
        .await;
    let ids: Vec<String> = answer.callbacks[0]["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["components"].as_array().unwrap().clone())
        .map(|b| b["custom_id"].as_str().unwrap().to_string())
        .collect();
    for id in ["run:pc wake", "ask:pc restart", "ask:pc shutdown"] {
        assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
    }
    // Restart asks first, and offers the forced variant.
    let token = bot.discord.click(&moderator(), "ask:pc restart");
    let answer = bot
        .discord
        .answer(&token, |a| !a.callbacks.is_empty())
        .await;
    let buttons = &answer.callbacks[0]["data"]["components"][0]["components"];
    assert_eq!(buttons[0]["custom_id"], "run:pc restart");
    assert_eq!(buttons[1]["custom_id"], "run:pc restart force");
}

#[tokio::test]
async fn the_status_message_carries_the_bitrate_chart() {
    let bot = start(&format!("status_channel: Some({STATUS_CHANNEL})")).await;
    let now = stream_control::history::now_unix_ms();
    for i in 0..120u64 {
        bot.ctx
            .history
            .record_sample(stream_control::history::HistorySample {
                at_unix_ms: now - 120_000 + i * 1000,
                bitrate_kbps: Some(if i < 60 { 6000 } else { 500 }),
                rtt_ms: Some(40),
            });
    }
    bot.ctx.history.set_thresholds(Some(800), Some(1200));
    bot.obs.set_scene("BRB");
    let message = bot
        .status_message("the status message with its chart", |m| {
            m.files
                .iter()
                .any(|(name, size)| name == "bitrate.png" && *size > 100)
        })
        .await;
    let embed = &message.embeds[0];
    assert_eq!(embed["image"]["url"], "attachment://bitrate.png");
    let footer = embed["footer"]["text"].as_str().unwrap();
    assert!(footer.contains("0–7000 kbps"), "{footer}");
}

/// Discord's interaction rules, as the fake enforces them (the bot's tests rely on them):
/// one callback, within 3 s of creation; follow-ups and edits only after it; an edit keeps
/// what it does not name.
#[tokio::test]
async fn the_fake_refuses_what_discord_refuses_for_interactions() {
    let discord = FakeDiscord::start().await;
    let http = support::http();
    let api = format!("{}/api/v10", discord.api_url);
    let post = |path: String, body: serde_json::Value| {
        let request = http.post(format!("{api}{path}")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (status, body["code"].as_u64())
        }
    };
    let message = json!({"type": 4, "data": {"content": "hi", "flags": 64,
        "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "A", "custom_id": "a"}]}]}});
    let (id, token) = discord.issue_interaction(Duration::ZERO);
    let app = fake_discord::APP_ID;
    // No follow-up before the acknowledgement.
    let followup = json!({"content": "more"});
    assert_eq!(
        post(format!("/webhooks/{app}/{token}"), followup.clone()).await,
        (404, Some(10015))
    );
    let callback = format!("/interactions/{id}/{token}/callback");
    assert_eq!(post(callback.clone(), message.clone()).await, (204, None));
    assert_eq!(
        post(callback, message.clone()).await,
        (400, Some(40060)),
        "a second callback"
    );
    assert_eq!(
        post(format!("/webhooks/{app}/{token}"), followup).await.0,
        200
    );
    // An edit of the original keeps its components (and its ephemeral flag).
    let edited = http
        .patch(format!("{api}/webhooks/{app}/{token}/messages/@original"))
        .json(&json!({"content": "edited"}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200);
    let original = discord.view(|v| v.answer(&token).unwrap().original.clone().unwrap());
    assert_eq!(original.content, "edited");
    assert_eq!(original.components.len(), 1);
    assert_eq!(original.flags, fake_discord::EPHEMERAL);
    // Too late: created 3.5 s ago.
    let (id, token) = discord.issue_interaction(Duration::from_millis(3500));
    assert_eq!(
        post(
            format!("/interactions/{id}/{token}/callback"),
            message.clone()
        )
        .await,
        (404, Some(10062))
    );
    // A token Discord never issued.
    assert_eq!(
        post(format!("/interactions/{id}/forged/callback"), message).await,
        (404, Some(10062))
    );
}

/// Channel messages: empty ones (50006), content over 2000 characters (50035) and posts in a
/// channel the bot may not see (403 50001) are refused, as Discord refuses them; the fake
/// keeps none of them.
#[tokio::test]
async fn the_fake_refuses_what_discord_refuses_for_channel_messages() {
    let discord = FakeDiscord::start().await;
    discord.deny_channel(PRIVATE_CHANNEL);
    let http = support::http();
    let api = format!("{}/api/v10", discord.api_url);
    let post = |channel: u64, body: serde_json::Value| {
        let request = http
            .post(format!("{api}/channels/{channel}/messages"))
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (status, body["code"].as_u64())
        }
    };
    let long = "x".repeat(2001);
    for (channel, body, refused) in [
        (STATUS_CHANNEL, json!({"content": ""}), (400, Some(50006))),
        (STATUS_CHANNEL, json!({"content": long}), (400, Some(50035))),
        (
            PRIVATE_CHANNEL,
            json!({"content": "hi"}),
            (403, Some(50001)),
        ),
    ] {
        assert_eq!(post(channel, body.clone()).await, refused, "{body}");
    }
    assert_eq!(
        post(STATUS_CHANNEL, json!({"content": "x".repeat(2000)}))
            .await
            .0,
        200
    );
    let kept = discord
        .view(|v| v.messages_in(STATUS_CHANNEL).len() + v.messages_in(PRIVATE_CHANNEL).len());
    assert_eq!(kept, 1);
}

/// Discord's rate limit headers and 429s, as the fake sends them: per route and top-level
/// resource, with `Retry-After` and `X-RateLimit-Scope` when over.
#[tokio::test]
async fn the_fake_rate_limits_as_discord_does() {
    let discord = FakeDiscord::start().await;
    discord.set_route_limit("POST", "/channels/", 2, Duration::from_secs(5));
    let http = support::http();
    let post = |channel: u64| {
        http.post(format!(
            "{}/api/v10/channels/{channel}/messages",
            discord.api_url
        ))
        .json(&json!({"content": "hi"}))
        .send()
    };
    let first = post(CHANNEL_ID).await.unwrap();
    assert_eq!(first.headers()["x-ratelimit-limit"], "2");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "1");
    let reset_after: f64 = first.headers()["x-ratelimit-reset-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset_after > 4.0 && reset_after <= 5.0, "{reset_after}");
    assert!(first.headers().contains_key("x-ratelimit-bucket"));
    assert_eq!(post(CHANNEL_ID).await.unwrap().status(), 200);
    let over = post(CHANNEL_ID).await.unwrap();
    assert_eq!(over.status(), 429);
    assert_eq!(over.headers()["x-ratelimit-scope"], "user");
    assert!(over.headers().contains_key("retry-after"));
    let body: Value = over.json().await.unwrap();
    assert_eq!(body["global"], false);
    assert!(body["retry_after"].as_f64().unwrap() > 4.0);
    // Another channel is another bucket.
    assert_eq!(post(CHANNEL_ID + 1).await.unwrap().status(), 200);
    assert_eq!(discord.view(|v| v.over_limit().len()), 1);
    // The global limit (Discord's 50 a second; 2 a minute here, so the test cannot outlast
    // the window): the third request, to a channel of its own, is a global 429.
    discord.set_global_limit(2, Duration::from_secs(60));
    assert_eq!(post(CHANNEL_ID + 100).await.unwrap().status(), 200);
    assert_eq!(post(CHANNEL_ID + 101).await.unwrap().status(), 200);
    let global = post(CHANNEL_ID + 102).await.unwrap();
    assert_eq!(global.status(), 429);
    assert_eq!(global.headers()["x-ratelimit-scope"], "global");
    assert_eq!(global.headers()["x-ratelimit-global"], "true");
    let body: Value = global.json().await.unwrap();
    assert_eq!(body["global"], true);
}

/// The 3 s count from the interaction's creation at Discord: one delivered 2 s late, for a
/// command slower than that, is deferred at once instead of 1.5 s after it arrived.
#[tokio::test]
async fn an_interaction_delivered_late_is_still_answered_in_time() {
    let bot = streaming_with_a_slow_stop().await;
    let token = bot
        .discord
        .slash_aged(&moderator(), &["stream", "stop"], Duration::from_secs(2));
    // `answer` fails if Discord refused the deferral as late (10062).
    let answer = bot.discord.answer(&token, |a| !a.edits.is_empty()).await;
    assert_eq!(answer.callbacks[0]["type"], 5, "deferred: {answer:?}");
    assert!(!bot.obs.is_streaming());
}

/// Every Discord REST call has a timeout (`discord.request_timeout`): an alert POST that Discord
/// accepts and never answers fails after it, and the next alert goes out within that time + 2 s
/// (without one, the hung call held every later alert back).
#[tokio::test]
async fn a_hung_alert_post_does_not_hold_back_the_next_alert() {
    let bot = start(&format!(
        r#"alerts: Some((channel: {ALERTS_CHANNEL})), request_timeout: "2s""#
    ))
    .await;
    bot.discord
        .hang("POST", &format!("/channels/{ALERTS_CHANNEL}/messages"), 1);
    bot.lows(1);
    bot.discord
        .wait_for("the first alert's POST (hung)", |v| {
            v.requests()
                .iter()
                .any(|r| {
                    r.path
                        .ends_with(&format!("/channels/{ALERTS_CHANNEL}/messages"))
                })
                .then_some(())
        })
        .await;
    bot.ctx
        .events
        .send(Event::IngestOffline(transition("offline")))
        .unwrap();
    let posted = bot
        .discord
        .wait_for_within("the next alert", Duration::from_secs(4), |v| {
            v.messages_in(ALERTS_CHANNEL).first().cloned()
        })
        .await;
    assert!(
        posted.content.contains("Ingest offline"),
        "{}",
        posted.content
    );
}

/// Command registration runs beside serving: while Discord does not answer the registration,
/// commands are answered; the registration then fails after the request timeout, and says so.
#[tokio::test]
async fn a_hung_registration_does_not_hold_up_answers() {
    let discord = FakeDiscord::start().await;
    discord.hang("GET", "/applications/", 1);
    let bot = start_when(
        discord,
        tempfile::tempdir().unwrap(),
        r#"request_timeout: "3s""#,
        DEFAULT_STOP,
        "",
        |d| d.state == "connected",
    )
    .await;
    let token = bot
        .discord
        .slash(&moderator(), Some(GUILD_ID), &["brb"], json!([]));
    let answer = bot
        .discord
        .answer(&token, |a| !a.callbacks.is_empty())
        .await;
    assert_eq!(answer.callbacks[0]["type"], 4, "{answer:?}");
    assert_eq!(
        bot.ctx.status.borrow().discord.as_ref().unwrap().commands,
        None,
        "answered while the registration was still waiting"
    );
    let mut status = bot.ctx.status.subscribe();
    let failed = tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.discord.as_ref().is_some_and(|d| d.commands.is_some())),
    )
    .await
    .expect("the registration gives up")
    .unwrap()
    .discord
    .clone()
    .unwrap()
    .commands
    .unwrap();
    assert!(failed.starts_with("failed"), "{failed}");
}

/// The fake is an HTTPS proxy for `https://discord.com`, as a client configured with a proxy
/// reaches Discord: CONNECT, then TLS with a `discord.com` certificate from the tests' CA.
#[tokio::test]
async fn the_fake_serves_discord_com_through_a_connect_tunnel() {
    let discord = FakeDiscord::start().await;
    let client = |trusted: bool| {
        let extra_ca_files = match trusted {
            true => vec![discord.ca.ca_file().to_path_buf()],
            false => Vec::new(),
        };
        let tls =
            stream_control::tls::Tls::new(&stream_control::config::TlsConfig { extra_ca_files })
                .unwrap();
        tls.http_client()
            .proxy(reqwest::Proxy::https(&discord.api_url).unwrap())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    };
    let me = client(true)
        .get("https://discord.com/api/v10/users/@me")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert!(me.headers().contains_key("x-ratelimit-bucket"));
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["id"], fake_discord::BOT_ID.to_string());
    // Without the CA, the certificate is refused.
    let refused = client(false)
        .get("https://discord.com/api/v10/users/@me")
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
}

/// serenity's rate limiter, on as in production (Discord's real URLs, through the fake as an
/// HTTPS proxy): 10 alerts and 30 scene changes against buckets of 5 requests per 5 s. Every
/// alert is posted, the status message ends on the last scene, and Discord never had to answer
/// 429 (the fake counts every request over a limit).
#[tokio::test]
async fn bursts_stay_within_discords_rate_limits_and_nothing_is_lost() {
    let discord = FakeDiscord::start().await;
    discord.set_route_limit("POST", "/channels/", 5, Duration::from_secs(5));
    discord.set_route_limit("PATCH", "/channels/", 5, Duration::from_secs(5));
    let bot = start_with(
        discord,
        tempfile::tempdir().unwrap(),
        &format!(
            r#"alerts: Some((channel: {ALERTS_CHANNEL}, per_minute: 10)),
               status_channel: Some({STATUS_CHANNEL})"#
        ),
        DEFAULT_STOP,
        "",
    )
    .await;
    bot.status_message("the status message", embed_says("LIVE"))
        .await;
    for i in 0..30 {
        bot.obs.set_scene(if i % 2 == 0 { "BRB" } else { "LIVE" });
    }
    bot.obs.set_scene("Starting soon");
    bot.lows(10);
    let alerts = bot
        .discord
        .wait_for_within("ten alerts", Duration::from_secs(30), |v| {
            let posted = v.messages_in(ALERTS_CHANNEL);
            (posted.len() >= 10).then_some(posted.len())
        })
        .await;
    assert_eq!(alerts, 10);
    bot.status_message(
        "the status message on the last scene",
        embed_says("Starting soon"),
    )
    .await;
    let over = bot.discord.view(|v| v.over_limit().to_vec());
    assert!(over.is_empty(), "requests over Discord's limits: {over:#?}");
}

/// A global 429 (which no header announces beforehand) is waited out: with 3 requests per 2 s
/// in all, 6 alerts are all posted.
#[tokio::test]
async fn a_global_rate_limit_is_waited_out_and_nothing_is_lost() {
    let bot = start(&format!(
        "alerts: Some((channel: {ALERTS_CHANNEL}, per_minute: 10))"
    ))
    .await;
    bot.discord.set_global_limit(3, Duration::from_secs(2));
    bot.lows(6);
    let posted = bot
        .discord
        .wait_for_within("six alerts", Duration::from_secs(20), |v| {
            let n = v.messages_in(ALERTS_CHANNEL).len();
            (n >= 6).then_some(n)
        })
        .await;
    assert_eq!(posted, 6);
    let over = bot.discord.view(|v| v.over_limit().to_vec());
    assert!(!over.is_empty(), "the global limit was reached");
    assert!(
        over.iter().all(|r| r.ends_with("(global)")),
        "only global 429s, which cannot be foreseen: {over:#?}"
    );
}

/// Issue #15: autocomplete is the command's own business: a member who may not run `/scene`
/// gets no suggestions (and no lookups are made for them), a moderator does.
#[tokio::test]
async fn autocomplete_needs_the_commands_permission() {
    let bot = start("").await;
    for (member, expect) in [(viewer(), None), (moderator(), Some("LIVE"))] {
        let token = bot
            .discord
            .autocomplete(&member, Some(GUILD_ID), "scene", "name", "LI");
        let answer = bot
            .discord
            .answer(&token, |a| !a.callbacks.is_empty())
            .await;
        assert_eq!(answer.callbacks[0]["type"], 8, "{answer:?}");
        let choices = answer.callbacks[0]["data"]["choices"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let first = choices.first().and_then(|c| c["value"].as_str());
        assert_eq!(first, expect, "{choices:?}");
        if expect.is_none() {
            assert!(choices.is_empty(), "{choices:?}");
        }
    }
}

/// The values autocomplete offers `member` for `option` of `command` after `typed`.
async fn suggested(
    bot: &Bot,
    member: &Member,
    command: &str,
    option: &str,
    typed: &str,
) -> Vec<String> {
    let token = bot
        .discord
        .autocomplete(member, Some(GUILD_ID), command, option, typed);
    let answer = bot
        .discord
        .answer(&token, |a| !a.callbacks.is_empty())
        .await;
    answer.callbacks[0]["data"]["choices"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| c["value"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `/mute`, `/unmute` and `/source` run their chat lines; their names complete from the
/// configuration only (OBS's other inputs are never suggested), and only for those who may run
/// them.
#[tokio::test]
async fn mute_and_source_slash_commands_complete_only_configured_names() {
    let bot = with_audio_and_sources().await;
    // The simulator also has Desktop Audio and SRT Ingest: never suggested.
    let moderator = moderator();
    for (command, option, typed, expected) in [
        ("mute", "input", "", "Mic/Aux"),
        ("unmute", "input", "a", "Mic/Aux"),
        ("source", "name", "", "Webcam"),
    ] {
        assert_eq!(
            suggested(&bot, &moderator, command, option, typed).await,
            [expected]
        );
    }
    assert!(
        suggested(&bot, &viewer(), "mute", "input", "")
            .await
            .is_empty()
    );

    let token = bot.discord.slash(
        &moderator,
        Some(GUILD_ID),
        &["mute"],
        json!([{"name": "input", "type": 3, "value": "mic"}]),
    );
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(answer.text().as_deref(), Some("Mic/Aux muted."));
    assert_eq!(bot.obs.input_muted("Mic/Aux"), Some(true));
    // `action` is a choice: 0 = show, 1 = hide.
    let token = bot.discord.slash(
        &moderator,
        Some(GUILD_ID),
        &["source"],
        json!([{"name": "name", "type": 3, "value": "Webcam"},
               {"name": "action", "type": 4, "value": 1}]),
    );
    let answer = bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(answer.text().as_deref(), Some("Webcam hidden in LIVE."));
    assert_eq!(bot.obs.scene_item_enabled("LIVE", "Webcam"), Some(false));
}
