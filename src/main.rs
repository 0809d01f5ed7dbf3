//! The `stream-control` command line: thin; everything lives in the library.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use stream_control::app::{self, Context, RunOptions};
use stream_control::config::{self, Config};
use stream_control::demo;
use stream_control::secrets::{self, Redactor, Secrets};

#[derive(Parser)]
#[command(
    name = "stream-control",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bot (the default).
    Run(RunArgs),
    /// Try the bot without OBS, Twitch or Discord: simulated OBS and ingest on 127.0.0.1, the
    /// status page and the overlay, commands from stdin (Ctrl-D quits).
    Demo {
        /// The web server's port on 127.0.0.1 (default: any free port; the banner shows it).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Twitch account set-up.
    Twitch {
        #[command(subcommand)]
        command: TwitchCli,
    },
    /// Kick account set-up.
    Kick {
        #[command(subcommand)]
        command: KickCli,
    },
    /// Restream endpoints.
    Restream {
        #[command(subcommand)]
        command: RestreamCli,
    },
    /// Check everything the configuration names (secrets, state directory, OBS, stats servers,
    /// Twitch, Discord, nginx, services, sudo): ✓ or ✗ with the fix; exit 1 on any ✗.
    Doctor {
        /// The configuration file.
        #[arg(long, short, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
    },
    /// Print the sudoers drop-in for the commands the configuration runs through sudo, each an
    /// exact command line (install it as its header says).
    Sudoers {
        /// The configuration file.
        #[arg(default_value = config::DEFAULT_PATH)]
        path: PathBuf,
        /// The user the bot runs as (default: the current user).
        #[arg(long)]
        user: Option<String>,
    },
    /// Check a configuration: print every problem and exit 1, or what is enabled and exit 0.
    CheckConfig {
        /// The file to check.
        #[arg(default_value = config::DEFAULT_PATH)]
        path: PathBuf,
    },
}

#[derive(Subcommand)]
enum TwitchCli {
    /// Log in with Twitch's device code (open the printed address, enter the code) and store
    /// the token in the state directory.
    Login {
        /// Log in the separate bot account for chat instead of the broadcaster.
        #[arg(long)]
        bot: bool,
        /// The configuration file.
        #[arg(long, short, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum KickCli {
    /// Log in with Kick (OAuth 2.1 with PKCE): open the printed address, approve, and Kick
    /// sends the browser back to this command on 127.0.0.1:<kick.redirect_port>; the token is
    /// stored in the state directory.
    Login {
        /// Log in the separate bot account for chat instead of the broadcaster.
        #[arg(long)]
        bot: bool,
        /// The configuration file.
        #[arg(long, short, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum RestreamCli {
    /// Import the old panel's rtmp_endpoints.json into the state directory (each entry
    /// validated; refused ones are listed). The bot applies them when it starts.
    Import {
        /// The seed's rtmp_endpoints.json.
        file: PathBuf,
        /// The configuration file.
        #[arg(long, short, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
    },
}

#[derive(Args, Clone)]
struct RunArgs {
    /// The configuration file.
    #[arg(long, short, default_value = config::DEFAULT_PATH)]
    config: PathBuf,
    /// Also read commands from stdin as the broadcaster (Ctrl-D quits).
    #[arg(long)]
    console: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CheckConfig { path }) => check_config(&path),
        Some(Command::Doctor { config }) => doctor(&config),
        Some(Command::Sudoers { path, user }) => sudoers(&path, user),
        Some(Command::Run(args)) => run(args),
        Some(Command::Demo { port }) => demo(port),
        Some(Command::Twitch {
            command: TwitchCli::Login { bot, config },
        }) => twitch_login(&config, bot),
        Some(Command::Kick {
            command: KickCli::Login { bot, config },
        }) => kick_login(&config, bot),
        Some(Command::Restream {
            command: RestreamCli::Import { file, config },
        }) => restream_import(&config, &file),
        None => run(cli.run),
    }
}

fn load(path: &std::path::Path) -> Option<Config> {
    match Config::load(path) {
        Ok(config) => Some(config),
        Err(error) => {
            eprintln!("{error}");
            None
        }
    }
}

fn sudoers(path: &std::path::Path, user: Option<String>) -> ExitCode {
    let Some(config) = load(path) else {
        return ExitCode::FAILURE;
    };
    let Some(user) = user.or_else(current_user) else {
        eprintln!("cannot tell the current user's name: pass --user NAME");
        return ExitCode::FAILURE;
    };
    match stream_control::sudoers::render(&config, &user) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{}: {error}", path.display());
            ExitCode::FAILURE
        }
    }
}

