//! Markers, clips and ads end to end: chat commands through the real twitch_api client into the
//! fake Helix (`fake_twitch/moments.rs` holds Twitch's rules), the ad break back over the fake
//! EventSub into Status, the ad scene in the OBS simulator, and markers at guard transitions.

use super::*;
use stream_control::status::{GuardTransition, Status};

/// A moderator's chat line.
fn mod_says(rig: &Rig, text: &str) {
    let moderator = user("3003", "amod");
    rig.chat(&moderator, text, Some("moderator"));
}

async fn wait_status(rig: &Rig, what: &str, ok: impl FnMut(&Status) -> bool) {
    let mut status = rig.ctx.status.subscribe();
    let waited = timeout(WAIT, status.wait_for(ok)).await;
    assert!(
        waited.is_ok(),
        "{what}: {:?}",
        rig.ctx.status.borrow().twitch
    );
}

#[tokio::test]
async fn a_marker_marks_the_live_stream_with_its_text_and_is_refused_while_offline() {
    let rig = rig().await;
    mod_says(&rig, "!marker Bridge collapsed");
    assert_eq!(
        rig.reply(0).await.message,
        "The channel is not live on Twitch right now."
    );
    assert!(rig.twitch.markers().is_empty());
    rig.twitch.set_live(BROADCASTER_ID, true, 10);
    mod_says(&rig, "!marker Bridge collapsed");
    assert_eq!(
        rig.reply(1).await.message,
        "Marker “Bridge collapsed” set at 0s of the stream."
    );
    mod_says(&rig, "!marker");
    assert_eq!(
        rig.reply(2).await.message,
        "Marker set at 0s of the stream."
    );
    let markers = rig.twitch.markers();
    assert_eq!(
        markers
            .iter()
            .map(|m| (m.user_id.as_str(), m.description.as_str()))
            .collect::<Vec<_>>(),
        [(BROADCASTER_ID, "Bridge collapsed"), (BROADCASTER_ID, "")]
    );
    // Too long for Twitch: the parser answers with the usage, nothing reaches Helix.
    mod_says(&rig, &format!("!marker {}", "x".repeat(141)));
    let refused = rig.reply(3).await.message;
    assert!(refused.contains("140"), "{refused}");
    assert_eq!(rig.twitch.markers().len(), 2);
    rig.stop().await;
}

#[tokio::test]
async fn a_clip_is_answered_with_its_link_once_twitch_has_made_it() {
    let rig = rig().await;
    rig.twitch.set_live(BROADCASTER_ID, true, 10);
    mod_says(&rig, "!clip");
    let answer = rig.reply(0).await.message;
    let clips = rig.twitch.clips();
    assert_eq!(clips.len(), 1, "{clips:?}");
    assert_eq!(
        answer,
        format!("Clip: https://clips.twitch.tv/{}", clips[0].0)
    );
    // Asked again and again until made: Get Clips saw the id, not a broadcaster listing.
    let polls: Vec<_> = rig
        .twitch
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/helix/clips")
        .collect();
    assert!(!polls.is_empty());
    assert!(
        polls
            .iter()
            .all(|r| r.query_pairs() == [("id".to_string(), clips[0].0.clone())])
    );
    // A viewer may not clip.
    rig.chat(&user("4004", "aviewer"), "!clip", None);
    let refused = rig.reply(1).await.message;
    assert!(refused.contains("moderator"), "{refused}");
    assert_eq!(rig.twitch.clips().len(), 1);
    rig.stop().await;
}

#[tokio::test]
async fn a_clip_twitch_has_not_made_after_fifteen_seconds_is_answered_with_its_future_link() {
    let rig = rig().await;
    rig.twitch.set_live(BROADCASTER_ID, true, 10);
    rig.twitch.set_clip_delay(None);
    mod_says(&rig, "!clip");
    let answer = rig
        .twitch
        .wait_for_chat(0, Duration::from_secs(30))
        .await
        .expect("an answer after the clip wait")
        .message;
    let clips = rig.twitch.clips();
    assert_eq!(
        answer,
        format!(
            "Twitch has not finished the clip after 15 seconds; if it does, it will be at https://clips.twitch.tv/{}",
            clips[0].0
        )
    );
    rig.stop().await;
}

