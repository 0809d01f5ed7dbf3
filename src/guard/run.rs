//! The guard task and its handle.
//!
//! A poller fetches every stats server concurrently each `poll_interval` and sends the readings
//! over a channel, so the decision loop never waits on I/O. The loop `select!`s over the
//! samples, OBS events (scene changes, stream state, reconnects), control changes and shutdown;
//! it feeds [`decide`] and carries out its decisions. Runtime changes (`guard on|off`, `dryrun`,
//! `trigger`) are state in the handle: they survive a task restart and are never written into
//! `config.ron`.

use super::decide::{Decision, GuardState, Input, Level, OwnedScene, Policy, Reason, decide};
use super::stats::{IngestStats, Meter, Reading, StatsError, sample_time};
use super::tick::Tick;
use crate::config::GuardConfig;
use crate::obs::ObsHandle;
use crate::state_store::{Sensitivity, StateDir};
use crate::status::{
    Event, EventBus, GuardStatus, GuardTransition, ServerStatus, SwitchedBy, Triggers,
};
use crate::tls::Tls;
use commands::guard::{TriggerCommand, TriggerValue};
use commands::{Kbps, Millis};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What the operator changed at run time.
#[derive(Debug, Clone)]
struct Controls {
    enabled: bool,
    dry_run: bool,
    policy: Policy,
    /// The commands whose changes differ from the configuration (`Status.guard`'s
    /// `changed_at_runtime`), worked out when the controls change, not on every poll.
    changed: Vec<&'static str>,
}

/// The controls as configured, without runtime changes.
fn configured(config: &GuardConfig) -> Controls {
    Controls {
        enabled: config.enabled,
        dry_run: false,
        policy: config.policy.clone(),
        changed: Vec::new(),
    }
}

/// A cheap handle to the guard's runtime controls.
#[derive(Clone)]
pub struct GuardHandle {
    inner: Arc<Shared>,
}

struct Shared {
    config: GuardConfig,
    /// Where the runtime changes are kept across restarts ([`STATE_FILE`]).
    state: StateDir,
    controls: Mutex<Controls>,
    changed: Notify,
    /// Where a control change shows at once (the loop publishes the rest).
    status: crate::status::Publisher<Option<GuardStatus>>,
}

impl std::fmt::Debug for GuardHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardHandle").finish_non_exhaustive()
    }
}

/// A trigger change that would break the ordering of thresholds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerRefusal {
    /// `low` must stay at or below `recover` (kbps).
    #[error("low must stay at or below recover ({recover_kbps} kbps)")]
    LowAboveRecover { recover_kbps: u32 },
    /// `offline` must stay below `low` (kbps).
    #[error("offline must stay below low ({low_kbps} kbps)")]
    OfflineNotBelowLow { low_kbps: u32 },
    /// `rtt-offline` must stay above `rtt` (ms).
    #[error("rtt-offline must stay above rtt ({rtt_low_ms} ms)")]
    RttOfflineNotAboveRtt { rtt_low_ms: u32 },
}

impl GuardHandle {
    /// The guard's controls: the configured ones, with the runtime changes kept in `state`
    /// (`guard on|off`, `dryrun`, `trigger`) put back.
    pub fn new(
        config: GuardConfig,
        state: StateDir,
        status: crate::status::Publisher<Option<GuardStatus>>,
    ) -> GuardHandle {
        let controls = restore(&state, &configured(&config));
        let handle = GuardHandle {
            inner: Arc::new(Shared {
                config,
                state,
                controls: Mutex::new(controls.clone()),
                changed: Notify::new(),
                status,
            }),
        };
        handle.publish_controls(&controls);
        handle
    }

    fn publish_controls(&self, now: &Controls) {
        let servers = waiting_servers(&self.inner.config);
        self.inner.status.update(|guard| {
            // Before the guard task's first publish: every server listed, waiting.
            if guard.servers.is_empty() {
                guard.servers = servers;
            }
            guard.enabled = now.enabled;
            guard.dry_run = now.dry_run;
            guard.triggers = triggers(&now.policy);
            guard.changed_at_runtime = now.changed.clone();
        });
    }

    pub fn config(&self) -> &GuardConfig {
        &self.inner.config
    }

