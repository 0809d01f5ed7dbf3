//! Kick chat over Pusher: the socket Kick's own web client reads chat from. **Unofficial**:
//! Kick documents no part of it (its app key, cluster and event names are what its web client
//! uses, as NOALBS reads them in `src/chat/kick.rs`), so it may change without notice; the
//! health this task publishes says so when it breaks ([`PusherHealth`]).
//!
//! The protocol is Pusher Channels protocol 7 (pusher.com/docs/channels/library_auth_reference/
//! pusher-websockets-protocol), public channels only:
//!
//! - connect to `wss://ws-<cluster>.pusher.com/app/<key>?protocol=7&client=…&version=…`
//!   ([`pusher_url`]); the server says `pusher:connection_established` with `socket_id` and
//!   `activity_timeout` ("Connection");
//! - `pusher:subscribe` to `chatrooms.<chatroom id>.v2` (chat) and `channel.<channel id>`
//!   (hosts), each confirmed by `pusher_internal:subscription_succeeded` ("Subscription
//!   events"); a refusal (`pusher:error` without a code, or `pusher:subscription_error`) or no
//!   answer within [`PusherLimits::subscribe_timeout`] is a failed session;
//! - a `pusher:ping` is answered with `pusher:pong`; after `activity_timeout` without a message
//!   we send `pusher:ping`, and no message within [`PusherLimits::pong_timeout`] after it means
//!   the connection is dead ("Ping and pong messages"; 30 s is pusher-js's pong timeout);
//! - `pusher:error` and close codes ("Error codes"): 4000–4099 mean reconnecting with the same
//!   parameters will not succeed (wrong app key, over quota, …): the task gives up and says
//!   why; 4100–4199: reconnect after backoff; 4200–4299: reconnect soon.
//!
//! Chat messages (`App\Events\ChatMessageEvent`, `data` a JSON string) and our channel's hosts
//! (`App\Events\ChatMoveToSupportedChannelEvent`) are read by `kick::chat` and handed over on
//! [`PusherLinks::events`]; a message id seen before (Pusher redelivering after a reconnect, or
//! a repeated frame) is dropped, remembering the last [`PusherLimits::dedupe`] ids across
//! reconnects. Reconnects wait a capped exponential backoff with jitter, reset after a session
//! that got all its subscriptions.

use super::chat::{self, KickEvent};
use crate::retry::Backoff;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Kick's Pusher host (cluster `us2`), as Kick's web client and NOALBS use it.
pub const DEFAULT_HOST: &str = "wss://ws-us2.pusher.com";
/// Kick's Pusher app key (NOALBS `src/chat/kick.rs`, "Change pusher app key", 2024-07-18; the
/// key its web client still used in 2025).
pub const DEFAULT_APP_KEY: &str = "32cbd69e4b950bf97679";
/// The client we say we are (`client`, `version`): Pusher's JavaScript library, as Kick's web
/// client and NOALBS connect.
pub const CLIENT: &str = "js";
pub const CLIENT_VERSION: &str = "7.6.0";
/// How many events may wait for the chat surface; a surface this far behind loses messages
/// (logged), never memory. A suggestion for the channel the lead builds.
pub const EVENT_QUEUE: usize = 256;

/// The socket URL: `<host>/app/<key>?protocol=7&client=js&version=…&flash=false`.
pub fn pusher_url(host: &str, app_key: &str) -> String {
    format!(
        "{}/app/{app_key}?protocol=7&client={CLIENT}&version={CLIENT_VERSION}&flash=false",
        host.trim_end_matches('/')
    )
}

/// The chat channel of a chatroom.
pub fn chatroom_channel(chatroom_id: u64) -> String {
    format!("chatrooms.{chatroom_id}.v2")
}

/// The channel carrying a Kick channel's hosts.
pub fn channel_channel(channel_id: u64) -> String {
    format!("channel.{channel_id}")
}

/// What to read.
#[derive(Debug, Clone)]
pub struct PusherParams {
    /// The socket URL ([`pusher_url`]).
    pub url: String,
    /// The chatroom whose messages are read (Kick's `chatroom.id`, not the channel id).
    pub chatroom_id: u64,
    /// The channel whose outgoing hosts (raids) are read; `None`: chat only.
    pub channel_id: Option<u64>,
    pub limits: PusherLimits,
}