#[tokio::test]
async fn a_token_without_the_clip_scope_names_it_and_the_ad_subscription_without_its_scope_fails() {
    let scopes: Vec<&str> = auth::SCOPES
        .iter()
        .copied()
        .filter(|s| *s != "clips:edit" && *s != "channel:read:ads")
        .collect();
    let rig = rig_with_scopes(
        Duration::from_secs(4 * 3600),
        Some(&scopes),
        "",
        FakeObsOptions::default(),
        |_, _, _| {},
    )
    .await;
    wait_status(&rig, "the ad-break subscription fails", |s| {
        s.twitch.as_ref().is_some_and(|t| {
            t.eventsub
                .subscriptions
                .get("channel.ad_break.begin")
                .is_some_and(|v| v == "failed: the Twitch token lacks a scope: channel:read:ads")
                && t.missing_scopes == ["clips:edit", "channel:read:ads"]
        })
    })
    .await;
    rig.twitch.set_live(BROADCASTER_ID, true, 10);
    mod_says(&rig, "!clip");
    assert_eq!(
        rig.reply(0).await.message,
        "The Twitch token lacks the permission clips:edit: log in again with “stream-control twitch login”."
    );
    rig.stop().await;
}

/// A rig whose OBS streams on LIVE and has an ad scene, configured as `obs.scenes.ad_break`.
async fn ad_scene_rig() -> Rig {
    let rig = rig_with(
        Duration::from_secs(4 * 3600),
        r#"scenes: (ad_break: Some("ADS"))"#,
        FakeObsOptions {
            scenes: ["LIVE", "LOW", "BRB", "OFFLINE", "Starting soon", "ADS"]
                .map(str::to_owned)
                .to_vec(),
            streaming: true,
            ..FakeObsOptions::default()
        },
        |_, _, _| {},
    )
    .await;
    wait_status(&rig, "OBS connected and streaming on LIVE", |s| {
        s.obs
            .as_ref()
            .is_some_and(|o| o.streaming && o.scene.as_deref() == Some("LIVE"))
    })
    .await;
    rig
}

#[tokio::test]
async fn an_ad_starts_shows_as_a_break_covers_the_stream_and_twitch_keeps_the_pause() {
    let rig = ad_scene_rig().await;
    mod_says(&rig, "!ad");
    assert_eq!(
        rig.reply(0).await.message,
        "The channel is not live on Twitch right now."
    );
    rig.twitch.set_live(BROADCASTER_ID, true, 10);
    mod_says(&rig, "!ad 90");
    assert_eq!(
        rig.reply(1).await.message,
        "Ad break of 90 s started. The next one is possible in 8m 0s."
    );
    assert_eq!(
        rig.twitch.commercials(),
        [fake_twitch::MadeCommercial {
            broadcaster_id: BROADCASTER_ID.into(),
            length: 90
        }]
    );
    // Twitch's channel.ad_break.begin reaches Status, and the ad scene covers the break.
    wait_status(&rig, "the break in Status and the ad scene", |s| {
        s.twitch
            .as_ref()
            .and_then(|t| t.ad_break.as_ref())
            .is_some_and(|b| b.duration_secs == 90 && !b.automatic)
            && s.obs.as_ref().and_then(|o| o.scene.as_deref()) == Some("ADS")
    })
    .await;
    // Twitch keeps a pause between commercials; the answer says how long is left.
    mod_says(&rig, "!ad 30");
    let refused = rig.reply(2).await.message;
    assert!(
        refused.starts_with("Twitch does not allow another ad break yet: try again in 7m 5")
            || refused == "Twitch does not allow another ad break yet: try again in 8m 0s.",
        "{refused}"
    );
    assert_eq!(rig.twitch.commercials().len(), 1);
    rig.stop().await;
}

#[tokio::test]
async fn an_automatic_break_covers_the_stream_for_its_length_then_the_scene_comes_back() {
    let rig = ad_scene_rig().await;
    let mut events = rig.ctx.events.subscribe_notable();
    // Another channel's break is not ours.
    rig.eventsub
        .send_ad_break_begin(&user("2002", "someone"), None, 1);
    rig.eventsub
        .send_ad_break_begin(&rig.broadcaster, None, 1)
        .expect("subscribed to ad breaks");
    let mut seen = Vec::new();
    let ended = timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(event @ (Event::AdBreakBegan { .. } | Event::AdBreakEnded)) => {
                    let done = event == Event::AdBreakEnded;
                    seen.push(event);
                    if done {
                        return;
                    }
                }
                Ok(Event::SceneSwitched { to, .. }) => {
                    seen.push(Event::ObsSceneChanged { scene: to })
                }
                Ok(_) => {}
                Err(error) => panic!("{error}"),
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "{seen:?}");
    assert_eq!(
        seen[..2],
        [
            Event::AdBreakBegan {
                duration_secs: 1,
                automatic: true
            },
            Event::ObsSceneChanged {
                scene: "ADS".into()
            },
        ]
    );
    wait_status(&rig, "back on LIVE, the break gone", |s| {
        s.obs.as_ref().and_then(|o| o.scene.as_deref()) == Some("LIVE")
            && s.twitch.as_ref().is_some_and(|t| t.ad_break.is_none())
    })
    .await;
    rig.stop().await;
}

