//! The OBS client in use: obws for obs-websocket 5.5 and newer (OBS 30.2+), the small
//! [`compat`](super::compat) client for 5.0 to 5.4 (OBS 28.0 to 30.1). Chosen at connect time
//! from the server's version; [`super::ObsHandle`] and the connection task only see this type.

use super::compat;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::time::Duration;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// OBS answered and refused (unknown scene, output already active, …): its `RequestStatus`
    /// code and comment.
    #[error("{message}")]
    Api { code: u16, message: String },
    /// No usable answer: the socket closed, or the answer could not be read.
    #[error("{0}")]
    Closed(String),
    #[error("no answer in time")]
    Timeout,
}

impl From<obws::error::Error> for ClientError {
    fn from(error: obws::error::Error) -> Self {
        match error {
            obws::error::Error::Api { code, message } => ClientError::Api {
                message: message.unwrap_or_else(|| format!("{code:?}")),
                code: code.into(),
            },
            obws::error::Error::Timeout => ClientError::Timeout,
            other => ClientError::Closed(crate::status::error_chain(&other)),
        }
    }
}

/// One scene of a list: OBS's index (0 = the bottom of the dock) and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneEntry {
    pub index: usize,
    pub name: String,
}

/// `GetStreamStatus`, the fields the bot shows.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStatus {
    pub active: bool,
    /// `outputReconnecting`: the output lost the ingest and is reconnecting.
    pub reconnecting: bool,
    pub bytes: u64,
    pub duration_secs: u64,
    pub skipped_frames: u32,
    pub total_frames: u32,
    pub congestion: f32,
}

/// `GetStats`, the fields the bot shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub active_fps: f64,
    pub cpu_percent: f64,
    /// `availableDiskSpace`: free space on the recording disk, MB.
    pub disk_space_mb: Option<f64>,
}

/// An output's state in `StreamStateChanged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputState {
    Starting,
    Started,
    Stopping,
    Stopped,
    Reconnecting,
    Reconnected,
    Resumed,
    /// Paused, unknown, or a state added later.
    Other,
}

/// obs-websocket `RequestStatus` codes the bot tells apart (protocol.md, "RequestStatus":
/// https://github.com/obsproject/obs-websocket/blob/master/docs/generated/protocol.md#requeststatus).
pub mod status_code {
    /// No scene, input or scene item by that name.
    pub const RESOURCE_NOT_FOUND: u16 = 600;
    /// The resource is there but of the wrong kind (a scene where an input was asked for).
    pub const INVALID_RESOURCE_TYPE: u16 = 602;
    /// The resource cannot do it (`SetInputMute` on an input without audio).
    pub const INVALID_RESOURCE_STATE: u16 = 604;
}

/// The events the bot follows.
#[derive(Debug, Clone, PartialEq)]
pub enum ObsEvent {
    CurrentProgramSceneChanged(String),
    SceneListChanged(Vec<SceneEntry>),
    StreamStateChanged {
        active: bool,
        state: OutputState,
    },
    RecordStateChanged {
        active: bool,
    },
    InputMuteChanged {
        input: String,
        muted: bool,
    },
    SceneItemEnabledChanged {
        scene: String,
        item: i64,
        enabled: bool,
    },
    /// OBS is closing (or the obs-websocket server stops).
    Exiting,
}

/// A connected client of either kind.
pub enum Client {
    Obws(obws::Client),
    Compat(compat::Client),
}

impl Client {
    /// `compatibility mode` for the status and doctor: the small client is in use.
    pub fn is_compat(&self) -> bool {
        matches!(self, Client::Compat(_))
    }