/// Every limit of the reader.
#[derive(Debug, Clone)]
pub struct PusherLimits {
    /// TCP, TLS and WebSocket handshake, and then again for `connection_established`.
    pub connect_timeout: Duration,
    /// For every `subscription_succeeded` after the subscribes are sent.
    pub subscribe_timeout: Duration,
    /// Our ping after this long without a message, or after the server's `activity_timeout`
    /// when that is shorter (pusher-js: the smaller of its option and the server's value).
    pub max_activity_timeout: Duration,
    /// No message this long after our ping: the connection is dead.
    pub pong_timeout: Duration,
    /// Reconnect backoff: first delay, doubling to the cap; each delay jittered to 50–100 %.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// After a 4200–4299 close of a session that was subscribed: reconnect within this.
    pub reconnect_soon: Duration,
    /// Largest WebSocket message and frame read.
    pub max_message_bytes: usize,
    /// Chat message ids remembered across reconnects.
    pub dedupe: usize,
}

impl Default for PusherLimits {
    fn default() -> Self {
        PusherLimits {
            connect_timeout: Duration::from_secs(10),
            subscribe_timeout: Duration::from_secs(10),
            max_activity_timeout: Duration::from_secs(120),
            pong_timeout: Duration::from_secs(30),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(120),
            reconnect_soon: Duration::from_secs(1),
            max_message_bytes: 64 * 1024,
            dedupe: 4096,
        }
    }
}

/// Where the reader hands over what it reads, and says how it is: a peer reports, it never
/// calls up. The lead maps [`PusherHealth`] to its Status.
#[derive(Debug, Clone)]
pub struct PusherLinks {
    pub events: mpsc::Sender<KickEvent>,
    pub health: watch::Sender<PusherHealth>,
}

/// The reader's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PusherHealth {
    /// Opening a connection; `attempt` counts those since the last good session (1 = first).
    Connecting { attempt: u32 },
    /// Connected and subscribed to every channel.
    Connected { socket_id: String },
    /// The last connection failed or ended; the next one is made after `retry_in`.
    Reconnecting {
        reason: String,
        attempt: u32,
        retry_in: Duration,
    },
    /// Pusher said reconnecting will not help (4000–4099). Nothing is read until a restart.
    GaveUp { code: u16, reason: String },
    /// Shut down.
    Stopped,
}

impl PusherHealth {
    pub fn is_connected(&self) -> bool {
        matches!(self, PusherHealth::Connected { .. })
    }
}

/// What a Pusher error code asks of the client ("Error codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// 4000–4099: do not reconnect with the same parameters.
    GiveUp,
    /// 4100–4199 (and anything unclassified): reconnect after backoff.
    Backoff,
    /// 4200–4299: reconnect soon.
    Soon,
}

pub fn after(code: u16) -> After {
    match code {
        4000..=4099 => After::GiveUp,
        4200..=4299 => After::Soon,
        _ => After::Backoff,
    }
}

/// Pusher's meaning of an error code, for the streamer.
pub fn meaning(code: u16) -> &'static str {
    match code {
        4000 => "the app only accepts TLS",
        4001 => "the app does not exist (Kick may have changed its Pusher app key)",
        4003 => "the app is disabled",
        4004 => "the app is over its connection quota",
        4005 => "path not found",
        4006 => "invalid version string format",
        4007 => "unsupported protocol version",
        4008 => "no protocol version supplied",
        4009 => "connection is unauthorized",
        4100 => "over capacity",
        4200 => "generic reconnect immediately",
        4201 => "pong reply not received",
        4202 => "closed after inactivity",
        4301 => "client event rejected due to rate limit",
        _ => match after(code) {
            After::GiveUp => "reconnecting will not succeed",
            After::Soon => "reconnect",
            After::Backoff if (4100..4200).contains(&code) => "reconnect after a pause",
            After::Backoff => "an unknown error",
        },
    }
}