    fn with_controls<T>(&self, change: impl FnOnce(&mut Controls) -> T) -> T {
        let (result, now) = {
            let mut controls = self
                .inner
                .controls
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let result = change(&mut controls);
            let stored = Stored::between(&configured(&self.inner.config), &controls);
            controls.changed = stored.names();
            (result, (controls.clone(), stored))
        };
        let (now, stored) = now;
        let written = if stored == Stored::default() {
            match std::fs::remove_file(self.inner.state.path(STATE_FILE)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        } else {
            self.inner
                .state
                .write_json(STATE_FILE, &stored, Sensitivity::Public)
        };
        if let Err(error) = written {
            // The change holds until the restart; say it will not survive it.
            tracing::error!(%error, file = STATE_FILE, "cannot keep the guard's runtime change");
        }
        self.publish_controls(&now);
        self.inner.changed.notify_one();
        result
    }

    /// `trigger reset`: the configured thresholds again (switching and dry run stay).
    pub fn reset_triggers(&self) {
        let configured = self.inner.config.policy.clone();
        self.with_controls(|c| c.policy = configured);
    }

    fn controls(&self) -> Controls {
        self.inner
            .controls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Turn switching on or off; returns whether it was on.
    pub fn set_enabled(&self, on: bool) -> bool {
        self.with_controls(|c| std::mem::replace(&mut c.enabled, on))
    }

    /// Turn dry-run on or off; returns whether it was on.
    pub fn set_dry_run(&self, on: bool) -> bool {
        self.with_controls(|c| std::mem::replace(&mut c.dry_run, on))
    }

    /// Show or change a trigger; returns the value in force afterwards (`None`: disabled).
    pub fn trigger(&self, command: TriggerCommand) -> Result<Option<u32>, TriggerRefusal> {
        self.with_controls(|c| {
            let mut policy = c.policy.clone();
            let current = match command {
                TriggerCommand::Low(_) => policy.low_kbps,
                TriggerCommand::Offline(_) => policy.offline_kbps,
                TriggerCommand::Rtt(_) => policy.rtt_low_ms,
                TriggerCommand::RttOffline(_) => policy.rtt_offline_ms,
            };
            let new = match command {
                TriggerCommand::Low(v) | TriggerCommand::Offline(v) => kbps(v),
                TriggerCommand::Rtt(v) | TriggerCommand::RttOffline(v) => millis(v),
            };
            let Some(new) = new else {
                return Ok(current);
            };
            match command {
                TriggerCommand::Low(_) => policy.low_kbps = new,
                TriggerCommand::Offline(_) => policy.offline_kbps = new,
                TriggerCommand::Rtt(_) => policy.rtt_low_ms = new,
                TriggerCommand::RttOffline(_) => policy.rtt_offline_ms = new,
            }
            check_order(&policy)?;
            c.policy = policy;
            Ok(new)
        })
    }
}

/// Every configured server, before its first answer.
fn waiting_servers(config: &GuardConfig) -> Vec<ServerStatus> {
    config
        .servers
        .iter()
        .map(|s| ServerStatus {
            name: s.name.clone(),
            kind: s.kind.kind().name(),
            state: "waiting",
            bitrate_kbps: None,
            rtt_ms: None,
            error: None,
        })
        .collect()
}

/// The runtime changes, kept in the state directory so they survive a restart.
pub const STATE_FILE: &str = "guard.json";

/// A trigger changed at run time: off, or a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredTrigger {
    Off,
    Value(u32),
}

impl StoredTrigger {
    fn of(value: Option<u32>) -> StoredTrigger {
        value.map_or(StoredTrigger::Off, StoredTrigger::Value)
    }

    fn value(self) -> Option<u32> {
        match self {
            StoredTrigger::Off => None,
            StoredTrigger::Value(v) => Some(v),
        }
    }
}

/// What differs from the configuration: only those fields are stored and put back, so a
/// configuration changed later still applies to everything not changed at run time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dry_run: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    low_kbps: Option<StoredTrigger>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offline_kbps: Option<StoredTrigger>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rtt_low_ms: Option<StoredTrigger>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rtt_offline_ms: Option<StoredTrigger>,
}

