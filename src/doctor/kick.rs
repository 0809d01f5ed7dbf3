//! Doctor's Kick checks, through the bot's own Kick client: each token file (present,
//! introspected as active, the same application as `KICK_CLIENT_ID`, every scope granted) and
//! the configured channel (its slug resolves, and belongs to the broadcaster who logged in).
//! Only reads: no token is refreshed (an expired one is reported as the bot will handle it).

use super::Check;
use crate::context::Context;
use crate::kick::api::{self, Introspection};
use crate::kick::auth::{self, Account, StoredToken};
use crate::kick::http::KickHttp;

pub(super) async fn kick(ctx: &Context) -> Vec<Check> {
    let Some(config) = &ctx.config.kick else {
        return vec![Check::absent("Kick", "kick")];
    };
    let http = KickHttp::new(&ctx.tls, config);
    let state = crate::state_store::StateDir::new(&ctx.config.state_dir);
    let mut checks = Vec::new();
    let mut broadcaster = None;
    for account in [Account::Broadcaster, Account::Bot] {
        let name = match account {
            Account::Broadcaster => "Kick token",
            Account::Bot => "Kick bot token",
        };
        let optional = (account == Account::Bot).then_some(
            "no bot account logged in (optional: replies come from the application's bot or the \
             broadcaster, as kick.send_as says)",
        );
        let stored: StoredToken = match super::token_file(
            &state,
            account.file(),
            name,
            account.login_command(),
            optional,
        ) {
            Ok(stored) => stored,
            Err(check) => {
                checks.push(check);
                continue;
            }
        };
        ctx.redactor.add(&stored.access_token);
        ctx.redactor.add(&stored.refresh_token);
        let (check, active) = token(ctx, &http, &stored, account, name).await;
        checks.push(check);
        if account == Account::Broadcaster && active {
            broadcaster = Some(stored);
        }
    }
    checks.push(match broadcaster {
        Some(stored) => channel(&http, &config.channel, &stored).await,
        None => Check::skipped("Kick channel", "needs the broadcaster's token, valid now"),
    });
    checks.push(chat_reader(ctx, config).await);
    checks
}

/// How long the chat check waits for the chat socket to subscribe.
const CHAT_PROBE: std::time::Duration = std::time::Duration::from_secs(15);

/// The chat reader: Kick's chat socket connects and subscribes to the chatroom (the bot's own
/// reader, run until it says so, for at most [`CHAT_PROBE`]); for webhooks, the web server is
/// configured and the key that checks deliveries reads.
async fn chat_reader(ctx: &Context, config: &crate::config::KickConfig) -> Check {
    use crate::config::KickReader;
    use crate::kick::pusher::{self, PusherHealth};
    const NAME: &str = "Kick chat";
    match &config.reader {
        None => Check::skipped(
            NAME,
            "no `kick.reader`: Kick chat is not read (announcements only)",
        ),
        Some(KickReader::Webhook {
            path,
            public_key_file,
        }) => {
            if ctx.config.web.is_none() {
                return Check::fail(
                    NAME,
                    "webhooks need the web server",
                    "add the `web` section and make it reachable from the internet over HTTPS",
                );
            }
            let pem = match public_key_file {
                None => Ok(crate::kick::webhook::KICK_PUBLIC_KEY_PEM.to_string()),
                Some(file) => std::fs::read_to_string(file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display())),
            };
            match pem.and_then(|pem| {
                crate::kick::webhook::PublicKey::from_pem(&pem).map_err(|e| e.to_string())
            }) {
                Ok(_) => Check::ok(
                    NAME,
                    format!(
                        "webhooks at {path}: subscribe to chat.message.sent with the address \
                         https://<your host>{path} in the Kick app"
                    ),
                ),
                Err(error) => Check::fail(
                    NAME,
                    format!("the webhook key does not read: {error}"),
                    "check kick.reader.public_key_file (or remove it: Kick's key is built in)",
                ),
            }
        }
        Some(KickReader::Pusher {
            chatroom_id,
            channel_id,
            url,
        }) => {
            let (events, _received) = tokio::sync::mpsc::channel(pusher::EVENT_QUEUE);
            let (health, mut watch) =
                tokio::sync::watch::channel(PusherHealth::Connecting { attempt: 1 });
            let cancel = tokio_util::sync::CancellationToken::new();
            let params = pusher::PusherParams {
                url: url.clone(),
                chatroom_id: *chatroom_id,
                channel_id: *channel_id,
                limits: pusher::PusherLimits::default(),
            };
            let reader = pusher::run(
                ctx.tls.clone(),
                params,
                pusher::PusherLinks { events, health },
                cancel.clone(),
            );
            let decided = async {
                let outcome = watch
                    .wait_for(|h| !matches!(h, PusherHealth::Connecting { .. }))
                    .await
                    .map(|h| h.clone());
                cancel.cancel();
                outcome
            };
            let (_, outcome) = tokio::join!(reader, tokio::time::timeout(CHAT_PROBE, decided));
            cancel.cancel();
            let fix = "check kick.reader's chatroom_id (`chatroom.id` at \
                       kick.com/api/v2/channels/<slug>) and channel_id";
            match outcome {
                Ok(Ok(PusherHealth::Connected { .. })) => Check::ok(
                    NAME,
                    format!("Kick's chat socket: subscribed to chatroom {chatroom_id}"),
                ),
                Ok(Ok(PusherHealth::Reconnecting { reason, .. })) => {
                    Check::fail(NAME, format!("Kick's chat socket: {reason}"), fix)
                }
                Ok(Ok(PusherHealth::GaveUp { code, reason })) => Check::fail(
                    NAME,
                    format!("Kick's chat socket refused us ({code}: {reason})"),
                    "Kick may have changed its chat socket: see docs/setup.md",
                ),
                Ok(Ok(other)) => Check::fail(NAME, format!("Kick's chat socket: {other:?}"), fix),
                Ok(Err(_)) | Err(_) => Check::fail(
                    NAME,
                    format!(
                        "Kick's chat socket did not subscribe within {} s",
                        CHAT_PROBE.as_secs()
                    ),
                    fix,
                ),
            }
        }
    }
}

