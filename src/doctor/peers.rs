//! Doctor's checks of the services the bot talks to: OBS, the stats servers, Twitch, Discord.
//! Each connects the way the bot does (same clients, same configured addresses) and changes
//! nothing.

use super::Check;
use crate::config::StatsServerKind;
use crate::context::Context;
use crate::guard::stats::{Reading, StatsError};
use crate::obs::client::within;
use crate::status::{ObsConnection, error_chain};

/// OBS: connect and identify as the bot does; then the scenes named in the configuration, and
/// (when some are configured) the audio inputs and sources.
pub(super) async fn obs(ctx: &Context) -> Vec<Check> {
    const NAME: &str = "OBS";
    const SCENES: &str = "OBS scenes";
    const AUDIO_AND_SOURCES: &str = "OBS inputs and sources";
    let Some(obs) = &ctx.obs else {
        return vec![Check::absent(NAME, "obs")];
    };
    let config = obs.config();
    let at = format!("{}:{}", config.host, config.port);
    let has_audio_or_sources = !config.audio_inputs.is_empty() || !config.sources.is_empty();
    let failure = match crate::obs::connect(obs).await {
        Ok(client) => {
            let timeout = config.request_timeout;
            let version = within(timeout, client.version()).await;
            let scenes = within(timeout, client.scene_list()).await;
            let compatibility = client.is_compat();
            let audio_and_sources = if has_audio_or_sources {
                Some(audio_and_sources(config, &client).await)
            } else {
                None
            };
            client.disconnect().await;
            let (Ok((version, websocket)), Ok((scenes, _))) = (version, scenes) else {
                let mut checks = vec![
                    Check::fail(
                        NAME,
                        format!("OBS at {at} accepted the connection, then did not answer"),
                        "restart OBS; if it keeps happening, update OBS and obs-websocket",
                    ),
                    Check::skipped(SCENES, "OBS did not answer"),
                ];
                if has_audio_or_sources {
                    checks.push(Check::skipped(AUDIO_AND_SOURCES, "OBS did not answer"));
                }
                return checks;
            };
            let connected = Check::ok(
                NAME,
                format!(
                    "{} at {at}; {}",
                    crate::obs::describe_version(&version, &websocket, compatibility),
                    if obs_password_set(ctx) {
                        "password accepted"
                    } else {
                        "no password asked"
                    }
                ),
            );
            let names = crate::obs::top_first(scenes.into_iter().map(|s| (s.index, s.name)));
            let missing = crate::obs::missing_scenes(config, &names);
            let scenes = if missing.is_empty() {
                Check::ok(
                    SCENES,
                    format!("every configured scene exists ({} in OBS)", names.len()),
                )
            } else {
                let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                Check::fail(
                    SCENES,
                    format!(
                        "OBS has no scene {}; it has: {}",
                        missing.join(", "),
                        names.join(", ")
                    ),
                    "create those scenes in OBS, or set `obs.scenes` (and `refresh_scene`) to \
                     names OBS has (exact spelling)",
                )
            };
            let problems = match audio_and_sources {
                None => return vec![connected, scenes],
                Some(problems) => problems,
            };
            let checked = if problems.is_empty() {
                Check::ok(
                    AUDIO_AND_SOURCES,
                    format!(
                        "{} audio input(s) can be muted, {} source(s) are in their scenes",
                        config.audio_inputs.len(),
                        config.sources.iter().filter(|s| s.scene.is_some()).count()
                    ),
                )
            } else {
                Check::fail(
                    AUDIO_AND_SOURCES,
                    problems.join("; "),
                    "set `obs.audio_inputs` and `obs.sources` to names OBS has (exact spelling):                      an input needs audio, a source with a scene must be in it",
                )
            };
            return vec![connected, scenes, checked];
        }
        Err(failure) => failure,
    };
    let failed = match failure {
        ObsConnection::AuthenticationFailed if !obs_password_set(ctx) => Check::fail(
            NAME,
            format!("OBS at {at} asks for a password and OBS_PASSWORD is not set"),
            "set OBS_PASSWORD to the server password from OBS → Tools → WebSocket Server \
             Settings (Show Connect Info)",
        ),
        ObsConnection::AuthenticationFailed => Check::fail(
            NAME,
            format!("OBS at {at} refused the password in OBS_PASSWORD"),
            "copy the server password from OBS → Tools → WebSocket Server Settings (Show \
             Connect Info) into OBS_PASSWORD",
        ),
        ObsConnection::TooOld(version) => Check::fail(
            NAME,
            format!("{version} at {at} is too old: the bot needs OBS 28 or newer"),
            "update OBS to 28 or newer (it ships obs-websocket 5)",
        ),
        ObsConnection::Offline(reason) => Check::fail(
            NAME,
            format!("cannot reach OBS at {at}: {reason}"),
            "start OBS and turn on its WebSocket server (Tools → WebSocket Server Settings → \
             Enable); check `obs.host` and `obs.port`, and that no firewall blocks the port",
        ),
        ObsConnection::Connecting | ObsConnection::Connected => Check::fail(
            NAME,
            format!("cannot connect to OBS at {at}"),
            "check `obs.host` and `obs.port`",
        ),
    };
    let mut checks = vec![
        failed,
        Check::skipped(SCENES, "needs the connection to OBS"),
    ];
    if has_audio_or_sources {
        checks.push(Check::skipped(
            AUDIO_AND_SOURCES,
            "needs the connection to OBS",
        ));
    }
    checks
}

