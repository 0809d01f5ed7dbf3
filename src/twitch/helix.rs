//! Helix calls through the real twitch_api client: title, category, raid, chat messages, stream
//! info. Every call has a timeout (the HTTP client's) and honours rate limits (see `http`); a
//! 401 asks the token task for a fresh token and is tried once more.

use super::{Account, Twitch};
use crate::reply::{Reply, keys};
use futures_util::{StreamExt, TryStreamExt};
use std::future::Future;
use std::time::Duration;
use twitch_api::helix;
use twitch_api::helix::ClientRequestError;
use twitch_oauth2::UserToken;

/// Why a Twitch call did not work. Each maps to a localised reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwitchError {
    #[error("not logged in to Twitch")]
    NotLoggedIn,
    #[error("Twitch refused the token")]
    Unauthorized,
    #[error("the Twitch token lacks a scope: {0}")]
    MissingScope(String),
    #[error("Twitch's rate limit was reached")]
    RateLimited,
    /// Markers, clips and ads need a live stream; Twitch answered that there is none.
    #[error("the channel is not live on Twitch")]
    NotLive,
    #[error("Twitch answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("cannot reach Twitch: {0}")]
    Unreachable(String),
}

impl TwitchError {
    pub fn reply(&self) -> Reply {
        match self {
            TwitchError::NotLoggedIn => Reply::new(keys::TWITCH_NOT_LOGGED_IN),
            TwitchError::Unauthorized => Reply::new(keys::TWITCH_UNAUTHORIZED),
            TwitchError::MissingScope(scope) => {
                Reply::new(keys::TWITCH_MISSING_SCOPE).arg("scope", scope.clone())
            }
            TwitchError::RateLimited => Reply::new(keys::TWITCH_RATE_LIMITED),
            TwitchError::NotLive => Reply::new(keys::TWITCH_NOT_LIVE),
            // Twitch sometimes says nothing (`503 {"message": ""}`): then the status speaks.
            TwitchError::Api { message, status } if message.trim().is_empty() => {
                Reply::new(keys::TWITCH_REFUSED).arg("reason", format!("HTTP {status}"))
            }
            TwitchError::Api { message, .. } => {
                Reply::new(keys::TWITCH_REFUSED).arg("reason", message.clone())
            }
            TwitchError::Unreachable(_) => Reply::new(keys::TWITCH_UNREACHABLE),
        }
        .with_outcome(crate::reply::Outcome::Failed)
    }
}

impl From<TwitchError> for crate::reply::UserError {
    fn from(error: TwitchError) -> Self {
        crate::reply::UserError {
            reply: error.reply(),
        }
    }
}

type ClientError = ClientRequestError<reqwest::Error>;

fn classify(error: &ClientError) -> TwitchError {
    use twitch_api::helix::{
        HelixRequestDeleteError as D, HelixRequestGetError as G, HelixRequestPatchError as Pa,
        HelixRequestPostError as Po, HelixRequestPutError as Pu,
    };
    let (status, message) = match error {
        ClientRequestError::HelixRequestGetError(G::Error {
            status, message, ..
        })
        | ClientRequestError::HelixRequestPostError(Po::Error {
            status, message, ..
        })
        | ClientRequestError::HelixRequestPatchError(Pa::Error {
            status, message, ..
        })
        | ClientRequestError::HelixRequestPutError(Pu::Error {
            status, message, ..
        })
        | ClientRequestError::HelixRequestDeleteError(D::Error {
            status, message, ..
        }) => (status.as_u16(), message.clone()),
        other => return TwitchError::Unreachable(crate::status::error_chain(other)),
    };
    match status {
        // "Missing scope: clips:edit": the scope itself has colons.
        401 if message.to_lowercase().contains("scope") => TwitchError::MissingScope(
            message
                .split_once(':')
                .map(|(_, scope)| scope.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or(message),
        ),
        401 => TwitchError::Unauthorized,
        // EventSub's socket and subscription limits answer 429 too, with their own message
        // ("number of websocket transports limit exceeded"): not a rate limit.
        429 if message.contains("limit exceeded") => TwitchError::Api { status, message },
        429 => TwitchError::RateLimited,
        _ => TwitchError::Api { status, message },
    }
}

/// Run `call` with the broadcaster's token; after a 401, once more with a refreshed token.
pub(super) async fn with_token<T, F, Fut>(twitch: &Twitch, call: F) -> Result<T, TwitchError>
where
    F: Fn(UserToken) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    with_account(twitch, Account::Broadcaster, call).await
}

fn account_token(twitch: &Twitch, account: Account) -> Option<UserToken> {
    match account {
        Account::Broadcaster => twitch.token(),
        Account::Bot => twitch.bot_token(),
    }
}

