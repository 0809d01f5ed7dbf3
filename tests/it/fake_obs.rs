//! Tests of the OBS simulator (`src/demo/obs_sim.rs`, the demo's OBS and the tests' fake OBS
//! through `tests/support/src/fake_obs.rs`), driven by the real obws 0.15 client (and, for protocol
//! corners obws never exercises, by a raw tokio-tungstenite client).
//!
//! Real time, but nothing sleeps to wait: events and requests are awaited with timeouts. The
//! only sleep lets a stream run for a moment so its byte counter can grow.
//!
//! Scripted faults and paths the product tests already drive are not tested again here: an
//! output that fails after its start and a stop OBS ignores
//! (`obs::a_start_whose_output_fails_is_reported_not_trusted`,
//! `obs::a_stop_obs_does_not_carry_out_is_reported`), restarting a media input, a frozen one and
//! an unknown one refused (`obs::fix_restarts_media_sources_and_confirms_they_play`), and a
//! multi-thread runtime (`authz`, `doctor`, `guard_nginx` run the fake on one).

use stream_control_test_support::fake_obs;

use std::error::Error as _;
use std::time::Duration;

use fake_obs::{FakeObs, FakeObsOptions, close_code, status};
use futures_util::{SinkExt as _, StreamExt as _};
use obws::error::Error as ObsError;
use obws::events::{Event, EventStream, OutputState};
use obws::requests::EventSubscription;
use obws::requests::inputs::{InputId, SetSettings};
use obws::responses::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const WAIT: Duration = Duration::from_secs(5);

async fn connect_with(
    port: u16,
    password: Option<&str>,
    event_subscriptions: EventSubscription,
) -> Result<obws::Client, ObsError> {
    obws::Client::connect_with_config(obws::client::ConnectConfig {
        host: "127.0.0.1",
        port,
        password,
        event_subscriptions: Some(event_subscriptions),
        broadcast_capacity: 1024,
        connect_timeout: Duration::from_secs(5),
        dangerous: None,
    })
    .await
}

async fn connect(fake: &FakeObs) -> obws::Client {
    connect_with(fake.port(), None, EventSubscription::ALL)
        .await
        .expect("obws connects to the fake")
}

async fn next_event(events: &mut EventStream) -> Event {
    timeout(WAIT, events.next())
        .await
        .expect("no event within 5 s")
        .expect("event stream ended")
}

fn assert_stream_state(event: Event, want_active: bool, want_state: OutputState) {
    match event {
        Event::StreamStateChanged { active, state } => {
            assert_eq!((active, state), (want_active, want_state));
        }
        other => panic!("expected StreamStateChanged {want_state:?}, got {other:?}"),
    }
}

fn assert_scene_changed(event: Event, want: &str) {
    match event {
        Event::CurrentProgramSceneChanged { id } => assert_eq!(id.name, want),
        other => panic!("expected CurrentProgramSceneChanged {want}, got {other:?}"),
    }
}

fn assert_api_error(error: ObsError, want: StatusCode) -> Option<String> {
    match error {
        ObsError::Api { code, message } => {
            assert_eq!(code, want);
            message
        }
        other => panic!("expected Api {want:?}, got {other:?}"),
    }
}

/// The exact error obws 0.15 gives when obs-websocket closes the socket with 4009.
fn assert_auth_failed(error: &ObsError) {
    use obws::client::HandshakeError;
    match error {
        ObsError::Handshake(HandshakeError::ConnectionClosed(Some(details))) => {
            assert_eq!(u16::from(details.code), close_code::AUTHENTICATION_FAILED);
            assert_eq!(details.reason, "Authentication failed.");
        }
        other => panic!("expected Handshake(ConnectionClosed(4009)), got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "failed to execute the handshake with obs-websocket"
    );
    assert_eq!(
        error.source().map(ToString::to_string).as_deref(),
        Some("connection to obs-websocket was closed: Authentication failed.")
    );
}

#[tokio::test]
async fn connects_without_password_and_answers_general_requests() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;
    let client = connect(&fake).await;
    assert!(fake.wait_for_connections(1, WAIT).await);
    assert_eq!(fake.connections(), 1);

    let version = client.general().version().await.unwrap();
    assert_eq!(version.obs_studio_version.to_string(), "31.0.2");
    assert_eq!(version.obs_web_socket_version.to_string(), "5.5.4");
    assert_eq!(version.rpc_version, 1);
    assert!(
        version
            .available_requests
            .iter()
            .any(|r| r == "SetCurrentProgramScene")
    );

    // obws sends GetVersion itself while connecting.
    let types: Vec<String> = fake
        .requests()
        .into_iter()
        .map(|r| r.request_type)
        .collect();
    assert_eq!(types, ["GetVersion", "GetVersion"]);

    let stats = client.general().stats().await.unwrap();
    assert!(stats.active_fps > 0.0);
    assert!(stats.web_socket_session_incoming_messages >= 3);
    assert!(stats.web_socket_session_outgoing_messages >= 4);
}