impl Stored {
    fn between(configured: &Controls, now: &Controls) -> Stored {
        let differs = |a: Option<u32>, b: Option<u32>| (a != b).then(|| StoredTrigger::of(b));
        let (c, n) = (&configured.policy, &now.policy);
        Stored {
            enabled: (configured.enabled != now.enabled).then_some(now.enabled),
            dry_run: (configured.dry_run != now.dry_run).then_some(now.dry_run),
            low_kbps: differs(c.low_kbps, n.low_kbps),
            offline_kbps: differs(c.offline_kbps, n.offline_kbps),
            rtt_low_ms: differs(c.rtt_low_ms, n.rtt_low_ms),
            rtt_offline_ms: differs(c.rtt_offline_ms, n.rtt_offline_ms),
        }
    }

    /// The changed controls, named by the command that changes each (vocabulary words, the
    /// same in every locale): what `guard` and the status page show.
    fn names(&self) -> Vec<&'static str> {
        [
            ("guard", self.enabled.is_some()),
            ("dryrun", self.dry_run.is_some()),
            ("trigger low", self.low_kbps.is_some()),
            ("trigger offline", self.offline_kbps.is_some()),
            ("trigger rtt", self.rtt_low_ms.is_some()),
            ("trigger rtt-offline", self.rtt_offline_ms.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect()
    }

    fn apply(&self, configured: &Controls) -> Controls {
        let mut controls = configured.clone();
        let p = &mut controls.policy;
        for (slot, stored) in [
            (&mut p.low_kbps, self.low_kbps),
            (&mut p.offline_kbps, self.offline_kbps),
            (&mut p.rtt_low_ms, self.rtt_low_ms),
            (&mut p.rtt_offline_ms, self.rtt_offline_ms),
        ] {
            if let Some(stored) = stored {
                *slot = stored.value();
            }
        }
        controls.enabled = self.enabled.unwrap_or(controls.enabled);
        controls.dry_run = self.dry_run.unwrap_or(controls.dry_run);
        controls
    }
}

/// The configured controls with the stored runtime changes. A file that cannot be read, or
/// thresholds that no longer fit the configuration's order, are logged and left out (the file
/// stays as it is until the next change replaces it).
fn restore(state: &StateDir, configured: &Controls) -> Controls {
    let stored = match state.read_json::<Stored>(STATE_FILE) {
        Ok(Some(stored)) => stored,
        Ok(None) => return configured.clone(),
        Err(error) => {
            tracing::warn!(%error, file = STATE_FILE, "ignoring the guard's stored runtime changes");
            return configured.clone();
        }
    };
    let mut restored = stored.apply(configured);
    if let Err(refusal) = check_order(&restored.policy) {
        tracing::warn!(%refusal, "the stored triggers no longer fit the configuration; using the configured ones");
        restored.policy = configured.policy.clone();
    }
    restored.changed = Stored::between(configured, &restored).names();
    if !restored.changed.is_empty() {
        tracing::info!(changed = ?restored.changed, "guard: runtime changes restored");
    }
    restored
}

/// `Some(new value)` for a change, `None` for show.
fn kbps(value: TriggerValue<Kbps>) -> Option<Option<u32>> {
    match value {
        TriggerValue::Show => None,
        TriggerValue::Disable => Some(None),
        TriggerValue::Set(Kbps(v)) => Some(Some(v)),
    }
}

fn millis(value: TriggerValue<Millis>) -> Option<Option<u32>> {
    match value {
        TriggerValue::Show => None,
        TriggerValue::Disable => Some(None),
        TriggerValue::Set(Millis(v)) => Some(Some(v)),
    }
}

fn check_order(policy: &Policy) -> Result<(), TriggerRefusal> {
    if let Some(low) = policy.low_kbps {
        if low > policy.recover_kbps {
            return Err(TriggerRefusal::LowAboveRecover {
                recover_kbps: policy.recover_kbps,
            });
        }
        if policy.offline_kbps.is_some_and(|offline| offline >= low) {
            return Err(TriggerRefusal::OfflineNotBelowLow { low_kbps: low });
        }
    }
    if let (Some(rtt), Some(offline)) = (policy.rtt_low_ms, policy.rtt_offline_ms)
        && offline <= rtt
    {
        return Err(TriggerRefusal::RttOfflineNotAboveRtt { rtt_low_ms: rtt });
    }
    Ok(())
}

fn triggers(policy: &Policy) -> Triggers {
    Triggers {
        low_kbps: policy.low_kbps,
        recover_kbps: policy.recover_kbps,
        offline_kbps: policy.offline_kbps,
        rtt_low_ms: policy.rtt_low_ms,
        rtt_offline_ms: policy.rtt_offline_ms,
    }
}

/// The readings of one poll, per server in priority order, each with when its answer came, and
/// the tick that started the poll.
type Poll = (Vec<(Result<Reading, StatsError>, Instant)>, Instant);

/// The supervised guard task.
///
/// Under a multi-thread runtime (the product's) the guard runs on a thread of its own with a
/// current-thread runtime: a poll then wakes that one thread (the tick, the answer) and hands
/// nothing between workers. On the shared runtime each answer woke a second worker (a task
/// woken by the I/O driver while its worker is parked goes to the shared queue, and a parked
/// worker is woken to take it): 23 context switches a second at the default 250 ms poll
/// against 15 (docs/benchmarks.md). It also keeps the guard's reaction out of the way of slow
/// work on the shared runtime. Under a current-thread runtime (tests, with paused time) it
/// runs in place.
pub async fn run(
    guard: GuardHandle,
    obs: ObsHandle,
    tls: Tls,
    events: EventBus,
    token: CancellationToken,
) -> anyhow::Result<()> {
    if tokio::runtime::Handle::current().runtime_flavor()
        != tokio::runtime::RuntimeFlavor::MultiThread
    {
        return run_here(guard, obs, tls, events, token, Tick::tokio).await;
    }
    // The I/O and timer drivers only: no signal or process driver, which would look for
    // exited child processes at every turn.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let (done_tx, done) = tokio::sync::oneshot::channel();
    // The task ending (cancelled by the supervisor, or the runtime shutting down) stops the
    // thread's work too.
    let _stop = token.clone().drop_guard();
    std::thread::Builder::new()
        .name("guard".into())
        .spawn(move || {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime.block_on(run_here(guard, obs, tls, events, token, Tick::timerfd))
            }));
            let _ = done_tx.send(ran);
        })?;
    match done.await {
        Ok(Ok(result)) => result,
        // The supervisor reports a panic with its message, as for a task of its own.
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => Err(anyhow::anyhow!(
            "the guard's thread ended without an answer"
        )),
    }
}

