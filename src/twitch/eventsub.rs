//! EventSub over WebSocket: one socket carrying chat messages, outgoing raids, stream
//! online/offline and ad breaks.
//!
//! twitch_api provides the message types; [`parse_frame`] reads a frame with them, dispatching
//! only the subscribed event types ([`TYPES`]) (twitch_api's `Event::parse_websocket` would link the
//! parser of every event type it knows, about a megabyte of the binary). This is the connection:
//! `session_welcome` → subscribe within its window; no message within the keepalive timeout
//! (plus a margin) → reconnect; `session_reconnect` → connect to the new URL, wait for its
//! welcome, then close the old socket (make-before-break: subscriptions carry over);
//! `revocation` → mark it with its reason; `authorization_revoked` → close the session and wait
//! for the token task (which finds the refresh refused and asks for a new login);
//! `user_removed`/`version_removed` → not made again (Twitch would refuse it); others → made
//! again with backoff; a
//! close frame (4000–4007) → log Twitch's meaning and reconnect. Notifications are
//! deduplicated by `message_id` (bounded memory) and dropped when older than 10 minutes.
//!
//! A session lost and not back within `twitch.eventsub_down_after` is an outage:
//! `Event::EventSubDown` once, and `Event::EventSubBack` once when a session is welcomed again
//! ([`Outage`]); a drop that is back sooner is only the `EventSubReconnected` it always was.

use super::Twitch;
use crate::retry::Backoff;
use crate::status::{Event, EventSubStatus, now_unix};
use futures_util::StreamExt;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use twitch_api::eventsub::channel::{
    ChannelAdBreakBeginV1, ChannelChatMessageV1, ChannelChatMessageV1Payload, ChannelRaidV1,
    ChannelRaidV1Payload,
};
use twitch_api::eventsub::stream::{StreamOfflineV1, StreamOnlineV1};
use twitch_api::eventsub::{
    self, EventSubscription, EventsubWebsocketMetadata, ReconnectPayload, WelcomePayload,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a new socket has to say welcome.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);
/// Added to Twitch's keepalive timeout before a silent socket counts as dead.
const KEEPALIVE_MARGIN: Duration = Duration::from_secs(3);
/// The keepalive asked for (`?keepalive_timeout_seconds=`, 10–600, Twitch's default 10). It is
/// also the time allowed to create the first subscription after the welcome (else close
/// 4003): 10 s is tight when Helix is slow or answers 429 first. The price: a dead socket that
/// sends nothing is noticed after this plus [`KEEPALIVE_MARGIN`].
pub const ASKED_KEEPALIVE_SECS: u32 = 20;

/// The URL of a fresh session: `url` asking for [`ASKED_KEEPALIVE_SECS`] (unless it asks for a
/// keepalive itself). Reconnect URLs are Twitch's and used as they come.
pub fn session_url(url: &str) -> String {
    if url.contains("keepalive_timeout_seconds=") {
        return url.to_string();
    }
    let join = if url.contains('?') { '&' } else { '?' };
    format!("{url}{join}keepalive_timeout_seconds={ASKED_KEEPALIVE_SECS}")
}
/// Notifications older than this are dropped (Twitch's replay-protection advice).
const MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// How many message ids are remembered for deduplication.
const DEDUPE: usize = 2048;
/// The subscription types, in the order they are created.
pub const TYPES: &[&str] = &[
    "channel.chat.message",
    "channel.raid",
    "stream.online",
    "stream.offline",
    "channel.ad_break.begin",
];

/// Remembers the last [`DEDUPE`] message ids.
#[derive(Debug, Default)]
pub struct Seen {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl Seen {
    /// `true` the first time an id is seen.
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() >= DEDUPE
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        self.order.push_back(id.to_string());
        self.ids.insert(id.to_string());
        true
    }
}