#[tokio::test]
async fn password_authentication_and_refusal() {
    let fake = FakeObs::start(FakeObsOptions {
        password: Some("hunter2".to_owned()),
        ..FakeObsOptions::default()
    })
    .await;
    let port = fake.port();

    let client = connect_with(port, Some("hunter2"), EventSubscription::ALL)
        .await
        .expect("correct password");
    client.general().version().await.unwrap();

    let wrong = connect_with(port, Some("hunter3"), EventSubscription::ALL)
        .await
        .err()
        .expect("a wrong password must fail");
    assert_auth_failed(&wrong);

    // obws sends no authentication at all when it has no password: same close code.
    let missing = connect_with(port, None, EventSubscription::ALL)
        .await
        .err()
        .expect("a missing password must fail");
    assert_auth_failed(&missing);

    fake.refuse_auth(true);
    let refused = connect_with(port, Some("hunter2"), EventSubscription::ALL)
        .await
        .err()
        .expect("refuse_auth must fail even the right password");
    assert_auth_failed(&refused);

    fake.refuse_auth(false);
    connect_with(port, Some("hunter2"), EventSubscription::ALL)
        .await
        .expect("accepted again");
    // The first client is still connected throughout.
    client.general().version().await.unwrap();
}

#[tokio::test]
async fn obws_refuses_old_obs_and_old_websocket() {
    let old = FakeObs::start(FakeObsOptions {
        obs_version: "29.1.0".to_owned(),
        websocket_version: "5.2.0".to_owned(),
        ..FakeObsOptions::default()
    })
    .await;
    let error = connect_with(old.port(), None, EventSubscription::ALL)
        .await
        .err()
        .expect("obws must refuse OBS 29.1");
    match &error {
        ObsError::ObsStudioVersion(version, required) => {
            assert_eq!(version.to_string(), "29.1.0");
            assert_eq!(required.to_string(), ">=30.2");
        }
        other => panic!("expected ObsStudioVersion, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "obs studio version 29.1.0 doesn't match required >=30.2"
    );
    // obws drops the socket once the check fails.
    assert!(old.wait_for_connections(0, WAIT).await);

    let old_websocket = FakeObs::start(FakeObsOptions {
        websocket_version: "5.2.0".to_owned(),
        ..FakeObsOptions::default()
    })
    .await;
    let error = connect_with(old_websocket.port(), None, EventSubscription::ALL)
        .await
        .err()
        .expect("obws must refuse obs-websocket 5.2");
    assert!(
        matches!(&error, ObsError::ObsWebsocketVersion(v, _) if v.to_string() == "5.2.0"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "obs-websocket version 5.2.0 doesn't match required ^5.5"
    );
}

#[tokio::test]
async fn scenes_list_switch_and_events() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;
    let client = connect(&fake).await;
    let mut events = client.events().unwrap();

    let list = client.scenes().list().await.unwrap();
    let names: Vec<&str> = list.scenes.iter().map(|s| s.id.name.as_str()).collect();
    // Like OBS: sorted by sceneIndex, index 0 = bottom of the Scenes dock.
    assert_eq!(names, ["Starting soon", "OFFLINE", "BRB", "LOW", "LIVE"]);
    let indices: Vec<usize> = list.scenes.iter().map(|s| s.index).collect();
    assert_eq!(indices, [0, 1, 2, 3, 4]);
    let live = list.scenes.iter().find(|s| s.id.name == "LIVE").unwrap();
    assert_eq!(Some(live.id.uuid.to_string()), fake.scene_uuid("LIVE"));
    assert_eq!(list.current_program_scene.unwrap().name, "LIVE");
    assert!(list.current_preview_scene.is_none());

    let current = client.scenes().current_program_scene().await.unwrap();
    assert_eq!(current.id.name, "LIVE");
    assert_eq!(current.id.uuid, live.id.uuid);

    client
        .scenes()
        .set_current_program_scene("BRB")
        .await
        .unwrap();
    assert_eq!(fake.current_scene(), "BRB");
    assert_scene_changed(next_event(&mut events).await, "BRB");
    let recorded = fake.requests().pop().unwrap();
    assert_eq!(recorded.request_type, "SetCurrentProgramScene");
    assert_eq!(recorded.data, json!({ "sceneName": "BRB" }));

    // By UUID works too.
    client
        .scenes()
        .set_current_program_scene(live.id.uuid)
        .await
        .unwrap();
    assert_scene_changed(next_event(&mut events).await, "LIVE");

    let error = client
        .scenes()
        .set_current_program_scene("Nope")
        .await
        .unwrap_err();
    let message = assert_api_error(error, StatusCode::ResourceNotFound);
    assert!(message.unwrap().contains("Nope"));
    assert_eq!(fake.current_scene(), "LIVE");

    // The streamer clicks a scene in OBS.
    fake.set_scene("LOW");
    assert_scene_changed(next_event(&mut events).await, "LOW");
    assert_eq!(
        client
            .scenes()
            .current_program_scene()
            .await
            .unwrap()
            .id
            .name,
        "LOW"
    );

    fake.add_scene("Just chatting");
    match next_event(&mut events).await {
        Event::SceneCreated { id, is_group } => {
            assert_eq!(id.name, "Just chatting");
            assert!(!is_group);
        }
        other => panic!("expected SceneCreated, got {other:?}"),
    }
    match next_event(&mut events).await {
        Event::SceneListChanged { scenes } => {
            assert_eq!(scenes.len(), 6);
            assert_eq!(scenes[0].name, "Just chatting");
            assert_eq!(scenes[0].index, 0);
        }
        other => panic!("expected SceneListChanged, got {other:?}"),
    }

    // Removing the program scene makes OBS show the top scene first.
    fake.remove_scene("LOW");
    assert_scene_changed(next_event(&mut events).await, "LIVE");
    assert!(matches!(
        next_event(&mut events).await,
        Event::SceneRemoved { id, .. } if id.name == "LOW"
    ));
    assert!(matches!(
        next_event(&mut events).await,
        Event::SceneListChanged { scenes } if scenes.len() == 5
    ));
    assert_eq!(
        fake.scenes(),
        ["LIVE", "BRB", "OFFLINE", "Starting soon", "Just chatting"]
    );
}

#[tokio::test]
async fn stream_start_stop_events_and_growing_bytes() {
    let fake = FakeObs::start(FakeObsOptions {
        stream_kbps: 4000,
        ..FakeObsOptions::default()
    })
    .await;
    let client = connect(&fake).await;
    let mut events = client.events().unwrap();

    let idle = client.streaming().status().await.unwrap();
    assert!(!idle.active);
    assert_eq!(idle.bytes, 0);

    client.streaming().start().await.unwrap();
    assert_stream_state(next_event(&mut events).await, false, OutputState::Starting);
    assert_stream_state(next_event(&mut events).await, true, OutputState::Started);
    assert!(fake.is_streaming());

    let first = client.streaming().status().await.unwrap();
    assert!(first.active);
    // Let the output run: bytes are a function of time.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let second = client.streaming().status().await.unwrap();
    let grown = second.bytes - first.bytes;
    // 4000 kbps = 500 bytes per ms; at least 250 ms passed between the two answers.
    assert!(grown >= 249 * 500, "grew only {grown} bytes");
    assert!(grown < 60_000 * 500, "grew {grown} bytes");
    assert!(second.duration.whole_milliseconds() >= 250);
    assert!(second.timecode.whole_milliseconds() >= 250);
    assert!(second.total_frames >= first.total_frames);

    // A stalled encoder: bytes stop growing.
    fake.set_stream_kbps(0);
    let stalled = client.streaming().status().await.unwrap();
    let still = client.streaming().status().await.unwrap();
    assert_eq!(stalled.bytes, still.bytes);
    assert!(stalled.bytes >= second.bytes);

    let error = client.streaming().start().await.unwrap_err();
    assert_api_error(error, StatusCode::OutputRunning);

    client.streaming().stop().await.unwrap();
    assert_stream_state(next_event(&mut events).await, true, OutputState::Stopping);
    assert_stream_state(next_event(&mut events).await, false, OutputState::Stopped);
    assert!(!fake.is_streaming());
    let stopped = client.streaming().status().await.unwrap();
    assert!(!stopped.active);
    assert_eq!(stopped.bytes, 0);

    let error = client.streaming().stop().await.unwrap_err();
    assert_api_error(error, StatusCode::OutputNotRunning);

    assert!(client.streaming().toggle().await.unwrap());
    assert_stream_state(next_event(&mut events).await, false, OutputState::Starting);
    assert_stream_state(next_event(&mut events).await, true, OutputState::Started);
    assert!(!client.streaming().toggle().await.unwrap());
    assert_stream_state(next_event(&mut events).await, true, OutputState::Stopping);
    assert_stream_state(next_event(&mut events).await, false, OutputState::Stopped);

    // Started or stopped in OBS itself.
    fake.set_streaming(true);
    assert_stream_state(next_event(&mut events).await, false, OutputState::Starting);
    assert_stream_state(next_event(&mut events).await, true, OutputState::Started);
    assert!(client.streaming().status().await.unwrap().active);
    fake.set_streaming(false);
    assert_stream_state(next_event(&mut events).await, true, OutputState::Stopping);
    assert_stream_state(next_event(&mut events).await, false, OutputState::Stopped);
}

#[tokio::test]
async fn recording_start_stop() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;
    let client = connect(&fake).await;
    let mut events = client.events().unwrap();

    assert!(!client.recording().status().await.unwrap().active);
    client.recording().start().await.unwrap();
    match next_event(&mut events).await {
        Event::RecordStateChanged {
            active: false,
            state: OutputState::Starting,
            path: None,
        } => {}
        other => panic!("expected RecordStateChanged STARTING, got {other:?}"),
    }
    match next_event(&mut events).await {
        Event::RecordStateChanged {
            active: true,
            state: OutputState::Started,
            path: Some(_),
        } => {}
        other => panic!("expected RecordStateChanged STARTED, got {other:?}"),
    }
    assert!(fake.is_recording());
    assert!(client.recording().status().await.unwrap().active);
    let error = client.recording().start().await.unwrap_err();
    assert_api_error(error, StatusCode::OutputRunning);

    let path = client.recording().stop().await.unwrap();
    assert!(path.ends_with(".mkv"), "{path}");
    assert!(matches!(
        next_event(&mut events).await,
        Event::RecordStateChanged {
            state: OutputState::Stopping,
            ..
        }
    ));
    match next_event(&mut events).await {
        Event::RecordStateChanged {
            active: false,
            state: OutputState::Stopped,
            path: stopped,
        } => assert_eq!(stopped.as_deref(), Some(path.as_str())),
        other => panic!("expected RecordStateChanged STOPPED, got {other:?}"),
    }
    let error = client.recording().stop().await.unwrap_err();
    assert_api_error(error, StatusCode::OutputNotRunning);
}

