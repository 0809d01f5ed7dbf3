//! A small obs-websocket 5 client for servers before 5.5 (OBS 28.0 to 30.1), which obws 0.15
//! refuses: just the requests and events the bot uses, by scene and input *name* (5.0 to 5.2
//! have no UUIDs), over tokio-tungstenite.
//!
//! The protocol (obs-websocket's `docs/generated/protocol.md`, the same for every 5.x): the
//! server opens with `Hello` (op 0; `authentication.{challenge, salt}` when a password is set);
//! the client answers `Identify` (op 1: `rpcVersion` 1, the authentication string
//! `base64(sha256(base64(sha256(password + salt)) + challenge))`, `eventSubscriptions` as a bit
//! mask); the server confirms with `Identified` (op 2) or closes with 4009 (authentication
//! failed). Requests are op 6 (`requestType`, `requestId`, `requestData`) answered by op 7 with
//! `requestStatus.{result, code, comment}`; events are op 5 (`eventType`, `eventData`).

use super::client::{ClientError, ObsEvent, OutputState, SceneEntry, Stats, StreamStatus};
use base64::Engine as _;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `EventSubscription` bits (protocol.md, "EventSubscription"): General (ExitStarted), Scenes
/// (program scene and scene list changes), Inputs (mute state), Outputs (stream and record
/// state) and SceneItems (enabled state).
const SUBSCRIPTIONS: u64 = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 7);
/// WebSocketCloseCode::AuthenticationFailed.
pub const AUTHENTICATION_FAILED: u16 = 4009;
/// Events waiting for a slow reader; a reader that falls further behind loses its stream (and
/// the connection task re-reads the state, as it does for obws).
const EVENT_CAPACITY: usize = 1024;
/// The largest message taken from the server (a scene list of a few hundred scenes is ~50 kB).
const MAX_MESSAGE: usize = 4 << 20;

/// Why the handshake failed.
#[derive(Debug)]
pub enum HandshakeError {
    /// The server closed with 4009.
    AuthenticationFailed,
    /// The server said a version this client does not speak (the Hello's `rpcVersion`, or an
    /// obs-websocket before 5).
    Unsupported(String),
    /// Anything else: unreachable, closed, garbage, too slow.
    Failed(String),
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// A connected, identified session. Dropping it closes the socket.
pub struct Client {
    write: tokio::sync::Mutex<SplitSink<Socket, Message>>,
    pending: Pending,
    /// Kept to hand out receivers; the reader task holds the only sender, so the streams end
    /// when the socket closes.
    events: broadcast::Receiver<ObsEvent>,
    next_id: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
    /// The Hello's `obsWebSocketVersion`.
    pub websocket_version: String,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Client {
    /// Connect to `url`, identify (with `password` when the server asks) within `timeout`.
    pub async fn connect(
        tls: &crate::tls::Tls,
        url: &str,
        password: Option<&str>,
        timeout: Duration,
    ) -> Result<Client, HandshakeError> {
        match tokio::time::timeout(timeout, Self::handshake(tls, url, password)).await {
            Ok(result) => result,
            Err(_) => Err(HandshakeError::Failed(format!(
                "no answer within {timeout:?}"
            ))),
        }
    }

    async fn handshake(
        tls: &crate::tls::Tls,
        url: &str,
        password: Option<&str>,
    ) -> Result<Client, HandshakeError> {
        let failed = |e: &dyn std::fmt::Display| HandshakeError::Failed(e.to_string());
        let mut socket = tls.websocket(url).await.map_err(|e| failed(&e))?;
        let hello = next_json(&mut socket).await?;
        if hello["op"] != 0 {
            return Err(HandshakeError::Failed(format!(
                "expected Hello (op 0), got {}",
                hello["op"]
            )));
        }
        let d = &hello["d"];
        let websocket_version = d["obsWebSocketVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !websocket_version.starts_with("5.") || d["rpcVersion"].as_u64() < Some(1) {
            return Err(HandshakeError::Unsupported(websocket_version));
        }
        let mut identify = json!({ "rpcVersion": 1, "eventSubscriptions": SUBSCRIPTIONS });
        if let Some(auth) = d.get("authentication") {
            let (Some(challenge), Some(salt)) = (auth["challenge"].as_str(), auth["salt"].as_str())
            else {
                return Err(HandshakeError::Failed(
                    "a Hello without challenge or salt".into(),
                ));
            };
            // No password while the server wants one: send none, so it refuses with 4009.
            if let Some(password) = password {
                identify["authentication"] = json!(auth_string(password, salt, challenge));
            }
        }
        send(&mut socket, json!({ "op": 1, "d": identify }))
            .await
            .map_err(|e| failed(&e))?;
        let identified = next_json(&mut socket).await?;
        if identified["op"] != 2 {
            return Err(HandshakeError::Failed(format!(
                "expected Identified (op 2), got {}",
                identified["op"]
            )));
        }
        let (write, read) = socket.split();
        let pending: Pending = Arc::default();
        let (sender, events) = broadcast::channel(EVENT_CAPACITY);
        let reader = tokio::spawn(read_loop(read, pending.clone(), sender));
        Ok(Client {
            write: tokio::sync::Mutex::new(write),
            pending,
            events,
            next_id: AtomicU64::new(1),
            reader,
            websocket_version,
        })
    }

    /// Whether the socket is still read.
    pub fn is_open(&self) -> bool {
        !self.reader.is_finished()
    }

    /// The events from now on; `None` in the stream's place once the reader lagged or the
    /// socket closed.
    pub fn events(&self) -> broadcast::Receiver<ObsEvent> {
        self.events.resubscribe()
    }

    /// Send one request and wait for its answer (the caller puts a timeout around it).
    pub async fn request(&self, kind: &str, data: Value) -> Result<Value, ClientError> {
        if !self.is_open() {
            return Err(ClientError::Closed("the connection to OBS closed".into()));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), tx);
        let mut message = json!({ "op": 6, "d": { "requestType": kind, "requestId": id } });
        if !data.is_null() {
            message["d"]["requestData"] = data;
        }
        let sent = self
            .write
            .lock()
            .await
            .send(Message::text(message.to_string()))
            .await;
        if let Err(error) = sent {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            return Err(ClientError::Closed(error.to_string()));
        }
        let answer = rx
            .await
            .map_err(|_| ClientError::Closed("the connection to OBS closed".into()))?;
        let status = &answer["requestStatus"];
        if status["result"].as_bool() == Some(true) {
            Ok(answer.get("responseData").cloned().unwrap_or(Value::Null))
        } else {
            Err(ClientError::Api {
                code: status["code"]
                    .as_u64()
                    .and_then(|code| u16::try_from(code).ok())
                    .unwrap_or(0),
                message: status["comment"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("error {}", status["code"])),
            })
        }
    }

