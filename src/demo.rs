//! `stream-control demo`: the whole bot against built-in simulators on `127.0.0.1`, so a
//! newcomer can type `!brb` and watch the guard work without OBS, an ingest server, Twitch or
//! Discord.
//!
//! [`start`] starts an obs-websocket v5 simulator ([`obs_sim`]: scenes LIVE, LOW, BRB, OFFLINE
//! and Starting, already streaming, with a password generated for this run), an nginx-rtmp
//! stat page replaying [`Trace::demo`] in a loop ([`stats_sim`]: good → dip → drop → outage
//! → recovery), and the real [`App`] configured in code ([`config`]): OBS at the simulator, the
//! guard on the stat page, the web server with the overlay, a temporary state directory, no
//! Twitch, no Discord. [`run`] adds the banner and the console on stdin.
//!
//! Both simulators speak the real protocols (the tests use the OBS simulator as their fake OBS)
//! and take their time from tokio, so a paused clock drives a whole demo (`tests/it/demo.rs`).

pub mod obs_sim;
pub mod stats_sim;

use crate::app::{self, App, Context, RunOptions};
use crate::config::{Config, LogConfig, LogFormat};
use crate::secrets::{Redactor, Secrets};
use crate::status::TaskState;
use anyhow::Context as _;
use obs_sim::{ObsSim, ObsSimOptions};
use stats_sim::{StatsSim, Trace};
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The simulated OBS's scenes, top first.
pub const SCENES: [&str; 5] = ["LIVE", "LOW", "BRB", "OFFLINE", "Starting"];
/// The log filter of the demo: the bot's own lines (guard decisions, alerts, commands, the
/// ingest phases), only warnings from the libraries.
pub const LOG_FILTER: &str = "warn,stream_control=info";
/// How long [`start`] waits for the web server to listen, and then for the OBS connection.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The commands the banner suggests.
const TRY: &str =
    "!brb  !live  !bitrate  !guard  !trigger low 3000  !mute mic  !source webcam hide  !help";

/// How the demo starts.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The web server's port on 127.0.0.1; 0: any free port (the banner shows it).
    pub web_port: u16,
    /// The ingest the stats server replays in a loop.
    pub trace: Trace,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            web_port: 0,
            trace: Trace::demo(),
        }
    }
}

/// The log settings of the demo (pretty lines, [`LOG_FILTER`]).
pub fn log_config() -> LogConfig {
    LogConfig {
        format: LogFormat::Pretty,
        filter: LOG_FILTER.into(),
    }
}

/// The demo's configuration: OBS at `obs_port` (the simulator), the guard on one nginx-rtmp
/// stat page at `stats_url`, the web server with the overlay on `127.0.0.1:web_port`, the
/// state in `state_dir`. Validated like `config.ron`.
pub fn config(
    obs_port: u16,
    stats_url: &str,
    web_port: u16,
    state_dir: &Path,
) -> anyhow::Result<Config> {
    let text = format!(
        r#"(
            log: (format: Pretty, filter: "{LOG_FILTER}"),
            web: (bind: "127.0.0.1:{web_port}", overlay: ()),
            obs: (
                host: "127.0.0.1",
                port: {obs_port},
                scenes: (live: "LIVE", low: "LOW", brb: "BRB", offline: "OFFLINE", starting: Some("Starting")),
                // The simulator's audio inputs and scene items (`ObsSimOptions::default`).
                audio_inputs: ["Mic/Aux", "Desktop Audio"],
                sources: [(name: "Webcam", scene: Some("LIVE")), (name: "SRT Ingest")],
            ),
            guard: (
                servers: [(
                    name: "demo-nginx",
                    kind: NginxRtmp(url: "{stats_url}", application: "{application}", stream: "{stream}"),
                    timeout: "2s",
                )],
                // Room for `trigger low 3000` (low stays at or below recover).
                policy: (low_kbps: Some(800), recover_kbps: 3000),
            ),
        )"#,
        application = stats_sim::APPLICATION,
        stream = stats_sim::STREAM,
    );
    let mut config = Config::parse(&text).map_err(|problems| {
        let problems: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        anyhow::anyhow!(
            "the demo's configuration is invalid: {}",
            problems.join("; ")
        )
    })?;
    config.state_dir = state_dir.to_path_buf();
    Ok(config)
}

/// A running demo: the simulators, the app and its temporary state directory. Stop it with
/// [`Demo::shutdown`].
pub struct Demo {
    app: App,
    obs: ObsSim,
    stats: StatsSim,
    web: SocketAddr,
    /// Logs each phase of the trace as it begins.
    narrator: TaskTracker,
    stop: CancellationToken,
    state_dir: TempDir,
}

