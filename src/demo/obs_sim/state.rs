//! OBS's state in the simulator (scenes, outputs, media inputs, clients) and the changes the
//! requests and the streamer's actions make to it, with the events they emit; the requests
//! themselves are in `requests`. Everything here runs under the one lock of [`Shared`], never
//! across an `.await`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    FPS, OUTPUT_STARTED, OUTPUT_STARTING, OUTPUT_STOPPED, OUTPUT_STOPPING, ObsSimOptions,
    RECORD_KBPS, Recorded, media_state, new_uuid, op, subscription,
};

pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    /// Number of recorded requests; bumped after each one.
    pub(super) requests_seen: watch::Sender<usize>,
    /// Number of identified clients.
    pub(super) identified: watch::Sender<usize>,
}

impl Shared {
    pub(super) fn new(options: ObsSimOptions, connections: CancellationToken) -> Shared {
        Shared {
            state: Mutex::new(State::new(options, connections)),
            requests_seen: watch::Sender::new(0),
            identified: watch::Sender::new(0),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
pub(super) struct Script {
    pub(super) refuse_auth: bool,
    pub(super) delay: Duration,
    pub(super) fail_stream: bool,
    pub(super) ignore_stop: bool,
    pub(super) freeze_media: bool,
}

pub(super) struct SceneEntry {
    pub(super) name: String,
    pub(super) uuid: String,
    pub(super) items: Vec<SceneItem>,
}

/// One source in a scene.
pub(super) struct SceneItem {
    pub(super) id: i64,
    pub(super) source: String,
    pub(super) enabled: bool,
}

pub(super) struct InputEntry {
    pub(super) name: String,
    pub(super) uuid: String,
    pub(super) kind: &'static str,
    pub(super) state: &'static str,
    pub(super) playing_since: Instant,
    pub(super) settings: Value,
    /// Whether it has audio (`OBS_SOURCE_AUDIO`): only such inputs can be muted.
    pub(super) audio: bool,
    pub(super) muted: bool,
}

impl InputEntry {
    pub(super) fn id_json(&self) -> Value {
        json!({ "inputName": self.name, "inputUuid": self.uuid })
    }
}

/// One output (stream or record): bytes grow at `kbps` while active. The stream's upload
/// health (reconnecting, congestion, the share of frames dropped) is set by the streamer's
/// actions (`ObsSim::set_reconnecting`, ...); a new start is not reconnecting and has dropped
/// nothing yet.
pub(super) struct Output {
    pub(super) active: bool,
    pub(super) started: Instant,
    pub(super) kbps: u32,
    pub(super) bytes_before: u64,
    pub(super) segment_start: Instant,
    pub(super) reconnecting: bool,
    pub(super) congestion: f64,
    /// Frames dropped before `dropped_from` frames, and the share dropped of those after.
    pub(super) dropped_before: u64,
    pub(super) dropped_from: u64,
    pub(super) dropped_share: f64,
}

impl Output {
    pub(super) fn new(kbps: u32, now: Instant) -> Output {
        Output {
            active: false,
            started: now,
            kbps,
            bytes_before: 0,
            segment_start: now,
            reconnecting: false,
            congestion: 0.0,
            dropped_before: 0,
            dropped_from: 0,
            dropped_share: 0.0,
        }
    }

    pub(super) fn start(&mut self, now: Instant) {
        self.active = true;
        self.started = now;
        self.bytes_before = 0;
        self.segment_start = now;
        self.reconnecting = false;
        self.dropped_before = 0;
        self.dropped_from = 0;
    }

    pub(super) fn stop(&mut self) {
        self.active = false;
    }

    pub(super) fn set_kbps(&mut self, now: Instant, kbps: u32) {
        self.bytes_before = self.bytes(now);
        self.segment_start = now;
        self.kbps = kbps;
    }

    pub(super) fn duration(&self, now: Instant) -> Duration {
        if self.active {
            now.saturating_duration_since(self.started)
        } else {
            Duration::ZERO
        }
    }

    pub(super) fn bytes(&self, now: Instant) -> u64 {
        if !self.active {
            return 0;
        }
        let millis = millis(now.saturating_duration_since(self.segment_start));
        self.bytes_before + millis * u64::from(self.kbps) / 8
    }

    pub(super) fn frames(&self, now: Instant) -> u64 {
        millis(self.duration(now)) * FPS / 1000
    }

    /// Frames dropped so far (`outputSkippedFrames`).
    pub(super) fn dropped(&self, now: Instant) -> u64 {
        let since = self.frames(now).saturating_sub(self.dropped_from);
        self.dropped_before + (since as f64 * self.dropped_share) as u64
    }

    /// From now on, drop this share (0 to 1) of the frames.
    pub(super) fn set_dropped_share(&mut self, now: Instant, share: f64) {
        self.dropped_before = self.dropped(now);
        self.dropped_from = self.frames(now);
        self.dropped_share = share.clamp(0.0, 1.0);
    }
}

pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn timecode(duration: Duration) -> String {
    let total = duration.as_secs();
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        total / 3600,
        total % 3600 / 60,
        total % 60,
        duration.subsec_millis()
    )
}

pub(super) enum Outgoing {
    Text(String),
    Close(u16, String),
}

pub(super) struct ClientEntry {
    pub(super) tx: mpsc::UnboundedSender<Outgoing>,
    pub(super) identified: bool,
    pub(super) subscriptions: u32,
    pub(super) incoming: u64,
    pub(super) outgoing: u64,
}

/// An event to send to subscribers.
pub(super) struct Ev {
    pub(super) intent: u32,
    pub(super) kind: &'static str,
    pub(super) data: Option<Value>,
}

impl Ev {
    pub(super) fn new(intent: u32, kind: &'static str, data: Option<Value>) -> Ev {
        Ev { intent, kind, data }
    }
}

pub(super) fn stream_event(active: bool, state: &str) -> Ev {
    Ev::new(
        subscription::OUTPUTS,
        "StreamStateChanged",
        Some(json!({ "outputActive": active, "outputState": state })),
    )
}

pub(super) fn record_event(active: bool, state: &str, path: Option<&str>) -> Ev {
    Ev::new(
        subscription::OUTPUTS,
        "RecordStateChanged",
        Some(json!({ "outputActive": active, "outputState": state, "outputPath": path })),
    )
}

pub(super) struct State {
    pub(super) obs_version: String,
    pub(super) websocket_version: String,
    pub(super) password: Option<String>,
    pub(super) scenes: Vec<SceneEntry>,
    pub(super) current_scene: String,
    pub(super) stream: Output,
    pub(super) record: Output,
    pub(super) record_files: u32,
    /// GetStats `availableDiskSpace`, MB.
    pub(super) disk_space_mb: f64,
    pub(super) inputs: Vec<InputEntry>,
    pub(super) booted: Instant,
    pub(super) requests: Vec<Recorded>,
    pub(super) clients: HashMap<u64, ClientEntry>,
    /// Parent of every connection task's cancellation token (see `drop_connections`).
    pub(super) connections: CancellationToken,
    pub(super) next_client: u64,
    pub(super) script: Script,
}

impl State {
    pub(super) fn new(options: ObsSimOptions, connections: CancellationToken) -> State {
        let now = Instant::now();
        let scenes: Vec<SceneEntry> = options
            .scenes
            .iter()
            .map(|name| SceneEntry {
                name: name.clone(),
                uuid: new_uuid(),
                items: options
                    .scene_items
                    .iter()
                    .filter(|(scene, _)| scene == name)
                    .zip(1..)
                    .map(|((_, source), id)| SceneItem {
                        id,
                        source: source.clone(),
                        enabled: true,
                    })
                    .collect(),
            })
            .collect();
        let current_scene = scenes
            .iter()
            .find(|s| s.name == options.current_scene)
            .map(|s| s.uuid.clone())
            .unwrap_or_default();
        let mut inputs: Vec<InputEntry> = options
            .media_inputs
            .iter()
            .enumerate()
            .map(|(i, name)| InputEntry {
                name: name.clone(),
                uuid: new_uuid(),
                kind: "ffmpeg_source",
                state: media_state::PLAYING,
                playing_since: now,
                settings: json!({
                    "input": format!("srt://0.0.0.0:{}?mode=listener", 9000 + i),
                    "is_local_file": false,
                    "restart_on_activate": true,
                }),
                audio: true,
                muted: false,
            })
            .collect();
        let capture = |name: &String, kind, audio| InputEntry {
            name: name.clone(),
            uuid: new_uuid(),
            kind,
            state: media_state::NONE,
            playing_since: now,
            settings: json!({}),
            audio,
            muted: false,
        };
        inputs.extend(
            options
                .audio_inputs
                .iter()
                .map(|name| capture(name, "pulse_input_capture", true)),
        );
        inputs.extend(
            options
                .video_inputs
                .iter()
                .map(|name| capture(name, "v4l2_input", false)),
        );
        let mut stream = Output::new(options.stream_kbps, now);
        if options.streaming {
            stream.start(now);
        }
        State {
            obs_version: options.obs_version,
            websocket_version: options.websocket_version,
            password: options.password,
            scenes,
            current_scene,
            stream,
            record: Output::new(RECORD_KBPS, now),
            record_files: 0,
            disk_space_mb: 184_320.0,
            inputs,
            booted: now,
            requests: Vec::new(),
            clients: HashMap::new(),
            connections,
            next_client: 1,
            script: Script::default(),
        }
    }

    pub(super) fn identified_count(&self) -> usize {
        self.clients.values().filter(|c| c.identified).count()
    }

    /// Whether this obs-websocket predates UUIDs (5.0 to 5.2: scenes and inputs by name only).
    pub(super) fn legacy(&self) -> bool {
        let mut parts = self
            .websocket_version
            .split('.')
            .map(|p| p.parse::<u64>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) < (5, 3)
    }

    /// What goes out, shaped as this version sends it: before 5.3 no `*Uuid` field anywhere.
    fn shaped(&self, mut d: Value) -> Value {
        if self.legacy() {
            strip_uuids(&mut d);
        }
        d
    }

    pub(super) fn send_to(&mut self, client: u64, op: u64, d: Value) {
        let d = self.shaped(d);
        if let Some(entry) = self.clients.get_mut(&client) {
            entry.outgoing += 1;
            let text = json!({ "op": op, "d": d }).to_string();
            let _ = entry.tx.send(Outgoing::Text(text));
        }
    }

    /// Sends an event to every identified client subscribed to its intent.
    pub(super) fn emit(&mut self, event: &Ev) {
        let mut d = json!({ "eventType": event.kind, "eventIntent": event.intent });
        if let Some(data) = &event.data {
            d["eventData"] = data.clone();
        }
        let text = json!({ "op": op::EVENT, "d": self.shaped(d) }).to_string();
        for client in self.clients.values_mut() {
            if client.identified && client.subscriptions & event.intent != 0 {
                client.outgoing += 1;
                let _ = client.tx.send(Outgoing::Text(text.clone()));
            }
        }
    }

    pub(super) fn scene_name(&self, uuid: &str) -> Option<String> {
        self.scenes
            .iter()
            .find(|s| s.uuid == uuid)
            .map(|s| s.name.clone())
    }

    pub(super) fn scene_uuid(&self, name: &str) -> Option<String> {
        self.scenes
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.uuid.clone())
    }

    /// Scenes as GetSceneList / SceneListChanged list them: sorted by `sceneIndex`, index 0 =
    /// bottom of the UI list.
    pub(super) fn scene_list_json(&self) -> Vec<Value> {
        self.scenes
            .iter()
            .rev()
            .enumerate()
            .map(|(index, s)| json!({ "sceneIndex": index, "sceneName": s.name, "sceneUuid": s.uuid }))
            .collect()
    }

    pub(super) fn switch_scene(&mut self, uuid: String) -> Ev {
        let name = self.scene_name(&uuid).unwrap_or_default();
        self.current_scene = uuid.clone();
        Ev::new(
            subscription::SCENES,
            "CurrentProgramSceneChanged",
            Some(json!({ "sceneName": name, "sceneUuid": uuid })),
        )
    }

    pub(super) fn scene_list_changed(&self) -> Ev {
        Ev::new(
            subscription::SCENES,
            "SceneListChanged",
            Some(json!({ "scenes": self.scene_list_json() })),
        )
    }

    /// Mute or unmute an input with audio; the event when it changed.
    pub(super) fn mute_input(&mut self, index: usize, muted: bool) -> Option<Ev> {
        let input = &mut self.inputs[index];
        if input.muted == muted {
            return None;
        }
        input.muted = muted;
        let mut data = input.id_json();
        data["inputMuted"] = json!(muted);
        Some(Ev::new(
            subscription::INPUTS,
            "InputMuteStateChanged",
            Some(data),
        ))
    }

    /// Enable or disable a scene item; the event when it changed.
    pub(super) fn enable_item(&mut self, scene_uuid: &str, item: i64, enabled: bool) -> Option<Ev> {
        let scene = self.scenes.iter_mut().find(|s| s.uuid == scene_uuid)?;
        let entry = scene.items.iter_mut().find(|i| i.id == item)?;
        if entry.enabled == enabled {
            return None;
        }
        entry.enabled = enabled;
        Some(Ev::new(
            subscription::SCENE_ITEMS,
            "SceneItemEnableStateChanged",
            Some(json!({
                "sceneName": scene.name, "sceneUuid": scene.uuid,
                "sceneItemId": item, "sceneItemEnabled": enabled,
            })),
        ))
    }

    pub(super) fn create_scene(&mut self, name: &str) -> Vec<Ev> {
        let uuid = new_uuid();
        self.scenes.push(SceneEntry {
            name: name.to_owned(),
            uuid: uuid.clone(),
            items: Vec::new(),
        });
        vec![
            Ev::new(
                subscription::SCENES,
                "SceneCreated",
                Some(json!({ "sceneName": name, "sceneUuid": uuid, "isGroup": false })),
            ),
            self.scene_list_changed(),
        ]
    }

    pub(super) fn delete_scene(&mut self, uuid: &str) -> Vec<Ev> {
        let Some(index) = self.scenes.iter().position(|s| s.uuid == uuid) else {
            return Vec::new();
        };
        let removed = self.scenes.remove(index);
        let mut events = Vec::new();
        if self.current_scene == removed.uuid
            && let Some(first) = self.scenes.first()
        {
            let first = first.uuid.clone();
            events.push(self.switch_scene(first));
        }
        events.push(Ev::new(
            subscription::SCENES,
            "SceneRemoved",
            Some(json!({ "sceneName": removed.name, "sceneUuid": removed.uuid, "isGroup": false })),
        ));
        events.push(self.scene_list_changed());
        events
    }

    pub(super) fn start_stream(&mut self, now: Instant, scripted: bool) -> Vec<Ev> {
        if scripted && self.script.fail_stream {
            return vec![
                stream_event(false, OUTPUT_STARTING),
                stream_event(false, OUTPUT_STOPPED),
            ];
        }
        self.stream.start(now);
        vec![
            stream_event(false, OUTPUT_STARTING),
            stream_event(true, OUTPUT_STARTED),
        ]
    }

    pub(super) fn stop_stream(&mut self, scripted: bool) -> Vec<Ev> {
        if scripted && self.script.ignore_stop {
            return Vec::new();
        }
        self.stream.stop();
        vec![
            stream_event(true, OUTPUT_STOPPING),
            stream_event(false, OUTPUT_STOPPED),
        ]
    }

    pub(super) fn start_record(&mut self, now: Instant) -> Vec<Ev> {
        self.record.start(now);
        self.record_files += 1;
        let path = self.record_path();
        vec![
            record_event(false, OUTPUT_STARTING, None),
            record_event(true, OUTPUT_STARTED, Some(&path)),
        ]
    }

    pub(super) fn stop_record(&mut self) -> (String, Vec<Ev>) {
        self.record.stop();
        let path = self.record_path();
        let events = vec![
            record_event(true, OUTPUT_STOPPING, None),
            record_event(false, OUTPUT_STOPPED, Some(&path)),
        ];
        (path, events)
    }

    pub(super) fn record_path(&self) -> String {
        format!(
            "/home/streamer/Videos/demo-recording-{:03}.mkv",
            self.record_files
        )
    }
}

/// Removes every `…Uuid` field, at any depth (obs-websocket before 5.3 has none).
fn strip_uuids(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.ends_with("Uuid"));
            map.values_mut().for_each(strip_uuids);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_uuids),
        _ => {}
    }
}