#[tokio::test]
async fn input_settings_are_stored_and_announced() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;
    let client = connect(&fake).await;
    let mut events = client.events().unwrap();
    let srt = InputId::Name("SRT Ingest");

    let new_settings = json!({ "input": "srt://0.0.0.0:9999?mode=listener" });
    client
        .inputs()
        .set_settings(SetSettings {
            input: srt,
            settings: &new_settings,
            overlay: Some(true),
        })
        .await
        .unwrap();
    match next_event(&mut events).await {
        Event::InputSettingsChanged { id, settings } => {
            assert_eq!(id.name, "SRT Ingest");
            assert_eq!(settings["input"], "srt://0.0.0.0:9999?mode=listener");
        }
        other => panic!("expected InputSettingsChanged, got {other:?}"),
    }
    let stored = fake.input_settings("SRT Ingest").unwrap();
    assert_eq!(stored["input"], "srt://0.0.0.0:9999?mode=listener");
    assert_eq!(stored["is_local_file"], false, "overlay keeps other keys");
    let recorded = fake.requests().pop().unwrap();
    assert_eq!(recorded.request_type, "SetInputSettings");
    assert_eq!(recorded.data["inputSettings"], new_settings);

    let read_back = client.inputs().settings::<Value>(srt).await.unwrap();
    assert_eq!(read_back.kind, "ffmpeg_source");
    assert_eq!(read_back.settings, stored);
}

