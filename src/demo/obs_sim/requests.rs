//! The requests the simulated OBS implements: one obs-websocket request (type and data) → a
//! [`Reply`] (status code and comment as OBS words them, response data, events to emit). Runs on
//! [`State`] under the one lock, like everything in `state`; the protocol around it (batches,
//! `Sleep`, the RequestResponse frame) is `connection`'s.

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::state::{Ev, State, millis, timecode};
use super::{AVAILABLE_REQUESTS, FPS, MEDIA_ACTIONS, media_state, status, subscription};

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

impl State {
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
        if self.legacy() {
            return Err(Reply::err(
                status::MISSING_REQUEST_FIELD,
                "Your request is missing the `sceneName` field.",
            ));
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
        } else if self.legacy() {
            return Err(Reply::err(
                status::MISSING_REQUEST_FIELD,
                "Your request is missing the `inputName` field.",
            ));
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

    pub(super) fn stream_status_json(&self, now: Instant) -> Value {
        let duration = self.stream.duration(now);
        json!({
            "outputActive": self.stream.active,
            "outputReconnecting": self.stream.active && self.stream.reconnecting,
            "outputTimecode": timecode(duration),
            "outputDuration": millis(duration),
            "outputCongestion": if self.stream.active { self.stream.congestion } else { 0.0 },
            "outputBytes": self.stream.bytes(now),
            "outputSkippedFrames": self.stream.dropped(now),
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
            "availableDiskSpace": self.disk_space_mb,
            "activeFps": 30.0,
            "averageFrameRenderTime": 1.4,
            "renderSkippedFrames": 0,
            "renderTotalFrames": uptime * FPS / 1000,
            "outputSkippedFrames": self.stream.dropped(now),
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
            // Before 5.3 only `currentProgramSceneName`.
            "GetCurrentProgramScene" if self.legacy() => Reply::ok_with(json!({
                "currentProgramSceneName": self.scene_name(&self.current_scene),
            })),
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
            "GetInputMute" => match self.audio_input(data) {
                Ok(index) => Reply::ok_with(json!({ "inputMuted": self.inputs[index].muted })),
                Err(reply) => reply,
            },
            "SetInputMute" => self.set_input_mute(data),
            "GetSceneItemId" => self.scene_item_id(data),
            "GetSceneItemEnabled" => match self.scene_item(data) {
                Ok((scene, item)) => {
                    let enabled = self.scenes[scene].items[item].enabled;
                    Reply::ok_with(json!({ "sceneItemEnabled": enabled }))
                }
                Err(reply) => reply,
            },
            "SetSceneItemEnabled" => self.set_scene_item_enabled(data),
            _ => Reply::err(
                status::UNKNOWN_REQUEST_TYPE,
                format!("Your request type is not valid: {request_type}"),
            ),
        }
    }

    /// An input with audio, as `GetInputMute`/`SetInputMute` find it: no such input is 600, one
    /// without `OBS_SOURCE_AUDIO` 604 "The specified input does not support audio."
    /// (https://github.com/obsproject/obs-websocket/blob/master/src/requesthandler/RequestHandler_Inputs.cpp,
    /// codes: https://github.com/obsproject/obs-websocket/blob/master/docs/generated/protocol.md#requeststatus).
    fn audio_input(&self, data: &Value) -> Result<usize, Reply> {
        let index = self.find_input(data)?;
        if self.inputs[index].audio {
            Ok(index)
        } else {
            Err(Reply::err(
                status::INVALID_RESOURCE_STATE,
                "The specified input does not support audio.",
            ))
        }
    }

    fn set_input_mute(&mut self, data: &Value) -> Reply {
        // obs-websocket validates the input and the field before it checks for audio.
        let index = match self.find_input(data) {
            Ok(index) => index,
            Err(reply) => return reply,
        };
        let muted = match required(data, "inputMuted", "a boolean", Value::as_bool) {
            Ok(muted) => muted,
            Err(reply) => return reply,
        };
        if let Err(reply) = self.audio_input(data) {
            return reply;
        }
        Reply::ok().with_events(self.mute_input(index, muted).into_iter().collect())
    }

    fn scene_position(&self, data: &Value) -> Result<usize, Reply> {
        let uuid = self.find_scene(data)?;
        Ok(self
            .scenes
            .iter()
            .position(|s| s.uuid == uuid)
            .unwrap_or_default())
    }

    /// `GetSceneItemId`: the first item of `sourceName` in the scene; none is 600
    /// (https://github.com/obsproject/obs-websocket/blob/master/src/requesthandler/RequestHandler_SceneItems.cpp).
    fn scene_item_id(&self, data: &Value) -> Reply {
        let scene = match self.scene_position(data) {
            Ok(scene) => scene,
            Err(reply) => return reply,
        };
        let source = match required(data, "sourceName", "a string", Value::as_str) {
            Ok(source) => source,
            Err(reply) => return reply,
        };
        match self.scenes[scene].items.iter().find(|i| i.source == source) {
            Some(item) => Reply::ok_with(json!({ "sceneItemId": item.id })),
            None => Reply::err(
                status::RESOURCE_NOT_FOUND,
                "No scene items were found in the specified scene by that name or offset.",
            ),
        }
    }

    /// The scene and item `sceneItemId` names (600 when the scene has no such item).
    fn scene_item(&self, data: &Value) -> Result<(usize, usize), Reply> {
        let scene = self.scene_position(data)?;
        let id = required(data, "sceneItemId", "a number", Value::as_i64)?;
        self.scenes[scene]
            .items
            .iter()
            .position(|i| i.id == id)
            .map(|item| (scene, item))
            .ok_or_else(|| {
                Reply::err(
                    status::RESOURCE_NOT_FOUND,
                    "No scene items were found in the specified scene by that ID.",
                )
            })
    }

    fn set_scene_item_enabled(&mut self, data: &Value) -> Reply {
        let (scene, item) = match self.scene_item(data) {
            Ok(found) => found,
            Err(reply) => return reply,
        };
        let enabled = match required(data, "sceneItemEnabled", "a boolean", Value::as_bool) {
            Ok(enabled) => enabled,
            Err(reply) => return reply,
        };
        let uuid = self.scenes[scene].uuid.clone();
        let id = self.scenes[scene].items[item].id;
        Reply::ok().with_events(self.enable_item(&uuid, id, enabled).into_iter().collect())
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

/// A required request field read with `read`: missing is 300, another type (`kind` says which
/// is wanted) 401, as obs-websocket's `Request::Validate*` answer.
fn required<'a, T>(
    data: &'a Value,
    field: &str,
    kind: &str,
    read: impl FnOnce(&'a Value) -> Option<T>,
) -> Result<T, Reply> {
    let Some(value) = data.get(field) else {
        return Err(Reply::err(
            status::MISSING_REQUEST_FIELD,
            format!("Your request is missing the `{field}` field."),
        ));
    };
    read(value).ok_or_else(|| {
        Reply::err(
            status::INVALID_REQUEST_FIELD_TYPE,
            format!("The field value of `{field}` must be {kind}."),
        )
    })
}