/// Why a session ended.
enum End {
    Shutdown,
    /// Twitch revoked the authorization: wait for the token task to publish (a new login, or
    /// a token that turned out valid) before connecting again. The receiver was marked seen
    /// when the revocation arrived.
    Revoked(tokio::sync::watch::Receiver<u64>),
    /// Reconnect to the default URL with a fresh session.
    Lost(String),
}

/// Chat messages EventSub has read, waiting for the Twitch chat surface ([`Links::chat`]). A
/// surface that falls this far behind loses messages (logged), never memory.
pub const CHAT_QUEUE: usize = 256;

/// Where EventSub hands what it reads beyond Status and events: chat messages to the chat
/// surface (a channel, never a call up), and the OBS handle for the stop after a raid.
#[derive(Debug, Clone)]
pub struct Links {
    pub chat: tokio::sync::mpsc::Sender<Box<ChannelChatMessageV1Payload>>,
    pub obs: Option<crate::obs::ObsHandle>,
}

/// A lost session, from the loss until a session is welcomed again: said to be down once the
/// grace has passed, and back then. Pure: times in, what to say out.
#[derive(Debug)]
pub struct Outage {
    grace: Duration,
    /// Since when, and why (the first loss's reason).
    lost: Option<(tokio::time::Instant, String)>,
    said: bool,
}

impl Outage {
    pub fn new(grace: Duration) -> Outage {
        Outage {
            grace,
            lost: None,
            said: false,
        }
    }

    /// The session was lost (or a reconnect failed): the outage starts, unless it already runs.
    pub fn lost(&mut self, reason: &str, now: tokio::time::Instant) {
        self.lost.get_or_insert_with(|| (now, reason.to_string()));
    }

    /// When the outage is to be said, while it runs and has not been said.
    pub fn deadline(&self) -> Option<tokio::time::Instant> {
        match (&self.lost, self.said) {
            (Some((since, _)), false) => Some(*since + self.grace),
            _ => None,
        }
    }

    /// The event to send at `now`: down, once the grace has passed.
    pub fn due(&mut self, now: tokio::time::Instant) -> Option<Event> {
        let deadline = self.deadline()?;
        let (_, reason) = self.lost.as_ref()?;
        (now >= deadline).then(|| {
            self.said = true;
            Event::EventSubDown {
                reason: reason.clone(),
            }
        })
    }

    /// A session is welcomed again: back, when down was said.
    pub fn back(&mut self) -> Option<Event> {
        self.lost = None;
        std::mem::take(&mut self.said).then_some(Event::EventSubBack)
    }
}

/// Run `future`; meanwhile say the outage when its grace ends.
async fn minding<T>(
    outage: &mut Outage,
    twitch: &Twitch,
    future: impl std::future::Future<Output = T>,
) -> T {
    let mut future = std::pin::pin!(future);
    loop {
        let deadline = outage.deadline();
        tokio::select! {
            out = &mut future => return out,
            _ = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(event) = outage.due(tokio::time::Instant::now()) {
                    tracing::error!(
                        after = ?twitch.config.eventsub_down_after,
                        "EventSub is down: chat commands, raids and live state wait for it"
                    );
                    let _ = twitch.events.send(event);
                }
            }
        }
    }
}

