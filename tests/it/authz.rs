//! Issue #15 §7, the authorisation matrix: every command form of the vocabulary
//! (`commands::FORMS`) × every surface (Twitch chat, Discord slash command, Discord button,
//! console) × every permission level below the form's own is refused, with the surface's refusal
//! answer, and nothing reaches OBS, Helix, nginx, ssh, systemctl/sudo, journalctl, the stream
//! PC's Wake-on-LAN port or a Discord channel.
//!
//! One bot serves every surface: the real app against the fake OBS, Twitch (OAuth, Helix,
//! EventSub), Discord, and fake programs, with every feature that calls out enabled (restream,
//! the stream PC, services), so a refusal that leaked into a handler would show up in a fake's
//! log. Real sockets on 127.0.0.1, so real time (as in `tests/it/twitch.rs` and
//! `tests/it/discord.rs`); every wait is on a fake's record or the app's status, bounded.
//!
//! The matrix is built from the vocabulary, not from a list here: a new command form in
//! `commands::FORMS` is covered by it, and one that Discord cannot reach fails it.

use stream_control_test_support::fake_discord;
use stream_control_test_support::fake_eventsub;
use stream_control_test_support::fake_exec;
use stream_control_test_support::fake_obs;
use stream_control_test_support::fake_twitch;

use commands::{Command, Permission};
use fake_discord::{FakeDiscord, GUILD_ID, Member};
use fake_eventsub::{ChatMessage, FakeEventSub, User};
use fake_exec::FakeProgram;
use fake_obs::{FakeObs, FakeObsOptions};
use fake_twitch::{BROADCASTER_ID, BROADCASTER_LOGIN, FakeTwitch};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stream_control::app::{App, Context, RunOptions};
use stream_control::dispatch::Invoker;
use stream_control::reply;
use stream_control::secrets::{Redactor, Secrets};
use stream_control::surfaces::discord::tree::{self, OptKind};
use stream_control::surfaces::twitch_chat::{chat_parts, clean};

const WAIT: Duration = Duration::from_secs(15);

const VIP_ROLE: u64 = 400_000_000_000_000_002;
const MOD_ROLE: u64 = 400_000_000_000_000_001;
const DISCORD_ADMIN: u64 = 800_000_000_000_000_004;
const DISCORD_BROADCASTER: u64 = 800_000_000_000_000_005;

/// The requests the OBS connection makes by itself: the stats poller (`GetStreamStatus`,
/// `GetStats` every 5 s) and the liveness check (`GetVersion`), in `src/obs/actor.rs`. Every
/// other request would come from a command.
const OBS_OWN_REQUESTS: &[&str] = &["GetStats", "GetStreamStatus", "GetVersion"];

/// The Twitch chatter at `level`: badges as Twitch sends them, the admin by `twitch.admins`.
fn twitch_chatter(level: Permission) -> (User, Option<&'static str>) {
    match level {
        Permission::Viewer => (User::new("4004", "aviewer", "AViewer"), None),
        Permission::Vip => (User::new("6006", "avip", "AVip"), Some("vip")),
        Permission::Moderator => (User::new("3003", "amod", "AMod"), Some("moderator")),
        Permission::Admin => (User::new("5005", "theadmin", "TheAdmin"), None),
        Permission::Broadcaster => (
            User::new(BROADCASTER_ID, BROADCASTER_LOGIN, BROADCASTER_LOGIN),
            Some("broadcaster"),
        ),
    }
}

/// The Discord member at `level`: by role (vip, moderator) or by user id (admin, broadcaster).
fn discord_member(level: Permission) -> Member {
    let (user_id, name, roles) = match level {
        Permission::Viewer => (800_000_000_000_000_001, "lurker", vec![]),
        Permission::Vip => (800_000_000_000_000_002, "vip", vec![VIP_ROLE]),
        Permission::Moderator => (800_000_000_000_000_003, "modder", vec![MOD_ROLE]),
        Permission::Admin => (DISCORD_ADMIN, "admin", vec![]),
        Permission::Broadcaster => (DISCORD_BROADCASTER, "streamer", vec![]),
    };
    Member {
        user_id,
        name: name.into(),
        roles,
    }
}

/// One case of the matrix: a command form, parsed, and a level below its own.
struct Case {
    form: &'static str,
    command: Command,
    level: Permission,
}

impl Case {
    /// The refusal text every surface shows (dispatch words it, with the configured prefix).
    fn refusal(&self, ctx: &Context) -> String {
        let name = format!("{}{}", ctx.config.commands.prefix, self.command.name());
        let refused = reply::permission_refused(name, self.command.required_permission());
        ctx.render("en-US", &refused)
    }
}