/// The guard: its poller and its loop, on the runtime it is called on.
async fn run_here(
    guard: GuardHandle,
    obs: ObsHandle,
    tls: Tls,
    events: EventBus,
    token: CancellationToken,
    tick: fn(std::time::Duration) -> Tick,
) -> anyhow::Result<()> {
    let config = guard.config().clone();
    let (poll_tx, mut polls) = mpsc::channel::<Poll>(2);
    let client = super::stats::client(&tls);
    let poller = tokio::spawn(poll(
        tick(config.poll_interval),
        client,
        config.clone(),
        obs.clone(),
        poll_tx,
        token.clone(),
    ));
    let _stop_poller = token.clone().drop_guard();

    // Scene and stream changes only: chat traffic cannot make it lag.
    let mut notable = events.subscribe_notable();
    let mut looped = Loop {
        events,
        obs,
        guard: guard.clone(),
        state: GuardState::default(),
        meters: vec![Meter::default(); config.servers.len()],
        owned: None,
        actual: None,
        auto: AutoStart::default(),
        statuses: waiting_servers(&config),
    };
    looped.publish(None, None);
    looped.resync_scene(true);

    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = guard.inner.changed.notified() => {
                // Switching turned on again, or thresholds changed: start fresh.
                looped.state = GuardState::default();
                looped.resync_scene(true);
                looped.publish(None, None);
            }
            poll = polls.recv() => match poll {
                Some((readings, tick)) => looped.on_poll(readings, tick).await,
                None => break,
            },
            event = notable.recv() => match event {
                Ok(Event::ObsSceneChanged { .. } | Event::ObsConnected { .. }) => looped.resync_scene(false),
                Ok(Event::ObsStreamChanged { streaming }) => {
                    if !streaming {
                        looped.stream_stopped();
                    }
                    // Streaks from before a start or stop mean nothing now.
                    looped.state = GuardState::default();
                    looped.resync_scene(true);
                }
                Err(broadcast::error::RecvError::Lagged(_)) => looped.resync_scene(false),
                Err(broadcast::error::RecvError::Closed) => break,
                Ok(_) => {}
            },
        }
    }
    poller.abort();
    Ok(())
}