/// The supervised EventSub task.
pub async fn run(
    twitch: Arc<Twitch>,
    links: Links,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let mut seen = Seen::default();
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    // A connection was lost since the last session: the next one is a reconnect.
    let mut lost = false;
    // Twitch revoked the authorization: say so until a token comes.
    let mut revoked = false;
    let mut outage = Outage::new(twitch.config.eventsub_down_after);
    loop {
        // Nothing to subscribe without a token.
        let mut generation = twitch.generation.subscribe();
        while twitch.token().is_none() {
            set_state(&twitch, |e| {
                e.state = if revoked {
                    "authorization_revoked"
                } else {
                    "waiting_for_token"
                }
            });
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = generation.changed() => {}
            }
        }
        revoked = false;
        // Admin logins become ids once there is a token to ask with.
        twitch.resolve_admins().await;
        set_state(&twitch, |e| e.state = "connecting");
        let url = session_url(&twitch.config.eventsub_url);
        // A server that accepts and never welcomes must not hold up a shutdown.
        let connected = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            connected = minding(&mut outage, &twitch, connect(&twitch.tls, &url)) => connected,
        };
        let end = match connected {
            Ok((socket, session, keepalive)) => {
                backoff.reset();
                if std::mem::take(&mut lost) {
                    let _ = twitch
                        .events
                        .send(Event::EventSubReconnected { requested: false });
                }
                if let Some(back) = outage.back() {
                    tracing::info!("EventSub is back");
                    let _ = twitch.events.send(back);
                }
                session_loop(
                    &links, &twitch, socket, session, keepalive, &mut seen, &cancel,
                )
                .await
            }
            Err(error) => End::Lost(error),
        };
        match end {
            End::Shutdown => return Ok(()),
            End::Revoked(mut generation) => {
                tracing::error!(
                    "Twitch revoked the authorization: EventSub waits for a new login (`stream-control twitch login`)"
                );
                revoked = true;
                let reason = format!("revoked: {}", revocation_reason("authorization_revoked"));
                set_state(&twitch, |e| {
                    e.state = "authorization_revoked";
                    e.session_id = None;
                    // Twitch revokes every subscription of the user; only the first
                    // revocation was read before the socket was closed.
                    for state in e.subscriptions.values_mut() {
                        state.clone_from(&reason);
                    }
                });
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = generation.changed() => {}
                }
            }
            End::Lost(reason) => {
                lost = true;
                outage.lost(&reason, tokio::time::Instant::now());
                let retry_in = backoff.next_delay();
                tracing::warn!(%reason, retry_in = ?retry_in, "EventSub connection lost; reconnecting");
                set_state(&twitch, |e| {
                    e.state = "reconnecting";
                    e.session_id = None;
                    for state in e.subscriptions.values_mut() {
                        *state = "waiting".into();
                    }
                });
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = minding(&mut outage, &twitch, tokio::time::sleep(retry_in)) => {}
                }
            }
        }
    }
}

/// A connection being opened: [`connect`]'s future.
type Connecting =
    dyn std::future::Future<Output = Result<(Socket, String, Duration), String>> + Send;

/// Connect and wait for the welcome: the socket, the session id and the keepalive timeout.
async fn connect(tls: &crate::tls::Tls, url: &str) -> Result<(Socket, String, Duration), String> {
    let mut socket = tokio::time::timeout(WELCOME_TIMEOUT, tls.websocket(url))
        .await
        .map_err(|_| format!("no connection to {url} within {WELCOME_TIMEOUT:?}"))?
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let welcome = tokio::time::timeout(WELCOME_TIMEOUT, async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Text(text)) => {
                    if let Ok(Frame::Welcome { session, keepalive }) = parse_frame(&text) {
                        return Ok((session, keepalive));
                    }
                }
                // 4007: an unknown, used or expired reconnect URL.
                Ok(Message::Close(frame)) => {
                    return Err(close_reason(frame.as_ref().map(|f| u16::from(f.code))));
                }
                Ok(_) => {}
                Err(error) => return Err(format!("socket error: {error}")),
            }
        }
        Err("the socket closed".to_string())
    })
    .await;
    match welcome {
        Ok(Ok((session, keepalive))) => Ok((socket, session, keepalive)),
        Ok(Err(reason)) => Err(format!("{url} sent no session_welcome: {reason}")),
        Err(_) => Err(format!(
            "{url} sent no session_welcome within {WELCOME_TIMEOUT:?}"
        )),
    }
}

