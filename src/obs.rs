//! OBS over obs-websocket v5: through the real obws 0.15 client for obs-websocket 5.5 and newer
//! (OBS 30.2+), through the small [`compat`] client for 5.0 to 5.4 (OBS 28.0 to 30.1); the
//! connection task picks one at connect time, and nothing above [`client::Client`] knows which.
//!
//! One task ([`run`], supervised) owns the connection: it connects with capped exponential
//! backoff, keeps `Status.obs` current from events, confirms a suspected disconnect with a
//! request before reconnecting (obws ends its event stream when a consumer lags, while the socket
//! lives on), and publishes the live client through a `watch`. The cheap, cloneable
//! [`ObsHandle`] calls obws directly on the current client, every call with a timeout, so slow
//! requests never queue behind each other; with no client it answers [`ObsError::NotConnected`]
//! at once instead of hanging.
//!
//! Stream start and stop are **confirmed** from `StreamStateChanged`/`GetStreamStatus`
//! (`outputActive`): OBS answers `StartStream` with success even when the ingest then refuses
//! the output.

mod actor;
mod ad_break;
pub mod client;
mod compat;
mod probe;
mod raid;
pub mod scenes;
mod upload;

pub use actor::run;
pub(crate) use actor::{connect, describe_version, missing_scenes, top_first};

use crate::config::{ObsConfig, SourceConfig};
use crate::reply::{Reply, keys};
use crate::secrets::Secret;
use crate::status::{Event, Status, StreamState, SwitchedBy};
use client::{Client, ClientError, status_code};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, broadcast, watch};

/// Why an OBS action did not happen. Each maps to a localised reply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ObsError {
    #[error("OBS is not connected")]
    NotConnected,
    #[error("OBS did not answer within {0:?}")]
    Timeout(Duration),
    #[error("OBS has no scene `{0}`")]
    UnknownScene(String),
    #[error("OBS has no media source `{0}`")]
    UnknownSource(String),
    /// OBS answered with this `RequestStatus` code and comment.
    #[error("OBS refused: {reason}")]
    Refused { code: u16, reason: String },
    #[error("OBS has no input `{0}`")]
    UnknownInput(String),
    #[error("OBS input `{0}` has no audio")]
    NoAudio(String),
    #[error("OBS scene `{scene}` has no source `{name}`")]
    NotInScene { name: String, scene: String },
    /// The output did not reach the asked state in time (`started`: true for a start).
    #[error("OBS did not confirm that the stream {} within {timeout:?}", if *started { "started" } else { "stopped" })]
    NotConfirmed { started: bool, timeout: Duration },
    /// OBS accepted `StartStream`, then the output stopped (the ingest refused it).
    #[error("OBS started the stream, but the output stopped again (is the ingest server up?)")]
    StreamFailed,
}

impl ObsError {
    /// The localised answer for a person.
    pub fn reply(&self) -> Reply {
        match self {
            ObsError::NotConnected => Reply::new(keys::OBS_NOT_CONNECTED),
            ObsError::Timeout(_) => Reply::new(keys::OBS_TIMEOUT),
            ObsError::UnknownScene(scene) => {
                Reply::new(keys::OBS_UNKNOWN_SCENE).arg("scene", scene.clone())
            }
            ObsError::UnknownSource(source) => {
                Reply::new(keys::OBS_UNKNOWN_SOURCE).arg("source", source.clone())
            }
            ObsError::Refused { reason, .. } => {
                Reply::new(keys::OBS_REFUSED).arg("reason", reason.clone())
            }
            ObsError::UnknownInput(input) => {
                Reply::new(keys::OBS_UNKNOWN_INPUT).arg("input", input.clone())
            }
            ObsError::NoAudio(input) => Reply::new(keys::OBS_NO_AUDIO).arg("input", input.clone()),
            ObsError::NotInScene { name, scene } => Reply::new(keys::OBS_NOT_IN_SCENE)
                .arg("source", name.clone())
                .arg("scene", scene.clone()),
            ObsError::NotConfirmed { started, timeout } => Reply::new(if *started {
                keys::OBS_START_NOT_CONFIRMED
            } else {
                keys::OBS_STOP_NOT_CONFIRMED
            })
            .number("seconds", timeout.as_secs_f64().round()),
            ObsError::StreamFailed => Reply::new(keys::OBS_STREAM_FAILED),
        }
        .with_outcome(crate::reply::Outcome::Failed)
    }
}

impl From<ObsError> for crate::reply::UserError {
    fn from(error: ObsError) -> Self {
        crate::reply::UserError {
            reply: error.reply(),
        }
    }
}

/// What `start_stream`/`stop_stream` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Nothing to do: already in the asked state.
    Already,
}

