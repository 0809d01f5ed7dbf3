//! `doctor` with a `kick` section, against the fake Kick: the token (introspected, scopes), the
//! bot token (optional), the channel; only reads (no refresh).

use super::{Rig, TWO_HOURS, secrets};
use stream_control::doctor::{self, Options, Outcome, Report};
use stream_control::kick::auth;
use stream_control_test_support::fake_kick;

async fn run(rig: &Rig, kick_fields: &str) -> Report {
    let path = rig.dir.path().join("config.ron");
    std::fs::write(&path, rig.config_text(kick_fields)).unwrap();
    doctor::run(
        &path,
        secrets(),
        Options {
            env_file: None,
            ..Options::default()
        },
    )
    .await
}

fn outcome(report: &Report, name: &str) -> (Outcome, String, String) {
    let check = report
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in\n{}", report.render()));
    (
        check.outcome,
        check.detail.clone(),
        check.fix.clone().unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_valid_token_and_channel_pass_and_nothing_is_refreshed() {
    let rig = Rig::new().await;
    let (access, refresh) = rig.sign_in_broadcaster(TWO_HOURS);
    let report = run(&rig, "").await;
    assert!(report.passed(), "{}", report.render());
    let (state, detail, _) = outcome(&report, "Kick token");
    assert_eq!(state, Outcome::Ok);
    assert!(
        detail.contains("valid for streamer, every scope granted, expires in "),
        "{detail}"
    );
    let (state, detail, _) = outcome(&report, "Kick channel");
    assert_eq!(state, Outcome::Ok);
    assert!(
        detail.contains("kick.com/streamer (broadcaster user id 4242)"),
        "{detail}"
    );
    assert_eq!(outcome(&report, "Kick bot token").0, Outcome::Skipped);
    assert!(
        rig.kick.requests_to("/oauth/token").is_empty(),
        "doctor refreshes nothing"
    );
    let text = report.render();
    assert!(!text.contains(&access) && !text.contains(&refresh));
    assert!(!text.contains(fake_kick::CLIENT_SECRET));
}

#[tokio::test]
async fn a_missing_scope_is_named_and_the_fix_is_a_new_login() {
    let rig = Rig::new().await;
    rig.kick.sign_in(
        &rig.dir.path().join("state"),
        auth::TOKEN_FILE,
        fake_kick::BROADCASTER_ID,
        &["user:read", "channel:read", "chat:write"],
        TWO_HOURS,
    );
    let report = run(&rig, "").await;
    let (state, detail, fix) = outcome(&report, "Kick token");
    assert_eq!(state, Outcome::Fail, "{}", report.render());
    assert!(
        detail.contains("lacks the scopes events:subscribe"),
        "{detail}"
    );
    assert!(fix.contains("stream-control kick login"), "{fix}");
    assert!(!report.passed());
}

#[tokio::test]
async fn not_logged_in_an_expired_token_and_another_channel_are_told_apart() {
    let rig = Rig::new().await;
    let report = run(&rig, "").await;
    let (state, detail, fix) = outcome(&report, "Kick token");
    assert_eq!(state, Outcome::Fail);
    assert!(detail.contains("not logged in"), "{detail}");
    assert!(fix.contains("`stream-control kick login`"), "{fix}");
    assert_eq!(outcome(&report, "Kick channel").0, Outcome::Skipped);
    // Expired: the bot refreshes it; doctor says so and does not.
    let (access, _) = rig.sign_in_broadcaster(TWO_HOURS);
    rig.kick.expire(&access);
    let report = run(&rig, "").await;
    let (state, detail, _) = outcome(&report, "Kick token");
    assert_eq!(state, Outcome::Ok);
    assert!(detail.contains("has expired"), "{detail}");
    assert!(rig.kick.requests_to("/oauth/token").is_empty());
    // The broadcaster's token, but `kick.channel` names someone else's channel.
    rig.sign_in_broadcaster(TWO_HOURS);
    let path = rig.dir.path().join("config.ron");
    let text = rig.config_text("").replace(
        &format!("channel: \"{}\"", fake_kick::BROADCASTER_NAME),
        &format!("channel: \"{}\"", fake_kick::BOT_NAME),
    );
    std::fs::write(&path, text).unwrap();
    let report = doctor::run(
        &path,
        secrets(),
        Options {
            env_file: None,
            ..Options::default()
        },
    )
    .await;
    let (state, detail, fix) = outcome(&report, "Kick channel");
    assert_eq!(state, Outcome::Fail, "{}", report.render());
    assert!(detail.contains("belongs to user 5151"), "{detail}");
    assert!(fix.contains("kick.channel"), "{fix}");
}

#[tokio::test]
async fn the_environment_check_names_the_kick_credentials() {
    let rig = Rig::new().await;
    let path = rig.dir.path().join("config.ron");
    std::fs::write(&path, rig.config_text("")).unwrap();
    let report = doctor::run(
        &path,
        stream_control::secrets::Secrets::default(),
        Options {
            env_file: None,
            ..Options::default()
        },
    )
    .await;
    let (state, detail, _) = outcome(&report, "environment");
    assert_eq!(state, Outcome::Fail);
    assert!(detail.contains("not set: KICK_CLIENT_ID"), "{detail}");
    assert!(detail.contains("not set: KICK_CLIENT_SECRET"), "{detail}");
}

/// Issue #20: the chat reader is checked too — Kick's chat socket subscribes to the configured
/// chatroom (the bot's own reader against the fake socket), a chatroom the socket refuses fails
/// with what to fix, and no reader is said to be none.
#[tokio::test]
async fn the_chat_socket_is_checked_by_subscribing_to_the_chatroom() {
    use stream_control_test_support::fake_kick::pusher::{FakePusher, FakePusherOptions};
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(TWO_HOURS);
    let pusher = FakePusher::start(FakePusherOptions::new(&["chatrooms.77.v2"])).await;
    let reader = |chatroom: u64| {
        format!(
            r#"reader: Some(Pusher(chatroom_id: {chatroom}, url: "{}"))"#,
            pusher.url()
        )
    };
    let report = run(&rig, &reader(77)).await;
    let (state, detail, _) = outcome(&report, "Kick chat");
    assert_eq!(state, Outcome::Ok, "{detail}");
    assert!(detail.contains("subscribed to chatroom 77"), "{detail}");

    let report = run(&rig, &reader(78)).await;
    let (state, detail, fix) = outcome(&report, "Kick chat");
    assert_eq!(state, Outcome::Fail, "{detail}");
    assert!(fix.contains("chatroom_id"), "{fix}");

    let report = run(&rig, "").await;
    assert_eq!(outcome(&report, "Kick chat").0, Outcome::Skipped);
}