/// One session: subscribe, then read until it ends. Follows `session_reconnect` in place.
async fn session_loop(
    links: &Links,
    twitch: &Arc<Twitch>,
    mut socket: Socket,
    session: String,
    mut keepalive: Duration,
    seen: &mut Seen,
    cancel: &CancellationToken,
) -> End {
    set_state(twitch, |e| {
        e.state = "connected";
        e.session_id = Some(session.clone());
    });
    tracing::info!(%session, "EventSub connected");
    // Subscribing runs beside the reading: Helix may take seconds per call (or wait for a
    // rate-limit reset), and meanwhile pings must be answered and notifications handled.
    let mut subscribing: Option<std::pin::Pin<Box<Subscribing<'_>>>> =
        Some(Box::pin(subscribe(twitch, &session, TYPES.to_vec())));
    // Types to subscribe again (failed, or revoked), at `resubscribe_at`.
    let mut missing: Vec<&'static str> = Vec::new();
    let mut resubscribe = Backoff::new(Duration::from_secs(2), Duration::from_secs(120));
    let mut resubscribe_at: Option<tokio::time::Instant> = None;
    // The last EventSub message (a text frame). WebSocket pings are not: Twitch's socket layer
    // may go on pinging a session that sends nothing, and the keepalive timeout is about
    // EventSub messages ("the maximum number of seconds that you should expect silence before
    // receiving a keepalive message").
    let mut heard = tokio::time::Instant::now();
    // After `session_reconnect`: the new socket being opened. Until it welcomes us the old one
    // is read as usual: Twitch keeps sending there until then (make before break).
    let mut moving: Option<std::pin::Pin<Box<Connecting>>> = None;
    // The old socket ended during a move (Twitch closes it once the new one has welcomed us,
    // which may be read first): wait for the move instead of reading it.
    let mut old_done = false;
    loop {
        let silence = keepalive + KEEPALIVE_MARGIN;
        let next = tokio::select! {
            _ = cancel.cancelled() => {
                let _ = socket.close(None).await;
                return End::Shutdown;
            }
            moved = async {
                match moving.as_mut() {
                    Some(connecting) => connecting.await,
                    None => std::future::pending().await,
                }
            } => {
                moving = None;
                match moved {
                    Ok((new, _, new_keepalive)) => {
                        let mut old = std::mem::replace(&mut socket, new);
                        keepalive = new_keepalive;
                        heard = tokio::time::Instant::now();
                        old_done = false;
                        tokio::spawn(async move {
                            let _ = old.close(None).await;
                        });
                        tracing::info!("EventSub session moved to a new connection");
                        let _ = twitch
                            .events
                            .send(Event::EventSubReconnected { requested: true });
                    }
                    Err(error) => return End::Lost(format!("reconnect failed: {error}")),
                }
                continue;
            }
            failed = async {
                match subscribing.as_mut() {
                    Some(subscribing) => subscribing.await,
                    None => std::future::pending().await,
                }
            } => {
                subscribing = None;
                for kind in failed {
                    if !missing.contains(&kind) {
                        missing.push(kind);
                    }
                }
                if !missing.is_empty() && resubscribe_at.is_none() {
                    resubscribe_at = Some(tokio::time::Instant::now() + resubscribe.next_delay());
                }
                continue;
            }
            _ = async {
                match resubscribe_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            }, if subscribing.is_none() => {
                resubscribe_at = None;
                let kinds = std::mem::take(&mut missing);
                subscribing = Some(Box::pin(subscribe(twitch, &session, kinds)));
                continue;
            }
            next = tokio::time::timeout_at(heard + silence, socket.next()), if !old_done => next,
        };
        let message = match next {
            Err(_) => return End::Lost(format!("no message within {silence:?} (keepalive)")),
            Ok(None) => Err(("the socket closed".to_string(), None)),
            Ok(Some(Err(error))) => Err((format!("socket error: {error}"), None)),
            Ok(Some(Ok(Message::Close(frame)))) => {
                let code = frame.as_ref().map(|f| u16::from(f.code));
                Err((close_reason(code), code))
            }
            Ok(Some(Ok(message))) => Ok(message),
        };
        let text = match message {
            Ok(Message::Text(text)) => text,
            // Pings are answered by tungstenite; binary frames are not EventSub.
            Ok(_) => continue,
            // 4004: Twitch gave up waiting for the move (the new socket did not welcome us
            // within its grace time); the session is gone, so is the move.
            Err((reason, Some(RECONNECT_GRACE_EXPIRED))) => return End::Lost(reason),
            // During a move the old socket may end first (Twitch closes it once the new one
            // welcomed us, which may be read later): the move decides.
            Err(_) if moving.is_some() => {
                old_done = true;
                continue;
            }
            Err((reason, _)) => return End::Lost(reason),
        };
        heard = tokio::time::Instant::now();
        set_state(twitch, |e| e.last_message_unix = Some(now_unix()));
        let frame = match parse_frame(&text) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::warn!(%error, length = text.len(), "skipping an EventSub frame that does not parse");
                continue;
            }
        };
        match frame {
            Frame::Keepalive | Frame::Welcome { .. } => {}
            Frame::Notification {
                id,
                timestamp,
                notification,
            } => {
                let age = crate::timestamp::parse_unix_secs(&timestamp)
                    .map(|at| Duration::from_secs(now_unix().saturating_sub(at)));
                if age.is_some_and(|a| a > MAX_AGE) {
                    tracing::warn!(%id, "dropping an EventSub notification older than 10 minutes");
                    continue;
                }
                if !seen.first_time(&id) {
                    tracing::debug!(%id, "duplicate EventSub notification");
                    continue;
                }
                notify(links, twitch, notification);
            }
            Frame::Revocation { kind, status } => {
                let reason = revocation_reason(&status);
                tracing::warn!(%kind, %status, %reason, "Twitch revoked an EventSub subscription");
                set_state(twitch, |e| {
                    e.subscriptions
                        .insert(kind.clone(), format!("revoked: {reason}"));
                });
                match status.as_str() {
                    // The tokens are dead: nothing can be subscribed until a new login. The
                    // token task checks (a refresh is refused) and says so everywhere.
                    "authorization_revoked" => {
                        let generation = twitch.generation.subscribe();
                        twitch.refresh_wanted.notify_one();
                        let _ = socket.close(None).await;
                        return End::Revoked(generation);
                    }
                    // Subscribing again would be refused the same way.
                    "user_removed" | "version_removed" => {
                        missing.retain(|k| *k != kind);
                    }
                    _ => {
                        if let Some(kind) = TYPES.iter().find(|t| **t == kind) {
                            if !missing.contains(kind) {
                                missing.push(kind);
                            }
                            resubscribe.reset();
                            resubscribe_at =
                                Some(tokio::time::Instant::now() + resubscribe.current());
                        }
                    }
                }
            }
            Frame::Reconnect { url } => {
                let Some(url) = url else {
                    return End::Lost("session_reconnect without a URL".into());
                };
                // Make before break: the new socket must welcome us before the old one goes;
                // meanwhile the old one is still read (the `moving` branch above).
                if moving.is_none() {
                    let tls = twitch.tls.clone();
                    moving = Some(Box::pin(async move { connect(&tls, &url).await }));
                }
            }
        }
    }
}