/// A cheap handle to the OBS connection.
#[derive(Clone)]
pub struct ObsHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ObsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObsHandle")
            .field("host", &self.inner.config.host)
            .field("port", &self.inner.config.port)
            .finish()
    }
}

struct Inner {
    config: ObsConfig,
    password: Option<Secret>,
    /// The live client, published by the connection task.
    client: watch::Sender<Option<Arc<Client>>>,
    /// Raised by a failed call: the connection task confirms with a request.
    suspect: Notify,
    status: watch::Receiver<Status>,
    events: crate::status::EventBus,
    /// For the version probe's WebSocket (`ws://`: obs-websocket has no TLS of its own).
    tls: crate::tls::Tls,
    /// When the last raid was handled (raids are handled once within 30 s).
    last_raid: std::sync::Mutex<Option<tokio::time::Instant>>,
    /// The ad break the ad scene covers now, if any (`ad_break`).
    ad_cover: std::sync::Mutex<Option<ad_break::Cover>>,
}

impl ObsHandle {
    pub fn new(
        config: ObsConfig,
        password: Option<Secret>,
        status: watch::Receiver<Status>,
        events: crate::status::EventBus,
        tls: crate::tls::Tls,
    ) -> ObsHandle {
        let (client, _) = watch::channel(None);
        ObsHandle {
            inner: Arc::new(Inner {
                config,
                password,
                client,
                suspect: Notify::new(),
                status,
                events,
                tls,
                last_raid: std::sync::Mutex::new(None),
                ad_cover: std::sync::Mutex::new(None),
            }),
        }
    }

    pub fn config(&self) -> &ObsConfig {
        &self.inner.config
    }

    /// Whether a client is connected right now.
    pub fn is_connected(&self) -> bool {
        self.inner.client.borrow().is_some()
    }

    /// The scene list as last seen (empty when never connected).
    pub fn scenes(&self) -> Vec<String> {
        self.inner
            .status
            .borrow()
            .obs
            .as_ref()
            .map(|o| o.scenes.clone())
            .unwrap_or_default()
    }

    /// The scenes OBS has that `scene <name>` may switch to ([`ObsConfig::switchable`]): what
    /// chat and autocomplete may reach or name.
    pub fn switchable_scenes(&self) -> Vec<String> {
        let allowed = self.config().switchable();
        let mut scenes = self.scenes();
        scenes.retain(|scene| allowed.contains(&scene.as_str()));
        scenes
    }

    /// The current program scene as last seen.
    pub fn current_scene(&self) -> Option<String> {
        self.inner
            .status
            .borrow()
            .obs
            .as_ref()
            .and_then(|o| o.scene.clone())
    }

    /// Whether the stream output is active, as last seen.
    pub fn is_streaming(&self) -> bool {
        self.inner
            .status
            .borrow()
            .obs
            .as_ref()
            .is_some_and(|o| o.streaming)
    }