/// Message ids seen, the last `cap` of them.
#[derive(Debug)]
struct Seen {
    cap: usize,
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl Seen {
    fn new(cap: usize) -> Seen {
        Seen {
            cap: cap.max(1),
            order: VecDeque::new(),
            ids: HashSet::new(),
        }
    }

    fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() >= self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        self.order.push_back(id.to_string());
        self.ids.insert(id.to_string());
        true
    }
}

/// How a session ended.
#[derive(Debug)]
enum End {
    Shutdown,
    /// Reconnect; `soon` for a 4200–4299 close.
    Lost {
        reason: String,
        soon: bool,
    },
    GaveUp {
        code: u16,
        reason: String,
    },
}

/// The reader task: connect, subscribe, read, reconnect, until `cancel`. After giving up it
/// waits for `cancel` (returning would have a supervisor restart it against Pusher's advice).
pub async fn run(
    tls: crate::tls::Tls,
    params: PusherParams,
    links: PusherLinks,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let limits = &params.limits;
    let mut seen = Seen::new(limits.dedupe);
    let mut backoff = Backoff::new(limits.backoff_min, limits.backoff_max);
    // Connections failed or lost since the last good session.
    let mut failures: u32 = 0;
    loop {
        links.health.send_replace(PusherHealth::Connecting {
            attempt: failures.saturating_add(1),
        });
        let mut subscribed = false;
        let end = tokio::select! {
            _ = cancel.cancelled() => End::Shutdown,
            end = session(&tls, &params, &links, &mut seen, &mut subscribed) => end,
        };
        if subscribed {
            backoff.reset();
            failures = 0;
        }
        match end {
            End::Shutdown => break,
            End::GaveUp { code, reason } => {
                tracing::error!(code, %reason, "Kick chat (Pusher, unofficial) gave up: Pusher says reconnecting will not help");
                links
                    .health
                    .send_replace(PusherHealth::GaveUp { code, reason });
                cancel.cancelled().await;
                break;
            }
            End::Lost { reason, soon } => {
                failures = failures.saturating_add(1);
                let attempt = failures;
                let delay = if soon && subscribed {
                    limits.reconnect_soon
                } else {
                    backoff.next_delay()
                };
                let retry_in = jitter(delay);
                tracing::warn!(%reason, ?retry_in, attempt, "Kick chat (Pusher, unofficial) connection lost; reconnecting");
                links.health.send_replace(PusherHealth::Reconnecting {
                    reason,
                    attempt,
                    retry_in,
                });
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(retry_in) => {}
                }
            }
        }
    }
    links.health.send_replace(PusherHealth::Stopped);
    Ok(())
}

/// 50–100 % of `delay`, so many clients dropped at once do not come back at once.
fn jitter(delay: Duration) -> Duration {
    let fraction = f64::from(getrandom::u32().unwrap_or(u32::MAX)) / f64::from(u32::MAX);
    // `try_from`: a huge configured cap must not panic the float conversion.
    Duration::try_from_secs_f64(delay.as_secs_f64() * (0.5 + fraction / 2.0)).unwrap_or(delay)
}