/// Every form of the vocabulary with every level below its own. Default permissions: the test
/// configuration overrides none.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for form in commands::FORMS {
        let command = match commands::parse(form, "") {
            Some(Ok(command)) => command,
            other => panic!("FORMS has {form:?}, which parses to {other:?}"),
        };
        let required = command.required_permission();
        for level in Permission::ALL.into_iter().filter(|l| *l < required) {
            cases.push(Case {
                form,
                command: command.clone(),
                level,
            });
        }
    }
    cases
}

/// A slash command (its path and options, as Discord sends them) that runs `form`: the leaf of
/// `tree` whose line, with the options filled in as the surface appends them, parses to the
/// same command. A bare form (`pc`) is reached through the leaf of its default (`pc status`).
fn slash_for(form: &str) -> (Vec<&'static str>, Value) {
    let target = commands::parse(form, "");
    let words: Vec<&str> = form.split_whitespace().collect();
    for (path, leaf) in tree::leaves() {
        let line: Vec<&str> = leaf.line.split_whitespace().collect();
        if leaf.word != words[0] {
            continue;
        }
        let rest: &[&str] = if words.starts_with(&line) {
            &words[line.len()..]
        } else if line.starts_with(&words) {
            &[]
        } else {
            continue;
        };
        let Some((options, built)) = fill_options(leaf, rest) else {
            continue;
        };
        if commands::parse(&built, "") == target {
            return (path, Value::Array(options));
        }
    }
    panic!("no Discord slash command runs {form:?}: add it to the tree")
}

/// The leaf's options for the words after its line, in order, and the line the surface builds
/// from them; `None` when the words do not fit the options.
fn fill_options(leaf: &tree::Leaf, rest: &[&str]) -> Option<(Vec<Value>, String)> {
    let mut rest = rest.iter().copied().peekable();
    let mut options = Vec::new();
    let mut line = leaf.line.to_string();
    for (i, opt) in leaf.options.iter().enumerate() {
        let Some(word) = rest.peek().copied() else {
            break;
        };
        let last = i + 1 == leaf.options.len();
        let (kind, value, text) = match opt.kind {
            OptKind::Flag("") => continue,
            OptKind::Flag(flag) if word == flag => (5, json!(true), word.to_string()),
            OptKind::Flag(_) => continue,
            OptKind::Choice(words) => {
                let index = words.iter().position(|w| *w == word)?;
                (4, json!(index), word.to_string())
            }
            OptKind::LineCount => (4, json!(word.parse::<u64>().ok()?), word.to_string()),
            OptKind::Text(_) | OptKind::Complete(..) if last => {
                let text = rest.clone().collect::<Vec<_>>().join(" ");
                (3, json!(text), text)
            }
            OptKind::Text(_) | OptKind::Complete(..) => (3, json!(word), word.to_string()),
        };
        if kind == 3 && last {
            rest.by_ref().for_each(drop);
        } else {
            rest.next();
        }
        options.push(json!({"name": opt.name, "type": kind, "value": value}));
        line.push(' ');
        line.push_str(&text);
    }
    rest.peek().is_none().then_some((options, line))
}

struct Rig {
    ctx: Arc<Context>,
    app: App,
    obs: FakeObs,
    twitch: FakeTwitch,
    eventsub: FakeEventSub,
    discord: FakeDiscord,
    programs: Vec<FakeProgram>,
    /// Where Wake-on-LAN packets go (the configured broadcast address).
    wol: tokio::net::UdpSocket,
    /// The Wake-on-LAN packets received so far (read from `wol` as effects are taken).
    woken: std::sync::Mutex<Vec<String>>,
    _state: tempfile::TempDir,
}