/// Fetch every server concurrently each `poll_interval`.
async fn poll(
    mut tick: Tick,
    client: super::stats::Client,
    config: GuardConfig,
    obs: ObsHandle,
    tx: mpsc::Sender<Poll>,
    token: CancellationToken,
) {
    loop {
        // The tick's scheduled time and each answer's arrival go along: see `sample_time`.
        let at = tokio::select! {
            _ = token.cancelled() => return,
            at = tick.tick() => at,
        };
        let fetches = config.servers.iter().map(|server| async {
            let reading = super::fetch::fetch(&client, server, Some(&obs)).await;
            (reading, Instant::now())
        });
        let readings = futures_util::future::join_all(fetches).await;
        if tx.send((readings, at)).await.is_err() {
            return;
        }
    }
}

struct Loop {
    events: EventBus,
    obs: ObsHandle,
    guard: GuardHandle,
    state: GuardState,
    meters: Vec<Meter>,
    /// The owned scene OBS shows, as far as the guard knows (in dry-run: as if it had switched).
    owned: Option<OwnedScene>,
    /// The scene OBS really showed when the state machine last heard of it: only a real change
    /// is news (in dry-run OBS keeps the old scene, which must not read as a manual switch).
    actual: Option<String>,
    statuses: Vec<ServerStatus>,
    auto: AutoStart,
}

/// What auto-start remembers between polls.
#[derive(Default)]
struct AutoStart {
    /// When the publisher now present appeared.
    publisher_since: Option<Instant>,
    /// The last stop of the stream that counts (not the guard's own offline-timeout stop).
    last_stop: Option<Instant>,
    /// The guard asked OBS to stop after the offline timeout: the next stop is that one.
    own_stop_pending: bool,
    last_attempt: Option<Instant>,
    /// A start in flight.
    starting: Arc<std::sync::atomic::AtomicBool>,
}

impl Loop {
    /// Auto-start (opt-in): a publisher that appeared when no stop was within the quiet time,
    /// present for `publisher_for`, OBS connected and not streaming, the guard on and not in dry
    /// run: start the stream as `start` does, once per appearance (a failed start again after
    /// `retry_after`), and say so.
    fn auto_start(&mut self, controls: &Controls) {
        let Some(config) = self.guard.config().auto_start.clone() else {
            return;
        };
        let now = Instant::now();
        let Some(server) = self
            .statuses
            .iter()
            .find(|s| s.state == "live")
            .map(|s| s.name.clone())
        else {
            self.auto.publisher_since = None;
            return;
        };
        let since = *self.auto.publisher_since.get_or_insert(now);
        let quiet = self
            .auto
            .last_stop
            .is_some_and(|stop| since < stop + config.quiet_after_stop);
        let retrying = self
            .auto
            .last_attempt
            .is_some_and(|at| at >= since && now < at + config.retry_after);
        if !controls.enabled
            || controls.dry_run
            || !self.obs.is_connected()
            || self.obs.is_streaming()
            || now < since + config.publisher_for
            || quiet
            || retrying
            || self
                .auto
                .starting
                .load(std::sync::atomic::Ordering::Acquire)
        {
            return;
        }
        self.auto.last_attempt = Some(now);
        self.auto
            .starting
            .store(true, std::sync::atomic::Ordering::Release);
        tracing::info!(%server, "auto-start: the publisher is there and OBS is not streaming");
        let (obs, events, starting) = (
            self.obs.clone(),
            self.events.clone(),
            self.auto.starting.clone(),
        );
        tokio::spawn(async move {
            let error = match obs.begin_stream(SwitchedBy::Guard).await {
                Ok(_) => None,
                Err(error) => {
                    tracing::warn!(%error, "auto-start: the stream did not start");
                    Some(error.to_string())
                }
            };
            let _ = events.send(Event::AutoStart { server, error });
            starting.store(false, std::sync::atomic::Ordering::Release);
        });
    }

    /// OBS's output stopped: the quiet time starts, unless it was the guard's own stop.
    fn stream_stopped(&mut self) {
        if std::mem::take(&mut self.auto.own_stop_pending) {
            return;
        }
        self.auto.last_stop = Some(Instant::now());
    }