#[tokio::test]
async fn dropped_connections_end_the_obws_client() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;
    let client = connect(&fake).await;
    let mut events = client.events().unwrap();
    assert!(fake.wait_for_connections(1, WAIT).await);

    // A request in flight when the socket dies fails with ReceiveMessage.
    fake.delay_answers(Duration::from_secs(30));
    let mark = fake.request_mark();
    let (in_flight, ()) = tokio::join!(async { client.general().version().await }, async {
        fake.wait_for_request_since(mark, "GetVersion", WAIT)
            .await
            .expect("the request arrived");
        fake.drop_connections();
    });
    let error = in_flight.unwrap_err();
    assert!(matches!(error, ObsError::ReceiveMessage(_)), "{error:?}");
    assert_eq!(error.to_string(), "send side is closed");
    assert_eq!(fake.connections(), 0);
    fake.delay_answers(Duration::ZERO);

    // No close frame, so no ServerStopping: just ServerStopped, then the stream ends.
    assert!(matches!(
        next_event(&mut events).await,
        Event::ServerStopped
    ));
    assert!(
        timeout(WAIT, events.next()).await.unwrap().is_none(),
        "stream ends"
    );
    assert!(matches!(client.events(), Err(ObsError::Disconnected)));
    assert_eq!(
        ObsError::Disconnected.to_string(),
        "currently not connected to obs-websocket"
    );

    // obws gotcha: the first request after an abrupt drop is written into the half-closed
    // socket without error, and its answer is awaited forever. Callers need their own timeout.
    assert!(
        timeout(Duration::from_millis(300), client.general().version())
            .await
            .is_err(),
        "obws 0.15 hangs on the first request after a silent disconnect"
    );
    // Once the peer's reset is in, requests fail at once.
    let error = timeout(WAIT, client.general().version())
        .await
        .expect("a later request fails fast")
        .unwrap_err();
    assert!(matches!(error, ObsError::Send(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "failed to send message to the obs-websocket plugin"
    );

    // The fake still listens: a new client gets in.
    let again = connect(&fake).await;
    again.general().version().await.unwrap();
    assert!(fake.wait_for_connections(1, WAIT).await);
}

#[tokio::test]
async fn shutdown_sends_exit_started_and_close_frames() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;
    let port = fake.port();
    let client = connect(&fake).await;
    let mut events = client.events().unwrap();

    fake.shutdown().await;
    assert!(matches!(next_event(&mut events).await, Event::ExitStarted));
    assert!(matches!(
        next_event(&mut events).await,
        Event::ServerStopping
    ));
    assert!(matches!(
        next_event(&mut events).await,
        Event::ServerStopped
    ));
    assert!(timeout(WAIT, events.next()).await.unwrap().is_none());
    let error = timeout(WAIT, client.general().version())
        .await
        .expect("a request after shutdown fails fast")
        .unwrap_err();
    assert!(matches!(error, ObsError::Send(_)), "{error:?}");

    let error = connect_with(port, None, EventSubscription::ALL)
        .await
        .err()
        .expect("nobody listens any more");
    assert!(matches!(error, ObsError::Connect(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "failed to connect to the obs-websocket plugin"
    );
}

#[tokio::test]
async fn restart_listens_again_on_the_same_port() {
    let mut fake = FakeObs::start(FakeObsOptions::default()).await;
    let port = fake.port();
    let first = connect(&fake).await;
    let mut events = first.events().unwrap();
    fake.set_scene("BRB");
    assert_scene_changed(next_event(&mut events).await, "BRB");

    fake.restart().await;
    assert!(matches!(
        next_event(&mut events).await,
        Event::ServerStopping
    ));
    assert!(matches!(
        next_event(&mut events).await,
        Event::ServerStopped
    ));
    assert_eq!(fake.connections(), 0);

    assert_eq!(fake.port(), port);
    let second = connect_with(port, None, EventSubscription::ALL)
        .await
        .expect("reconnect on the same port");
    assert!(fake.wait_for_connections(1, WAIT).await);
    // OBS state survives a websocket server restart.
    assert_eq!(
        second
            .scenes()
            .current_program_scene()
            .await
            .unwrap()
            .id
            .name,
        "BRB"
    );
    // And restarting twice works.
    fake.restart().await;
    connect(&fake).await.general().version().await.unwrap();
}

#[tokio::test]
async fn delayed_answers_take_at_least_the_delay() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;
    let client = connect(&fake).await;
    let delay = Duration::from_millis(500);
    fake.delay_answers(delay);

    let started = Instant::now();
    client
        .scenes()
        .set_current_program_scene("BRB")
        .await
        .unwrap();
    assert!(started.elapsed() >= delay, "took {:?}", started.elapsed());
    let recorded = fake.requests().pop().unwrap();
    assert_eq!(recorded.request_type, "SetCurrentProgramScene");
    assert!(recorded.received >= started);
    assert!(recorded.received < started + delay);

    // Concurrent requests are each delayed from their own arrival, not queued behind each other.
    let started = Instant::now();
    let (a, b) = tokio::join!(async { client.general().version().await }, async {
        client.streaming().status().await
    },);
    a.unwrap();
    b.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= delay, "took {elapsed:?}");
    assert!(elapsed < delay * 2, "took {elapsed:?}");

    fake.delay_answers(Duration::ZERO);
    client.general().version().await.unwrap();
}