/// POST a request without a body as the broadcaster, the request made from their user id
/// (Create Clip, Snooze Next Ad: `?broadcaster_id=`); the answer's `data`.
pub(super) async fn post_as_broadcaster<R, D>(
    twitch: &Twitch,
    request: impl Fn(String) -> R,
) -> Result<D, TwitchError>
where
    R: helix::Request<Response = D> + helix::RequestPost<Body = helix::EmptyBody>,
    D: serde::de::DeserializeOwned + PartialEq,
{
    with_token(twitch, |token| {
        let request = request(token.user_id.to_string());
        async move {
            twitch
                .helix
                .req_post(request, helix::EmptyBody, &token)
                .await
                .map(|response| response.data)
        }
    })
    .await
}

/// [`with_token`] for either account.
async fn with_account<T, F, Fut>(
    twitch: &Twitch,
    account: Account,
    call: F,
) -> Result<T, TwitchError>
where
    F: Fn(UserToken) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let token = account_token(twitch, account).ok_or(TwitchError::NotLoggedIn)?;
    match call(token).await {
        Ok(value) => Ok(value),
        Err(error) => match classify(&error) {
            TwitchError::Unauthorized => {
                if !twitch
                    .refresh_after_unauthorized(account, Duration::from_secs(15))
                    .await
                {
                    return Err(TwitchError::Unauthorized);
                }
                let token = account_token(twitch, account).ok_or(TwitchError::NotLoggedIn)?;
                call(token).await.map_err(|e| classify(&e))
            }
            other => Err(other),
        },
    }
}

/// Set the stream title.
pub async fn set_title(twitch: &Twitch, title: &str) -> Result<(), TwitchError> {
    with_token(twitch, |token| async move {
        let mut body = helix::channels::ModifyChannelInformationBody::new();
        body.title(title);
        let request =
            helix::channels::ModifyChannelInformationRequest::broadcaster_id(token.user_id.clone());
        twitch
            .helix
            .req_patch(request, body, &token)
            .await
            .map(|_| ())
    })
    .await
}

/// What a category search settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CategoryChoice {
    /// Set to this category (its name).
    Set(String),
    /// Several match equally: the top candidates.
    Ambiguous(Vec<String>),
    NotFound,
}

/// The category for a query: exact name (any case) first, else the single result, else the one
/// name that starts with the query; otherwise the top candidates.
pub fn choose_category(
    query: &str,
    found: &[(String, String)],
) -> Result<(String, String), CategoryChoice> {
    let lower = query.trim().to_lowercase();
    if let Some(exact) = found.iter().find(|(_, name)| name.to_lowercase() == lower) {
        return Ok(exact.clone());
    }
    match found {
        [] => return Err(CategoryChoice::NotFound),
        [one] => return Ok(one.clone()),
        _ => {}
    }
    let starting: Vec<&(String, String)> = found
        .iter()
        .filter(|(_, n)| n.to_lowercase().starts_with(&lower))
        .collect();
    if let [one] = starting.as_slice() {
        return Ok((*one).clone());
    }
    Err(CategoryChoice::Ambiguous(
        found.iter().take(5).map(|(_, n)| n.clone()).collect(),
    ))
}

/// Categories matching `query` (Twitch's search order), as `(id, name)`, at most 20.
pub async fn search_categories(
    twitch: &Twitch,
    query: &str,
) -> Result<Vec<(String, String)>, TwitchError> {
    with_token(twitch, |token| async move {
        let categories: Vec<helix::search::Category> = twitch
            .helix
            .search_categories(query, &token)
            .take(20)
            .try_collect()
            .await?;
        Ok(categories
            .into_iter()
            .map(|c| (c.id.to_string(), c.name))
            .collect())
    })
    .await
}

/// Search categories and set the best unambiguous match.
pub async fn set_category(twitch: &Twitch, query: &str) -> Result<CategoryChoice, TwitchError> {
    let found = search_categories(twitch, query).await?;
    let (id, name) = match choose_category(query, &found) {
        Ok(choice) => choice,
        Err(other) => return Ok(other),
    };
    with_token(twitch, |token| {
        let id = id.clone();
        async move {
            let mut body = helix::channels::ModifyChannelInformationBody::new();
            body.game_id(id);
            let request = helix::channels::ModifyChannelInformationRequest::broadcaster_id(
                token.user_id.clone(),
            );
            twitch
                .helix
                .req_patch(request, body, &token)
                .await
                .map(|_| ())
        }
    })
    .await?;
    Ok(CategoryChoice::Set(name))
}