    /// The events from now on. The stream ends when the client lagged behind or the socket
    /// closed; the connection task then asks OBS whether it is still there.
    pub fn events(&self) -> Result<BoxStream<'static, ObsEvent>, ClientError> {
        match self {
            Client::Obws(client) => {
                let events = client.events().map_err(ClientError::from)?;
                Ok(events.filter_map(|e| async move { from_obws(e) }).boxed())
            }
            Client::Compat(client) => {
                let receiver = client.events();
                Ok(
                    futures_util::stream::unfold(receiver, |mut receiver| async move {
                        // A lag ends the stream, like obws's: the task re-reads the state.
                        let event = receiver.recv().await.ok()?;
                        Some((event, receiver))
                    })
                    .boxed(),
                )
            }
        }
    }

    /// OBS's version and obs-websocket's.
    pub async fn version(&self) -> Result<(String, String), ClientError> {
        match self {
            Client::Obws(c) => {
                let v = c.general().version().await?;
                Ok((
                    v.obs_studio_version.to_string(),
                    v.obs_web_socket_version.to_string(),
                ))
            }
            Client::Compat(c) => c.version().await,
        }
    }

    /// The scenes and the program scene.
    pub async fn scene_list(&self) -> Result<(Vec<SceneEntry>, Option<String>), ClientError> {
        match self {
            Client::Obws(c) => {
                let list = c.scenes().list().await?;
                let scenes = list
                    .scenes
                    .into_iter()
                    .map(|s| SceneEntry {
                        index: s.index,
                        name: s.id.name,
                    })
                    .collect();
                Ok((scenes, list.current_program_scene.map(|c| c.name)))
            }
            Client::Compat(c) => c.scene_list().await,
        }
    }

    pub async fn current_program_scene(&self) -> Result<String, ClientError> {
        match self {
            Client::Obws(c) => Ok(c.scenes().current_program_scene().await?.id.name),
            Client::Compat(c) => c.current_program_scene().await,
        }
    }

    pub async fn set_current_program_scene(&self, scene: &str) -> Result<(), ClientError> {
        match self {
            Client::Obws(c) => Ok(c.scenes().set_current_program_scene(scene).await?),
            Client::Compat(c) => c.set_current_program_scene(scene).await,
        }
    }

    pub async fn start_stream(&self) -> Result<(), ClientError> {
        match self {
            Client::Obws(c) => Ok(c.streaming().start().await?),
            Client::Compat(c) => c
                .request("StartStream", serde_json::Value::Null)
                .await
                .map(drop),
        }
    }

    pub async fn stop_stream(&self) -> Result<(), ClientError> {
        match self {
            Client::Obws(c) => Ok(c.streaming().stop().await?),
            Client::Compat(c) => c
                .request("StopStream", serde_json::Value::Null)
                .await
                .map(drop),
        }
    }

    pub async fn stream_status(&self) -> Result<StreamStatus, ClientError> {
        match self {
            Client::Obws(c) => {
                let s = c.streaming().status().await?;
                Ok(StreamStatus {
                    active: s.active,
                    reconnecting: s.reconnecting,
                    bytes: s.bytes,
                    duration_secs: u64::try_from(s.duration.whole_seconds()).unwrap_or(0),
                    skipped_frames: s.skipped_frames,
                    total_frames: s.total_frames,
                    congestion: s.congestion,
                })
            }
            Client::Compat(c) => c.stream_status().await,
        }
    }

    pub async fn record_active(&self) -> Result<bool, ClientError> {
        match self {
            Client::Obws(c) => Ok(c.recording().status().await?.active),
            Client::Compat(c) => c.record_active().await,
        }
    }

    pub async fn start_record(&self) -> Result<(), ClientError> {
        match self {
            Client::Obws(c) => Ok(c.recording().start().await?),
            Client::Compat(c) => c
                .request("StartRecord", serde_json::Value::Null)
                .await
                .map(drop),
        }
    }

    pub async fn stop_record(&self) -> Result<(), ClientError> {
        match self {
            Client::Obws(c) => c.recording().stop().await.map(drop).map_err(Into::into),
            Client::Compat(c) => c
                .request("StopRecord", serde_json::Value::Null)
                .await
                .map(drop),
        }
    }

    pub async fn stats(&self) -> Result<Stats, ClientError> {
        match self {
            Client::Obws(c) => {
                let s = c.general().stats().await?;
                Ok(Stats {
                    active_fps: s.active_fps,
                    cpu_percent: s.cpu_usage,
                    disk_space_mb: Some(s.available_disk_space),
                })
            }
            Client::Compat(c) => c.stats().await,
        }
    }

    pub async fn media_playing(&self, input: &str) -> Result<bool, ClientError> {
        match self {
            Client::Obws(c) => Ok(c.media_inputs().status(input.into()).await?.state
                == obws::responses::media_inputs::MediaState::Playing),
            Client::Compat(c) => c.media_playing(input).await,
        }
    }

    pub async fn restart_media(&self, input: &str) -> Result<(), ClientError> {
        match self {
            Client::Obws(c) => Ok(c
                .media_inputs()
                .trigger_action(input.into(), obws::common::MediaAction::Restart)
                .await?),
            Client::Compat(c) => c.restart_media(input).await,
        }
    }

    /// `SetInputMute`: mute or unmute an input that has audio.
    pub async fn set_input_mute(&self, input: &str, muted: bool) -> Result<(), ClientError> {
        match self {
            Client::Obws(c) => Ok(c.inputs().set_muted(input.into(), muted).await?),
            Client::Compat(c) => c
                .request(
                    "SetInputMute",
                    serde_json::json!({ "inputName": input, "inputMuted": muted }),
                )
                .await
                .map(drop),
        }
    }

    /// `GetInputMute`.
    pub async fn input_muted(&self, input: &str) -> Result<bool, ClientError> {
        match self {
            Client::Obws(c) => Ok(c.inputs().muted(input.into()).await?),
            Client::Compat(c) => c.input_muted(input).await,
        }
    }

    /// `GetSceneItemEnabled`.
    pub async fn scene_item_enabled(&self, scene: &str, item: i64) -> Result<bool, ClientError> {
        match self {
            Client::Obws(c) => Ok(c.scene_items().enabled(scene.into(), item).await?),
            Client::Compat(c) => c.scene_item_enabled(scene, item).await,
        }
    }

    /// `GetSceneItemId`: the id of `source`'s item in `scene` (the first one, as OBS searches).
    pub async fn scene_item_id(&self, scene: &str, source: &str) -> Result<i64, ClientError> {
        match self {
            Client::Obws(c) => Ok(c
                .scene_items()
                .id(obws::requests::scene_items::Id {
                    scene: scene.into(),
                    source,
                    search_offset: None,
                })
                .await?),
            Client::Compat(c) => c.scene_item_id(scene, source).await,
        }
    }

    /// `SetSceneItemEnabled`: show or hide a scene item.
    pub async fn set_scene_item_enabled(
        &self,
        scene: &str,
        item: i64,
        enabled: bool,
    ) -> Result<(), ClientError> {
        match self {
            Client::Obws(c) => Ok(c
                .scene_items()
                .set_enabled(obws::requests::scene_items::SetEnabled {
                    scene: scene.into(),
                    item_id: item,
                    enabled,
                })
                .await?),
            Client::Compat(c) => c
                .request(
                    "SetSceneItemEnabled",
                    serde_json::json!({
                        "sceneName": scene, "sceneItemId": item, "sceneItemEnabled": enabled
                    }),
                )
                .await
                .map(drop),
        }
    }

    /// Close the socket (doctor's checks end with it).
    pub async fn disconnect(self) {
        match self {
            Client::Obws(mut c) => {
                c.disconnect().await;
            }
            Client::Compat(c) => drop(c),
        }
    }
}