/// What is wrong with the configured audio inputs (OBS's answer to `GetInputMute`) and the
/// sources with a scene of their own (`GetSceneItemId`); a source that follows the program
/// scene is not in every scene, so it is not checked.
async fn audio_and_sources(
    config: &crate::config::ObsConfig,
    client: &crate::obs::client::Client,
) -> Vec<String> {
    let timeout = config.request_timeout;
    let mut problems = Vec::new();
    for input in &config.audio_inputs {
        if let Err(error) = within(timeout, client.input_muted(input)).await {
            problems.push(format!("audio input {input}: {error}"));
        }
    }
    for source in &config.sources {
        if let Some(scene) = &source.scene
            && let Err(error) = within(timeout, client.scene_item_id(scene, &source.name)).await
        {
            problems.push(format!("source {} in {scene}: {error}", source.name));
        }
    }
    problems
}

fn obs_password_set(ctx: &Context) -> bool {
    ctx.secrets.get("OBS_PASSWORD").is_some()
}

/// Every stats server: does it answer, and does the configured type's parser read it.
pub(super) async fn stats_servers(ctx: &Context) -> Vec<Check> {
    let Some(guard) = &ctx.config.guard else {
        return vec![Check::absent("guard", "guard")];
    };
    let client = crate::guard::stats::client(&ctx.tls);
    let checks = guard.servers.iter().enumerate().map(|(i, server)| {
        let client = &client;
        async move {
            let name = format!("stats {}", server.name);
            let key = format!("guard.servers[{i}]");
            let kind = server.kind.kind();
            let Some(url) = server.kind.url() else {
                return Check::skipped(name, "kind Obs reads OBS's own upload (see the OBS check)");
            };
            let read = crate::guard::fetch::fetch(client, server, ctx.obs.as_ref()).await;
            match read {
                Ok(reading) => Check::ok(
                    name,
                    format!(
                        "{} answers and the {kind} parser reads it: {}",
                        crate::guard::stats::shown_url(url),
                        describe_reading(&server.kind, &reading)
                    ),
                ),
                Err(error) => Check::fail(
                    name,
                    error.to_string(),
                    stats_fix(&error, &key, server.timeout),
                ),
            }
        }
    });
    futures_util::future::join_all(checks).await
}

/// What a reading says, for the check's detail.
fn describe_reading(kind: &StatsServerKind, reading: &Reading) -> String {
    let stream = match kind {
        StatsServerKind::NginxRtmp {
            application,
            stream,
            ..
        }
        | StatsServerKind::Srs {
            application,
            stream,
            ..
        }
        | StatsServerKind::NodeMediaServer {
            application,
            stream,
            ..
        }
        | StatsServerKind::Nimble {
            application,
            stream,
            ..
        } => format!("{application}/{stream}"),
        StatsServerKind::SrtLiveServer {
            publisher: Some(p), ..
        }
        | StatsServerKind::Belabox {
            publisher: Some(p), ..
        } => p.clone(),
        _ => "the stream".to_string(),
    };
    let rtt = |rtt: &Option<commands::Millis>| {
        rtt.map(|r| format!(", RTT {} ms", r.0)).unwrap_or_default()
    };
    match reading {
        Reading::NoPublisher => format!("nobody publishes {stream} right now"),
        Reading::Rate { bitrate, rtt: r } => {
            format!("{stream} is live at {} kbps{}", bitrate.0, rtt(r))
        }
        Reading::Counter {
            fallback, rtt: r, ..
        } => match fallback {
            Some(kbps) => format!("{stream} is live at about {} kbps{}", kbps.0, rtt(r)),
            None => format!("{stream} is live{}", rtt(r)),
        },
    }
}