/// What a raid did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RaidChoice {
    /// The raid started (the target's display name).
    Started(String),
    UnknownUser,
}

/// The user id of a login, if Twitch knows it.
pub async fn user_id(twitch: &Twitch, login: &str) -> Result<Option<String>, TwitchError> {
    let user = with_token(twitch, |token| async move {
        twitch.helix.get_user_from_login(login, &token).await
    })
    .await?;
    Ok(user.map(|u| u.id.to_string()))
}

/// Look up `login` and start a raid to it.
pub async fn raid(twitch: &Twitch, login: &str) -> Result<RaidChoice, TwitchError> {
    let user = with_token(twitch, |token| async move {
        twitch.helix.get_user_from_login(login, &token).await
    })
    .await?;
    let Some(user) = user else {
        return Ok(RaidChoice::UnknownUser);
    };
    with_token(twitch, |token| {
        let to = user.id.clone();
        async move {
            twitch
                .helix
                .start_a_raid(token.user_id.clone(), to, &token)
                .await
                .map(|_| ())
        }
    })
    .await?;
    Ok(RaidChoice::Started(user.display_name.to_string()))
}

/// Chat messages are at most this long (characters).
pub const CHAT_LIMIT: usize = 500;

/// How long a part [`send_chat`] posts may be: room is left for the mark that varies a repeat
/// ([`super::REPEAT_MARK`]).
pub const PART_LIMIT: usize = CHAT_LIMIT - 2;

/// Send `text` to the broadcaster's chat, as a reply to `reply_to` where given (the first
/// part), split at words under [`PART_LIMIT`] ([`crate::reply::split`]).
pub async fn send_chat(
    twitch: &Twitch,
    text: &str,
    reply_to: Option<&str>,
) -> Result<(), TwitchError> {
    for (i, part) in crate::reply::split(text, PART_LIMIT, crate::reply::Breaks::Words)
        .into_iter()
        .enumerate()
    {
        let parent = if i == 0 {
            reply_to.map(str::to_string)
        } else {
            None
        };
        // As the bot account when one is logged in, else as the broadcaster; always into the
        // broadcaster's chat.
        let channel = twitch.token().ok_or(TwitchError::NotLoggedIn)?.user_id;
        let account = if twitch.bot_token().is_some() {
            Account::Bot
        } else {
            Account::Broadcaster
        };
        with_account(twitch, account, |token| {
            let part = part.clone();
            let parent = parent.clone();
            let channel = channel.clone();
            async move {
                let me = token.user_id.clone();
                // Noted before the post: the echo may come over EventSub before the answer.
                let part = twitch.begin_post(me.as_str(), &part);
                let sent = match parent {
                    Some(parent) => {
                        twitch
                            .helix
                            .send_chat_message_reply(
                                channel,
                                me,
                                parent.as_str(),
                                part.as_str(),
                                &token,
                            )
                            .await
                    }
                    None => {
                        twitch
                            .helix
                            .send_chat_message(channel, me, part.as_str(), &token)
                            .await
                    }
                };
                // Our own messages come back over EventSub: remember them to ignore them.
                let id = sent.as_ref().ok().and_then(|s| s.message_id.as_ref());
                twitch.post_answered(token.user_id.as_str(), &part, id.map(|id| id.as_str()));
                let sent = sent?;
                if !sent.is_sent {
                    tracing::warn!(reason = ?sent.drop_reason, "Twitch dropped a chat message");
                }
                Ok(())
            }
        })
        .await?;
    }
    Ok(())
}