/// The effective user's name from /etc/passwd (as sudo knows it), else `$USER`.
fn current_user() -> Option<String> {
    let uid = stream_control::exec::effective_uid()?.to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.get(2) == Some(&uid.as_str()))
        .and_then(|fields| fields.first().map(|name| name.to_string()))
        .or_else(|| std::env::var("USER").ok())
}

fn check_config(path: &std::path::Path) -> ExitCode {
    let Some(config) = load(path) else {
        return ExitCode::FAILURE;
    };
    let secrets = Secrets::from_env(path);
    if !secrets_long_enough(&secrets) {
        return ExitCode::FAILURE;
    }
    let i18n = match stream_control::i18n::I18n::new(&config.locale, &config.messages) {
        Ok(i18n) => i18n,
        Err(error) => {
            eprintln!("{}: {error:#}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let locale = i18n.default_locale();
    // Another instance's configuration beside this one must not share its port or state.
    let others = stream_control::config::instances::siblings(path);
    let clashes = stream_control::config::instances::clashes(&config, &others);
    if !clashes.is_empty() {
        for clash in &clashes {
            eprintln!("{}: {clash}", path.display());
        }
        return ExitCode::FAILURE;
    }
    println!("{} is valid.", path.display());
    let features = config.features();
    let name = |key| i18n.render(locale, &stream_control::reply::Reply::new(key));
    println!("Enabled:");
    for feature in stream_control::config::Feature::ALL {
        if features.get(feature.name()).copied().unwrap_or(false) {
            let detail = match feature {
                stream_control::config::Feature::Web => config
                    .web
                    .as_ref()
                    .map(|w| format!(" (http://{}/)", w.bind))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let key = stream_control::reply::feature_name(feature);
            println!("  {:<10} {}{detail}", feature.name(), name(key));
        }
    }
    let off: Vec<&str> = stream_control::config::Feature::ALL
        .into_iter()
        .map(|f| f.name())
        .filter(|f| !features.get(f).copied().unwrap_or(false))
        .collect();
    println!(
        "Not enabled: {}",
        if off.is_empty() {
            "-".into()
        } else {
            off.join(", ")
        }
    );
    println!(
        "Commands: prefix {:?}, {} alias(es), locale {locale}",
        config.commands.prefix,
        config.commands.aliases.len()
    );
    let present: Vec<&str> = secrets.present().collect();
    for (variable, purpose) in secrets::VARIABLES {
        let state = if present.contains(variable) {
            "set"
        } else {
            "not set"
        };
        println!("  {variable:<22} {state:<8} {purpose}");
    }
    ExitCode::SUCCESS
}

fn doctor(path: &std::path::Path) -> ExitCode {
    let secrets = Secrets::from_env(path);
    let Some(runtime) = runtime(&mut tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    let options = stream_control::doctor::Options {
        env_file: Some(secrets::env_file(path)),
        ..Default::default()
    };
    let report = runtime.block_on(stream_control::doctor::run(path, secrets, options));
    print!("{}", report.render());
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What a login command needs: the configuration, the secrets (each long enough to mask), a
/// runtime; or `None`, having said why.
fn login_setup(path: &std::path::Path) -> Option<(Config, Secrets, tokio::runtime::Runtime)> {
    let config = load(path)?;
    let secrets = Secrets::from_env(path);
    if !secrets_long_enough(&secrets) {
        return None;
    }
    let runtime = runtime(&mut tokio::runtime::Builder::new_current_thread())?;
    Some((config, secrets, runtime))
}

fn twitch_login(path: &std::path::Path, bot: bool) -> ExitCode {
    let Some((config, secrets, runtime)) = login_setup(path) else {
        return ExitCode::FAILURE;
    };
    let login = stream_control::twitch::auth::device_login(&config, &secrets, bot, |uri, code| {
        println!("Open {uri} and enter the code {code}");
        println!("Waiting for you to approve…");
    });
    match runtime.block_on(login) {
        Ok(token) => {
            let who = token.login.as_deref().unwrap_or("?");
            let missing = token.missing_scopes(if bot {
                stream_control::twitch::auth::BOT_SCOPES
            } else {
                stream_control::twitch::auth::SCOPES
            });
            println!("Logged in as {who}. The token is stored in the state directory (mode 0600).");
            if !missing.is_empty() {
                println!("Twitch did not grant: {}", missing.join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("Twitch login failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn kick_login(path: &std::path::Path, bot: bool) -> ExitCode {
    let Some((config, secrets, runtime)) = login_setup(path) else {
        return ExitCode::FAILURE;
    };
    let login = async {
        let login = stream_control::kick::login::Login::bind(&config, &secrets, bot).await?;
        println!(
            "Open this address in a browser and approve (as the {}):",
            if bot { "bot account" } else { "broadcaster" }
        );
        println!("  {}", login.authorize_url());
        println!(
            "Kick sends the browser back to {} (it must be the Kick application's redirect URL).",
            login.redirect_uri()
        );
        println!("Waiting for you to approve…");
        login.finish().await
    };
    match runtime.block_on(login) {
        Ok(done) => {
            println!(
                "Logged in to Kick as {}. The token is stored in {} (mode 0600).",
                done.token.username.as_deref().unwrap_or("?"),
                done.file.display()
            );
            if !done.missing_scopes.is_empty() {
                println!("Kick did not grant: {}", done.missing_scopes.join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("Kick login failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn restream_import(config_path: &std::path::Path, file: &std::path::Path) -> ExitCode {
    let Some(config) = load(config_path) else {
        return ExitCode::FAILURE;
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("cannot read {}: {error}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let i18n = match stream_control::i18n::I18n::new(&config.locale, &config.messages) {
        Ok(i18n) => i18n,
        Err(error) => {
            eprintln!("{}: {error:#}", config_path.display());
            return ExitCode::FAILURE;
        }
    };
    let report = match stream_control::restream::import(&config, &text) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("{}: {error}", file.display());
            return ExitCode::FAILURE;
        }
    };
    for endpoint in &report.imported {
        println!(
            "imported {:?} ({}, {}): {}",
            endpoint.name(),
            endpoint.platform(),
            if endpoint.enabled() { "on" } else { "off" },
            endpoint.masked_url()
        );
    }
    for (number, name, error) in &report.refused {
        let reason = i18n.render(i18n.default_locale(), &error.reply());
        println!("refused entry {number} ({name:?}): {reason}");
    }
    println!(
        "{} imported, {} refused. The bot applies them to nginx when it starts (or at the next restream change).",
        report.imported.len(),
        report.refused.len()
    );
    if report.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run(args: RunArgs) -> ExitCode {
    let Some(config) = load(&args.config) else {
        return ExitCode::FAILURE;
    };
    let secrets = Secrets::from_env(&args.config);
    if !secrets_long_enough(&secrets) {
        return ExitCode::FAILURE;
    }
    let redactor = Redactor::new(&secrets);
    stream_control::logging::init(&config.log, redactor.clone());
    for file in secrets::exposed_files(&secrets::secret_files(
        Some(&secrets::env_file(&args.config)),
        &config,
    )) {
        tracing::warn!(
            file = %file.display(),
            "a secret file is readable by its group or by everyone: chmod 600 it"
        );
    }
    let Some(runtime) = runtime(&mut tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::FAILURE;
    };
    let options = RunOptions {
        console: args.console,
    };
    let clean = runtime.block_on(async move {
        let ctx = match Context::new(config, secrets, redactor) {
            Ok(ctx) => ctx,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cannot start");
                return None;
            }
        };
        Some(app::run(ctx, options, app::shutdown_signal()).await)
    });
    // A blocking stdin read must not hold the process open.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match clean {
        Some(_) => ExitCode::SUCCESS,
        None => ExitCode::FAILURE,
    }
}

fn demo(port: u16) -> ExitCode {
    let redactor = Redactor::default();
    stream_control::logging::init(&demo::log_config(), redactor.clone());
    let Some(runtime) = runtime(&mut tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::FAILURE;
    };
    let options = demo::DemoOptions {
        web_port: port,
        ..Default::default()
    };
    let result =
        runtime.block_on(async { demo::run(options, redactor, app::shutdown_signal()).await });
    // A blocking stdin read must not hold the process open.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("the demo cannot start: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether every secret is long enough to be masked; if not, says which (names only).
fn secrets_long_enough(secrets: &Secrets) -> bool {
    let short = secrets.too_short();
    for name in &short {
        eprintln!("{}", Secrets::too_short_problem(name));
    }
    short.is_empty()
}

/// Build a tokio runtime with every driver, or say why not.
fn runtime(builder: &mut tokio::runtime::Builder) -> Option<tokio::runtime::Runtime> {
    match builder.enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            None
        }
    }
}