/// Start the simulators and the app (without the console); returns once the web server
/// listens and the bot is connected to the OBS simulator, so a command typed at once (or piped
/// in) finds OBS there. `redactor` is the one logging uses: it learns the generated OBS password.
pub async fn start(options: DemoOptions, redactor: Redactor) -> anyhow::Result<Demo> {
    let password = generated_password()?;
    redactor.add(&password);
    let obs = ObsSim::start(ObsSimOptions {
        password: Some(password.clone()),
        scenes: SCENES.map(str::to_owned).to_vec(),
        current_scene: "Starting".into(),
        streaming: true,
        stream_kbps: 6000,
        ..ObsSimOptions::default()
    })
    .await
    .context("starting the OBS simulator")?;
    let stats = StatsSim::start(options.trace)
        .await
        .context("starting the stats simulator")?;
    let state_dir = temp_state_dir().context("creating a temporary state directory")?;
    let config = config(obs.port(), &stats.url(), options.web_port, state_dir.path())?;
    let secrets = Secrets::from_lookup(|name| (name == "OBS_PASSWORD").then(|| password.clone()));
    let ctx = Context::new(config, secrets, redactor)?;
    let app = App::start(ctx.clone(), RunOptions { console: false });
    let stop = CancellationToken::new();
    let narrator = TaskTracker::new();
    narrator.spawn(narrate(
        stats.trace().clone(),
        stats.started(),
        stop.clone(),
    ));
    narrator.close();
    let demo = |web| Demo {
        app,
        obs,
        stats,
        web,
        narrator,
        stop,
        state_dir,
    };
    let ready = async {
        let web = wait_for_web(&ctx).await?;
        if let Some(obs) = &ctx.obs {
            obs.wait_connected(START_TIMEOUT)
                .await
                .context("the bot did not connect to the OBS simulator")?;
        }
        anyhow::Ok(web)
    };
    match ready.await {
        Ok(web) => Ok(demo(web)),
        Err(error) => {
            let unspecified = SocketAddr::from(([127, 0, 0, 1], 0));
            demo(unspecified).shutdown().await;
            Err(error)
        }
    }
}

/// The address the web server listens on, or why it does not.
async fn wait_for_web(ctx: &Arc<Context>) -> anyhow::Result<SocketAddr> {
    let mut status = ctx.status.subscribe();
    let seen = tokio::time::timeout(
        START_TIMEOUT,
        status.wait_for(|s| {
            s.web.is_some()
                || s.tasks
                    .get("web")
                    .is_some_and(|t| t.state == TaskState::Restarting)
        }),
    )
    .await
    .context("the web server did not start")?
    .context("the app stopped")?;
    match &seen.web {
        Some(web) => web.listening.parse().context("the web server's address"),
        None => {
            let error = seen
                .tasks
                .get("web")
                .and_then(|t| t.last_error.clone())
                .unwrap_or_default();
            anyhow::bail!("the web server cannot start: {error}")
        }
    }
}

impl Demo {
    pub fn context(&self) -> &Arc<Context> {
        self.app.context()
    }

    /// The simulated OBS (its scene, the requests the bot sent).
    pub fn obs(&self) -> &ObsSim {
        &self.obs
    }