/// One connection, from connect to its end. `subscribed` is set once every subscription
/// succeeded.
async fn session(
    tls: &crate::tls::Tls,
    params: &PusherParams,
    links: &PusherLinks,
    seen: &mut Seen,
    subscribed: &mut bool,
) -> End {
    let limits = &params.limits;
    let config = WebSocketConfig::default()
        .max_message_size(Some(limits.max_message_bytes))
        .max_frame_size(Some(limits.max_message_bytes));
    let mut socket = match tokio::time::timeout(
        limits.connect_timeout,
        tls.websocket_with_config(&params.url, config),
    )
    .await
    {
        Err(_) => {
            return lost(format!("no connection within {:?}", limits.connect_timeout));
        }
        Ok(Err(error)) => return lost(format!("cannot connect: {error}")),
        Ok(Ok(socket)) => socket,
    };
    let (socket_id, activity) = match established(&mut socket, limits).await {
        Ok(established) => established,
        Err(end) => return end,
    };
    let chat_channel = chatroom_channel(params.chatroom_id);
    let host_channel = params.channel_id.map(channel_channel);
    let mut pending: Vec<String> = std::iter::once(chat_channel.clone())
        .chain(host_channel.clone())
        .collect();
    for channel in &pending {
        let subscribe = serde_json::json!({
            "event": "pusher:subscribe",
            "data": {"auth": "", "channel": channel},
        });
        if let Err(error) = socket.send(Message::text(subscribe.to_string())).await {
            return lost(format!("cannot subscribe: {error}"));
        }
    }
    let subscribe_by = Instant::now() + limits.subscribe_timeout;
    let mut heard = Instant::now();
    let mut pinged: Option<Instant> = None;
    loop {
        let deadline = match pinged {
            Some(at) => at + limits.pong_timeout,
            None => heard + activity,
        };
        let deadline = if pending.is_empty() {
            deadline
        } else {
            deadline.min(subscribe_by)
        };
        let next = match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => {
                if !pending.is_empty() && Instant::now() >= subscribe_by {
                    return lost(format!(
                        "no pusher_internal:subscription_succeeded for {} within {:?}",
                        pending.join(", "),
                        limits.subscribe_timeout
                    ));
                }
                if pinged.is_some() {
                    return lost(format!(
                        "no pusher:pong within {:?} of our ping",
                        limits.pong_timeout
                    ));
                }
                if let Err(error) = send_event(&mut socket, "pusher:ping").await {
                    return lost(format!("cannot ping: {error}"));
                }
                pinged = Some(Instant::now());
                continue;
            }
            Ok(next) => next,
        };
        let text = match next {
            None => return lost("the socket closed".into()),
            Some(Err(error)) => return lost(format!("socket error: {error}")),
            Some(Ok(Message::Close(frame))) => {
                return closed(frame.map(|f| (u16::from(f.code), f.reason.to_string())));
            }
            Some(Ok(Message::Text(text))) => text,
            // WebSocket pings are answered by tungstenite; any frame shows the peer is there.
            Some(Ok(_)) => {
                heard = Instant::now();
                pinged = None;
                continue;
            }
        };
        heard = Instant::now();
        pinged = None;
        let Some(frame) = Frame::read(&text) else {
            tracing::warn!(
                length = text.len(),
                "skipping a Kick Pusher frame that does not read"
            );
            continue;
        };
        match frame.event.as_str() {
            "pusher:ping" => {
                if let Err(error) = send_event(&mut socket, "pusher:pong").await {
                    return lost(format!("cannot answer a ping: {error}"));
                }
            }
            "pusher:pong" => {}
            "pusher_internal:subscription_succeeded" => {
                pending.retain(|c| Some(c.as_str()) != frame.channel.as_deref());
                if pending.is_empty() && !*subscribed {
                    *subscribed = true;
                    tracing::info!(%socket_id, "Kick chat (Pusher, unofficial) connected");
                    links.health.send_replace(PusherHealth::Connected {
                        socket_id: socket_id.clone(),
                    });
                }
            }
            "pusher:error" => {
                let (code, message) = frame.error();
                match code {
                    Some(code) if (4000..4300).contains(&code) => {
                        return ended(code, &message);
                    }
                    _ if !pending.is_empty() => {
                        return lost(format!(
                            "Pusher refused the subscription to {}: {message}",
                            pending.join(", ")
                        ));
                    }
                    _ => tracing::warn!(?code, %message, "Kick Pusher error"),
                }
            }
            "pusher:subscription_error" => {
                return lost(format!(
                    "Pusher refused the subscription to {}: {}",
                    frame.channel.as_deref().unwrap_or("a channel"),
                    frame.data_text().unwrap_or_default()
                ));
            }
            "App\\Events\\ChatMessageEvent" if frame.channel.as_ref() == Some(&chat_channel) => {
                let Some(data) = frame.data_text() else {
                    continue;
                };
                match chat::from_pusher_chat(&data) {
                    Ok(message) if seen.first_time(&message.id) => {
                        hand_over(links, KickEvent::Chat(message));
                    }
                    Ok(message) => {
                        tracing::debug!(id = %message.id, "a Kick chat message seen before")
                    }
                    Err(refusal) => {
                        tracing::warn!(%refusal, "skipping a Kick chat message that does not read");
                    }
                }
            }
            "App\\Events\\ChatMoveToSupportedChannelEvent"
                if host_channel.is_some() && frame.channel == host_channel =>
            {
                let Some(data) = frame.data_text() else {
                    continue;
                };
                match chat::from_pusher_host(&data) {
                    Ok(raid) => {
                        tracing::info!(target = %raid.target_slug, "Kick: the channel hosts another");
                        hand_over(links, KickEvent::OutgoingRaid(raid));
                    }
                    Err(refusal) => {
                        tracing::warn!(%refusal, "skipping a Kick host event that does not read");
                    }
                }
            }
            _ => {}
        }
    }
}