    /// Run one call on the current client with the request timeout.
    async fn call<T, F, Fut>(&self, call: F) -> Result<T, ObsError>
    where
        F: FnOnce(Arc<Client>) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let client = self
            .inner
            .client
            .borrow()
            .clone()
            .ok_or(ObsError::NotConnected)?;
        let timeout = self.inner.config.request_timeout;
        match tokio::time::timeout(timeout, call(client)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(ClientError::Api { code, message })) => Err(ObsError::Refused {
                code,
                reason: message,
            }),
            Ok(Err(error)) => {
                tracing::debug!(%error, "OBS request failed; checking the connection");
                self.inner.suspect.notify_one();
                Err(ObsError::NotConnected)
            }
            Err(_) => {
                self.inner.suspect.notify_one();
                Err(ObsError::Timeout(timeout))
            }
        }
    }

    /// Switch the program scene. An unknown name is [`ObsError::UnknownScene`].
    pub async fn set_scene(&self, name: &str) -> Result<(), ObsError> {
        let scene = name.to_string();
        self.call(|c| async move { c.set_current_program_scene(scene.as_str()).await })
            .await
            .map_err(|e| match e {
                ObsError::Refused { .. } => ObsError::UnknownScene(name.to_string()),
                other => other,
            })
    }

    /// Start streaming and wait until OBS confirms the output is live.
    pub async fn start_stream(&self) -> Result<Outcome, ObsError> {
        if self.stream_state_now()? == StreamState::Live {
            return Ok(Outcome::Already);
        }
        // Listen before asking, so a quick STARTING → STOPPED is not missed.
        let mut events = self.inner.events.subscribe_notable();
        self.call(|c| async move { c.start_stream().await }).await?;
        let timeout = self.inner.config.stop.confirm_timeout;
        let confirmed = tokio::time::timeout(timeout, async {
            loop {
                if self.is_streaming() {
                    return Ok(());
                }
                match events.recv().await {
                    Ok(Event::ObsStreamChanged { streaming: true }) => return Ok(()),
                    Ok(Event::ObsStreamFailed) => return Err(ObsError::StreamFailed),
                    Ok(Event::ObsLost { .. }) => return Err(ObsError::NotConnected),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Err(ObsError::NotConnected),
                }
            }
        })
        .await;
        match confirmed {
            Ok(result) => result.map(|()| Outcome::Done),
            Err(_) => Err(ObsError::NotConfirmed {
                started: true,
                timeout,
            }),
        }
    }

    /// Stop streaming and wait until OBS confirms the output stopped. If the connection drops on
    /// the way, the stop is tried once more after the reconnect (NOALBS #215).
    pub async fn stop_stream(&self) -> Result<Outcome, ObsError> {
        if !self.is_streaming() {
            // Not streaming as far as we know; if we are not even connected, say so.
            self.stream_state_now()?;
            return Ok(Outcome::Already);
        }
        let timeout = self.inner.config.stop.confirm_timeout;
        match self.stop_and_confirm(timeout).await {
            Ok(()) => Ok(Outcome::Done),
            Err(ObsError::NotConnected | ObsError::Timeout(_)) => {
                tracing::warn!(
                    "OBS connection lost while stopping the stream; trying again after reconnect"
                );
                self.wait_connected(timeout).await?;
                if !self.is_streaming() {
                    return Ok(Outcome::Done);
                }
                self.stop_and_confirm(timeout).await.map(|()| Outcome::Done)
            }
            Err(other) => Err(other),
        }
    }

    /// Stop, then wait until OBS reports the output inactive *on the same connection*: a
    /// reconnect in between (even a quick one the watch coalesced) or the loss handler's reset
    /// never counts as a confirmation.
    async fn stop_and_confirm(&self, timeout: Duration) -> Result<(), ObsError> {
        let mut status = self.inner.status.clone();
        let mut client = self.inner.client.subscribe();
        let original = client
            .borrow_and_update()
            .clone()
            .ok_or(ObsError::NotConnected)?;
        self.call(|c| async move { c.stop_stream().await }).await?;
        let confirmed = tokio::time::timeout(timeout, async {
            loop {
                let same = client.borrow_and_update().as_ref().is_some_and(|c| Arc::ptr_eq(c, &original));
                if !same {
                    return Err(ObsError::NotConnected);
                }
                if !status.borrow_and_update().obs.as_ref().is_some_and(|o| o.streaming) {
                    return Ok(());
                }
                tokio::select! {
                    changed = status.changed() => if changed.is_err() { return Err(ObsError::NotConnected) },
                    changed = client.changed() => if changed.is_err() { return Err(ObsError::NotConnected) },
                }
            }
        })
        .await;
        confirmed.unwrap_or(Err(ObsError::NotConfirmed {
            started: false,
            timeout,
        }))
    }

    /// Wait until a client is connected (and its state read), at most `timeout`.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), ObsError> {
        let mut client = self.inner.client.subscribe();
        tokio::time::timeout(timeout, client.wait_for(Option::is_some))
            .await
            .map_err(|_| ObsError::NotConnected)?
            .map(|_| ())
            .map_err(|_| ObsError::NotConnected)
    }

    fn stream_state_now(&self) -> Result<StreamState, ObsError> {
        if !self.is_connected() {
            return Err(ObsError::NotConnected);
        }
        Ok(self
            .inner
            .status
            .borrow()
            .obs
            .as_ref()
            .map_or(StreamState::Idle, |o| o.stream_state))
    }

    pub async fn start_record(&self) -> Result<(), ObsError> {
        self.call(|c| async move { c.start_record().await }).await
    }

    pub async fn stop_record(&self) -> Result<(), ObsError> {
        self.call(|c| async move { c.stop_record().await }).await
    }

    /// Restart a media source (`TriggerMediaInputAction` restart).
    pub async fn restart_media(&self, source: &str) -> Result<(), ObsError> {
        let name = source.to_string();
        self.call(|c| async move { c.restart_media(name.as_str()).await })
            .await
            .map_err(|e| match e {
                ObsError::Refused { .. } => ObsError::UnknownSource(source.to_string()),
                other => other,
            })
    }

    /// Whether a media source is playing.
    pub async fn media_playing(&self, source: &str) -> Result<bool, ObsError> {
        let name = source.to_string();
        self.call(|c| async move { c.media_playing(name.as_str()).await })
            .await
            .map_err(|e| match e {
                ObsError::Refused { .. } => ObsError::UnknownSource(source.to_string()),
                other => other,
            })
    }

    /// Mute or unmute an audio input (`SetInputMute`). No such input is
    /// [`ObsError::UnknownInput`], one without audio [`ObsError::NoAudio`].
    pub async fn set_input_mute(&self, input: &str, muted: bool) -> Result<(), ObsError> {
        let name = input.to_string();
        self.call(|c| async move { c.set_input_mute(name.as_str(), muted).await })
            .await
            .map_err(|e| match e {
                ObsError::Refused {
                    code: status_code::RESOURCE_NOT_FOUND | status_code::INVALID_RESOURCE_TYPE,
                    ..
                } => ObsError::UnknownInput(input.to_string()),
                ObsError::Refused {
                    code: status_code::INVALID_RESOURCE_STATE,
                    ..
                } => ObsError::NoAudio(input.to_string()),
                other => other,
            })
    }

    /// Show or hide a configured source's scene item (`GetSceneItemId`, then
    /// `SetSceneItemEnabled`) in its scene, or in the program scene OBS shows now. Returns the
    /// scene. Not there is [`ObsError::NotInScene`].
    pub async fn set_source_visible(
        &self,
        source: &SourceConfig,
        visible: bool,
    ) -> Result<String, ObsError> {
        let scene = match &source.scene {
            Some(scene) => scene.clone(),
            None => {
                self.call(|c| async move { c.current_program_scene().await })
                    .await?
            }
        };
        let not_in_scene = |e| match e {
            ObsError::Refused {
                code: status_code::RESOURCE_NOT_FOUND,
                ..
            } => ObsError::NotInScene {
                name: source.name.clone(),
                scene: scene.clone(),
            },
            other => other,
        };
        let (scene_name, source_name) = (scene.clone(), source.name.clone());
        let item = self
            .call(|c| async move {
                c.scene_item_id(scene_name.as_str(), source_name.as_str())
                    .await
            })
            .await
            .map_err(not_in_scene)?;
        let scene_name = scene.clone();
        self.call(|c| async move {
            c.set_scene_item_enabled(scene_name.as_str(), item, visible)
                .await
        })
        .await
        .map_err(not_in_scene)?;
        Ok(scene)
    }

    /// `GetStreamStatus`: whether the output is active and its byte counter.
    pub async fn stream_counter(&self) -> Result<(bool, u64), ObsError> {
        self.call(|c| async move { c.stream_status().await })
            .await
            .map(|s| (s.active, s.bytes))
    }

    /// Switch to `scene` for `by`, announcing it; `Ok(false)` when OBS already shows it.
    pub async fn switch_to(&self, scene: &str, by: SwitchedBy) -> Result<bool, ObsError> {
        let from = self.current_scene();
        if !self.is_connected() {
            return Err(ObsError::NotConnected);
        }
        if from.as_deref() == Some(scene) {
            // The cached scene may lag behind OBS: ask before skipping the switch.
            let now = self
                .call(|c| async move { c.current_program_scene().await })
                .await?;
            if now == scene {
                return Ok(false);
            }
        }
        self.set_scene(scene).await?;
        self.emit(Event::SceneSwitched {
            by,
            from,
            to: scene.to_string(),
        });
        Ok(true)
    }

    /// Go live the polished way: a confirmed start, then the starting scene (if configured).
    /// Shared by `start` and the guard's auto-start. Returns the scene shown after a start.
    pub async fn begin_stream(
        &self,
        by: SwitchedBy,
    ) -> Result<(Outcome, Option<String>), ObsError> {
        if self.start_stream().await? == Outcome::Already {
            return Ok((Outcome::Already, None));
        }
        match &self.inner.config.scenes.starting {
            Some(starting) => {
                self.switch_to(starting, by).await?;
                Ok((Outcome::Done, Some(starting.clone())))
            }
            None => Ok((Outcome::Done, None)),
        }
    }

    /// End the stream the polished way: the ending scene (if configured) for `ending_delay`, a
    /// confirmed stop, then the offline scene. Shared by `stop` and the raid auto-stop.
    pub async fn end_stream(&self, by: SwitchedBy) -> Result<Outcome, ObsError> {
        if !self.is_streaming() {
            self.stream_state_now()?;
            return Ok(Outcome::Already);
        }
        let config = &self.inner.config;
        if let Some(ending) = &config.scenes.ending {
            match self.switch_to(ending, by).await {
                Ok(_) => tokio::time::sleep(config.stop.ending_delay).await,
                // A missing ending scene must not keep the stream running.
                Err(error) => {
                    tracing::warn!(%error, scene = %ending, "cannot show the ending scene")
                }
            }
        }
        let outcome = self.stop_stream().await?;
        if let Err(error) = self.switch_to(&config.scenes.offline, by).await {
            tracing::warn!(%error, scene = %config.scenes.offline, "stream stopped, but cannot show the offline scene");
        }
        Ok(outcome)
    }

    pub(crate) fn emit(&self, event: Event) {
        let _ = self.inner.events.send(event);
    }
}