/// A call with a timeout.
pub async fn within<T>(
    timeout: Duration,
    call: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(ClientError::Timeout))
}

fn from_obws(event: obws::events::Event) -> Option<ObsEvent> {
    use obws::events::{Event as E, OutputState as S};
    Some(match event {
        E::CurrentProgramSceneChanged { id } => ObsEvent::CurrentProgramSceneChanged(id.name),
        E::SceneListChanged { scenes } => ObsEvent::SceneListChanged(
            scenes
                .into_iter()
                .map(|s| SceneEntry {
                    index: s.index,
                    name: s.name,
                })
                .collect(),
        ),
        E::StreamStateChanged { active, state } => ObsEvent::StreamStateChanged {
            active,
            state: match state {
                S::Starting => OutputState::Starting,
                S::Started => OutputState::Started,
                S::Stopping => OutputState::Stopping,
                S::Stopped => OutputState::Stopped,
                S::Reconnecting => OutputState::Reconnecting,
                S::Reconnected => OutputState::Reconnected,
                S::Resumed => OutputState::Resumed,
                _ => OutputState::Other,
            },
        },
        E::RecordStateChanged { active, .. } => ObsEvent::RecordStateChanged { active },
        E::InputMuteStateChanged { id, muted } => ObsEvent::InputMuteChanged {
            input: id.name,
            muted,
        },
        E::SceneItemEnableStateChanged {
            scene,
            item_id,
            enabled,
        } => ObsEvent::SceneItemEnabledChanged {
            scene: scene.name,
            item: i64::try_from(item_id).ok()?,
            enabled,
        },
        E::ServerStopping | E::ServerStopped | E::ExitStarted => ObsEvent::Exiting,
        _ => return None,
    })
}