    /// `GetVersion`: OBS's version and obs-websocket's.
    pub async fn version(&self) -> Result<(String, String), ClientError> {
        let d = self.request("GetVersion", Value::Null).await?;
        Ok((text(&d, "obsVersion")?, text(&d, "obsWebSocketVersion")?))
    }

    /// `GetSceneList`: the scenes with OBS's index (0 = bottom) and the program scene.
    pub async fn scene_list(&self) -> Result<(Vec<SceneEntry>, Option<String>), ClientError> {
        let d = self.request("GetSceneList", Value::Null).await?;
        let current = d["currentProgramSceneName"].as_str().map(str::to_string);
        Ok((scenes(&d["scenes"])?, current))
    }

    /// `GetCurrentProgramScene` (5.0–5.2 answer `currentProgramSceneName` only).
    pub async fn current_program_scene(&self) -> Result<String, ClientError> {
        let d = self.request("GetCurrentProgramScene", Value::Null).await?;
        text(&d, "currentProgramSceneName")
    }

    pub async fn set_current_program_scene(&self, scene: &str) -> Result<(), ClientError> {
        self.request("SetCurrentProgramScene", json!({ "sceneName": scene }))
            .await
            .map(drop)
    }

    pub async fn stream_status(&self) -> Result<StreamStatus, ClientError> {
        let d = self.request("GetStreamStatus", Value::Null).await?;
        Ok(StreamStatus {
            active: flag(&d, "outputActive")?,
            reconnecting: d["outputReconnecting"].as_bool().unwrap_or(false),
            bytes: d["outputBytes"].as_u64().unwrap_or(0),
            duration_secs: d["outputDuration"].as_f64().unwrap_or(0.0) as u64 / 1000,
            skipped_frames: d["outputSkippedFrames"].as_u64().unwrap_or(0) as u32,
            total_frames: d["outputTotalFrames"].as_u64().unwrap_or(0) as u32,
            congestion: d["outputCongestion"].as_f64().unwrap_or(0.0) as f32,
        })
    }

    pub async fn record_active(&self) -> Result<bool, ClientError> {
        let d = self.request("GetRecordStatus", Value::Null).await?;
        flag(&d, "outputActive")
    }

    /// `GetStats`.
    pub async fn stats(&self) -> Result<Stats, ClientError> {
        let d = self.request("GetStats", Value::Null).await?;
        Ok(Stats {
            active_fps: d["activeFps"].as_f64().unwrap_or(0.0),
            cpu_percent: d["cpuUsage"].as_f64().unwrap_or(0.0),
            disk_space_mb: d["availableDiskSpace"].as_f64(),
        })
    }