/// The bot with every surface and every feature that calls out, ready: OBS connected, chat
/// subscribed, Discord commands registered, the first Helix stream poll, the restream sync and
/// the first service poll done (so what follows is the commands' doing).
async fn rig() -> Rig {
    let eventsub = FakeEventSub::start().await;
    let twitch = FakeTwitch::start(Some(eventsub.clone())).await;
    // The broadcaster is the fake's own user.
    for level in Permission::ALL
        .into_iter()
        .filter(|l| *l != Permission::Broadcaster)
    {
        let (user, _) = twitch_chatter(level);
        twitch.add_user(&user.id, &user.login, &user.name);
    }
    let discord = FakeDiscord::start().await;
    let obs = FakeObs::start(FakeObsOptions::default()).await;
    let state = tempfile::tempdir().unwrap();
    twitch.sign_in_broadcaster(state.path());
    let programs: Vec<FakeProgram> = ["sudo", "nginx", "systemctl", "journalctl", "ssh"]
        .iter()
        .map(|name| FakeProgram::new(state.path(), name))
        .collect();
    let program = |name: &str| {
        programs
            .iter()
            .find(|p| p.path.ends_with(name))
            .unwrap()
            .path
            .display()
            .to_string()
    };
    let wol = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    // Refusals are answered every time (no refusal cooldown) and no command cools down, so
    // each case gets its own answer however many share a command word or a user.
    let config = format!(
        r#"(state_dir: "{state}",
            obs: (port: {obs_port}, reconnect_min: "100ms", reconnect_max: "500ms"),
            twitch: ({twitch_urls}, admins: ["theadmin"], stream_info_interval: "1h"),
            discord: (guild_id: {GUILD_ID},
                      roles: {{"{VIP_ROLE}": Vip, "{MOD_ROLE}": Moderator}},
                      users: {{"{DISCORD_ADMIN}": Admin, "{DISCORD_BROADCASTER}": Broadcaster}},
                      {proxy}),
            {tls},
            restream: (include_path: "{state}/restream.conf", command_timeout: "2s"),
            power: (mac: "AA:BB:CC:DD:EE:FF", host: "127.0.0.1", probe_port: {closed_port},
                    broadcast: "{wol}", wake_timeout: "1s"),
            services: (units: {{"obs": "obs.service", "nginx": "nginx.service"}},
                       repair: Some(["nginx", "obs"]), command_timeout: "2s"),
            programs: (use_sudo: Some(true), sudo: "{sudo}", nginx: "{nginx}",
                       systemctl: "{systemctl}", journalctl: "{journalctl}", ssh: "{ssh}"),
            commands: (cooldowns: (command: "0s", user: "0s", refusal: "0s")))"#,
        state = state.path().display(),
        obs_port = obs.port(),
        twitch_urls = twitch.config_urls(&eventsub),
        proxy = discord.bot_config(),
        tls = discord.tls_config(),
        wol = wol.local_addr().unwrap(),
        sudo = program("sudo"),
        nginx = program("nginx"),
        systemctl = program("systemctl"),
        journalctl = program("journalctl"),
        ssh = program("ssh"),
    );
    let config = stream_control_test_support::test_config(&config);
    let values = BTreeMap::from([
        ("TWITCH_CLIENT_ID", fake_twitch::CLIENT_ID),
        ("TWITCH_CLIENT_SECRET", fake_twitch::CLIENT_SECRET),
        ("DISCORD_TOKEN", "fake-discord-token-for-this-test"),
    ]);
    let secrets = Secrets::from_lookup(|name| values.get(name).map(|v| v.to_string()));
    let redactor = Redactor::new(&secrets);
    let ctx = Context::new(config, secrets, redactor).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut status = ctx.status.subscribe();
    let ready = tokio::time::timeout(
        WAIT,
        status.wait_for(|s| {
            let obs = s
                .obs
                .as_ref()
                .is_some_and(|o| o.connection == stream_control::status::ObsConnection::Connected);
            let twitch = s.twitch.as_ref().is_some_and(|t| {
                t.live.is_some()
                    && t.eventsub.state == "connected"
                    && t.eventsub
                        .subscriptions
                        .get("channel.chat.message")
                        .is_some_and(|v| v == "enabled")
            });
            let discord = s.discord.as_ref().is_some_and(|d| d.commands.is_some());
            let restream = s.restream.as_ref().is_some_and(|r| r.last_apply.is_some());
            obs && twitch && discord && restream && s.services.is_some()
        }),
    )
    .await;
    assert!(
        matches!(ready, Ok(Ok(_))),
        "the bot is not ready: {:#?}",
        ctx.status.borrow()
    );
    Rig {
        ctx,
        app,
        obs,
        twitch,
        eventsub,
        discord,
        programs,
        wol,
        woken: Default::default(),
        _state: state,
    }
}