/// How to fix a stats page that cannot be read.
fn stats_fix(error: &StatsError, key: &str, timeout: std::time::Duration) -> String {
    match error {
        StatsError::Unreachable { .. } => format!(
            "start the stats server, or correct the URL in {key}.kind (it must be reachable \
             from this machine)"
        ),
        StatsError::Timeout { .. } => format!(
            "the page took longer than {key}.timeout ({}): check the server, or raise the timeout",
            humantime::format_duration(timeout)
        ),
        StatsError::Http { status, .. } if *status == 401 || *status == 403 => format!(
            "the server refuses the bot: allow this host in the stats page's access rules \
             (nginx: `allow` in the stat location), or use the URL without authentication \
             ({key})"
        ),
        StatsError::Http { status: 404, .. } => format!(
            "no page at this URL: correct the path in {key}.kind (nginx-rtmp: the location \
             with `rtmp_stat all;`; MediaMTX: /v3/paths/get/<name>)"
        ),
        StatsError::Http { .. } => "the server reports an error: see its log".to_string(),
        StatsError::TooLarge { .. } => {
            format!("the URL in {key}.kind serves something other than a stats page: correct it")
        }
        StatsError::Parse { reason, .. } if reason.contains("set the type to") => format!(
            "the page belongs to another server type: change the kind of {key} as the message \
             says"
        ),
        StatsError::Parse { kind, .. } => format!(
            "check that the URL in {key}.kind is the {kind} stats page, and that the kind names \
             the server that serves it (and its application/stream or publisher)"
        ),
    }
}

/// Twitch: the stored tokens, validated with Twitch (never refreshed here: the running bot
/// owns them).
pub(super) async fn twitch(ctx: &Context) -> Vec<Check> {
    use crate::twitch::Account;
    let Some(twitch) = &ctx.twitch else {
        return vec![Check::absent("Twitch", "twitch")];
    };
    let state = crate::state_store::StateDir::new(&ctx.config.state_dir);
    let mut checks = Vec::new();
    for account in [Account::Broadcaster, Account::Bot] {
        let name = match account {
            Account::Broadcaster => "Twitch token",
            Account::Bot => "Twitch bot token",
        };
        let login_command = match account {
            Account::Broadcaster => "`stream-control twitch login`",
            Account::Bot => "`stream-control twitch login --bot`",
        };
        let optional = (account == Account::Bot)
            .then_some("no bot account logged in (optional: chat goes out as the broadcaster)");
        let stored: crate::twitch::auth::StoredToken =
            match super::token_file(&state, account.file(), name, login_command, optional) {
                Ok(stored) => stored,
                Err(check) => {
                    checks.push(check);
                    continue;
                }
            };
        ctx.redactor.add(&stored.access_token);
        if let Some(refresh) = &stored.refresh_token {
            ctx.redactor.add(refresh);
        }
        checks.push(validate(twitch, &stored, account, name, login_command).await);
    }
    checks
}

async fn validate(
    twitch: &crate::twitch::Twitch,
    stored: &crate::twitch::auth::StoredToken,
    account: crate::twitch::Account,
    name: &str,
    login_command: &str,
) -> Check {
    use twitch_oauth2::tokens::errors::ValidationError;
    let access = twitch_oauth2::AccessToken::new(stored.access_token.clone());
    let validated = match access.validate_token(&twitch.helix).await {
        Ok(validated) => validated,
        Err(ValidationError::NotAuthorized) if stored.refresh_token.is_some() => {
            return Check::ok(
                name,
                format!(
                    "{}: the access token has expired; the bot gets a new one from the stored \
                     refresh token when it starts (should that fail, it says so: then run \
                     {login_command})",
                    stored.login.as_deref().unwrap_or("?")
                ),
            );
        }
        Err(ValidationError::NotAuthorized) => {
            return Check::fail(
                name,
                "Twitch refuses the token and there is no refresh token",
                format!("run {login_command} again"),
            );
        }
        Err(error) => {
            return Check::fail(
                name,
                format!(
                    "cannot validate the token with Twitch ({}): {}",
                    twitch.config.oauth_url,
                    error_chain(&error)
                ),
                "check the network (id.twitch.tv:443), or `twitch.oauth_url`",
            );
        }
    };
    let login = validated
        .login
        .as_ref()
        .map(|l| l.to_string())
        .or_else(|| stored.login.clone())
        .unwrap_or_else(|| "?".into());
    if let Some(client_id) = &twitch.client_id
        && validated.client_id.as_str() != client_id.as_str()
    {
        return Check::fail(
            name,
            format!(
                "the token of {login} belongs to another Twitch application than TWITCH_CLIENT_ID"
            ),
            format!(
                "set TWITCH_CLIENT_ID to the application you logged in with, or run {login_command} again"
            ),
        );
    }
    let scopes: Vec<String> = validated
        .scopes
        .unwrap_or_default()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let missing = crate::twitch::auth::missing_scopes(&scopes, account.scopes());
    if !missing.is_empty() {
        return Check::fail(
            name,
            format!(
                "the token of {login} lacks the scopes {}",
                missing.join(", ")
            ),
            format!("run {login_command} again and approve every permission it asks for"),
        );
    }
    let expires = validated
        .expires_in
        .map(|d| {
            format!(
                ", expires in {}",
                humantime::format_duration(std::time::Duration::from_secs(d.as_secs() / 60 * 60))
            )
        })
        .unwrap_or_default();
    Check::ok(
        name,
        format!("valid for {login}, every scope granted{expires}"),
    )
}