/// Wait for `pusher:connection_established`: the socket id and the activity timeout to use.
async fn established(
    socket: &mut Socket,
    limits: &PusherLimits,
) -> Result<(String, Duration), End> {
    let wait = async {
        loop {
            let text = match socket.next().await {
                None => {
                    return Err(lost(
                        "the socket closed before connection_established".into(),
                    ));
                }
                Some(Err(error)) => return Err(lost(format!("socket error: {error}"))),
                Some(Ok(Message::Close(frame))) => {
                    return Err(closed(
                        frame.map(|f| (u16::from(f.code), f.reason.to_string())),
                    ));
                }
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
            };
            let Some(frame) = Frame::read(&text) else {
                continue;
            };
            match frame.event.as_str() {
                "pusher:connection_established" => {
                    let data = frame.data_value();
                    let socket_id = data
                        .as_ref()
                        .and_then(|d| d.get("socket_id"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .chars()
                        .take(64)
                        .collect::<String>();
                    let server = data
                        .as_ref()
                        .and_then(|d| d.get("activity_timeout"))
                        .and_then(Value::as_u64)
                        .map(Duration::from_secs)
                        .unwrap_or(limits.max_activity_timeout);
                    // A zero timeout would ping in a loop.
                    let activity = server
                        .min(limits.max_activity_timeout)
                        .max(Duration::from_secs(1));
                    return Ok((socket_id, activity));
                }
                "pusher:error" => {
                    let (code, message) = frame.error();
                    return Err(match code {
                        Some(code) => ended(code, &message),
                        None => lost(format!(
                            "Pusher error before connection_established: {message}"
                        )),
                    });
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(limits.connect_timeout, wait)
        .await
        .unwrap_or_else(|_| {
            Err(lost(format!(
                "no pusher:connection_established within {:?}",
                limits.connect_timeout
            )))
        })
}

fn lost(reason: String) -> End {
    End::Lost {
        reason,
        soon: false,
    }
}

/// An error code from Pusher (in `pusher:error` or the close frame): what it asks for.
fn ended(code: u16, message: &str) -> End {
    let message: String = message.chars().take(200).collect();
    let reason = format!("Pusher error {code} ({}): {message}", meaning(code));
    match after(code) {
        After::GiveUp => End::GaveUp { code, reason },
        After::Soon => End::Lost { reason, soon: true },
        After::Backoff => End::Lost {
            reason,
            soon: false,
        },
    }
}

fn closed(frame: Option<(u16, String)>) -> End {
    match frame {
        Some((code, reason)) if (4000..4300).contains(&code) => ended(code, &reason),
        Some((code, _)) => lost(format!("Pusher closed the socket ({code})")),
        None => lost("Pusher closed the socket".into()),
    }
}

/// Hand an event over without waiting: a surface that is behind loses it (logged).
fn hand_over(links: &PusherLinks, event: KickEvent) {
    if let Err(error) = links.events.try_send(event) {
        tracing::warn!(%error, "a Kick event is dropped: its reader is behind");
    }
}

async fn send_event(
    socket: &mut Socket,
    event: &str,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let frame = serde_json::json!({"event": event, "data": {}});
    socket.send(Message::text(frame.to_string())).await
}

/// A Pusher frame: `{"event", "data", "channel"}`. `data` is a JSON string for events (and for
/// `connection_established`), an object for `pusher:error`; both are read.
#[derive(Debug)]
struct Frame {
    event: String,
    channel: Option<String>,
    data: Value,
}

impl Frame {
    fn read(text: &str) -> Option<Frame> {
        let mut value: Value = serde_json::from_str(text).ok()?;
        let event = value.get("event")?.as_str()?.to_string();
        let channel = value
            .get("channel")
            .and_then(Value::as_str)
            .map(str::to_string);
        let data = value
            .as_object_mut()
            .and_then(|o| o.remove("data"))
            .unwrap_or(Value::Null);
        Some(Frame {
            event,
            channel,
            data,
        })
    }

    /// `data` as text: the string itself, or an object written out.
    fn data_text(&self) -> Option<String> {
        match &self.data {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// `data` as JSON: a string is read as JSON.
    fn data_value(&self) -> Option<Value> {
        match &self.data {
            Value::String(s) => serde_json::from_str(s).ok(),
            Value::Null => None,
            other => Some(other.clone()),
        }
    }

    /// `pusher:error`'s `{"code", "message"}`.
    fn error(&self) -> (Option<u16>, String) {
        let data = self.data_value();
        let code = data
            .as_ref()
            .and_then(|d| d.get("code"))
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok());
        let message = data
            .as_ref()
            .and_then(|d| d.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        (code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_says_protocol_7() {
        assert_eq!(
            pusher_url(DEFAULT_HOST, DEFAULT_APP_KEY),
            "wss://ws-us2.pusher.com/app/32cbd69e4b950bf97679?protocol=7&client=js&version=7.6.0&flash=false"
        );
        assert_eq!(
            pusher_url("ws://127.0.0.1:1/", "k"),
            "ws://127.0.0.1:1/app/k?protocol=7&client=js&version=7.6.0&flash=false"
        );
    }

    #[test]
    fn error_codes_ask_for_what_pusher_documents() {
        let table = [
            (4000, After::GiveUp),
            (4001, After::GiveUp),
            (4099, After::GiveUp),
            (4100, After::Backoff),
            (4199, After::Backoff),
            (4200, After::Soon),
            (4201, After::Soon),
            (4299, After::Soon),
            (4301, After::Backoff),
            (1006, After::Backoff),
        ];
        for (code, expected) in table {
            assert_eq!(after(code), expected, "{code}");
        }
        assert!(meaning(4001).contains("app key"));
    }

    #[test]
    fn frames_read_with_string_or_object_data() {
        let frame = Frame::read(r#"{"event":"pusher:error","data":{"code":4200,"message":"Please reconnect immediately"}}"#).unwrap();
        assert_eq!(
            frame.error(),
            (Some(4200), "Please reconnect immediately".into())
        );
        let frame =
            Frame::read(r#"{"event":"pusher:error","data":"{\"code\":null,\"message\":\"x\"}"}"#)
                .unwrap();
        assert_eq!(frame.error(), (None, "x".into()));
        let frame = Frame::read(r#"{"event":"pusher:error","data":{"code":99999}}"#).unwrap();
        assert_eq!(frame.error(), (None, String::new()));
        assert!(Frame::read(r#"{"data":"{}"}"#).is_none());
        assert!(Frame::read("[1]").is_none());
        assert!(Frame::read("").is_none());
    }

    #[test]
    fn jitter_stays_within_half_and_whole() {
        for _ in 0..100 {
            let d = jitter(Duration::from_secs(10));
            assert!(
                d >= Duration::from_secs(5) && d <= Duration::from_secs(10),
                "{d:?}"
            );
        }
        assert!(jitter(Duration::MAX) >= Duration::MAX / 2);
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn seen_ids_are_bounded() {
        let mut seen = Seen::new(3);
        assert!(seen.first_time("a"));
        assert!(!seen.first_time("a"));
        for id in ["b", "c", "d"] {
            assert!(seen.first_time(id));
        }
        assert!(seen.first_time("a"), "the oldest was forgotten");
        assert_eq!(seen.ids.len(), 3);
    }
}