#[tokio::test]
async fn two_clients_get_events_by_subscription() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;
    let all = connect(&fake).await;
    let scenes_only = connect_with(fake.port(), None, EventSubscription::SCENES)
        .await
        .unwrap();
    assert!(fake.wait_for_connections(2, WAIT).await);
    let mut all_events = all.events().unwrap();
    let mut scene_events = scenes_only.events().unwrap();

    fake.set_streaming(true);
    fake.set_scene("BRB");
    assert_stream_state(
        next_event(&mut all_events).await,
        false,
        OutputState::Starting,
    );
    assert_stream_state(
        next_event(&mut all_events).await,
        true,
        OutputState::Started,
    );
    assert_scene_changed(next_event(&mut all_events).await, "BRB");
    // Not subscribed to outputs: the scene change is its first event.
    assert_scene_changed(next_event(&mut scene_events).await, "BRB");

    scenes_only
        .reidentify(EventSubscription::OUTPUTS)
        .await
        .unwrap();
    fake.set_scene("LOW");
    fake.set_streaming(false);
    assert_stream_state(
        next_event(&mut scene_events).await,
        true,
        OutputState::Stopping,
    );
    assert_scene_changed(next_event(&mut all_events).await, "LOW");
    assert_stream_state(
        next_event(&mut all_events).await,
        true,
        OutputState::Stopping,
    );

    // A request from one client emits its event to both.
    scenes_only
        .reidentify(EventSubscription::ALL)
        .await
        .unwrap();
    all.scenes()
        .set_current_program_scene("LIVE")
        .await
        .unwrap();
    assert_stream_state(
        next_event(&mut scene_events).await,
        false,
        OutputState::Stopped,
    );
    assert_scene_changed(next_event(&mut scene_events).await, "LIVE");
    assert_stream_state(
        next_event(&mut all_events).await,
        false,
        OutputState::Stopped,
    );
    assert_scene_changed(next_event(&mut all_events).await, "LIVE");
    let connections: std::collections::BTreeSet<u64> =
        fake.requests().iter().map(|r| r.connection).collect();
    assert_eq!(connections.len(), 2);
}