    /// `GetMediaInputStatus`: whether the input plays.
    pub async fn media_playing(&self, input: &str) -> Result<bool, ClientError> {
        let d = self
            .request("GetMediaInputStatus", json!({ "inputName": input }))
            .await?;
        Ok(text(&d, "mediaState")? == "OBS_MEDIA_STATE_PLAYING")
    }

    pub async fn restart_media(&self, input: &str) -> Result<(), ClientError> {
        self.request(
            "TriggerMediaInputAction",
            json!({ "inputName": input, "mediaAction": "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART" }),
        )
        .await
        .map(drop)
    }

    /// `GetInputMute` by input name.
    pub async fn input_muted(&self, input: &str) -> Result<bool, ClientError> {
        let d = self
            .request("GetInputMute", json!({ "inputName": input }))
            .await?;
        flag(&d, "inputMuted")
    }

    /// `GetSceneItemEnabled` by scene name and item id.
    pub async fn scene_item_enabled(&self, scene: &str, item: i64) -> Result<bool, ClientError> {
        let d = self
            .request(
                "GetSceneItemEnabled",
                json!({ "sceneName": scene, "sceneItemId": item }),
            )
            .await?;
        flag(&d, "sceneItemEnabled")
    }

    /// `GetSceneItemId` by scene and source name.
    pub async fn scene_item_id(&self, scene: &str, source: &str) -> Result<i64, ClientError> {
        let d = self
            .request(
                "GetSceneItemId",
                json!({ "sceneName": scene, "sourceName": source }),
            )
            .await?;
        d["sceneItemId"]
            .as_i64()
            .ok_or_else(|| ClientError::Closed("an answer without `sceneItemId`".into()))
    }
}

/// The authentication string of protocol.md ("Creating an authentication string").
pub fn auth_string(password: &str, salt: &str, challenge: &str) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let secret = engine.encode(Sha256::digest(format!("{password}{salt}")));
    engine.encode(Sha256::digest(format!("{secret}{challenge}")))
}

async fn send(
    socket: &mut Socket,
    message: Value,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    socket.send(Message::text(message.to_string())).await
}

/// The next JSON message of the handshake; a close frame with 4009 is a refused password.
async fn next_json(socket: &mut Socket) -> Result<Value, HandshakeError> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                if text.len() > MAX_MESSAGE {
                    return Err(HandshakeError::Failed("an oversized message".into()));
                }
                return serde_json::from_str(text.as_str())
                    .map_err(|e| HandshakeError::Failed(format!("not JSON: {e}")));
            }
            Some(Ok(Message::Close(Some(frame))))
                if frame.code == CloseCode::from(AUTHENTICATION_FAILED) =>
            {
                return Err(HandshakeError::AuthenticationFailed);
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(HandshakeError::Failed(match frame {
                    Some(frame) => format!("closed: {} {}", u16::from(frame.code), frame.reason),
                    None => "closed".into(),
                }));
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(HandshakeError::Failed(error.to_string())),
            None => return Err(HandshakeError::Failed("closed".into())),
        }
    }
}

