//! The Discord gateway by Discord's rules: the real poise/serenity bot against the fake
//! Discord, whose gateway enforces them (op 7 Reconnect, op 9 Invalid Session, RESUME checked
//! and replayed, heartbeat ACKs, close codes 4004/4014; see `support/fake_discord.rs`). Real
//! sockets on 127.0.0.1, so real time; every wait is driven by what the fake records.

use stream_control_test_support as support;
use stream_control_test_support::fake_discord;
use stream_control_test_support::fake_obs;

use fake_discord::{FakeDiscord, GUILD_ID, Handshake, Member, close_code};
use fake_obs::{FakeObs, FakeObsOptions};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::status::{ObsConnection, Status};

const MOD_ROLE: u64 = 400_000_000_000_000_001;

fn moderator() -> Member {
    Member {
        user_id: 800_000_000_000_000_001,
        name: "modder".into(),
        roles: vec![MOD_ROLE],
    }
}

struct Bot {
    app: App,
    ctx: Arc<Context>,
    discord: FakeDiscord,
    obs: FakeObs,
    _state: tempfile::TempDir,
}

/// Start the app against `discord` (configured beforehand) and a fake OBS; returns once
/// `ready` holds for the status (copied from tests/it/discord.rs's `start_with`).
async fn start_until(discord: FakeDiscord, ready: impl Fn(&Status) -> bool) -> Bot {
    let state = tempfile::tempdir().unwrap();
    let obs = FakeObs::start(FakeObsOptions {
        password: Some(support::fake_secret_values()["OBS_PASSWORD"].clone()),
        ..FakeObsOptions::default()
    })
    .await;
    let config = format!(
        r#"(state_dir: "{state}",
            obs: (port: {port}, reconnect_min: "100ms", reconnect_max: "500ms",
                  request_timeout: "2s", stop: (ending_delay: "50ms", confirm_timeout: "2s")),
            discord: (guild_id: {GUILD_ID}, roles: {{"{MOD_ROLE}": Moderator}},
                      {proxy}),
            commands: (cooldowns: (command: "0s", user: "0s")), {tls})"#,
        state = state.path().display(),
        port = obs.port(),
        proxy = discord.bot_config(),
        tls = discord.tls_config(),
    );
    let ctx = support::context(&config);
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut status = ctx.status.subscribe();
    tokio::time::timeout(Duration::from_secs(15), status.wait_for(|s| ready(s)))
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or_else(|| {
            panic!(
                "Discord status not reached: {:?}",
                ctx.status.borrow().discord
            )
        });
    Bot {
        app,
        ctx,
        discord,
        obs,
        _state: state,
    }
}

/// Connected, commands registered, OBS connected.
async fn start(discord: FakeDiscord) -> Bot {
    start_until(discord, |s| {
        s.discord.as_ref().is_some_and(|d| d.commands.is_some())
            && s.obs
                .as_ref()
                .is_some_and(|o| o.connection == ObsConnection::Connected)
    })
    .await
}

impl Bot {
    /// `/brb` is answered and switches OBS: the bot serves interactions.
    async fn serves_commands(&self) {
        self.obs.set_scene("LIVE");
        let token = self
            .discord
            .slash(&moderator(), Some(GUILD_ID), &["brb"], json!([]));
        self.discord.answer(&token, |a| a.text().is_some()).await;
        assert_eq!(self.obs.current_scene(), "BRB");
    }

    /// The first handshake after the first `after` ones.
    async fn next_handshake(&self, after: usize) -> Handshake {
        self.discord
            .wait_for("a new gateway handshake", |v| {
                v.handshakes().get(after).cloned()
            })
            .await
    }
}

#[tokio::test]
async fn op_7_reconnect_is_resumed_and_commands_keep_working() {
    let bot = start(FakeDiscord::start().await).await;
    let before = bot.discord.view(|v| v.handshakes().len());
    bot.discord.send_reconnect();
    let handshake = bot.next_handshake(before).await;
    let Handshake::Resume {
        connection,
        session_id,
        seq,
        accepted,
    } = handshake
    else {
        panic!("op 7 must be answered with RESUME, got {handshake:?}");
    };
    assert!(connection > 1, "on a new connection");
    assert_eq!(session_id, "fake-session-1");
    assert!(seq >= 1, "the last seq it received");
    assert!(accepted);
    assert_eq!(
        bot.discord.view(|v| v.identifies()),
        1,
        "not identified again"
    );
    bot.serves_commands().await;
}