    /// The simulated nginx-rtmp stat page.
    pub fn stats(&self) -> &StatsSim {
        &self.stats
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn status_url(&self) -> String {
        format!("http://{}/", self.web)
    }

    /// `http://127.0.0.1:<port>/overlay`.
    pub fn overlay_url(&self) -> String {
        format!("http://{}/overlay", self.web)
    }

    /// What is simulated, where to look, what to type (English).
    pub fn banner(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "stream-control demo: the bot against simulators on 127.0.0.1 (no OBS, ingest server, Twitch or Discord needed)."
        );
        let _ = writeln!(
            out,
            "  OBS:         obs-websocket v5 simulator at {} (scenes {}; streaming)",
            self.obs.url(),
            SCENES.join(", ")
        );
        let phases: Vec<String> = self
            .stats
            .trace()
            .phases()
            .iter()
            .map(|p| {
                let secs = p.duration.as_secs_f64();
                match p.kbps {
                    Some(kbps) => format!("{} {kbps} kbps {secs} s", p.name),
                    None => format!("{} (no publisher) {secs} s", p.name),
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "  Ingest:      nginx-rtmp stat page at {}, in a loop: {}",
            self.stats.url(),
            phases.join(" → ")
        );
        if let Some(guard) = &self.context().config.guard {
            let policy = &guard.policy;
            let low = policy
                .low_kbps
                .map_or_else(|| "never".to_string(), |kbps| format!("below {kbps} kbps"));
            let _ = writeln!(
                out,
                "  Guard:       LOW {low}, LIVE again from {} kbps, OFFLINE without a publisher",
                policy.recover_kbps
            );
        }
        let _ = writeln!(out, "  Status page: {}", self.status_url());
        let _ = writeln!(
            out,
            "  Overlay:     {} (alerts with sound and speech; an OBS browser source)",
            self.overlay_url()
        );
        let _ = writeln!(
            out,
            "Type commands as the broadcaster (the ! is optional): {TRY}. Ctrl-D quits."
        );
        let _ = writeln!(
            out,
            "After !trigger low 3000 the 2000 kbps dip counts as LOW too; !brb is a manual scene the guard leaves alone until !live."
        );
        out
    }

    /// Read commands from stdin as the broadcaster; end of input stops the demo.
    pub fn start_console(&self) {
        self.app.supervise("console", crate::surfaces::console::run);
    }

    /// Stop the app (at most [`app::SHUTDOWN_GRACE`]), then the simulators; remove the state
    /// directory. Returns whether every task of the app finished in time.
    pub async fn shutdown(self) -> bool {
        let clean = self.app.shutdown(app::SHUTDOWN_GRACE).await;
        self.stop.cancel();
        self.narrator.wait().await;
        self.obs.shutdown().await;
        self.stats.shutdown().await;
        drop(self.state_dir);
        clean
    }
}

/// `stream-control demo`: start, print the banner, read commands from stdin until end of input
/// or `signal`, shut down. Returns whether the shutdown was clean.
pub async fn run(
    options: DemoOptions,
    redactor: Redactor,
    signal: impl Future<Output = ()>,
) -> anyhow::Result<bool> {
    let demo = start(options, redactor).await?;
    print!("{}", demo.banner());
    demo.start_console();
    let token = demo.context().shutdown.clone();
    tokio::select! {
        _ = signal => tracing::info!("shutting down"),
        _ = token.cancelled() => tracing::info!("shutting down (end of input)"),
    }
    Ok(demo.shutdown().await)
}

/// Logs each phase of the trace when it begins, so the log explains what the guard reacts to.
async fn narrate(trace: Trace, started: Instant, stop: CancellationToken) {
    let mut begins = started;
    for phase in trace.phases().iter().cycle() {
        let secs = phase.duration.as_secs_f64();
        match phase.kbps {
            Some(kbps) => tracing::info!("demo ingest: {} at {kbps} kbps for {secs} s", phase.name),
            None => tracing::info!("demo ingest: {} (no publisher) for {secs} s", phase.name),
        }
        begins += phase.duration;
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep_until(begins) => {}
        }
    }
}

/// A password for the simulated OBS, new for every run (never printed; masked in logs): 128
/// bits from the operating system, as hex.
fn generated_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no random bytes for the password: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A fresh directory under the system's temporary directory, removed when dropped. Private
/// (0700): the state directory holds secrets such as bans and tokens.
fn temp_state_dir() -> std::io::Result<TempDir> {
    use std::os::unix::fs::PermissionsExt as _;
    tempfile::Builder::new()
        .prefix(&format!("stream-control-demo-{}-", std::process::id()))
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_configuration_is_valid_and_has_no_twitch_or_discord() {
        let config = config(4455, "http://127.0.0.1:1/stat", 0, Path::new("/tmp/x")).unwrap();
        let features = config.features();
        for (feature, on) in [
            ("obs", true),
            ("guard", true),
            ("web", true),
            ("overlay", true),
            ("twitch", false),
            ("discord", false),
            ("restream", false),
        ] {
            assert_eq!(features.get(feature).copied(), Some(on), "{feature}");
        }
        assert_eq!(config.state_dir, Path::new("/tmp/x"));
        let obs = config.obs.unwrap();
        assert_eq!(obs.scenes.starting.as_deref(), Some("Starting"));
        for scene in [
            &obs.scenes.live,
            &obs.scenes.low,
            &obs.scenes.brb,
            &obs.scenes.offline,
        ] {
            assert!(SCENES.contains(&scene.as_str()), "{scene}");
        }
    }

    #[test]
    fn a_temporary_state_directory_is_private_and_removed() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_state_dir().unwrap();
        let path = dir.path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_ne!(temp_state_dir().unwrap().path(), path);
        drop(dir);
        assert!(!path.exists());
    }
}