/// Subscribe `session` to one EventSub type for the broadcaster (`409 Conflict`, already
/// subscribed, counts as success).
pub async fn subscribe(twitch: &Twitch, kind: &str, session: &str) -> Result<(), TwitchError> {
    use twitch_api::eventsub::{Transport, channel, stream};
    let result = with_token(twitch, |token| async move {
        let me = token.user_id.clone();
        let transport = Transport::websocket(session.to_string());
        let helix = &twitch.helix;
        match kind {
            "channel.chat.message" => helix
                .create_eventsub_subscription(
                    channel::ChannelChatMessageV1::new(me.clone(), me),
                    transport,
                    &token,
                )
                .await
                .map(|_| ()),
            "channel.raid" => helix
                .create_eventsub_subscription(
                    channel::ChannelRaidV1::from_broadcaster_user_id(me),
                    transport,
                    &token,
                )
                .await
                .map(|_| ()),
            "stream.online" => helix
                .create_eventsub_subscription(
                    stream::StreamOnlineV1::broadcaster_user_id(me),
                    transport,
                    &token,
                )
                .await
                .map(|_| ()),
            "stream.offline" => helix
                .create_eventsub_subscription(
                    stream::StreamOfflineV1::broadcaster_user_id(me),
                    transport,
                    &token,
                )
                .await
                .map(|_| ()),
            "channel.ad_break.begin" => helix
                .create_eventsub_subscription(
                    channel::ChannelAdBreakBeginV1::broadcaster_user_id(me),
                    transport,
                    &token,
                )
                .await
                .map(|_| ()),
            _ => Ok(()),
        }
    })
    .await;
    match result {
        Err(TwitchError::Api { status: 409, .. }) => Ok(()),
        Err(TwitchError::Api {
            status: 429,
            message,
        }) if message.contains("websocket transports") => Err(TwitchError::Api {
            status: 429,
            message: format!(
                "{message}: Twitch allows 3 EventSub connections per account, and other programs (or another stream-control) hold them; retrying"
            ),
        }),
        // "403 Forbidden: The access token is missing the required scopes" (Create EventSub
        // Subscription, dev.twitch.tv/docs/api/reference): name the one this type needs.
        Err(TwitchError::Api {
            status: 403,
            message,
        }) => Err(match subscription_scope(kind) {
            Some(scope) => TwitchError::MissingScope(scope.to_string()),
            None => TwitchError::Api {
                status: 403,
                message,
            },
        }),
        other => other,
    }
}

/// The scope a subscription type needs from the broadcaster's token (EventSub subscription
/// types reference), for the types the bot subscribes to.
fn subscription_scope(kind: &str) -> Option<&'static str> {
    match kind {
        "channel.chat.message" => Some("user:read:chat"),
        "channel.ad_break.begin" => Some("channel:read:ads"),
        _ => None,
    }
}

/// Live state, viewers, title and category of the broadcaster's stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamInfo {
    pub live: bool,
    pub viewers: Option<u64>,
    pub title: Option<String>,
    pub category: Option<String>,
    pub started_at: Option<String>,
}

pub async fn stream_info(twitch: &Twitch) -> Result<StreamInfo, TwitchError> {
    let streams: Vec<helix::streams::Stream> = with_token(twitch, |token| async move {
        twitch
            .helix
            .get_streams_from_ids(
                &[AsRef::<twitch_api::types::UserIdRef>::as_ref(
                    &token.user_id,
                )][..]
                    .into(),
                &token,
            )
            .take(1)
            .try_collect()
            .await
    })
    .await?;
    Ok(match streams.into_iter().next() {
        Some(stream) => StreamInfo {
            live: true,
            viewers: Some(stream.viewer_count as u64),
            title: Some(stream.title),
            category: Some(stream.game_name),
            started_at: Some(stream.started_at.to_string()),
        },
        None => StreamInfo::default(),
    })
}

/// Reads live state, viewers, title and category into Status every `stream_info_interval`.
pub async fn run_stream_info(
    twitch: std::sync::Arc<super::Twitch>,
    cancel: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    // Start as soon as there is a token.
    let mut generation = twitch.generation.subscribe();
    while twitch.token().is_none() {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            changed = generation.changed() => if changed.is_err() { return Ok(()) },
        }
    }
    let mut tick = tokio::time::interval(twitch.config.stream_info_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        if twitch.token().is_none() {
            continue;
        }
        match stream_info(&twitch).await {
            Ok(info) => twitch.status.update(|t| {
                t.live = Some(info.live);
                t.viewers = info.viewers;
                if info.live {
                    t.title = info.title;
                    t.category = info.category;
                }
                t.live_since_unix = info
                    .started_at
                    .as_deref()
                    .and_then(crate::timestamp::parse_unix_secs);
            }),
            Err(error) => tracing::debug!(%error, "reading the stream info failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_chosen_only_when_unambiguous() {
        let found = |names: &[&str]| -> Vec<(String, String)> {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (i.to_string(), n.to_string()))
                .collect()
        };
        let pick = |q: &str, names: &[&str]| choose_category(q, &found(names)).map(|(_, n)| n);
        assert_eq!(
            pick("just chatting", &["Just Chatting", "Just Dance"]),
            Ok("Just Chatting".into())
        );
        assert_eq!(pick("minec", &["Minecraft"]), Ok("Minecraft".into()));
        assert_eq!(
            pick("slot", &["Slots", "Crypto Slots Machines", "Pokies"]),
            Ok("Slots".into())
        );
        assert_eq!(
            pick("just", &["Just Chatting", "Just Dance"]),
            Err(CategoryChoice::Ambiguous(vec![
                "Just Chatting".into(),
                "Just Dance".into()
            ]))
        );
        assert_eq!(pick("zzz", &[]), Err(CategoryChoice::NotFound));
    }
}
