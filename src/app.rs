//! Wiring: build the [`Context`], start the enabled tasks under supervision, shut down.
//!
//! A supervised task that returns an error or panics is logged with its name and restarted with
//! capped exponential backoff; the process never dies because one feature failed. On shutdown
//! every task's token is cancelled and `run` returns once all have finished (at most
//! [`SHUTDOWN_GRACE`]).

use crate::config::Config;
pub use crate::context::Context;
use crate::dispatch::Cooldowns;
use crate::i18n::I18n;
use crate::retry::Backoff;
use crate::secrets::{Redactor, Secrets};
use crate::status::{EarlyReceiver, Event, EventBus, SharedStatus, Status, TaskState, TaskStatus};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown may take before `run` gives up waiting.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// First restart delay after a failure.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest restart delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A task that ran this long before failing starts again from [`BACKOFF_MIN`].
pub const STABLE_AFTER: Duration = Duration::from_secs(60);

impl Context {
    pub fn new(
        config: Config,
        secrets: Secrets,
        redactor: Redactor,
    ) -> anyhow::Result<Arc<Context>> {
        let i18n = I18n::new(&config.locale, &config.messages)?;
        let tls = crate::tls::Tls::new(&config.tls)?;
        let status = SharedStatus::new(Status::new(config.features(), crate::status::now_unix()));
        let events = EventBus::default();
        let guard = config.guard.clone().map(|guard| {
            let state = crate::state_store::StateDir::new(&config.state_dir);
            crate::guard::GuardHandle::new(guard, state, status.publisher(|s| &mut s.guard))
        });
        let twitch = config.twitch.clone().map(|twitch| {
            Arc::new(crate::twitch::Twitch::new(
                twitch,
                &secrets,
                crate::state_store::StateDir::new(&config.state_dir),
                redactor.clone(),
                &tls,
                status.publisher(|s| &mut s.twitch),
                events.clone(),
            ))
        });
        let kick = config.kick.clone().map(|kick| {
            Arc::new(crate::kick::Kick::new(
                kick,
                &config.commands.prefix,
                &secrets,
                crate::state_store::StateDir::new(&config.state_dir),
                redactor.clone(),
                &tls,
            ))
        });
        let kick_links = kick.as_ref().map(|_| crate::kick::Links::default());
        let obs = config.obs.clone().map(|obs| {
            crate::obs::ObsHandle::new(
                obs,
                secrets.get("OBS_PASSWORD").cloned(),
                status.subscribe(),
                events.clone(),
                tls.clone(),
            )
        });
        let restream = crate::restream::Restream::new(
            &config,
            &tls,
            redactor.clone(),
            status.publisher(|s| &mut s.restream),
            events.clone(),
        )
        .map(Arc::new);
        let power = config.power.clone().map(|power| {
            let peer = crate::power::Power {
                config: power,
                status: status.publisher(|s| &mut s.power),
                events: events.clone(),
            };
            peer.status.modify(|part| *part = Some(Default::default()));
            peer
        });
        let shutdown = CancellationToken::new();
        let services = config.services.as_ref().map(|services| {
            let peer = crate::services::Services {
                config: services.clone(),
                programs: config.programs.clone(),
                stunnel_unit: config
                    .restream
                    .as_ref()
                    .and_then(|r| r.stunnel.as_ref())
                    .and_then(|s| s.unit.clone()),
                redactor: redactor.clone(),
                events: events.clone(),
                shutdown: shutdown.clone(),
                status: status.publisher(|s| &mut s.services),
            };
            let initial = crate::services::initial_status(services);
            peer.status.modify(|part| *part = Some(initial));
            peer
        });
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let alerts = config
            .web
            .as_ref()
            .and_then(|web| web.overlay.as_ref())
            .map(|overlay| Arc::new(crate::alerts::Alerts::new(overlay, &i18n, metrics.clone())));
        let bans = config.web.as_ref().map(|web| {
            Arc::new(crate::web::bans::Bans::load(
                crate::state_store::StateDir::new(&config.state_dir),
                web.auto_ban.clone(),
                web.limits.max_auto_bans,
            ))
        });
        Ok(Arc::new(Context {
            history_events: EarlyReceiver::notable(&events),
            metrics_events: EarlyReceiver::new(&events),
            alert_events: EarlyReceiver::notable(&events),
            config: Arc::new(config),
            secrets: Arc::new(secrets),
            tls,
            redactor,
            i18n: Arc::new(i18n),
            discord_status: status.publisher(|s| &mut s.discord),
            status,
            events,
            cooldowns: Cooldowns::default(),
            obs,
            guard,
            twitch,
            kick,
            kick_links,
            restream,
            power,
            services,
            history: Arc::new(crate::history::History::new()),
            metrics,
            alerts,
            bans,
            started: Instant::now(),
            shutdown,
        }))
    }