/// One token: introspected, same application, scopes. Returns the check and whether the access
/// token is active now.
async fn token(
    ctx: &Context,
    http: &KickHttp,
    stored: &StoredToken,
    account: Account,
    name: &str,
) -> (Check, bool) {
    let who = stored.username.as_deref().unwrap_or("?");
    let login = account.login_command();
    let introspection: Introspection = match api::introspect(http, &stored.access_token).await {
        Ok(introspection) => introspection,
        Err(error) => {
            return (
                Check::fail(
                    name,
                    format!("cannot ask Kick about the token: {error}"),
                    "check the network (id.kick.com:443), or `kick.oauth_url`",
                ),
                false,
            );
        }
    };
    if !introspection.active {
        return (
            Check::ok(
                name,
                format!(
                    "{who}: the access token has expired; the bot gets a new one from the stored \
                     refresh token when it next calls Kick (should Kick refuse it, the bot says \
                     so: then run {login})"
                ),
            ),
            false,
        );
    }
    if let (Some(theirs), Some(ours)) =
        (&introspection.client_id, ctx.secrets.get("KICK_CLIENT_ID"))
        && theirs != ours.expose()
    {
        return (
            Check::fail(
                name,
                format!(
                    "the token of {who} belongs to another Kick application than KICK_CLIENT_ID"
                ),
                format!(
                    "set KICK_CLIENT_ID to the application you logged in with, or run {login} again"
                ),
            ),
            true,
        );
    }
    let missing = auth::missing_scopes(&introspection.scopes, account.scopes());
    if !missing.is_empty() {
        return (
            Check::fail(
                name,
                format!("the token of {who} lacks the scopes {}", missing.join(", ")),
                format!("run {login} again and approve every permission it asks for"),
            ),
            true,
        );
    }
    let expires = introspection
        .expires_at
        .map(|at| {
            let left = at.saturating_sub(crate::status::now_unix()) / 60 * 60;
            format!(
                ", expires in {}",
                humantime::format_duration(std::time::Duration::from_secs(left))
            )
        })
        .unwrap_or_default();
    (
        Check::ok(
            name,
            format!("valid for {who}, every scope granted{expires}"),
        ),
        true,
    )
}

/// The configured channel resolves, and is the broadcaster's.
async fn channel(http: &KickHttp, slug: &str, stored: &StoredToken) -> Check {
    const NAME: &str = "Kick channel";
    let found = match api::channel_request(http, &stored.access_token, slug).await {
        Ok(answer) => api::channel(&answer),
        Err(error) => Err(error),
    };
    match found {
        Ok(Some(channel)) => match stored.user_id {
            Some(owner) if owner != channel.broadcaster_user_id => Check::fail(
                NAME,
                format!(
                    "kick.com/{} belongs to user {}, but the broadcaster's token is {}'s (user {owner})",
                    channel.slug,
                    channel.broadcaster_user_id,
                    stored.username.as_deref().unwrap_or("?")
                ),
                "set `kick.channel` to the broadcaster's channel, or run `stream-control kick login` \
                 as its owner",
            ),
            _ => Check::ok(
                NAME,
                format!(
                    "kick.com/{} (broadcaster user id {})",
                    channel.slug, channel.broadcaster_user_id
                ),
            ),
        },
        Ok(None) => Check::fail(
            NAME,
            format!("Kick knows no channel `{slug}`"),
            "set `kick.channel` to the slug in the channel's address, kick.com/<slug>",
        ),
        Err(error) => Check::fail(
            NAME,
            format!("cannot look the channel up: {error}"),
            "check the network (api.kick.com:443), or `kick.api_url`",
        ),
    }
}