#[tokio::test]
async fn op_9_resumable_is_resumed_or_identified_and_commands_keep_working() {
    let bot = start(FakeDiscord::start().await).await;
    let before = bot.discord.view(|v| v.handshakes().len());
    bot.discord.send_invalid_session(true);
    // Discord lets the bot resume (serenity 0.12 does) or identify anew; a RESUME must be the
    // issued session's and be accepted.
    match bot.next_handshake(before).await {
        Handshake::Resume {
            session_id,
            accepted,
            ..
        } => {
            assert_eq!(session_id, "fake-session-1");
            assert!(accepted);
        }
        Handshake::Identify { .. } => {}
    }
    bot.serves_commands().await;
}

#[tokio::test]
async fn op_9_not_resumable_makes_the_bot_identify_anew() {
    let bot = start(FakeDiscord::start().await).await;
    let before = bot.discord.view(|v| v.handshakes().len());
    bot.discord.send_invalid_session(false);
    let handshake = bot.next_handshake(before).await;
    assert!(
        matches!(handshake, Handshake::Identify { connection } if connection > 1),
        "op 9 false must be followed by IDENTIFY on a new connection, got {handshake:?}"
    );
    assert_eq!(
        bot.discord.view(|v| v.session_id().to_string()),
        "fake-session-2"
    );
    bot.serves_commands().await;
    assert!(
        bot.discord.view(|v| v.handshakes()[before..]
            .iter()
            .all(|h| matches!(h, Handshake::Identify { .. }))),
        "never a RESUME of the invalidated session"
    );
}

#[tokio::test]
async fn an_interaction_sent_while_disconnected_is_replayed_on_resume_and_answered() {
    let bot = start(FakeDiscord::start().await).await;
    bot.obs.set_scene("LIVE");
    bot.discord.drop_gateway();
    // Queued behind the drop: the old connection never sends it, so only a RESUME's replay
    // can deliver it.
    let token = bot
        .discord
        .slash(&moderator(), Some(GUILD_ID), &["brb"], json!([]));
    bot.discord.answer(&token, |a| a.text().is_some()).await;
    assert_eq!(bot.obs.current_scene(), "BRB");
    bot.discord.view(|v| {
        assert!(
            v.replayed()
                .iter()
                .any(|f| f["d"]["token"] == token.as_str()),
            "delivered by the replay: {:?}",
            v.replayed()
        );
        assert!(matches!(
            v.handshakes().last(),
            Some(Handshake::Resume { accepted: true, .. })
        ));
        assert_eq!(v.identifies(), 1);
    });
}

#[tokio::test]
async fn a_resume_of_an_expired_session_is_refused_and_the_bot_identifies() {
    let bot = start(FakeDiscord::start().await).await;
    let before = bot.discord.view(|v| v.handshakes().len());
    bot.discord.expire_session();
    bot.discord.drop_gateway();
    let refused = bot.next_handshake(before).await;
    assert!(
        matches!(&refused, Handshake::Resume { accepted: false, session_id, .. }
            if session_id == "fake-session-1"),
        "{refused:?}"
    );
    let next = bot.next_handshake(before + 1).await;
    assert!(
        matches!(next, Handshake::Identify { .. }),
        "op 9 false → IDENTIFY, got {next:?}"
    );
    bot.serves_commands().await;
}