/// One EventSub frame, read as far as this client needs it.
#[derive(Debug)]
pub(crate) enum Frame {
    Welcome {
        session: String,
        keepalive: Duration,
    },
    Keepalive,
    Notification {
        id: String,
        timestamp: String,
        notification: Notification,
    },
    /// Any subscription type: the status says why (`authorization_revoked`, …).
    Revocation {
        kind: String,
        status: String,
    },
    Reconnect {
        url: Option<String>,
    },
}

/// The notifications of the subscribed types, in twitch_api's payload types.
#[derive(Debug)]
pub(crate) enum Notification {
    Chat(Box<ChannelChatMessageV1Payload>),
    Raid(ChannelRaidV1Payload),
    Live(bool),
    AdBreak(super::ads::AdBreakBegin),
}

/// Read a frame: the metadata and session payloads with twitch_api's types, a notification with
/// its own type's parser (as `Event::parse_websocket` does, for the subscribed types only).
pub(crate) fn parse_frame(text: &str) -> Result<Frame, String> {
    #[derive(serde::Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        metadata: EventsubWebsocketMetadata<'a>,
        #[serde(borrow)]
        payload: &'a serde_json::value::RawValue,
    }
    #[derive(serde::Deserialize)]
    struct Revoked {
        subscription: RevokedSubscription,
    }
    #[derive(serde::Deserialize)]
    struct RevokedSubscription {
        status: String,
    }
    fn json<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
    fn is<E: EventSubscription>(kind: &eventsub::EventType, version: &str) -> bool {
        *kind == E::EVENT_TYPE && version == E::VERSION
    }
    fn notification<E: EventSubscription>(payload: &str) -> Result<E::Payload, String> {
        match eventsub::Payload::<E>::parse_notification(payload) {
            Ok(eventsub::Payload {
                message: eventsub::Message::Notification(event),
                ..
            }) => Ok(event),
            Ok(_) => Err("not a notification".into()),
            // twitch_api's own message is generic; serde's cause says which field.
            Err(error) => Err(crate::status::error_chain(&error)),
        }
    }
    let raw: Raw = json(text)?;
    let payload = raw.payload.get();
    Ok(match raw.metadata {
        EventsubWebsocketMetadata::Welcome(_) => {
            let welcome: WelcomePayload = json(payload)?;
            let keepalive = welcome.session.keepalive_timeout_seconds.unwrap_or(10);
            Frame::Welcome {
                session: welcome.session.id.into_owned(),
                keepalive: Duration::from_secs(keepalive.max(0) as u64),
            }
        }
        EventsubWebsocketMetadata::Keepalive(_) => Frame::Keepalive,
        EventsubWebsocketMetadata::Reconnect(_) => {
            let reconnect: ReconnectPayload = json(payload)?;
            Frame::Reconnect {
                url: reconnect.session.reconnect_url.map(|u| u.into_owned()),
            }
        }
        EventsubWebsocketMetadata::Revocation(metadata) => {
            let revoked: Revoked = json(payload)?;
            Frame::Revocation {
                kind: metadata.subscription_type.to_string(),
                status: revoked.subscription.status,
            }
        }
        EventsubWebsocketMetadata::Notification(metadata) => {
            let (kind, version) = (&metadata.subscription_type, &*metadata.subscription_version);
            let notification = if is::<ChannelChatMessageV1>(kind, version) {
                Notification::Chat(Box::new(notification::<ChannelChatMessageV1>(payload)?))
            } else if is::<ChannelRaidV1>(kind, version) {
                Notification::Raid(notification::<ChannelRaidV1>(payload)?)
            } else if is::<StreamOnlineV1>(kind, version) {
                notification::<StreamOnlineV1>(payload)?;
                Notification::Live(true)
            } else if is::<StreamOfflineV1>(kind, version) {
                notification::<StreamOfflineV1>(payload)?;
                Notification::Live(false)
            } else if is::<ChannelAdBreakBeginV1>(kind, version) {
                // Read with our own lenient type (see `ads::AdBreakBegin`).
                #[derive(serde::Deserialize)]
                struct AdBreak {
                    event: super::ads::AdBreakBegin,
                }
                Notification::AdBreak(json::<AdBreak>(payload)?.event)
            } else {
                return Err(format!(
                    "a {kind} v{version} notification, which was not subscribed"
                ));
            };
            Frame::Notification {
                id: metadata.message_id.into_owned(),
                timestamp: metadata.message_timestamp.as_str().to_string(),
                notification,
            }
        }
        other => return Err(format!("an unknown message type: {other:?}")),
    })
}