#[tokio::test]
async fn a_break_that_begins_during_another_extends_the_cover_and_restores_once_at_its_end() {
    let rig = ad_scene_rig().await;
    let mut events = rig.ctx.events.subscribe_notable();
    rig.eventsub
        .send_ad_break_begin(&rig.broadcaster, None, 2)
        .expect("subscribed to ad breaks");
    wait_status(&rig, "the ad scene", |s| {
        s.obs.as_ref().and_then(|o| o.scene.as_deref()) == Some("ADS")
    })
    .await;
    // A second, longer break while the first is covered: the first one's end (2 s) must not
    // bring LIVE back, only the second one's (4 s).
    let second = tokio::time::Instant::now();
    rig.eventsub.send_ad_break_begin(&rig.broadcaster, None, 4);
    let restored_after = timeout(WAIT, async {
        loop {
            if let Ok(Event::SceneSwitched { to, by, .. }) = events.recv().await
                && to == "LIVE"
            {
                assert_eq!(by, stream_control::status::SwitchedBy::AdBreak);
                return second.elapsed();
            }
        }
    })
    .await
    .expect("LIVE comes back");
    assert!(
        restored_after >= Duration::from_millis(3500),
        "restored {restored_after:?} after the second break began (it lasts 4 s)"
    );
    rig.stop().await;
}

#[tokio::test]
async fn snooze_pushes_the_next_ad_back_until_none_is_left() {
    let rig = rig().await;
    rig.twitch.set_live(BROADCASTER_ID, true, 10);
    mod_says(&rig, "!snooze");
    let first = rig.reply(0).await.message;
    assert!(
        first.starts_with("Next ad pushed back: it now comes in 34m 5")
            || first == "Next ad pushed back: it now comes in 35m 0s; 2 snoozes left.",
        "{first}"
    );
    assert!(first.ends_with("; 2 snoozes left."), "{first}");
    rig.twitch.set_snoozes(BROADCASTER_ID, 0);
    mod_says(&rig, "!snooze");
    assert_eq!(rig.reply(1).await.message, "No snooze left.");
    rig.stop().await;
}

#[tokio::test]
async fn ads_are_refused_clearly_for_a_channel_that_is_not_an_affiliate() {
    let rig = rig().await;
    rig.twitch.set_live(BROADCASTER_ID, true, 10);
    rig.twitch.set_not_affiliate(BROADCASTER_ID);
    mod_says(&rig, "!ad 60");
    assert_eq!(
        rig.reply(0).await.message,
        "Twitch refused: The broadcaster must be a partner or affiliate to run commercials."
    );
    mod_says(&rig, "!ad 20");
    let usage = rig.reply(1).await.message;
    assert!(usage.contains("30") && usage.contains("180"), "{usage}");
    assert!(rig.twitch.commercials().is_empty());
    rig.stop().await;
}

fn transition(
    to: &'static str,
    cause: &'static str,
    kbps: Option<u32>,
    dry_run: bool,
) -> GuardTransition {
    GuardTransition {
        from: "live",
        to,
        cause,
        error: None,
        bitrate_kbps: kbps,
        rtt_ms: Some(910),
        server: Some("main".into()),
        dry_run,
    }
}

#[tokio::test]
async fn guard_transitions_leave_described_markers_but_dry_runs_do_not() {
    let rig = rig().await;
    rig.twitch.set_live(BROADCASTER_ID, true, 10);
    let events = &rig.ctx.events;
    let _ = events.send(Event::BitrateLow(transition(
        "low",
        "low_bitrate",
        Some(420),
        false,
    )));
    let _ = events.send(Event::BitrateLow(transition(
        "low",
        "low_bitrate",
        Some(400),
        true,
    )));
    let _ = events.send(Event::IngestOffline(transition(
        "offline",
        "no_publisher",
        None,
        false,
    )));
    let _ = events.send(Event::BitrateLow(transition(
        "low",
        "high_rtt",
        Some(2500),
        false,
    )));
    let _ = events.send(Event::BitrateRestored(transition(
        "live",
        "recovered",
        Some(2400),
        false,
    )));
    let made = rig.twitch.wait_for_markers(4, WAIT).await;
    assert_eq!(
        made.iter()
            .map(|m| m.description.as_str())
            .collect::<Vec<_>>(),
        [
            "LOW 420 kbps",
            "OFFLINE: no publisher",
            "LOW RTT 910 ms",
            "back LIVE"
        ]
    );
    rig.stop().await;
}