#[tokio::test]
async fn wait_for_request_is_event_driven() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;
    let client = connect(&fake).await;

    let (seen, sent) = tokio::join!(
        fake.wait_for_request("SetCurrentProgramScene", WAIT),
        async { client.scenes().set_current_program_scene("OFFLINE").await },
    );
    sent.unwrap();
    let seen = seen.expect("request seen");
    assert_eq!(seen.data["sceneName"], "OFFLINE");
    assert!(!seen.in_batch);

    // A mark taken before acting catches requests already answered.
    let mark = fake.request_mark();
    client.streaming().status().await.unwrap();
    let status = fake
        .wait_for_request_since(mark, "GetStreamStatus", WAIT)
        .await;
    assert!(status.is_some());

    // Nothing comes: None after the timeout.
    let started = Instant::now();
    assert!(
        fake.wait_for_request("StartStream", Duration::from_millis(100))
            .await
            .is_none()
    );
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_paused_clock_drives_output_bytes() {
    let fake = FakeObs::start(FakeObsOptions {
        streaming: true,
        ..FakeObsOptions::default()
    })
    .await;
    let client = connect(&fake).await;
    let before = client.streaming().status().await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = client.streaming().status().await.unwrap();
    // 2500 kbps for 10 virtual seconds.
    let grown = after.bytes - before.bytes;
    assert!(
        (3_125_000..3_200_000).contains(&grown),
        "grew {grown} bytes"
    );
    assert!(after.duration.whole_seconds() >= 10);
    assert_eq!(fake.stream_bytes(), after.bytes);
}

// ---------------------------------------------------------------------------------------------
// Raw protocol: what obws never sends.

type Raw = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn raw(fake: &FakeObs) -> Raw {
    let (ws, _) = tokio_tungstenite::connect_async(fake.url()).await.unwrap();
    ws
}

