//! Discord and Twitch together: real Twitch chat (fake EventSub → the bot) mirrored into the
//! Discord channel, and `/twitch category` completed from Helix's category search. The real
//! bot against the fake Discord, the fake Twitch (OAuth + Helix) and the fake EventSub.

#[path = "support/fake_discord.rs"]
mod fake_discord;
#[path = "support/fake_eventsub.rs"]
mod fake_eventsub;
#[path = "support/fake_twitch.rs"]
mod fake_twitch;

use fake_discord::{FakeDiscord, GUILD_ID, Member};
use fake_eventsub::{ChatMessage, FakeEventSub, User};
use fake_twitch::{BROADCASTER_ID, BROADCASTER_LOGIN, FakeTwitch};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::config::Config;
use stream_control::secrets::{Redactor, Secrets};
use stream_control::twitch::auth::{self, TOKEN_FILE};

const MIRROR_CHANNEL: u64 = 300_000_000_000_000_012;

#[tokio::test]
async fn twitch_chat_is_mirrored_and_categories_complete_from_helix() {
    let eventsub = FakeEventSub::start().await;
    let twitch = FakeTwitch::start(Some(eventsub.clone())).await;
    twitch.add_user("2002", "viewer_one", "Viewer_One");
    let discord = FakeDiscord::start().await;
    let state = tempfile::tempdir().unwrap();
    twitch.sign_in(
        state.path(),
        TOKEN_FILE,
        BROADCASTER_ID,
        auth::SCOPES,
        Duration::from_secs(4 * 3600),
    );
    let config = format!(
        r#"(state_dir: "{state}",
            twitch: (helix_url: "{helix}", oauth_url: "{oauth}", eventsub_url: "{es}"),
            discord: (guild_id: {GUILD_ID}, users: {{"800000000000000001": Moderator}},
                      chat_mirror_channel: Some({MIRROR_CHANNEL}), api_url: Some("{api}")))"#,
        state = state.path().display(),
        helix = twitch.helix_url(),
        oauth = twitch.oauth_url(),
        es = eventsub.url(),
        api = discord.api_url,
    );
    let config = Config::parse(&config).unwrap_or_else(|p| panic!("{p:#?}"));
    let values = BTreeMap::from([
        ("TWITCH_CLIENT_ID", fake_twitch::CLIENT_ID.to_string()),
        (
            "TWITCH_CLIENT_SECRET",
            fake_twitch::CLIENT_SECRET.to_string(),
        ),
        (
            "DISCORD_TOKEN",
            "fake-discord-token-for-this-test".to_string(),
        ),
    ]);
    let secrets = Secrets::from_lookup(|name| values.get(name).cloned());
    let redactor = Redactor::new(&secrets);
    let ctx = Context::new(config, secrets, redactor).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut status = ctx.status.subscribe();
    tokio::time::timeout(
        Duration::from_secs(15),
        status.wait_for(|s| {
            let chat = s.twitch.as_ref().is_some_and(|t| {
                t.eventsub.state == "connected"
                    && t.eventsub
                        .subscriptions
                        .get("channel.chat.message")
                        .is_some_and(|v| v == "enabled")
            });
            chat && s.discord.as_ref().is_some_and(|d| d.commands.is_some())
        }),
    )
    .await
    .expect("Twitch and Discord ready")
    .unwrap();

    // Chat → mirror.
    let broadcaster = User::new(BROADCASTER_ID, BROADCASTER_LOGIN, BROADCASTER_LOGIN);
    let chatter = User::new("2002", "viewer_one", "Viewer_One");
    for text in ["first <@123> hi", "second *line*"] {
        eventsub
            .send_chat(&ChatMessage::new(&broadcaster, &chatter, text))
            .expect("someone subscribed to chat");
    }
    let mirrored = discord
        .wait_for("both chat lines mirrored", |v| {
            let all: String = v
                .messages_in(MIRROR_CHANNEL)
                .iter()
                .map(|m| m.content.clone())
                .collect();
            (all.contains("first") && all.contains("second")).then_some(all)
        })
        .await;
    // Markdown is escaped, so a pasted mention shows as text (and `allowed_mentions` is empty).
    assert!(
        mirrored.contains("**Viewer\\_One**: first <@123\\> hi"),
        "{mirrored}"
    );
    assert!(mirrored.contains("second \\*line\\*"), "{mirrored}");
    let mentions = discord.view(|v| {
        v.messages_in(MIRROR_CHANNEL)
            .iter()
            .map(|m| m.allowed_mentions.clone())
            .collect::<Vec<_>>()
    });
    assert!(mentions.iter().all(|m| m["parse"] == json!([])));

    // `/twitch category` completes from Helix's search.
    let member = Member {
        user_id: 800_000_000_000_000_001,
        name: "modder".into(),
        roles: vec![],
    };
    let token = discord.autocomplete_sub(&member, &["twitch", "category"], "query", "Mine");
    let answer = discord.answer(&token, |a| !a.callbacks.is_empty()).await;
    assert_eq!(answer.callbacks[0]["type"], 8);
    let names: Vec<&str> = answer.callbacks[0]["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Minecraft"]);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}