#[tokio::test]
async fn missing_heartbeat_acks_make_the_bot_reconnect() {
    let discord = FakeDiscord::start().await;
    discord.set_heartbeat_interval(Duration::from_millis(300));
    let bot = start(discord).await;
    let (zombie, before, heartbeats) = bot.discord.view(|v| {
        let live = v.live_connection().expect("connected");
        (live, v.handshakes().len(), v.heartbeats())
    });
    bot.discord.withhold_heartbeat_acks(true);
    // The bot heartbeats on the 300 ms interval, gets no ACK, and must leave the connection.
    let ended = bot
        .discord
        .wait_for("the zombied connection to be left", |v| {
            v.client_closes()
                .iter()
                .find(|(c, _)| *c == zombie)
                .map(|(_, code)| *code)
                .map(Some)
                .or_else(|| v.client_drops().contains(&zombie).then_some(None))
        })
        .await;
    // Discord: close with any code but 1000/1001 (or just drop the TCP connection), so the
    // session stays resumable. serenity 0.12.5 drops it (its runner restarts the shard without
    // a close frame) and then IDENTIFYs anew instead of resuming, so either handshake passes
    // below.
    assert!(
        !matches!(ended, Some(Some(1000 | 1001))),
        "closed with {ended:?}"
    );
    assert!(bot.discord.view(|v| v.heartbeats()) > heartbeats);
    bot.discord.withhold_heartbeat_acks(false);
    let handshake = bot.next_handshake(before).await;
    match handshake {
        Handshake::Identify { connection } | Handshake::Resume { connection, .. } => {
            assert!(connection > zombie, "a new connection")
        }
    }
    bot.serves_commands().await;
}

/// After Discord closes with `code` on IDENTIFY: a fatal status naming `fix`, and at most one
/// more attempt within 10 s (no reconnect storm); shutdown still works.
async fn refused_for_good(code: u16, fix: &str) {
    let discord = FakeDiscord::start().await;
    discord.refuse_identify(code);
    let bot = start_until(discord, |s| {
        s.discord.as_ref().is_some_and(|d| d.state == "failed")
    })
    .await;
    let status = bot.ctx.status.borrow().discord.clone().unwrap();
    let reason = status.reason.unwrap_or_default();
    assert!(reason.contains(fix), "{code}: {reason}");
    assert!(reason.contains(&code.to_string()), "{code}: {reason}");
    let attempts = bot.discord.view(|v| v.identifies());
    assert_eq!(attempts, 1);
    let storm = bot
        .discord
        .poll_within(Duration::from_secs(10), |v| {
            (v.identifies() > attempts + 1 || v.connections() > 2)
                .then(|| (v.identifies(), v.connections()))
        })
        .await;
    assert_eq!(storm, None, "(identifies, connections) after close {code}");
    assert_eq!(
        bot.ctx.status.borrow().discord.as_ref().map(|d| d.state),
        Some("failed"),
        "still says why"
    );
    assert!(bot.app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn close_4004_is_fatal_and_names_the_token() {
    refused_for_good(close_code::AUTHENTICATION_FAILED, "DISCORD_TOKEN").await;
}

#[tokio::test]
async fn close_4014_is_fatal_and_names_the_intents_toggle() {
    refused_for_good(close_code::DISALLOWED_INTENTS, "Privileged Gateway Intents").await;
}

/// The gateway over `wss://`: serenity 0.12 opens it with its own TLS stack (tokio-tungstenite
/// 0.21 with the webpki roots compiled in), which no configuration reaches, so it cannot be
/// shown a test CA. What can be checked: a `wss://` gateway URL gets a TLS handshake, and a
/// certificate from an unknown CA is refused (the bot does not connect to an impostor).
#[tokio::test]
async fn the_gateway_speaks_tls_and_refuses_an_untrusted_certificate() {
    let discord = FakeDiscord::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    discord.set_gateway_url(&format!("wss://127.0.0.1:{port}"));
    let acceptor = discord.ca.acceptor();
    let (handshakes, mut handshake) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let result = acceptor.accept(tcp).await.map(drop);
            let _ = handshakes.send(result.map_err(|e| e.to_string()));
        }
    });
    let bot = start_until(discord, |s| {
        s.obs
            .as_ref()
            .is_some_and(|o| o.connection == ObsConnection::Connected)
    })
    .await;
    let first = tokio::time::timeout(Duration::from_secs(15), handshake.recv())
        .await
        .expect("a TLS handshake to the wss:// gateway")
        .unwrap();
    let error = first.expect_err("the test CA's certificate is not trusted");
    assert!(error.contains("UnknownCA"), "{error}");
    assert_ne!(
        bot.ctx.status.borrow().discord.as_ref().unwrap().state,
        "connected"
    );
    assert!(bot.app.shutdown(Duration::from_secs(10)).await);
}