/// Discord's permission bits the bot uses, with their names (docs/commands.md's invite link has their
/// sum, `permissions=117760`; tests/it/doctor.rs checks it).
const DISCORD_PERMISSIONS: &[(u64, &str)] = &[
    (1 << 10, "View Channels"),
    (1 << 11, "Send Messages"),
    (1 << 14, "Embed Links"),
    (1 << 15, "Attach Files"),
    (1 << 16, "Read Message History"),
];
const DISCORD_ADMINISTRATOR: u64 = 1 << 3;

/// The `permissions=` of the invite link: exactly [`DISCORD_PERMISSIONS`].
const fn invite_permissions() -> u64 {
    let mut bits = 0;
    let mut i = 0;
    while i < DISCORD_PERMISSIONS.len() {
        bits |= DISCORD_PERMISSIONS[i].0;
        i += 1;
    }
    bits
}

/// Discord: the token is a bot's and Discord accepts it; the bot is in the configured server
/// with the permissions it uses.
pub(super) async fn discord(ctx: &Context) -> Vec<Check> {
    const NAME: &str = "Discord";
    let Some(config) = &ctx.config.discord else {
        return vec![Check::absent(NAME, "discord")];
    };
    let http = match crate::surfaces::discord::http(ctx) {
        Ok(http) => http,
        Err(error) => {
            return vec![Check::fail(
                NAME,
                format!("{error:#}"),
                "set DISCORD_TOKEN to the bot token (developer portal → your application → Bot)",
            )];
        }
    };
    let user = match http.get_current_user().await {
        Ok(user) => user,
        Err(error) => return vec![discord_failure(&error)],
    };
    if !user.bot {
        return vec![Check::fail(
            NAME,
            format!(
                "DISCORD_TOKEN is the token of the user {}, not of a bot",
                user.name
            ),
            "use the bot's token (developer portal → your application → Bot → Reset Token)",
        )];
    }
    let guilds = match http.get_guilds(None, Some(200)).await {
        Ok(guilds) => guilds,
        Err(error) => return vec![discord_failure(&error)],
    };
    let Some(guild) = guilds.iter().find(|g| g.id.get() == config.guild_id) else {
        let application = match http.get_current_application_info().await {
            Ok(app) => app.id.get().to_string(),
            Err(_) => "<application id>".into(),
        };
        return vec![Check::fail(
            NAME,
            format!(
                "the bot {} is not in the server {} (`discord.guild_id`)",
                user.name, config.guild_id
            ),
            format!(
                "invite it: https://discord.com/oauth2/authorize?client_id={application}\
                 &scope=bot+applications.commands&permissions={} (or correct \
                 `discord.guild_id`: Developer Mode → right-click the server → Copy Server ID)",
                invite_permissions()
            ),
        )];
    };
    let bits = guild.permissions.bits();
    let lacking: Vec<&str> = DISCORD_PERMISSIONS
        .iter()
        .filter(|(bit, _)| bits & DISCORD_ADMINISTRATOR == 0 && bits & bit == 0)
        .map(|(_, name)| *name)
        .collect();
    if !lacking.is_empty() {
        return vec![Check::fail(
            NAME,
            format!(
                "the bot {} in {} lacks: {}",
                user.name,
                guild.name,
                lacking.join(", ")
            ),
            format!(
                "give the bot's role these permissions in the server settings, or invite it \
                 again with permissions={}",
                invite_permissions()
            ),
        )];
    }
    vec![Check::ok(
        NAME,
        format!(
            "bot {} accepted; member of {} with the permissions it uses",
            user.name, guild.name
        ),
    )]
}

fn discord_failure(error: &poise::serenity_prelude::Error) -> Check {
    use poise::serenity_prelude::{Error, HttpError};
    if let Error::Http(HttpError::UnsuccessfulRequest(response)) = error
        && response.status_code.as_u16() == 401
    {
        return Check::fail(
            "Discord",
            "Discord refuses DISCORD_TOKEN (401 Unauthorized)",
            "copy the bot token again (developer portal → your application → Bot → Reset \
             Token) into DISCORD_TOKEN",
        );
    }
    Check::fail(
        "Discord",
        format!("cannot reach Discord: {}", error_chain(error)),
        "check the network (discord.com:443), or `discord.api_url`",
    )
}