impl Rig {
    /// Everything a command could have caused so far, one line per call, in order per fake.
    /// Not counted: what the app does by itself ([`OBS_OWN_REQUESTS`], `systemctl is-active`
    /// polls, OAuth token checks) and Twitch chat posts (a Twitch refusal is one; each case
    /// checks its own).
    fn effects(&self) -> Vec<String> {
        let obs = self
            .obs
            .requests()
            .into_iter()
            .filter(|r| !OBS_OWN_REQUESTS.contains(&r.request_type.as_str()))
            .map(|r| format!("OBS {} {}", r.request_type, r.data));
        let helix = self
            .twitch
            .requests()
            .into_iter()
            // The bot's own EventSub upkeep is not an effect: a session lost to a late keepalive
            // on a loaded machine is followed by new subscriptions, whatever the chat said.
            .filter(|r| {
                r.path.starts_with("/helix/")
                    && !is_chat_post(r)
                    && r.path != "/helix/eventsub/subscriptions"
            })
            .map(|r| format!("Helix {} {}?{}", r.method, r.path, r.query));
        let programs = self.programs.iter().flat_map(|p| {
            let name = p.path.file_name().unwrap().to_string_lossy().into_owned();
            p.calls()
                .into_iter()
                .map(move |args| format!("{name} {}", args.join(" ")))
                .filter(|call| !call.starts_with("systemctl is-active "))
        });
        let posts = self.discord.view(|v| {
            v.requests()
                .iter()
                .filter(|r| r.method == "POST" && r.path.contains("/channels/"))
                .map(|r| format!("Discord post {} {}", r.path, r.body))
                .collect::<Vec<_>>()
        });
        let mut woken = self.woken.lock().unwrap();
        let mut packet = [0u8; 256];
        while let Ok((n, from)) = self.wol.try_recv_from(&mut packet) {
            woken.push(format!("Wake-on-LAN packet of {n} bytes from {from}"));
        }
        let woken = woken.clone();
        obs.chain(helix)
            .chain(programs)
            .chain(posts)
            .chain(woken)
            .collect()
    }

    /// Asserts that `case` on `surface` caused nothing beyond the `before` effects.
    #[track_caller]
    fn assert_nothing_happened(&self, before: &[String], surface: &str, case: &Case) {
        let new = since(before, self.effects());
        assert!(
            new.is_empty(),
            "{surface}: {:?} as {} reached a fake: {new:#?}",
            case.form,
            case.level,
        );
    }

    /// Twitch chat: the case as a chat line; the answer is the refusal, posted as a reply.
    async fn twitch_case(&self, case: &Case, n: usize) {
        let (chatter, badge) = twitch_chatter(case.level);
        let broadcaster = User::new(BROADCASTER_ID, BROADCASTER_LOGIN, BROADCASTER_LOGIN);
        let message_id = format!("authz-{n}");
        let line = format!("{}{}", self.ctx.config.commands.prefix, case.form);
        let mut message =
            ChatMessage::new(&broadcaster, &chatter, line).with_message_id(&message_id);
        if let Some(badge) = badge {
            message = message.with_badge(badge, "1");
        }
        let before = self.effects();
        self.eventsub.send_chat(&message).expect("chat subscribed");
        // The answer is a Helix chat post replying to this message.
        let posted = self
            .twitch
            .wait_for_request(
                |r| {
                    is_chat_post(r)
                        && r.json().is_some_and(|b| {
                            b["reply_parent_message_id"].as_str() == Some(message_id.as_str())
                        })
                },
                WAIT,
            )
            .await
            .unwrap_or_else(|| panic!("Twitch: no answer to {:?} as {}", case.form, case.level));
        let body = posted.json().unwrap();
        // As the chat shows it: defused, since it starts with the prefix, and maybe with the
        // invisible mark the app adds to a repeat of its previous message.
        let prefix = &self.ctx.config.commands.prefix;
        let expected = chat_parts(&case.refusal(&self.ctx), prefix);
        assert_eq!(
            body["message"]
                .as_str()
                .map(|m| clean(m).trim_end().to_string()),
            expected.first().cloned(),
            "Twitch: {:?} as {}",
            case.form,
            case.level
        );
        self.assert_nothing_happened(&before, "Twitch", case);
    }

