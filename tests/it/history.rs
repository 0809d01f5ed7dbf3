//! The history task: one sample a second from the guard's active server in Status, scene
//! switches from the event bus (the bot's and OBS's report of the same switch once, with who),
//! including events sent before the task first ran.

use stream_control_test_support as support;

use std::time::Duration;
use stream_control::history::{SwitchMark, WINDOW};
use stream_control::status::{Event, SwitchedBy};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn the_task_samples_status_and_records_switches_from_the_start() {
    let ctx = support::context("()");
    ctx.status
        .publisher(|s| s)
        .modify(|s| s.guard = Some(support::live_guard("srt", 4100, 33, 900, 1500)));
    // Sent before the task runs: still recorded.
    ctx.events
        .send(Event::ObsSceneChanged {
            scene: "LOW".into(),
        })
        .unwrap();
    ctx.events
        .send(Event::SceneSwitched {
            by: SwitchedBy::Guard,
            from: Some("LIVE".into()),
            to: "LOW".into(),
        })
        .unwrap();
    ctx.events
        .send(Event::ObsSceneChanged {
            scene: "Bathroom".into(),
        })
        .unwrap();
    let token = CancellationToken::new();
    let task = tokio::spawn(stream_control::history::run(
        ctx.history.clone(),
        ctx.history_events.take(&ctx.events),
        ctx.status.subscribe(),
        token.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let snapshot = loop {
        let snapshot = ctx.history.snapshot(WINDOW);
        if !snapshot.samples.is_empty() && snapshot.switches.len() == 2 {
            break snapshot;
        }
        assert!(tokio::time::Instant::now() < deadline, "{snapshot:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(snapshot.samples[0].bitrate_kbps, Some(4100));
    assert_eq!(snapshot.samples[0].rtt_ms, Some(33));
    assert_eq!(
        (snapshot.low_kbps, snapshot.recover_kbps),
        (Some(900), Some(1500))
    );
    let who: Vec<(&str, Option<SwitchedBy>)> = snapshot
        .switches
        .iter()
        .map(|SwitchMark { scene, by, .. }| (scene.as_str(), *by))
        .collect();
    assert_eq!(
        who,
        vec![("LOW", Some(SwitchedBy::Guard)), ("Bathroom", None)]
    );
    token.cancel();
    task.await.unwrap().unwrap();
}
