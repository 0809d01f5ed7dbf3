//! The OBS connection task: connect with backoff, keep `Status.obs` current, detect and confirm
//! disconnects, publish the live client for [`super::ObsHandle`].

use super::client::{Client, ClientError, ObsEvent, OutputState, within};
use super::upload::{Monitor, Reading};
use super::{ObsHandle, compat, probe};
use crate::retry::Backoff;
use crate::status::Publisher;

/// The writer of `Status.obs`.
pub type ObsPart = Publisher<Option<ObsStatus>>;
use crate::status::{
    AudioInputStatus, Event, ObsConnection, ObsStatus, SourceStatus, StreamState, error_chain,
};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often stream and render statistics are read while connected. Nothing decides on them
/// (the guard's `Obs` kind asks OBS itself; scene and stream state come from events), they are
/// only shown, so every 5 s: two requests a second cost more CPU than the rest of an idle bot.
const STATS_INTERVAL: Duration = Duration::from_secs(5);
/// obs-websocket versions from this on are spoken by obws 0.15 (OBS 30.2 and newer); 5.0 up to
/// it by the compat client.
const OBWS_WEBSOCKET_VERSION: (u64, u64) = (5, 5);

/// The supervised OBS task. Returns when the app shuts down.
pub async fn run(obs: ObsHandle, part: ObsPart, token: CancellationToken) -> anyhow::Result<()> {
    let config = obs.config().clone();
    part.update(|o| o.connection = ObsConnection::Connecting);
    let mut backoff = Backoff::new(config.reconnect_min, config.reconnect_max);
    let mut last_failure: Option<ObsConnection> = None;
    loop {
        let attempt = tokio::select! {
            _ = token.cancelled() => return Ok(()),
            attempt = connect(&obs) => attempt,
        };
        let delay = match attempt {
            Ok(client) => {
                backoff.reset();
                last_failure = None;
                let reason = session(&part, &obs, Arc::new(client), &token).await;
                obs.inner.client.send_replace(None);
                if token.is_cancelled() {
                    part.update(|o| o.connection = ObsConnection::Offline("shutting down".into()));
                    return Ok(());
                }
                tracing::warn!(reason, "lost the connection to OBS; reconnecting");
                let cleared = part
                    .borrow()
                    .obs
                    .as_ref()
                    .map_or_else(Vec::new, |o| o.upload_problems.clone());
                part.update(|o| {
                    o.connection = ObsConnection::Offline(reason.clone());
                    o.streaming = false;
                    o.stream_state = StreamState::Idle;
                    o.outgoing_kbps = None;
                    o.upload_problems.clear();
                    o.audio.iter_mut().for_each(|a| a.muted = None);
                    o.sources.iter_mut().for_each(|s| s.visible = None);
                });
                // The upload alerts in force end with the session: each clears once.
                for problem in cleared {
                    obs.emit(Event::ObsUpload {
                        problem,
                        active: false,
                        value: None,
                        gone: true,
                    });
                }
                obs.emit(Event::ObsLost { reason });
                backoff.current()
            }
            Err(failure) => {
                // Say it once per kind of failure, not on every retry.
                if last_failure.as_ref() != Some(&failure) {
                    match &failure {
                        ObsConnection::AuthenticationFailed => tracing::error!(
                            "OBS refused the password: set OBS_PASSWORD to the obs-websocket server password"
                        ),
                        ObsConnection::TooOld(version) => tracing::error!(
                            "{version} is too old: this bot needs OBS 28 or newer (obs-websocket 5)"
                        ),
                        other => tracing::warn!(
                            host = %config.host, port = config.port, state = ?other,
                            "cannot connect to OBS; retrying with backoff"
                        ),
                    }
                }
                let slow = matches!(
                    failure,
                    ObsConnection::AuthenticationFailed | ObsConnection::TooOld(_)
                );
                part.update(|o| o.connection = failure.clone());
                last_failure = Some(failure);
                // A wrong password or an old OBS is not fixed in seconds: wait the longest.
                let delay = backoff.next_delay();
                if slow { backoff.max() } else { delay }
            }
        };
        tokio::select! {
            _ = token.cancelled() => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// Connect and identify; a failure is described as the connection state to show. obws for
/// obs-websocket 5.5 and newer; the compat client for 5.0 to 5.4 (obws refuses those after
/// identifying, so the Hello is asked for the version first only when obws gave up).
pub(crate) async fn connect(obs: &ObsHandle) -> Result<Client, ObsConnection> {
    let config = obs.config();
    let connect = obws::client::ConnectConfig {
        host: config.host.as_str(),
        port: config.port,
        dangerous: None,
        password: obs.inner.password.as_ref().map(|p| p.expose()),
        event_subscriptions: Some(obws::requests::EventSubscription::ALL),
        broadcast_capacity: 1024,
        connect_timeout: config.request_timeout,
    };
    let error = match obws::Client::connect_with_config(connect).await {
        Ok(client) => return Ok(Client::Obws(client)),
        Err(error) => error,
    };
    use obws::client::HandshakeError;
    match error {
        obws::error::Error::Handshake(HandshakeError::ConnectionClosed(Some(details)))
            if u16::from(details.code) == compat::AUTHENTICATION_FAILED =>
        {
            Err(ObsConnection::AuthenticationFailed)
        }
        obws::error::Error::Timeout => Err(ObsConnection::Offline(format!(
            "no answer from {}:{} within {:?}",
            config.host, config.port, config.request_timeout
        ))),
        obws::error::Error::Connect(error) => Err(ObsConnection::Offline(error_chain(&error))),
        other => {
            // An older obs-websocket: obws refuses its version, or cannot parse its answers.
            let version = probe::websocket_version(
                &obs.inner.tls,
                &config.host,
                config.port,
                config.request_timeout,
            )
            .await;
            match version {
                Some(version) if version_below(&version, (5, 0)) => {
                    Err(ObsConnection::TooOld(format!("obs-websocket {version}")))
                }
                Some(version) if version_below(&version, OBWS_WEBSOCKET_VERSION) => {
                    connect_compat(obs).await
                }
                _ => Err(ObsConnection::Offline(error_chain(&other))),
            }
        }
    }
}

/// The compat client for obs-websocket 5.0 to 5.4.
async fn connect_compat(obs: &ObsHandle) -> Result<Client, ObsConnection> {
    let config = obs.config();
    let url = probe::websocket_url(&config.host, config.port);
    let password = obs.inner.password.as_ref().map(|p| p.expose());
    match compat::Client::connect(&obs.inner.tls, &url, password, config.request_timeout).await {
        Ok(client) => Ok(Client::Compat(client)),
        Err(compat::HandshakeError::AuthenticationFailed) => {
            Err(ObsConnection::AuthenticationFailed)
        }
        Err(compat::HandshakeError::Unsupported(version)) => {
            Err(ObsConnection::TooOld(format!("obs-websocket {version}")))
        }
        Err(compat::HandshakeError::Failed(reason)) => Err(ObsConnection::Offline(reason)),
    }
}

/// Whether a `major.minor.patch` version is below `(major, minor)`.
fn version_below(version: &str, min: (u64, u64)) -> bool {
    let mut parts = version
        .trim()
        .split('.')
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) < min
}

/// One connected session; returns why it ended.
async fn session(
    part: &ObsPart,
    obs: &ObsHandle,
    client: Arc<Client>,
    token: &CancellationToken,
) -> String {
    let mut events = match client.events() {
        Ok(events) => events,
        Err(error) => return format!("no event stream: {error}"),
    };
    let version = match read_state(part, obs, &client).await {
        Ok(version) => version,
        Err(error) => return format!("reading OBS state failed: {}", error_chain(&error)),
    };
    warn_missing_scenes(obs);
    // The handle can use the client before Status says Connected: whoever sees Connected may
    // give a command at once.
    obs.inner.client.send_replace(Some(client.clone()));
    part.update(|o| o.connection = ObsConnection::Connected);
    tracing::info!(%version, "connected to OBS");
    obs.emit(Event::ObsConnected { version });

    // Statistics are read by their own task, so events are never held up behind those requests
    // (a stale scene in Status would make a command believe OBS is already where it should go).
    let stats_stop = token.child_token();
    let _stop_stats_with_session = stats_stop.clone().drop_guard();
    tokio::spawn({
        let (part, obs, client) = (part.clone(), obs.clone(), client.clone());
        async move {
            let mut stats = tokio::time::interval(STATS_INTERVAL);
            stats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_bytes: Option<(u64, Instant)> = None;
            let mut upload = Monitor::new(obs.config().upload.clone());
            loop {
                tokio::select! {
                    _ = stats_stop.cancelled() => return,
                    _ = stats.tick() => {}
                }
                let read = read_stats(&part, &obs, &client, &mut last_bytes, &mut upload).await;
                if let Err(error) = read {
                    tracing::debug!(%error, "reading OBS stats failed");
                    obs.inner.suspect.notify_one();
                }
            }
        }
    });
    loop {
        tokio::select! {
            _ = token.cancelled() => {
                return "shutting down".into();
            }
            event = events.next() => match event {
                Some(ObsEvent::Exiting) => {
                    return "OBS closed the connection".into();
                }
                Some(ObsEvent::CurrentProgramSceneChanged(scene)) => {
                    apply(part, obs, ObsEvent::CurrentProgramSceneChanged(scene.clone()));
                    // Sources without a scene of their own follow the program scene: read on
                    // a task of their own, like the statistics, so the events that follow are
                    // not held up behind those requests.
                    if obs.config().sources.iter().any(|s| s.scene.is_none()) {
                        let (part, obs, client) = (part.clone(), obs.clone(), client.clone());
                        tokio::spawn(async move {
                            if let Err(error) =
                                read_sources(&part, &obs, &client, Some(&scene), true).await
                            {
                                tracing::debug!(%error, "reading the sources' visibility failed");
                                obs.inner.suspect.notify_one();
                            }
                        });
                    }
                }
                Some(event) => apply(part, obs, event),
                None => {
                    // The stream also ends when we lagged behind: ask before giving up.
                    if !confirm(obs, &client).await {
                        return "the connection to OBS closed".into();
                    }
                    tracing::debug!("OBS event stream lagged; resubscribing and re-reading state");
                    events = match client.events() {
                        Ok(events) => events,
                        Err(error) => return format!("no event stream: {error}"),
                    };
                    if let Err(error) = read_state(part, obs, &client).await {
                        return format!("reading OBS state failed: {}", error_chain(&error));
                    }
                }
            },
            _ = obs.inner.suspect.notified() => {
                if !confirm(obs, &client).await {
                    return "OBS stopped answering".into();
                }
            }
        }
    }
}

/// Ask OBS something small; `false` when it does not answer.
async fn confirm(obs: &ObsHandle, client: &Client) -> bool {
    within(obs.config().request_timeout, client.version())
        .await
        .is_ok()
}

/// Read version, scenes, current scene, stream and record state into Status.
async fn read_state(
    part: &ObsPart,
    obs: &ObsHandle,
    client: &Client,
) -> Result<String, ClientError> {
    let timeout = obs.config().request_timeout;
    let (version, websocket) = within(timeout, client.version()).await?;
    let (scenes, current) = within(timeout, client.scene_list()).await?;
    let stream = within(timeout, client.stream_status()).await?;
    let recording = within(timeout, client.record_active()).await?;
    read_audio(part, obs, client).await?;
    read_sources(part, obs, client, current.as_deref(), false).await?;
    let names = top_first(scenes.into_iter().map(|s| (s.index, s.name)));
    let compatibility = client.is_compat();
    part.update(|o| {
        o.version = Some(version.clone());
        o.websocket_version = Some(websocket.clone());
        o.compatibility = compatibility;
        o.scenes = names;
        o.scene = current.clone();
        o.streaming = stream.active;
        o.stream_state = if stream.active {
            StreamState::Live
        } else {
            StreamState::Idle
        };
        o.stream_uptime_secs = stream.active.then_some(stream.duration_secs);
        o.recording = recording;
    });
    Ok(describe_version(&version, &websocket, compatibility))
}

/// The configured audio inputs' mute state into Status. OBS refusing (no such input, no audio)
/// leaves it unknown, with a warning naming OBS's reason; no answer is an error.
async fn read_audio(part: &ObsPart, obs: &ObsHandle, client: &Client) -> Result<(), ClientError> {
    let timeout = obs.config().request_timeout;
    let mut audio = Vec::new();
    for name in &obs.config().audio_inputs {
        let muted = match within(timeout, client.input_muted(name)).await {
            Ok(muted) => Some(muted),
            Err(ClientError::Api { message, .. }) => {
                tracing::warn!(input = %name, reason = %message, "an input in obs.audio_inputs cannot be muted");
                None
            }
            Err(error) => return Err(error),
        };
        audio.push(AudioInputStatus {
            name: name.clone(),
            muted,
        });
    }
    part.update(|o| o.audio = audio);
    Ok(())
}

/// The configured sources' visibility into Status, each in its scene or in `program`; with
/// `only_program`, just the sources that follow the program scene. OBS refusing (no such scene
/// or item) leaves it unknown, with a warning for a source with a scene of its own (one that
/// follows the program scene is simply not in every scene); no answer is an error.
async fn read_sources(
    part: &ObsPart,
    obs: &ObsHandle,
    client: &Client,
    program: Option<&str>,
    only_program: bool,
) -> Result<(), ClientError> {
    let timeout = obs.config().request_timeout;
    let configured = &obs.config().sources;
    let mut read = Vec::new();
    for source in configured {
        if only_program && source.scene.is_some() {
            continue;
        }
        let scene = source.scene.as_deref().or(program);
        let mut state = SourceStatus {
            name: source.name.clone(),
            scene: scene.map(str::to_string),
            visible: None,
            item_id: None,
        };
        if let Some(scene) = scene {
            let item = match within(timeout, client.scene_item_id(scene, &source.name)).await {
                Ok(item) => Some(item),
                Err(ClientError::Api { message, .. }) => {
                    if source.scene.is_some() {
                        tracing::warn!(source = %source.name, scene, reason = %message, "a source in obs.sources is not in its scene");
                    }
                    None
                }
                Err(error) => return Err(error),
            };
            if let Some(item) = item {
                state.item_id = Some(item);
                state.visible = match within(timeout, client.scene_item_enabled(scene, item)).await
                {
                    Ok(enabled) => Some(enabled),
                    Err(ClientError::Api { .. }) => None,
                    Err(error) => return Err(error),
                };
            }
        }
        read.push(state);
    }
    part.update(|o| {
        if only_program {
            // A later scene change's read wins: this one is about a scene no longer shown.
            if o.scene.as_deref() != program {
                return;
            }
            for state in read {
                if let Some(old) = o.sources.iter_mut().find(|s| s.name == state.name) {
                    *old = state;
                }
            }
        } else {
            o.sources = read;
        }
    });
    Ok(())
}

/// `OBS 29.0.2 (obs-websocket 5.1.0), compatibility mode`, as the log, doctor and status say it.
pub(crate) fn describe_version(obs: &str, websocket: &str, compatibility: bool) -> String {
    let mut text = format!("OBS {obs} (obs-websocket {websocket})");
    if compatibility {
        text.push_str(", compatibility mode");
    }
    text
}

/// Stream counters and render statistics, every [`STATS_INTERVAL`], and the upload alerts
/// judged on them.
async fn read_stats(
    part: &ObsPart,
    obs: &ObsHandle,
    client: &Client,
    last_bytes: &mut Option<(u64, Instant)>,
    upload: &mut Monitor,
) -> Result<(), ClientError> {
    let timeout = obs.config().request_timeout;
    let stream = within(timeout, client.stream_status()).await?;
    let stats = within(timeout, client.stats()).await?;
    let now = Instant::now();
    let (reconnecting_event, recording) = part.borrow().obs.as_ref().map_or((false, false), |o| {
        (o.stream_state == StreamState::Reconnecting, o.recording)
    });
    let changes = upload.observe(
        &Reading {
            streaming: stream.active,
            reconnecting: stream.reconnecting || (stream.active && reconnecting_event),
            congestion: f64::from(stream.congestion),
            dropped_frames: stream.skipped_frames,
            total_frames: stream.total_frames,
            recording,
            disk_space_mb: stats.disk_space_mb,
        },
        now,
    );
    let problems = upload.active();
    let kbps = match *last_bytes {
        Some((bytes, at)) if stream.active && stream.bytes >= bytes => {
            let secs = now.duration_since(at).as_secs_f64();
            (secs > 0.0)
                .then(|| ((stream.bytes - bytes) as f64 * 8.0 / 1000.0 / secs).round() as u32)
        }
        _ => None,
    };
    *last_bytes = stream.active.then_some((stream.bytes, now));
    part.update(|o| {
        o.outgoing_kbps = if stream.active {
            kbps.or(o.outgoing_kbps)
        } else {
            None
        };
        o.stream_uptime_secs = stream.active.then_some(stream.duration_secs);
        o.skipped_frames = stream.active.then_some(stream.skipped_frames);
        o.total_frames = stream.active.then_some(stream.total_frames);
        o.congestion = stream.active.then_some(stream.congestion);
        o.fps = Some((stats.active_fps * 10.0).round() / 10.0);
        o.cpu_percent = Some((stats.cpu_percent * 10.0).round() / 10.0);
        o.disk_space_mb = stats.disk_space_mb.map(f64::round);
        o.upload_problems = problems;
    });
    for change in changes {
        let verb = if change.active { "started" } else { "cleared" };
        tracing::info!(problem = change.problem.as_str(), value = ?change.value, "upload alert {verb}");
        obs.emit(Event::ObsUpload {
            problem: change.problem,
            active: change.active,
            value: change.value,
            gone: change.gone,
        });
    }
    Ok(())
}

/// Scene names top first, as OBS's scene dock shows them (OBS numbers the bottom scene 0).
pub(crate) fn top_first(scenes: impl Iterator<Item = (usize, String)>) -> Vec<String> {
    let mut scenes: Vec<(usize, String)> = scenes.collect();
    scenes.sort_by_key(|(index, _)| std::cmp::Reverse(*index));
    scenes.into_iter().map(|(_, name)| name).collect()
}

/// Keep Status current from one OBS event.
fn apply(part: &ObsPart, obs: &ObsHandle, event: ObsEvent) {
    match event {
        ObsEvent::CurrentProgramSceneChanged(scene) => {
            let changed =
                part.borrow().obs.as_ref().and_then(|o| o.scene.clone()) != Some(scene.clone());
            part.update(|o| o.scene = Some(scene.clone()));
            if changed {
                obs.emit(Event::ObsSceneChanged { scene });
            }
        }
        ObsEvent::SceneListChanged(scenes) => {
            let names = top_first(scenes.into_iter().map(|s| (s.index, s.name)));
            part.update(|o| o.scenes = names);
            warn_missing_scenes(obs);
        }
        ObsEvent::StreamStateChanged { active, state } => {
            let stream_state = match state {
                OutputState::Starting => StreamState::Starting,
                OutputState::Started | OutputState::Reconnected | OutputState::Resumed => {
                    StreamState::Live
                }
                OutputState::Stopping => StreamState::Stopping,
                OutputState::Reconnecting => StreamState::Reconnecting,
                OutputState::Stopped => StreamState::Idle,
                OutputState::Other => {
                    if active {
                        StreamState::Live
                    } else {
                        StreamState::Idle
                    }
                }
            };
            let (was, was_state) = part
                .borrow()
                .obs
                .as_ref()
                .map_or((false, StreamState::Idle), |o| {
                    (o.streaming, o.stream_state)
                });
            part.update(|o| {
                o.streaming = active;
                o.stream_state = stream_state;
                if !active {
                    o.outgoing_kbps = None;
                    o.stream_uptime_secs = None;
                }
            });
            // OBS may repeat a state (Firebot #2079): announce edges only.
            if was != active {
                obs.emit(Event::ObsStreamChanged { streaming: active });
            }
            if was_state == StreamState::Starting && stream_state == StreamState::Idle {
                obs.emit(Event::ObsStreamFailed);
            }
        }
        ObsEvent::RecordStateChanged { active } => part.update(|o| o.recording = active),
        ObsEvent::InputMuteChanged { input, muted } => part.update(|o| {
            if let Some(audio) = o.audio.iter_mut().find(|a| a.name == input) {
                audio.muted = Some(muted);
            }
        }),
        ObsEvent::SceneItemEnabledChanged {
            scene,
            item,
            enabled,
        } => part.update(|o| {
            for source in &mut o.sources {
                if source.scene.as_deref() == Some(scene.as_str()) && source.item_id == Some(item) {
                    source.visible = Some(enabled);
                }
            }
        }),
        ObsEvent::Exiting => {}
    }
}

/// A configured scene that OBS does not have is a startup warning naming what exists.
fn warn_missing_scenes(obs: &ObsHandle) {
    let scenes = obs.scenes();
    let missing = missing_scenes(obs.config(), &scenes);
    if !missing.is_empty() {
        tracing::warn!(
            missing = ?missing,
            existing = ?scenes,
            "scenes named in config.ron do not exist in OBS"
        );
    }
}

/// The scenes named in the configuration that are not in `scenes` (OBS's list), in config order.
pub(crate) fn missing_scenes<'a>(
    config: &'a crate::config::ObsConfig,
    scenes: &[String],
) -> Vec<&'a String> {
    let names = &config.scenes;
    let configured = [
        Some(&names.live),
        Some(&names.low),
        Some(&names.brb),
        Some(&names.offline),
        names.starting.as_ref(),
        names.ending.as_ref(),
        names.ad_break.as_ref(),
        config.refresh_scene.as_ref(),
    ];
    let mut missing: Vec<&String> = Vec::new();
    for name in configured.into_iter().flatten() {
        if !scenes.contains(name) && !missing.contains(&name) {
            missing.push(name);
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::version_below;

    #[test]
    fn websocket_versions_before_5_5_are_too_old() {
        assert!(version_below("5.1.0", (5, 5)));
        assert!(version_below("4.9.1", (5, 5)));
        assert!(!version_below("5.5.0", (5, 5)));
        assert!(!version_below("5.6.2", (5, 5)));
        assert!(!version_below("6.0.0", (5, 5)));
        assert!(version_below("garbage", (5, 5)));
    }
}