/// Answers to their requests, events to the broadcast, until the socket closes.
async fn read_loop(
    mut read: futures_util::stream::SplitStream<Socket>,
    pending: Pending,
    events: broadcast::Sender<ObsEvent>,
) {
    while let Some(Ok(message)) = read.next().await {
        let Message::Text(text) = message else {
            if matches!(message, Message::Close(_)) {
                break;
            }
            continue;
        };
        if text.len() > MAX_MESSAGE {
            tracing::debug!(len = text.len(), "oversized message from OBS ignored");
            continue;
        }
        let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        match message["op"].as_u64() {
            Some(7) => {
                let id = message["d"]["requestId"].as_str().unwrap_or_default();
                let waiting = pending.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
                if let Some(waiting) = waiting {
                    let _ = waiting.send(message["d"].clone());
                }
            }
            Some(5) => {
                if let Some(event) = event(&message["d"]) {
                    let _ = events.send(event);
                }
            }
            _ => {}
        }
    }
    // Waiting requests fail at once: their senders drop with the map.
    pending.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

/// The events the bot follows, from an op 5 message's `d`.
fn event(d: &Value) -> Option<ObsEvent> {
    let data = &d["eventData"];
    Some(match d["eventType"].as_str()? {
        "CurrentProgramSceneChanged" => {
            ObsEvent::CurrentProgramSceneChanged(data["sceneName"].as_str()?.to_string())
        }
        "SceneListChanged" => ObsEvent::SceneListChanged(scenes(&data["scenes"]).ok()?),
        "StreamStateChanged" => ObsEvent::StreamStateChanged {
            active: data["outputActive"].as_bool()?,
            state: output_state(data["outputState"].as_str()?),
        },
        "RecordStateChanged" => ObsEvent::RecordStateChanged {
            active: data["outputActive"].as_bool()?,
        },
        "InputMuteStateChanged" => ObsEvent::InputMuteChanged {
            input: data["inputName"].as_str()?.to_string(),
            muted: data["inputMuted"].as_bool()?,
        },
        "SceneItemEnableStateChanged" => ObsEvent::SceneItemEnabledChanged {
            scene: data["sceneName"].as_str()?.to_string(),
            item: data["sceneItemId"].as_i64()?,
            enabled: data["sceneItemEnabled"].as_bool()?,
        },
        "ExitStarted" => ObsEvent::Exiting,
        _ => return None,
    })
}

fn output_state(state: &str) -> OutputState {
    match state {
        "OBS_WEBSOCKET_OUTPUT_STARTING" => OutputState::Starting,
        "OBS_WEBSOCKET_OUTPUT_STARTED" => OutputState::Started,
        "OBS_WEBSOCKET_OUTPUT_STOPPING" => OutputState::Stopping,
        "OBS_WEBSOCKET_OUTPUT_STOPPED" => OutputState::Stopped,
        "OBS_WEBSOCKET_OUTPUT_RECONNECTING" => OutputState::Reconnecting,
        "OBS_WEBSOCKET_OUTPUT_RECONNECTED" => OutputState::Reconnected,
        "OBS_WEBSOCKET_OUTPUT_RESUMED" => OutputState::Resumed,
        _ => OutputState::Other,
    }
}

fn scenes(list: &Value) -> Result<Vec<SceneEntry>, ClientError> {
    list.as_array()
        .ok_or_else(|| ClientError::Closed("a scene list without scenes".into()))?
        .iter()
        .map(|scene| {
            Ok(SceneEntry {
                index: scene["sceneIndex"].as_u64().unwrap_or(0) as usize,
                name: text(scene, "sceneName")?,
            })
        })
        .collect()
}

fn text(d: &Value, field: &str) -> Result<String, ClientError> {
    d[field]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ClientError::Closed(format!("an answer without `{field}`")))
}

fn flag(d: &Value, field: &str) -> Result<bool, ClientError> {
    d[field]
        .as_bool()
        .ok_or_else(|| ClientError::Closed(format!("an answer without `{field}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authentication_string_of_the_protocol_example() {
        // protocol.md's example: password "supersecretpassword", salt
        // "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI=", challenge
        // "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY=".
        assert_eq!(
            auth_string(
                "supersecretpassword",
                "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI=",
                "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY="
            ),
            "1Ct943GAT+6YQUUX47Ia/ncufilbe6+oD6lY+5kaCu4="
        );
    }

    #[test]
    fn events_by_name_without_uuids() {
        let scene = json!({"eventType": "CurrentProgramSceneChanged",
                           "eventData": {"sceneName": "BRB"}});
        assert_eq!(
            event(&scene),
            Some(ObsEvent::CurrentProgramSceneChanged("BRB".into()))
        );
        let stream = json!({"eventType": "StreamStateChanged",
            "eventData": {"outputActive": true, "outputState": "OBS_WEBSOCKET_OUTPUT_STARTED"}});
        assert_eq!(
            event(&stream),
            Some(ObsEvent::StreamStateChanged {
                active: true,
                state: OutputState::Started
            })
        );
        let list = json!({"eventType": "SceneListChanged",
            "eventData": {"scenes": [{"sceneIndex": 1, "sceneName": "A"}, {"sceneIndex": 0, "sceneName": "B"}]}});
        assert_eq!(
            event(&list),
            Some(ObsEvent::SceneListChanged(vec![
                SceneEntry {
                    index: 1,
                    name: "A".into()
                },
                SceneEntry {
                    index: 0,
                    name: "B".into()
                },
            ]))
        );
        // Missing fields and unknown events are skipped, never a panic.
        assert_eq!(event(&json!({"eventType": "StreamStateChanged"})), None);
        assert_eq!(event(&json!({"eventType": "InputMuteStateChanged"})), None);
        let mute = json!({"eventType": "InputMuteStateChanged",
            "eventData": {"inputName": "Mic/Aux", "inputMuted": true}});
        assert_eq!(
            event(&mute),
            Some(ObsEvent::InputMuteChanged {
                input: "Mic/Aux".into(),
                muted: true
            })
        );
        let item = json!({"eventType": "SceneItemEnableStateChanged",
            "eventData": {"sceneName": "LIVE", "sceneItemId": 3, "sceneItemEnabled": false}});
        assert_eq!(
            event(&item),
            Some(ObsEvent::SceneItemEnabledChanged {
                scene: "LIVE".into(),
                item: 3,
                enabled: false
            })
        );
        assert_eq!(event(&json!({"eventType": "UnknownEvent"})), None);
        assert_eq!(event(&json!(null)), None);
    }
}
