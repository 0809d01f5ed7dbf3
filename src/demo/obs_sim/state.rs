//! OBS's state in the simulator (scenes, outputs, media inputs, clients) and the requests that
//! read and change it. Everything here runs under the one lock of [`Shared`], never across an
//! `.await`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    AVAILABLE_REQUESTS, FPS, MEDIA_ACTIONS, OUTPUT_STARTED, OUTPUT_STARTING, OUTPUT_STOPPED,
    OUTPUT_STOPPING, ObsSimOptions, RECORD_KBPS, Recorded, media_state, new_uuid, op, status,
    subscription,
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
}

pub(super) struct InputEntry {
    pub(super) name: String,
    pub(super) uuid: String,
    pub(super) kind: &'static str,
    pub(super) state: &'static str,
    pub(super) playing_since: Instant,
    pub(super) settings: Value,
}

impl InputEntry {
    pub(super) fn id_json(&self) -> Value {
        json!({ "inputName": self.name, "inputUuid": self.uuid })
    }
}

/// One output (stream or record): bytes grow at `kbps` while active.
pub(super) struct Output {
    pub(super) active: bool,
    pub(super) started: Instant,
    pub(super) kbps: u32,
    pub(super) bytes_before: u64,
    pub(super) segment_start: Instant,
}

impl Output {
    pub(super) fn new(kbps: u32, now: Instant) -> Output {
        Output {
            active: false,
            started: now,
            kbps,
            bytes_before: 0,
            segment_start: now,
        }
    }