/// A revocation's status as the streamer reads it (Twitch's subscription statuses,
/// dev.twitch.tv/docs/eventsub/handling-websocket-events#revocation-message).
pub(crate) fn revocation_reason(status: &str) -> String {
    match status {
        "authorization_revoked" => "the authorization was revoked (disconnected app or changed password): log in again with `stream-control twitch login`".into(),
        "user_removed" => "the Twitch account no longer exists (user_removed)".into(),
        "version_removed" => "Twitch no longer supports this subscription version (version_removed): update stream-control".into(),
        "moderator_removed" => "the moderator that authorized it was removed (moderator_removed)".into(),
        "chat_user_banned" => "the chat account was banned from the channel (chat_user_banned)".into(),
        other => other.to_string(),
    }
}

/// Twitch's close code for a reconnect that did not finish within its grace time.
const RECONNECT_GRACE_EXPIRED: u16 = 4004;

/// Twitch's close codes, as its documentation describes them.
fn close_reason(code: Option<u16>) -> String {
    let meaning = match code {
        Some(4000) => "Twitch had an internal error",
        Some(4001) => "Twitch saw traffic from the client (only pongs are allowed)",
        Some(4002) => "the client missed a ping",
        Some(4003) => "connection unused: no subscription in time",
        Some(4004) => "reconnect grace time expired",
        Some(4005) => "network timeout",
        Some(4006) => "network error",
        Some(4007) => "invalid reconnect URL",
        _ => "closed",
    };
    match code {
        Some(code) => format!("Twitch closed the socket ({code}: {meaning})"),
        None => format!("Twitch closed the socket ({meaning})"),
    }
}