    fn set_task(&self, name: &str, state: TaskState, restarts: u32, last_error: Option<String>) {
        self.status.publisher(|s| &mut s.tasks).modify(|tasks| {
            tasks.insert(
                name.to_string(),
                TaskStatus {
                    state,
                    restarts,
                    last_error,
                },
            );
        });
    }
}

/// Kick's webhook route for the web server, when `kick.reader` is `Webhook`: Kick's published
/// key (built in), chat handed to the Kick link's queue.
fn kick_webhook(ctx: &Context) -> Option<(String, crate::kick::WebhookReceiver)> {
    let (Some(kick), Some(links)) = (&ctx.kick, &ctx.kick_links) else {
        return None;
    };
    let Some(crate::config::KickReader::Webhook {
        path,
        public_key_file,
    }) = &kick.config.reader
    else {
        return None;
    };
    let pem = match public_key_file {
        None => crate::kick::webhook::KICK_PUBLIC_KEY_PEM.to_string(),
        Some(file) => match std::fs::read_to_string(file) {
            Ok(pem) => pem,
            Err(error) => {
                tracing::error!(%error, file = %file.display(), "cannot read kick.reader.public_key_file: webhooks are refused");
                return None;
            }
        },
    };
    let key = match crate::kick::webhook::PublicKey::from_pem(&pem) {
        Ok(key) => key,
        Err(error) => {
            tracing::error!(%error, "Kick's public key does not read: webhooks are refused");
            return None;
        }
    };
    let receiver =
        crate::kick::WebhookReceiver::new(key, None, links.events.clone(), links.webhook.clone());
    Some((path.clone(), receiver))
}

/// Options of `stream-control run`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Read commands from stdin as the broadcaster.
    pub console: bool,
}

/// A running app.
pub struct App {
    ctx: Arc<Context>,
    tracker: TaskTracker,
}