    pub(super) fn start(&mut self, now: Instant) {
        self.active = true;
        self.started = now;
        self.bytes_before = 0;
        self.segment_start = now;
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

/// The outcome of one request.
pub(super) struct Reply {
    pub(super) code: u16,
    pub(super) comment: Option<String>,
    pub(super) data: Option<Value>,
    pub(super) events: Vec<Ev>,
}

impl Reply {
    pub(super) fn ok() -> Reply {
        Reply {
            code: status::SUCCESS,
            comment: None,
            data: None,
            events: Vec::new(),
        }
    }

    pub(super) fn ok_with(data: Value) -> Reply {
        Reply {
            data: Some(data),
            ..Reply::ok()
        }
    }

    pub(super) fn err(code: u16, comment: impl Into<String>) -> Reply {
        Reply {
            code,
            comment: Some(comment.into()),
            data: None,
            events: Vec::new(),
        }
    }

    pub(super) fn with_events(mut self, events: Vec<Ev>) -> Reply {
        self.events = events;
        self
    }

    pub(super) fn status_json(&self) -> Value {
        let mut status = json!({ "result": self.code == status::SUCCESS, "code": self.code });
        if let Some(comment) = &self.comment {
            status["comment"] = json!(comment);
        }
        status
    }

    /// The RequestResponse `d` object (also a RequestBatchResponse `results` entry).
    pub(super) fn response_json(&self, request_type: &str, request_id: Option<&str>) -> Value {
        let mut d = json!({ "requestType": request_type, "requestStatus": self.status_json() });
        if let Some(id) = request_id {
            d["requestId"] = json!(id);
        }
        // Requests without response data must not carry `responseData`: obws deserializes
        // `()` from the missing (null) value, and `{}` would fail.
        if let Some(data) = &self.data {
            d["responseData"] = data.clone();
        }
        d
    }
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
            })
            .collect();
        let current_scene = scenes
            .iter()
            .find(|s| s.name == options.current_scene)
            .map(|s| s.uuid.clone())
            .unwrap_or_default();
        let inputs = options
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
            })
            .collect();
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

    pub(super) fn send_to(&mut self, client: u64, op: u64, d: Value) {
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
        let text = json!({ "op": op::EVENT, "d": d }).to_string();
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

    pub(super) fn create_scene(&mut self, name: &str) -> Vec<Ev> {
        let uuid = new_uuid();
        self.scenes.push(SceneEntry {
            name: name.to_owned(),
            uuid: uuid.clone(),
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

    /// Finds the scene named by `sceneName` or `sceneUuid` in the request data.
    pub(super) fn find_scene(&self, data: &Value) -> Result<String, Reply> {
        if let Some(name) = data.get("sceneName") {
            let Some(name) = name.as_str() else {
                return Err(Reply::err(
                    status::INVALID_REQUEST_FIELD_TYPE,
                    "The field value of `sceneName` must be a string.",
                ));
            };
            return self.scene_uuid(name).ok_or_else(|| {
                Reply::err(
                    status::RESOURCE_NOT_FOUND,
                    format!("No source was found by the name of `{name}`."),
                )
            });
        }
        if let Some(uuid) = data.get("sceneUuid") {
            let uuid = uuid.as_str().unwrap_or_default();
            return self
                .scenes
                .iter()
                .find(|s| s.uuid == uuid)
                .map(|s| s.uuid.clone())
                .ok_or_else(|| {
                    Reply::err(
                        status::RESOURCE_NOT_FOUND,
                        format!("No source was found by the UUID of `{uuid}`."),
                    )
                });
        }
        Err(Reply::err(
            status::MISSING_REQUEST_FIELD,
            "Your request must contain at least one of the following fields: `sceneName` or `sceneUuid`.",
        ))
    }

    /// Finds the input named by `inputName` or `inputUuid` in the request data.
    pub(super) fn find_input(&self, data: &Value) -> Result<usize, Reply> {
        let (field, key) = if let Some(name) = data.get("inputName") {
            (name, "name")
        } else if let Some(uuid) = data.get("inputUuid") {
            (uuid, "UUID")
        } else {
            return Err(Reply::err(
                status::MISSING_REQUEST_FIELD,
                "Your request must contain at least one of the following fields: `inputName` or `inputUuid`.",
            ));
        };
        let wanted = field.as_str().unwrap_or_default();
        self.inputs
            .iter()
            .position(|i| {
                if key == "name" {
                    i.name == wanted
                } else {
                    i.uuid == wanted
                }
            })
            .ok_or_else(|| {
                Reply::err(
                    status::RESOURCE_NOT_FOUND,
                    format!("No source was found by the {key} of `{wanted}`."),
                )
            })
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

    pub(super) fn stream_status_json(&self, now: Instant) -> Value {
        let duration = self.stream.duration(now);
        json!({
            "outputActive": self.stream.active,
            "outputReconnecting": false,
            "outputTimecode": timecode(duration),
            "outputDuration": millis(duration),
            "outputCongestion": 0.0,
            "outputBytes": self.stream.bytes(now),
            "outputSkippedFrames": 0,
            "outputTotalFrames": self.stream.frames(now),
        })
    }

    pub(super) fn record_status_json(&self, now: Instant) -> Value {
        let duration = self.record.duration(now);
        json!({
            "outputActive": self.record.active,
            "outputPaused": false,
            "outputTimecode": timecode(duration),
            "outputDuration": millis(duration),
            "outputBytes": self.record.bytes(now),
        })
    }

    pub(super) fn version_json(&self) -> Value {
        json!({
            // The real field name; obws reads it through its `obsVersion` alias. Sending both
            // `obsVersion` and `obsStudioVersion` would be a duplicate field for obws.
            "obsVersion": self.obs_version,
            "obsWebSocketVersion": self.websocket_version,
            "rpcVersion": 1,
            "availableRequests": AVAILABLE_REQUESTS,
            "supportedImageFormats": ["bmp", "jpeg", "jpg", "png", "webp"],
            "platform": "linux",
            "platformDescription": "stream-control OBS simulator",
        })
    }

    pub(super) fn stats_json(&self, client: u64, now: Instant) -> Value {
        let uptime = millis(now.saturating_duration_since(self.booted));
        let (incoming, outgoing) = self
            .clients
            .get(&client)
            .map_or((0, 0), |c| (c.incoming, c.outgoing));
        json!({
            "cpuUsage": 4.25,
            "memoryUsage": 612.5,
            "availableDiskSpace": 184_320.0,
            "activeFps": 30.0,
            "averageFrameRenderTime": 1.4,
            "renderSkippedFrames": 0,
            "renderTotalFrames": uptime * FPS / 1000,
            "outputSkippedFrames": 0,
            "outputTotalFrames": self.stream.frames(now),
            "webSocketSessionIncomingMessages": incoming,
            "webSocketSessionOutgoingMessages": outgoing,
        })
    }

    pub(super) fn media_status_json(&self, index: usize, now: Instant) -> Value {
        let input = &self.inputs[index];
        if input.state == media_state::PLAYING || input.state == media_state::PAUSED {
            let cursor = millis(now.saturating_duration_since(input.playing_since));
            json!({ "mediaState": input.state, "mediaDuration": 0, "mediaCursor": cursor })
        } else {
            json!({ "mediaState": input.state, "mediaDuration": null, "mediaCursor": null })
        }
    }

    /// Handles one request (not `Sleep`): mutates state and says what to answer and emit.
    pub(super) fn handle(&mut self, client: u64, request_type: &str, data: &Value) -> Reply {
        let now = Instant::now();
        match request_type {
            "GetVersion" => Reply::ok_with(self.version_json()),
            "GetStats" => Reply::ok_with(self.stats_json(client, now)),
            "GetSceneList" => {
                let current = self.scene_name(&self.current_scene);
                Reply::ok_with(json!({
                    "currentProgramSceneName": current,
                    "currentProgramSceneUuid": self.current_scene,
                    "currentPreviewSceneName": null,
                    "currentPreviewSceneUuid": null,
                    "scenes": self.scene_list_json(),
                }))
            }
            "GetCurrentProgramScene" => {
                let name = self.scene_name(&self.current_scene);
                Reply::ok_with(json!({
                    "sceneName": name,
                    "sceneUuid": self.current_scene,
                    "currentProgramSceneName": name,
                    "currentProgramSceneUuid": self.current_scene,
                }))
            }
            "SetCurrentProgramScene" => match self.find_scene(data) {
                Ok(uuid) => {
                    let event = self.switch_scene(uuid);
                    Reply::ok().with_events(vec![event])
                }
                Err(reply) => reply,
            },
            "GetCurrentPreviewScene" | "SetCurrentPreviewScene" => Reply::err(
                status::STUDIO_MODE_NOT_ACTIVE,
                "Studio mode is not enabled.",
            ),
            "GetStudioModeEnabled" => Reply::ok_with(json!({ "studioModeEnabled": false })),
            "CreateScene" => match data.get("sceneName").and_then(Value::as_str) {
                None => Reply::err(
                    status::MISSING_REQUEST_FIELD,
                    "Your request is missing the `sceneName` field.",
                ),
                Some(name) if self.scene_uuid(name).is_some() => Reply::err(
                    status::RESOURCE_ALREADY_EXISTS,
                    format!("A source already exists by that scene name: `{name}`."),
                ),
                Some(name) => {
                    let events = self.create_scene(name);
                    let uuid = self.scene_uuid(name).unwrap_or_default();
                    Reply::ok_with(json!({ "sceneUuid": uuid })).with_events(events)
                }
            },
            "RemoveScene" => match self.find_scene(data) {
                Ok(_) if self.scenes.len() == 1 => Reply::err(
                    status::INVALID_REQUEST_FIELD,
                    "You cannot remove the last scene.",
                ),
                Ok(uuid) => {
                    let events = self.delete_scene(&uuid);
                    Reply::ok().with_events(events)
                }
                Err(reply) => reply,
            },
            "BroadcastCustomEvent" => match data.get("eventData") {
                Some(event_data) if event_data.is_object() => {
                    Reply::ok().with_events(vec![Ev::new(
                        subscription::GENERAL,
                        "CustomEvent",
                        Some(event_data.clone()),
                    )])
                }
                _ => Reply::err(
                    status::MISSING_REQUEST_FIELD,
                    "Your request is missing the `eventData` field.",
                ),
            },
            "GetStreamStatus" => Reply::ok_with(self.stream_status_json(now)),
            "StartStream" => {
                if self.stream.active {
                    Reply::err(
                        status::OUTPUT_RUNNING,
                        "The stream output is already active.",
                    )
                } else {
                    Reply::ok().with_events(self.start_stream(now, true))
                }
            }
            "StopStream" => {
                if self.stream.active {
                    Reply::ok().with_events(self.stop_stream(true))
                } else {
                    Reply::err(
                        status::OUTPUT_NOT_RUNNING,
                        "The stream output is not active.",
                    )
                }
            }
            "ToggleStream" => {
                let was_active = self.stream.active;
                let events = if was_active {
                    self.stop_stream(true)
                } else {
                    self.start_stream(now, true)
                };
                Reply::ok_with(json!({ "outputActive": !was_active })).with_events(events)
            }
            "GetRecordStatus" => Reply::ok_with(self.record_status_json(now)),
            "StartRecord" => {
                if self.record.active {
                    Reply::err(
                        status::OUTPUT_RUNNING,
                        "The record output is already active.",
                    )
                } else {
                    Reply::ok().with_events(self.start_record(now))
                }
            }
            "StopRecord" => {
                if self.record.active {
                    let (path, events) = self.stop_record();
                    Reply::ok_with(json!({ "outputPath": path })).with_events(events)
                } else {
                    Reply::err(
                        status::OUTPUT_NOT_RUNNING,
                        "The record output is not active.",
                    )
                }
            }
            "ToggleRecord" => {
                let was_active = self.record.active;
                let events = if was_active {
                    self.stop_record().1
                } else {
                    self.start_record(now)
                };
                Reply::ok_with(json!({ "outputActive": !was_active })).with_events(events)
            }
            "GetInputList" => {
                let kind = data.get("inputKind").and_then(Value::as_str);
                let inputs: Vec<Value> = self
                    .inputs
                    .iter()
                    .filter(|i| kind.is_none_or(|k| k == i.kind))
                    .map(|i| {
                        json!({
                            "inputName": i.name,
                            "inputUuid": i.uuid,
                            "inputKind": i.kind,
                            "unversionedInputKind": i.kind,
                        })
                    })
                    .collect();
                Reply::ok_with(json!({ "inputs": inputs }))
            }
            "GetInputSettings" => match self.find_input(data) {
                Ok(index) => {
                    let input = &self.inputs[index];
                    Reply::ok_with(
                        json!({ "inputSettings": input.settings, "inputKind": input.kind }),
                    )
                }
                Err(reply) => reply,
            },
            "SetInputSettings" => self.set_input_settings(data),
            "GetMediaInputStatus" => match self.find_input(data) {
                Ok(index) => Reply::ok_with(self.media_status_json(index, now)),
                Err(reply) => reply,
            },
            "TriggerMediaInputAction" => self.trigger_media_action(data, now),
            _ => Reply::err(
                status::UNKNOWN_REQUEST_TYPE,
                format!("Your request type is not valid: {request_type}"),
            ),
        }
    }

    pub(super) fn set_input_settings(&mut self, data: &Value) -> Reply {
        let index = match self.find_input(data) {
            Ok(index) => index,
            Err(reply) => return reply,
        };
        let Some(settings) = data.get("inputSettings") else {
            return Reply::err(
                status::MISSING_REQUEST_FIELD,
                "Your request is missing the `inputSettings` field.",
            );
        };
        let Some(settings) = settings.as_object() else {
            return Reply::err(
                status::INVALID_REQUEST_FIELD_TYPE,
                "The field value of `inputSettings` must be an object.",
            );
        };
        let overlay = data.get("overlay").and_then(Value::as_bool).unwrap_or(true);
        let input = &mut self.inputs[index];
        let mut merged = if overlay {
            input.settings.as_object().cloned().unwrap_or_default()
        } else {
            Map::new()
        };
        for (key, value) in settings {
            merged.insert(key.clone(), value.clone());
        }
        input.settings = Value::Object(merged);
        let mut event = input.id_json();
        event["inputSettings"] = input.settings.clone();
        Reply::ok().with_events(vec![Ev::new(
            subscription::INPUTS,
            "InputSettingsChanged",
            Some(event),
        )])
    }

    pub(super) fn trigger_media_action(&mut self, data: &Value, now: Instant) -> Reply {
        let index = match self.find_input(data) {
            Ok(index) => index,
            Err(reply) => return reply,
        };
        let Some(action) = data.get("mediaAction") else {
            return Reply::err(
                status::MISSING_REQUEST_FIELD,
                "Your request is missing the `mediaAction` field.",
            );
        };
        let Some(action) = action
            .as_str()
            .and_then(|a| MEDIA_ACTIONS.into_iter().find(|known| *known == a))
        else {
            return Reply::err(
                status::INVALID_REQUEST_FIELD,
                "You have specified an invalid media input action.",
            );
        };
        let freeze = self.script.freeze_media;
        let input = &mut self.inputs[index];
        let id = input.id_json();
        let mut triggered = id.clone();
        triggered["mediaAction"] = json!(action);
        let mut events = vec![Ev::new(
            subscription::MEDIA_INPUTS,
            "MediaInputActionTriggered",
            Some(triggered),
        )];
        match action {
            "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART"
            | "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PLAY" => {
                if freeze {
                    input.state = media_state::ERROR;
                } else {
                    input.state = media_state::PLAYING;
                    input.playing_since = now;
                    events.push(Ev::new(
                        subscription::MEDIA_INPUTS,
                        "MediaInputPlaybackStarted",
                        Some(id),
                    ));
                }
            }
            "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PAUSE" => input.state = media_state::PAUSED,
            "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_STOP" => {
                input.state = media_state::STOPPED;
                events.push(Ev::new(
                    subscription::MEDIA_INPUTS,
                    "MediaInputPlaybackEnded",
                    Some(id),
                ));
            }
            _ => {}
        }
        Reply::ok().with_events(events)
    }
}