/// [`subscribe`]'s future.
type Subscribing<'a> = dyn std::future::Future<Output = Vec<&'static str>> + Send + 'a;

/// Create the subscriptions of `types` for `session`; returns those that failed.
async fn subscribe(twitch: &Twitch, session: &str, types: Vec<&'static str>) -> Vec<&'static str> {
    let mut failed = Vec::new();
    for kind in types {
        let result = super::helix::subscribe(twitch, kind, session).await;
        let state = match &result {
            Ok(()) => "enabled".to_string(),
            Err(error) => {
                tracing::warn!(kind, %error, "EventSub subscription failed");
                failed.push(kind);
                format!("failed: {error}")
            }
        };
        set_state(twitch, |e| {
            e.subscriptions.insert(kind.to_string(), state);
        });
    }
    failed
}

/// Hand one notification to where it belongs.
fn notify(links: &Links, twitch: &Arc<Twitch>, notification: Notification) {
    match notification {
        Notification::Chat(message) => {
            if let Err(error) = links.chat.try_send(message) {
                tracing::warn!(%error, "a chat message is dropped: the chat surface is behind");
            }
        }
        Notification::Raid(raid) => {
            let ours = twitch
                .token()
                .is_some_and(|t| t.user_id == raid.from_broadcaster_user_id);
            if !ours {
                return;
            }
            let channel = raid.to_broadcaster_user_login.to_string();
            tracing::info!(%channel, viewers = raid.viewers, "outgoing raid");
            if let Some(obs) = links.obs.clone() {
                tokio::spawn(async move { obs.stop_after_raid(&channel).await });
            }
        }
        Notification::Live(live) => {
            twitch.status.update(|t| {
                t.live = Some(live);
                if !live {
                    t.viewers = None;
                }
            });
            let _ = twitch.events.send(Event::TwitchLive { live });
        }
        Notification::AdBreak(begin) => {
            let ours = twitch
                .token()
                .is_some_and(|t| t.user_id.as_str() == begin.broadcaster_user_id);
            if !ours {
                return;
            }
            super::ads::ad_break_began(twitch, &begin);
            if let Some(obs) = links.obs.clone() {
                let duration = Duration::from_secs(u64::from(begin.seconds()));
                tokio::spawn(async move { obs.cover_ad_break(duration).await });
            }
        }
    }
}

fn set_state(twitch: &Twitch, change: impl FnOnce(&mut EventSubStatus)) {
    twitch.status.update(|t| change(&mut t.eventsub));
}

#[cfg(test)]
mod tests;