impl App {
    /// Build the context and start every enabled task.
    pub fn start(ctx: Arc<Context>, options: RunOptions) -> App {
        let stale =
            crate::state_store::StateDir::new(&ctx.config.state_dir).remove_stale_temporaries();
        if stale > 0 {
            tracing::info!(stale, "removed temporary files of interrupted state writes");
        }
        let app = App {
            ctx,
            tracker: TaskTracker::new(),
        };
        if let Some(obs) = app.ctx.obs.clone() {
            let part = app.ctx.status.publisher(|s| &mut s.obs);
            app.supervise("obs", move |_, cancel| {
                crate::obs::run(obs.clone(), part.clone(), cancel)
            });
        }
        if let Some(twitch) = app.ctx.twitch.clone() {
            let token_twitch = twitch.clone();
            app.supervise("twitch-token", move |_, cancel| {
                crate::twitch::auth::run(token_twitch.clone(), cancel)
            });
            // EventSub hands chat messages to the chat surface on a channel; the receiver
            // outlives a restart of either task.
            let (chat, messages) = tokio::sync::mpsc::channel(crate::twitch::eventsub::CHAT_QUEUE);
            let links = crate::twitch::eventsub::Links {
                chat,
                obs: app.ctx.obs.clone(),
            };
            let eventsub_twitch = twitch.clone();
            app.supervise("twitch-eventsub", move |_, cancel| {
                crate::twitch::eventsub::run(eventsub_twitch.clone(), links.clone(), cancel)
            });
            let messages = Arc::new(tokio::sync::Mutex::new(messages));
            app.supervise("twitch-chat", move |ctx, cancel| {
                crate::surfaces::twitch_chat::serve(ctx, messages.clone(), cancel)
            });
            app.supervise(
                "twitch-chat-announce",
                crate::surfaces::twitch_chat::announce,
            );
            if twitch.config.markers.any() {
                app.supervise("twitch-markers", crate::surfaces::twitch_chat::markers);
            }
            app.supervise("twitch-stream-info", move |_, cancel| {
                crate::twitch::helix::run_stream_info(twitch.clone(), cancel)
            });
        }
        if let (Some(kick), Some(links)) = (app.ctx.kick.clone(), app.ctx.kick_links.clone()) {
            app.start_kick(kick, links);
        }
        if let Some(discord) = &app.ctx.config.discord {
            app.supervise("discord", crate::surfaces::discord::run);
            if discord.status_channel.is_some() || discord.panel_channel.is_some() {
                app.supervise("discord-status", crate::surfaces::discord::embed::run);
            }
            if discord.alerts.is_some()
                || discord.chat_mirror_channel.is_some()
                || discord.audit_channel.is_some()
                || discord.live.is_some()
            {
                app.supervise("discord-feed", crate::surfaces::discord::feed::run);
            }
        }
        if let (Some(guard), Some(obs)) = (app.ctx.guard.clone(), app.ctx.obs.clone()) {
            let (tls, events) = (app.ctx.tls.clone(), app.ctx.events.clone());
            app.supervise("guard", move |_, cancel| {
                crate::guard::run(
                    guard.clone(),
                    obs.clone(),
                    tls.clone(),
                    events.clone(),
                    cancel,
                )
            });
        }
        if let Some(restream) = app.ctx.restream.clone() {
            app.supervise("restream", move |_, cancel| {
                crate::restream::run(restream.clone(), cancel)
            });
        }
        if let Some(power) = app.ctx.power.clone() {
            app.supervise("power", move |_, cancel| {
                crate::power::run(power.clone(), cancel)
            });
        }
        if let Some(services) = app.ctx.services.clone() {
            app.supervise("services", move |_, cancel| {
                crate::services::run(services.clone(), cancel)
            });
        }
        if app.ctx.obs.is_some() || app.ctx.guard.is_some() {
            app.supervise("history", |ctx, cancel| {
                let events = ctx.history_events.take(&ctx.events);
                crate::history::run(ctx.history.clone(), events, ctx.status.subscribe(), cancel)
            });
        }
        if let Some(alerts) = app.ctx.alerts.clone() {
            app.supervise("overlay-alerts", move |ctx, cancel| {
                let events = ctx.alert_events.take(&ctx.events);
                crate::alerts::run(alerts.clone(), ctx.i18n.clone(), events, cancel)
            });
        }
        if app.ctx.config.web.is_some() {
            app.supervise("metrics", |ctx, cancel| {
                let events = ctx.metrics_events.take(&ctx.events);
                crate::metrics::run(ctx.metrics.clone(), events, cancel)
            });
            if let (Some(config), Some(bans)) = (&app.ctx.config.web, &app.ctx.bans) {
                let ctx = &app.ctx;
                let web = Arc::new(crate::web::Web {
                    config: Arc::new(config.clone()),
                    status: ctx.status.clone(),
                    part: ctx.status.publisher(|s| &mut s.web),
                    history: ctx.history.clone(),
                    metrics: ctx.metrics.clone(),
                    alerts: ctx.alerts.clone(),
                    bans: bans.clone(),
                    secrets: ctx.secrets.clone(),
                    i18n: ctx.i18n.clone(),
                    redactor: ctx.redactor.clone(),
                    kick_webhook: kick_webhook(ctx),
                });
                app.supervise("web", move |_, cancel| crate::web::run(web.clone(), cancel));
            }
        }
        if options.console {
            app.supervise("console", crate::surfaces::console::run);
        }
        app
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Kick: the two accounts' tokens kept fresh and the admins resolved, the chat reader the
    /// configuration names (the Pusher socket here; webhooks arrive through the web server's
    /// route), the link task (chat on to the surface, the stop after a host, `Status.kick`),
    /// and the chat surface with its announcements.
    fn start_kick(&self, kick: Arc<crate::kick::Kick>, links: crate::kick::Links) {
        let tokens = kick.clone();
        self.supervise("kick-token", move |_, cancel| {
            let kick = tokens.clone();
            async move {
                // Names Kick has not answered yet are asked for again now and then (an
                // answered one is not asked again): a login made after the start counts.
                let admins = async {
                    loop {
                        kick.resolve_admins().await;
                        tokio::time::sleep(Duration::from_secs(300)).await;
                    }
                };
                tokio::join!(
                    kick.tokens(crate::kick::Account::Broadcaster)
                        .maintain(cancel.clone()),
                    kick.tokens(crate::kick::Account::Bot)
                        .maintain(cancel.clone()),
                    async {
                        tokio::select! {
                            _ = cancel.cancelled() => {}
                            _ = admins => {}
                        }
                    },
                );
                Ok(())
            }
        });
        if let Some(crate::config::KickReader::Pusher {
            chatroom_id,
            channel_id,
            url,
        }) = kick.config.reader.clone()
        {
            let (tls, reader_links) = (self.ctx.tls.clone(), links.clone());
            self.supervise("kick-pusher", move |_, cancel| {
                let params = crate::kick::pusher::PusherParams {
                    url: url.clone(),
                    chatroom_id,
                    channel_id,
                    limits: crate::kick::pusher::PusherLimits::default(),
                };
                let links = crate::kick::pusher::PusherLinks {
                    events: reader_links.events.clone(),
                    health: reader_links.pusher.clone(),
                };
                crate::kick::pusher::run(tls.clone(), params, links, cancel)
            });
        }
        let (config, link, obs) = (kick.config.clone(), links.clone(), self.ctx.obs.clone());
        let part = self.ctx.status.publisher(|s| &mut s.kick);
        self.supervise("kick-link", move |_, cancel| {
            crate::kick::link::run(
                config.clone(),
                link.clone(),
                obs.clone(),
                part.clone(),
                cancel,
            )
        });
        self.supervise("kick-chat", move |ctx, cancel| {
            crate::surfaces::kick_chat::serve(ctx, links.messages.clone(), cancel)
        });
        self.supervise("kick-chat-announce", crate::surfaces::kick_chat::announce);
    }

    /// Run `task` under supervision: restarted with backoff after an error or a panic, until
    /// it returns `Ok(())` or the app shuts down.
    pub fn supervise<F, Fut>(&self, name: &'static str, task: F)
    where
        F: Fn(Arc<Context>, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let ctx = self.ctx.clone();
        self.tracker.spawn(async move {
            let mut restarts = 0u32;
            let mut backoff = Backoff::new(BACKOFF_MIN, BACKOFF_MAX);
            let mut last_error = None;
            loop {
                ctx.set_task(name, TaskState::Running, restarts, last_error.clone());
                let started = Instant::now();
                let result = tokio::spawn(task(ctx.clone(), ctx.shutdown.child_token())).await;
                let error = match result {
                    Ok(Ok(())) => break,
                    Ok(Err(error)) => format!("{error:#}"),
                    Err(join) if join.is_panic() => {
                        let panic = join.into_panic();
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        format!("panicked: {message}")
                    }
                    Err(_) => "cancelled".into(),
                };
                if ctx.shutdown.is_cancelled() {
                    break;
                }
                let error = ctx.redactor.redact(&error);
                if started.elapsed() >= STABLE_AFTER {
                    backoff.reset();
                }
                let retry_in = backoff.next_delay();
                restarts += 1;
                tracing::error!(task = name, error, restarts, retry_in = ?retry_in, "task failed; restarting");
                let _ = ctx.events.send(Event::TaskFailed {
                    task: name.to_string(),
                    error: error.clone(),
                });
                last_error = Some(error);
                ctx.set_task(name, TaskState::Restarting, restarts, last_error.clone());
                tokio::select! {
                    _ = tokio::time::sleep(retry_in) => {}
                    _ = ctx.shutdown.cancelled() => break,
                }
            }
            ctx.set_task(name, TaskState::Stopped, restarts, last_error);
        });
    }

    /// Cancel every task and wait for them, at most `grace`. Returns whether all finished.
    pub async fn shutdown(self, grace: Duration) -> bool {
        self.ctx.shutdown.cancel();
        self.tracker.close();
        let finished = tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok();
        if !finished {
            let stuck: Vec<String> = self
                .ctx
                .status
                .borrow()
                .tasks
                .iter()
                .filter(|(_, t)| t.state != TaskState::Stopped)
                .map(|(name, _)| name.clone())
                .collect();
            tracing::warn!(?stuck, "tasks did not stop in time");
        }
        finished
    }
}

/// Run until `signal` resolves (or a surface asks to quit), then shut down.
///
/// Under systemd (`Type=notify`, see [`crate::systemd`]) this loop tells systemd `READY=1` once
/// every task is started, pings `WATCHDOG=1` at half of `WatchdogSec=` (from this loop, on the
/// runtime: a runtime that stalls stops pinging and systemd restarts the service) and says
/// `STOPPING=1` before the tasks are stopped. Outside systemd it only waits.
pub async fn run(ctx: Arc<Context>, options: RunOptions, signal: impl Future<Output = ()>) -> bool {
    let notifier = crate::systemd::Notifier::from_env();
    let app = App::start(ctx, options);
    let token = app.ctx.shutdown.clone();
    let mut watchdog = notifier.as_ref().and_then(|n| n.ping_every()).map(|every| {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    });
    if let Some(notifier) = &notifier {
        notifier.ready(&ready_status(&app.ctx.config));
    }
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => {
                tracing::info!("shutting down");
                break;
            }
            _ = token.cancelled() => {
                tracing::info!("shutting down (requested)");
                break;
            }
            _ = next_tick(&mut watchdog) => {
                if let Some(notifier) = &notifier {
                    notifier.watchdog_ping();
                }
            }
        }
    }
    if let Some(notifier) = &notifier {
        notifier.stopping();
    }
    app.shutdown(SHUTDOWN_GRACE).await
}

/// The next watchdog tick, or never without a watchdog.
async fn next_tick(watchdog: &mut Option<tokio::time::Interval>) {
    match watchdog {
        Some(tick) => {
            tick.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// systemd's `STATUS=` once started: what runs.
fn ready_status(config: &Config) -> String {
    let (enabled, _) = config.features_on_off();
    if enabled.is_empty() {
        "Running (no feature enabled)".into()
    } else {
        format!("Running: {}", enabled.join(", "))
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called (inside the
/// runtime), not when the future is first polled: a SIGTERM that arrives while the tasks are
/// still starting (systemd stopping a unit right after its start, a test that stops the bot as
/// soon as the status page answers) is a clean shutdown, never the default action (killed).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            (term, int) => {
                let error = term
                    .err()
                    .or(int.err())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                tracing::warn!(%error, "cannot listen for SIGTERM/SIGINT; only Ctrl-C stops the bot");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