    /// Classify a scene name: LIVE, OFFLINE, LOW, starting, or not ours.
    fn classify(&self, scene: Option<&str>) -> Option<OwnedScene> {
        let scene = scene?;
        let names = &self.obs.config().scenes;
        if scene == names.live {
            Some(OwnedScene::Level(Level::Live))
        } else if scene == names.offline {
            Some(OwnedScene::Level(Level::Offline))
        } else if scene == names.low {
            Some(OwnedScene::Level(Level::Low))
        } else if names.starting.as_deref() == Some(scene) {
            Some(OwnedScene::Starting)
        } else {
            None
        }
    }

    fn scene_for(&self, level: Level) -> &str {
        let names = &self.obs.config().scenes;
        match level {
            Level::Live => &names.live,
            Level::Low => &names.low,
            Level::Offline => &names.offline,
        }
    }

    /// Tell the state machine which scene OBS shows now, if that is news (or `force`: after the
    /// state was reset).
    fn resync_scene(&mut self, force: bool) {
        let actual = self.obs.current_scene();
        if !force && actual == self.actual {
            return;
        }
        let owned = self.classify(actual.as_deref());
        self.actual = actual;
        self.owned = owned;
        let controls = self.guard.controls();
        decide(
            &controls.policy,
            &mut self.state,
            Input::Scene(owned),
            Instant::now(),
        );
        self.publish(None, None);
    }

    async fn on_poll(
        &mut self,
        readings: Vec<(Result<Reading, StatsError>, Instant)>,
        tick: Instant,
    ) {
        let answered = readings.iter().map(|(_, at)| *at).max().unwrap_or(tick);
        let at = sample_time(tick, answered, self.guard.config().poll_interval);
        let mut samples = Vec::with_capacity(readings.len());
        for (((reading, answered), meter), status) in readings
            .into_iter()
            .zip(&mut self.meters)
            .zip(&mut self.statuses)
        {
            // Counter deltas over the real time between two answers: a counter is read when
            // its page answers (a late answer would otherwise read as a burst, then 0 kbps).
            let sample = meter.update(reading, answered);
            if let Some(sample) = &sample {
                describe(status, sample);
            }
            samples.push(sample);
        }
        let controls = self.guard.controls();
        let combined = combine(&samples, &self.statuses);
        let active = combined.as_ref().and_then(|(_, server)| server.clone());
        let idle = if !controls.enabled {
            Some("disabled")
        } else if !self.obs.is_connected() {
            Some("obs_offline")
        } else if self.guard.config().only_when_streaming && !self.obs.is_streaming() {
            Some("not_streaming")
        } else if self.owned.is_none() {
            Some("manual_scene")
        } else {
            None
        };
        self.publish(active.clone(), idle);
        self.auto_start(&controls);
        let (Some((sample, server)), None) = (combined, idle) else {
            return;
        };
        let decision = decide(&controls.policy, &mut self.state, Input::Sample(sample), at);
        self.act(decision, server, controls.dry_run).await;
    }

    async fn act(&mut self, decision: Decision, server: Option<String>, dry_run: bool) {
        match decision {
            Decision::Nothing => {}
            Decision::Switch { from, to, reason } => {
                let transition = transition(from, to, &reason, server, dry_run);
                tracing::info!(
                    from = transition.from, to = transition.to, cause = transition.cause,
                    bitrate_kbps = ?transition.bitrate_kbps, rtt_ms = ?transition.rtt_ms,
                    server = ?transition.server, dry_run, "guard decided"
                );
                let event = match to {
                    Level::Live => Event::BitrateRestored(transition),
                    Level::Low => Event::BitrateLow(transition),
                    Level::Offline => Event::IngestOffline(transition),
                };
                let _ = self.events.send(event);
                self.owned = Some(OwnedScene::Level(to));
                self.publish(None, None);
                if dry_run {
                    return;
                }
                let scene = self.scene_for(to).to_string();
                if let Err(error) = self.obs.switch_to(&scene, SwitchedBy::Guard).await {
                    tracing::warn!(%error, %scene, "the guard could not switch the scene");
                    // Tell the state machine what OBS really shows.
                    self.resync_scene(true);
                }
            }
            Decision::StopStream { reason } => {
                tracing::warn!(?reason, "offline for too long: stopping the stream");
                if dry_run {
                    let _ = self.events.send(Event::OfflineTimeout { stopped: false });
                    return;
                }
                self.auto.own_stop_pending = true;
                let obs = self.obs.clone();
                let events = self.events.clone();
                tokio::spawn(async move {
                    let stopped = match obs.end_stream(SwitchedBy::Guard).await {
                        Ok(_) => true,
                        Err(error) => {
                            tracing::error!(%error, "could not stop the stream after the offline timeout");
                            false
                        }
                    };
                    let _ = events.send(Event::OfflineTimeout { stopped });
                });
            }
        }
    }