    /// Discord: a slash command or a button click; the answer is the ephemeral refusal.
    async fn discord_case(&self, case: &Case, how: Discord) {
        let member = discord_member(case.level);
        let before = self.effects();
        // A button's custom id is its command line (src/surfaces/discord/panel.rs): `run:<line>`
        // runs it, `ask:<line>` first asks "are you sure?". The panel's buttons, the
        // confirmations' and any stale or forged one all come down to a line and the clicker.
        let (surface, token) = match how {
            Discord::Slash => {
                let (path, options) = slash_for(case.form);
                let token = self.discord.slash(&member, Some(GUILD_ID), &path, options);
                ("Discord slash", token)
            }
            Discord::Button => {
                let custom_id = format!("run:{}", case.form);
                ("Discord button", self.discord.click(&member, &custom_id))
            }
            Discord::Confirmation => {
                let custom_id = format!("ask:{}", case.form);
                (
                    "Discord ask button",
                    self.discord.click(&member, &custom_id),
                )
            }
        };
        let answer = self.discord.answer(&token, |a| a.text().is_some()).await;
        let what = format!("{surface}: {:?} as {}: {answer:?}", case.form, case.level);
        assert_eq!(
            answer.text().as_deref(),
            Some(case.refusal(&self.ctx).as_str()),
            "{what}"
        );
        assert!(
            answer.ephemeral(),
            "a refusal is for the invoker only: {what}"
        );
        self.assert_nothing_happened(&before, surface, case);
    }
}

/// The effects in `after` that were not in `before` (each fake's log only grows, but the
/// fakes' logs are concatenated, so new lines can be anywhere in the list).
fn since(before: &[String], mut after: Vec<String>) -> Vec<String> {
    for old in before {
        if let Some(i) = after.iter().position(|e| e == old) {
            after.remove(i);
        }
    }
    after
}

/// The ways into a command on Discord.
#[derive(Debug, Clone, Copy)]
enum Discord {
    Slash,
    /// A `run:` button.
    Button,
    /// An `ask:` button, which shows a confirmation with the `run:` button.
    Confirmation,
}

fn is_chat_post(request: &fake_twitch::Recorded) -> bool {
    request.method == "POST" && request.path == "/helix/chat/messages"
}

#[test]
fn the_matrix_covers_every_command_word_and_discord_reaches_every_form() {
    let cases = cases();
    for name in Command::NAMES {
        let form = commands::FORMS
            .iter()
            .find(|f| f.split_whitespace().next() == Some(name));
        assert!(form.is_some(), "no form of {name:?} in commands::FORMS");
    }
    // Every word but those anyone may use has a case.
    for spec in commands::SPECS {
        assert_eq!(
            cases.iter().any(|c| c.command.name() == spec.name),
            spec.min_permission > Permission::Viewer,
            "{}",
            spec.name
        );
    }
    for form in commands::FORMS {
        let (path, _) = slash_for(form);
        assert!(!path.is_empty(), "{form:?}");
    }
}

/// The console has no level below the broadcaster: `Invoker::console()` is the broadcaster,
/// the highest level there is, so no form is refused to it for its level and the console
/// contributes no case. If the console ever gets a lower level, this fails and it needs rows.
#[test]
fn the_console_is_the_broadcaster_so_no_level_is_below_it() {
    let highest = *Permission::ALL.iter().max().unwrap();
    assert_eq!(Invoker::console().permission, highest);
    assert!(
        cases().iter().all(|c| c.level < highest),
        "no case is at the console's level"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_is_refused_below_its_level_on_every_surface_and_nothing_is_called() {
    let rig = rig().await;
    let cases = cases();
    let started = Instant::now();
    for (n, case) in cases.iter().enumerate() {
        rig.twitch_case(case, n).await;
    }
    for how in [Discord::Slash, Discord::Button, Discord::Confirmation] {
        for case in &cases {
            rig.discord_case(case, how).await;
        }
    }
    eprintln!(
        "{} cases × 4 ways in (Twitch chat, Discord slash, run: and ask: buttons) in {:?}",
        cases.len(),
        started.elapsed()
    );
    // The fakes do see what a command does: the same effects, run as the broadcaster on the
    // console, are all recorded (so the zero counts above are not for want of looking).
    for (line, effect) in [
        ("brb", "OBS SetCurrentProgramScene"),
        ("title Hello", "Helix PATCH /helix/channels"),
        ("restream add Main rtmp://a.example/app/key", "sudo -n "),
        ("service restart obs", "sudo -n "),
        ("pc restart", "ssh "),
        ("pc wake", "Wake-on-LAN"),
    ] {
        let before = rig.effects();
        let answer = stream_control::surfaces::console::answer(&rig.ctx, line).await;
        let new = since(&before, rig.effects());
        assert!(
            new.iter().any(|e| e.starts_with(effect)),
            "{line:?} ({answer:?}) is not seen as {effect:?}: {new:#?}"
        );
    }
    // Every Twitch chat post was one of the refusals (nothing else was said in chat).
    let posts = rig
        .twitch
        .requests()
        .into_iter()
        .filter(is_chat_post)
        .count();
    assert_eq!(posts, cases.len());
    assert!(rig.app.shutdown(Duration::from_secs(5)).await);
}