async fn send_json(ws: &mut Raw, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

async fn recv_json(ws: &mut Raw) -> Value {
    loop {
        let msg = timeout(WAIT, ws.next())
            .await
            .expect("no message within 5 s")
            .expect("socket ended")
            .expect("socket error");
        match msg {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

async fn recv_close(ws: &mut Raw) -> (u16, String) {
    loop {
        let msg = timeout(WAIT, ws.next())
            .await
            .expect("no message within 5 s")
            .expect("socket ended without a close frame")
            .expect("socket error");
        if let Message::Close(Some(frame)) = msg {
            return (u16::from(frame.code), frame.reason.to_string());
        }
    }
}

async fn identified_raw(fake: &FakeObs, subscriptions: u32) -> Raw {
    let mut ws = raw(fake).await;
    let hello = recv_json(&mut ws).await;
    assert_eq!(hello["op"], 0);
    send_json(
        &mut ws,
        json!({ "op": 1, "d": { "rpcVersion": 1, "eventSubscriptions": subscriptions } }),
    )
    .await;
    assert_eq!(
        recv_json(&mut ws).await,
        json!({ "op": 2, "d": { "negotiatedRpcVersion": 1 } })
    );
    ws
}

#[tokio::test]
async fn raw_hello_auth_batches_unknown_requests_and_reidentify() {
    let fake = FakeObs::start(FakeObsOptions {
        password: Some("pw".to_owned()),
        ..FakeObsOptions::default()
    })
    .await;
    let mut ws = raw(&fake).await;
    let hello = recv_json(&mut ws).await;
    assert_eq!(hello["op"], 0);
    assert_eq!(hello["d"]["obsWebSocketVersion"], "5.5.4");
    assert_eq!(hello["d"]["rpcVersion"], 1);
    let challenge = hello["d"]["authentication"]["challenge"].as_str().unwrap();
    let salt = hello["d"]["authentication"]["salt"].as_str().unwrap();
    let auth = fake_obs::auth_string("pw", salt, challenge);
    send_json(
        &mut ws,
        json!({ "op": 1, "d": { "rpcVersion": 1, "authentication": auth, "eventSubscriptions": 0 } }),
    )
    .await;
    assert_eq!(recv_json(&mut ws).await["op"], 2);
    assert!(fake.wait_for_connections(1, WAIT).await);

    send_json(
        &mut ws,
        json!({ "op": 6, "d": { "requestType": "NoSuchRequest", "requestId": "x1" } }),
    )
    .await;
    let response = recv_json(&mut ws).await;
    assert_eq!(response["op"], 7);
    assert_eq!(response["d"]["requestId"], "x1");
    assert_eq!(response["d"]["requestType"], "NoSuchRequest");
    assert_eq!(response["d"]["requestStatus"]["result"], false);
    assert_eq!(
        response["d"]["requestStatus"]["code"],
        status::UNKNOWN_REQUEST_TYPE
    );

    send_json(
        &mut ws,
        json!({ "op": 8, "d": { "requestId": "b1", "haltOnFailure": true, "requests": [
            { "requestType": "GetCurrentProgramScene", "requestId": "r1" },
            { "requestType": "Sleep", "requestData": { "sleepMillis": 10 } },
            { "requestType": "SetCurrentProgramScene", "requestData": { "sceneName": "Nope" } },
            { "requestType": "GetVersion" },
        ] } }),
    )
    .await;
    let batch = recv_json(&mut ws).await;
    assert_eq!(batch["op"], 9);
    assert_eq!(batch["d"]["requestId"], "b1");
    let results = batch["d"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "halted on the failure: {results:?}");
    assert_eq!(results[0]["requestId"], "r1");
    assert_eq!(results[0]["responseData"]["sceneName"], "LIVE");
    assert_eq!(results[1]["requestStatus"]["code"], status::SUCCESS);
    assert_eq!(
        results[2]["requestStatus"]["code"],
        status::RESOURCE_NOT_FOUND
    );
    assert!(fake.requests().iter().rev().take(3).all(|r| r.in_batch));

    // Subscribed to nothing: the scene change is not sent, the next message is the answer.
    fake.set_scene("BRB");
    send_json(
        &mut ws,
        json!({ "op": 6, "d": { "requestType": "GetCurrentProgramScene", "requestId": "x2" } }),
    )
    .await;
    let response = recv_json(&mut ws).await;
    assert_eq!(response["op"], 7);
    assert_eq!(response["d"]["responseData"]["sceneName"], "BRB");

    send_json(
        &mut ws,
        json!({ "op": 3, "d": { "eventSubscriptions": 4 } }),
    )
    .await;
    assert_eq!(recv_json(&mut ws).await["op"], 2);
    fake.set_scene("LOW");
    let event = recv_json(&mut ws).await;
    assert_eq!(event["op"], 5);
    assert_eq!(event["d"]["eventType"], "CurrentProgramSceneChanged");
    assert_eq!(event["d"]["eventIntent"], 4);
    assert_eq!(event["d"]["eventData"]["sceneName"], "LOW");
}

#[tokio::test]
async fn raw_protocol_violations_close_with_obs_codes_and_the_fake_survives() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;

    let mut ws = raw(&fake).await;
    recv_json(&mut ws).await;
    send_json(
        &mut ws,
        json!({ "op": 6, "d": { "requestType": "GetVersion", "requestId": "1" } }),
    )
    .await;
    assert_eq!(recv_close(&mut ws).await.0, close_code::NOT_IDENTIFIED);

    let mut ws = raw(&fake).await;
    recv_json(&mut ws).await;
    send_json(&mut ws, json!({ "op": 1, "d": { "rpcVersion": 2 } })).await;
    assert_eq!(
        recv_close(&mut ws).await.0,
        close_code::UNSUPPORTED_RPC_VERSION
    );

    let mut ws = raw(&fake).await;
    recv_json(&mut ws).await;
    ws.send(Message::text("{ not json")).await.unwrap();
    assert_eq!(
        recv_close(&mut ws).await.0,
        close_code::MESSAGE_DECODE_ERROR
    );

    let mut ws = identified_raw(&fake, 0).await;
    send_json(&mut ws, json!({ "op": 1, "d": { "rpcVersion": 1 } })).await;
    assert_eq!(recv_close(&mut ws).await.0, close_code::ALREADY_IDENTIFIED);

    let mut ws = identified_raw(&fake, 0).await;
    send_json(&mut ws, json!({ "op": 42, "d": {} })).await;
    assert_eq!(recv_close(&mut ws).await.0, close_code::UNKNOWN_OP_CODE);

    let mut ws = identified_raw(&fake, 0).await;
    send_json(
        &mut ws,
        json!({ "op": 6, "d": { "requestType": "GetVersion" } }),
    )
    .await;
    assert_eq!(recv_close(&mut ws).await.0, close_code::MISSING_DATA_FIELD);

    // A client that vanishes mid-handshake.
    drop(
        TcpStream::connect(("127.0.0.1", fake.port()))
            .await
            .unwrap(),
    );

    assert!(fake.wait_for_connections(0, WAIT).await);
    let client = connect(&fake).await;
    client.general().version().await.unwrap();
}

/// One request on a raw, identified socket; its RequestResponse `d`.
async fn raw_request(ws: &mut Raw, request_type: &str, data: Value) -> Value {
    send_json(
        ws,
        json!({ "op": 6, "d": { "requestType": request_type, "requestId": request_type,
                                "requestData": data } }),
    )
    .await;
    loop {
        let message = recv_json(ws).await;
        if message["op"] == 7 {
            return message["d"].clone();
        }
    }
}

fn code(answer: &Value) -> u64 {
    answer["requestStatus"]["code"].as_u64().unwrap()
}

/// Inputs (1 << 3) and scene items (1 << 7): mute and enable state, with obs-websocket's codes:
/// 300 missing field, 401 wrong type, 600 not found, 604 an input without audio
/// (https://github.com/obsproject/obs-websocket/blob/master/docs/generated/protocol.md#requeststatus).
#[tokio::test]
async fn raw_mute_and_scene_items_answer_with_obs_codes_and_events() {
    let fake = FakeObs::start(FakeObsOptions::default()).await;
    let mut ws = identified_raw(&fake, (1 << 3) | (1 << 7)).await;
    let mic = json!({ "inputName": "Mic/Aux" });
    assert_eq!(
        raw_request(&mut ws, "GetInputMute", mic.clone()).await["responseData"],
        json!({ "inputMuted": false })
    );
    let set = raw_request(
        &mut ws,
        "SetInputMute",
        json!({ "inputName": "Mic/Aux", "inputMuted": true }),
    )
    .await;
    assert_eq!(code(&set), 100);
    let event = recv_json(&mut ws).await;
    assert_eq!(event["d"]["eventType"], "InputMuteStateChanged");
    assert_eq!(event["d"]["eventData"]["inputName"], "Mic/Aux");
    assert_eq!(event["d"]["eventData"]["inputMuted"], true);
    assert_eq!(fake.input_muted("Mic/Aux"), Some(true));
    for (data, want) in [
        (json!({ "inputName": "Mic/Aux" }), 300),
        (json!({ "inputName": "Mic/Aux", "inputMuted": "yes" }), 401),
        (json!({ "inputName": "Nope", "inputMuted": true }), 600),
        (json!({ "inputName": "Webcam", "inputMuted": true }), 604),
    ] {
        let answer = raw_request(&mut ws, "SetInputMute", data.clone()).await;
        assert_eq!(code(&answer), want, "{data}: {answer}");
        assert_eq!(answer["requestStatus"]["result"], false);
    }
    assert_eq!(
        code(&raw_request(&mut ws, "GetInputMute", json!({ "inputName": "Webcam" })).await),
        604
    );

    let id = raw_request(
        &mut ws,
        "GetSceneItemId",
        json!({ "sceneName": "LIVE", "sourceName": "Webcam" }),
    )
    .await["responseData"]["sceneItemId"]
        .clone();
    assert_eq!(id, 2, "ids count from 1 in each scene");
    let hide = raw_request(
        &mut ws,
        "SetSceneItemEnabled",
        json!({ "sceneName": "LIVE", "sceneItemId": id, "sceneItemEnabled": false }),
    )
    .await;
    assert_eq!(code(&hide), 100);
    let event = recv_json(&mut ws).await;
    assert_eq!(event["d"]["eventType"], "SceneItemEnableStateChanged");
    assert_eq!(event["d"]["eventData"]["sceneName"], "LIVE");
    assert_eq!(event["d"]["eventData"]["sceneItemId"], 2);
    assert_eq!(event["d"]["eventData"]["sceneItemEnabled"], false);
    assert_eq!(
        raw_request(
            &mut ws,
            "GetSceneItemEnabled",
            json!({ "sceneName": "LIVE", "sceneItemId": 2 })
        )
        .await["responseData"],
        json!({ "sceneItemEnabled": false })
    );
    assert_eq!(fake.scene_item_enabled("LIVE", "Webcam"), Some(false));
    assert_eq!(fake.scene_item_enabled("BRB", "Webcam"), Some(true));
    for (request, data, want) in [
        (
            "GetSceneItemId",
            json!({ "sceneName": "LOW", "sourceName": "Webcam" }),
            600,
        ),
        (
            "GetSceneItemId",
            json!({ "sceneName": "Nope", "sourceName": "Webcam" }),
            600,
        ),
        ("GetSceneItemId", json!({ "sceneName": "LIVE" }), 300),
        (
            "SetSceneItemEnabled",
            json!({ "sceneName": "LIVE", "sceneItemId": 99, "sceneItemEnabled": true }),
            600,
        ),
        (
            "SetSceneItemEnabled",
            json!({ "sceneName": "LIVE", "sceneItemId": "2", "sceneItemEnabled": true }),
            401,
        ),
        (
            "SetSceneItemEnabled",
            json!({ "sceneName": "LIVE", "sceneItemId": 2 }),
            300,
        ),
    ] {
        let answer = raw_request(&mut ws, request, data.clone()).await;
        assert_eq!(code(&answer), want, "{request} {data}: {answer}");
    }
}