    fn publish(&self, active: Option<String>, idle: Option<&'static str>) {
        let controls = self.guard.controls();
        let status = GuardStatus {
            enabled: controls.enabled,
            dry_run: controls.dry_run,
            level: self.owned.map(owned_name),
            idle_reason: idle,
            active_server: active,
            servers: self.statuses.clone(),
            triggers: triggers(&controls.policy),
            changed_at_runtime: controls.changed,
        };
        self.guard.inner.status.modify_if(|guard| {
            let changed = guard.as_ref() != Some(&status);
            if changed {
                *guard = Some(status);
            }
            changed
        });
    }
}

/// The sample to decide on: the first server (priority order) with a publisher; else, if any
/// server failed, its error (a failing page may hide a publisher, so the grace applies); else
/// no publisher. `None` when no server has news this poll.
fn combine(
    samples: &[Option<IngestStats>],
    statuses: &[ServerStatus],
) -> Option<(IngestStats, Option<String>)> {
    let named = samples
        .iter()
        .zip(statuses)
        .filter_map(|(s, st)| s.as_ref().map(|s| (s, &st.name)));
    let mut unreachable = None;
    let mut no_publisher = None;
    for (sample, name) in named {
        match sample {
            IngestStats::Live { .. } => return Some((sample.clone(), Some(name.clone()))),
            IngestStats::Unreachable(_) if unreachable.is_none() => {
                unreachable = Some((sample.clone(), Some(name.clone())))
            }
            IngestStats::NoPublisher if no_publisher.is_none() => {
                no_publisher = Some((sample.clone(), Some(name.clone())))
            }
            _ => {}
        }
    }
    unreachable.or(no_publisher)
}

fn describe(status: &mut ServerStatus, sample: &IngestStats) {
    match sample {
        IngestStats::Live { bitrate, rtt } => {
            status.state = "live";
            status.bitrate_kbps = Some(bitrate.0);
            status.rtt_ms = rtt.map(|r| r.0);
            status.error = None;
        }
        IngestStats::NoPublisher => {
            status.state = "no_publisher";
            status.bitrate_kbps = None;
            status.rtt_ms = None;
            status.error = None;
        }
        IngestStats::Unreachable(error) => {
            status.state = "error";
            status.bitrate_kbps = None;
            status.rtt_ms = None;
            status.error = Some(error.to_string());
        }
    }
}

fn owned_name(owned: OwnedScene) -> &'static str {
    match owned {
        OwnedScene::Level(level) => level_name(level),
        OwnedScene::Starting => "starting",
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Live => "live",
        Level::Low => "low",
        Level::Offline => "offline",
    }
}

fn transition(
    from: OwnedScene,
    to: Level,
    reason: &Reason,
    server: Option<String>,
    dry_run: bool,
) -> GuardTransition {
    use super::decide::Cause;
    let (cause, error) = match &reason.cause {
        Cause::LowBitrate => ("low_bitrate", None),
        Cause::ZeroBitrate => ("zero_bitrate", None),
        Cause::HighRtt => ("high_rtt", None),
        Cause::NoPublisher => ("no_publisher", None),
        Cause::Unreachable(error) => ("unreachable", Some(error.clone())),
        Cause::Recovered => ("recovered", None),
        Cause::OfflineTimeout => ("offline_timeout", None),
    };
    GuardTransition {
        from: owned_name(from),
        to: level_name(to),
        cause,
        error,
        bitrate_kbps: reason.bitrate_kbps,
        rtt_ms: reason.rtt_ms,
        server,
        dry_run,
    }
}
