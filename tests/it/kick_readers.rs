//! Kick's chat readers against the fakes: the Pusher reader (`kick::pusher`) on a paused clock
//! against `fake_kick::pusher`, the webhook receiver (`kick::webhook`) with deliveries signed by
//! `fake_kick::webhook`'s test key.
//!
//! The Pusher tests hold tokio's auto-advance off (a `spawn_blocking` task, as
//! `tests/it/long_run.rs` does): left to itself a paused clock jumps to the next timer whenever
//! the runtime idles, even with a frame in flight on a loopback socket. [`Clock::until`] lets
//! every task and socket run, and moves the clock a step only when nothing is ready.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, SystemTime};
use stream_control::kick::chat::{Badge, KickEvent};
use stream_control::kick::pusher::{self, PusherHealth, PusherLimits, PusherLinks, PusherParams};
use stream_control::kick::webhook::{self, PublicKey, Refusal, SeenIds, Verdict};
use stream_control::tls::Tls;
use stream_control_test_support::fake_kick::pusher::{
    FakePusher, FakePusherOptions, KickChat, code,
};
use stream_control_test_support::fake_kick::webhook::{
    BROADCASTER_USER_ID, FakeKickWebhooks, TEST_PUBLIC_KEY_PEM,
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

const CHATROOM: u64 = 7;
const CHANNEL: u64 = 8;
const CHAT: &str = "chatrooms.7.v2";
const HOSTS: &str = "channel.8";

/// Holds tokio's auto-advance off while it lives, and moves the clock when told.
struct Clock(#[allow(dead_code)] std::sync::mpsc::Sender<()>);

impl Clock {
    fn hold() -> Clock {
        let (release, held) = std::sync::mpsc::channel::<()>();
        tokio::task::spawn_blocking(move || {
            let _ = held.recv();
        });
        Clock(release)
    }

    /// Run `future` to its end: every ready task and socket runs first; when nothing is ready
    /// the clock moves `step`. Fails past `limit` of simulated time.
    async fn until<F: Future>(
        &self,
        what: &str,
        step: Duration,
        limit: Duration,
        future: F,
    ) -> F::Output {
        let mut future = pin!(future);
        let mut moved = Duration::ZERO;
        loop {
            for _ in 0..20 {
                let ready = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
                if let Poll::Ready(out) = ready {
                    return out;
                }
                tokio::task::yield_now().await;
            }
            assert!(
                moved < limit,
                "{what}: not within {limit:?} of simulated time"
            );
            tokio::time::advance(step).await;
            moved += step;
        }
    }

    /// Move the clock by `span`, `step` at a time, letting everything run between steps.
    async fn run_for(&self, span: Duration, step: Duration) {
        let mut moved = Duration::ZERO;
        while moved < span {
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
            tokio::time::advance(step).await;
            moved += step;
        }
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }
}

const STEP: Duration = Duration::from_millis(100);

struct Reader {
    events: mpsc::Receiver<KickEvent>,
    health: watch::Receiver<PusherHealth>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

fn start_reader(url: String, chatroom_id: u64, limits: PusherLimits) -> Reader {
    let (events_tx, events) = mpsc::channel(pusher::EVENT_QUEUE);
    let (health_tx, health) = watch::channel(PusherHealth::Connecting { attempt: 1 });
    let cancel = CancellationToken::new();
    let params = PusherParams {
        url,
        chatroom_id,
        channel_id: Some(CHANNEL),
        limits,
    };
    let links = PusherLinks {
        events: events_tx,
        health: health_tx,
    };
    let task = tokio::spawn(pusher::run(Tls::system(), params, links, cancel.clone()));
    Reader {
        events,
        health,
        cancel,
        task,
    }
}

impl Reader {
    async fn stop(self, clock: &Clock) {
        self.cancel.cancel();
        let result = clock
            .until("the reader stops", STEP, Duration::from_secs(5), self.task)
            .await;
        result.expect("no panic").expect("no error");
        assert_eq!(*self.health.borrow(), PusherHealth::Stopped);
    }

    /// Wait until the health satisfies `check`.
    async fn health_until(
        &mut self,
        clock: &Clock,
        what: &str,
        limit: Duration,
        check: impl Fn(&PusherHealth) -> bool,
    ) -> PusherHealth {
        let health = &mut self.health;
        clock
            .until(what, STEP, limit, async move {
                health
                    .wait_for(|h| check(h))
                    .await
                    .expect("the reader runs")
                    .clone()
            })
            .await
    }

    /// Wait for `Reconnecting` (with `attempt`, when given): its reason, attempt and delay.
    async fn reconnecting(
        &mut self,
        clock: &Clock,
        attempt: Option<u32>,
        limit: Duration,
    ) -> (String, u32, Duration) {
        let health = self
            .health_until(clock, "reconnecting", limit, |h| {
                matches!(h, PusherHealth::Reconnecting { attempt: a, .. } if attempt.is_none_or(|want| *a == want))
            })
            .await;
        match health {
            PusherHealth::Reconnecting {
                reason,
                attempt,
                retry_in,
            } => (reason, attempt, retry_in),
            _ => unreachable!(),
        }
    }

    /// A first attempt that meets one of the 10 s deadlines (connect, subscribe): still
    /// connecting at 9 s, reconnecting by 11 s; the reason and attempt.
    async fn ten_second_deadline(&mut self, clock: &Clock) -> (String, u32) {
        clock.run_for(Duration::from_secs(9), STEP).await;
        assert!(matches!(
            *self.health.borrow(),
            PusherHealth::Connecting { attempt: 1 }
        ));
        let (reason, attempt, _) = self.reconnecting(clock, None, Duration::from_secs(2)).await;
        (reason, attempt)
    }

    /// Wait for `GaveUp`: its code and reason.
    async fn gave_up(&mut self, clock: &Clock, limit: Duration) -> (u16, String) {
        let health = self
            .health_until(clock, "gave up", limit, |h| {
                matches!(h, PusherHealth::GaveUp { .. })
            })
            .await;
        match health {
            PusherHealth::GaveUp { code, reason } => (code, reason),
            _ => unreachable!(),
        }
    }

    async fn next_chat(&mut self, clock: &Clock) -> String {
        let events = &mut self.events;
        match clock
            .until(
                "a chat message",
                STEP,
                Duration::from_secs(5),
                events.recv(),
            )
            .await
        {
            Some(KickEvent::Chat(message)) => message.content,
            other => panic!("not a chat message: {other:?}"),
        }
    }
}

fn fake_options() -> FakePusherOptions {
    FakePusherOptions::new(&[CHAT, HOSTS])
}

async fn subscribed(clock: &Clock, fake: &FakePusher, times: usize) {
    clock
        .until("subscribed", STEP, Duration::from_secs(10), async {
            fake.wait_subscribed(CHAT, times).await;
            fake.wait_subscribed(HOSTS, times).await;
        })
        .await;
}

/// The clock held, the fake with the chat and host channels, a reader subscribed to both.
async fn connected(limits: PusherLimits) -> (Clock, FakePusher, Reader) {
    let clock = Clock::hold();
    let fake = FakePusher::start(fake_options()).await;
    let reader = start_reader(fake.url(), CHATROOM, limits);
    subscribed(&clock, &fake, 1).await;
    (clock, fake, reader)
}

#[tokio::test(start_paused = true)]
async fn the_reader_reconnects_after_20_drops_without_losing_or_doubling_a_message() {
    let clock = Clock::hold();
    let fake = FakePusher::start(fake_options()).await;
    let mut reader = start_reader(fake.url(), CHATROOM, PusherLimits::default());
    let mut received = Vec::new();
    const DROPS: usize = 20;
    for n in 1..=DROPS + 1 {
        subscribed(&clock, &fake, n).await;
        if n > 1 {
            // The last message again, on the new connection: already handled.
            assert_eq!(fake.replay_last(CHAT), 1);
        }
        assert_eq!(
            fake.send_chat(
                CHATROOM,
                &KickChat::new(&format!("id-{n}"), "viewer", &format!("!scene {n}"))
            ),
            1
        );
        // And once more on the same connection.
        assert_eq!(fake.replay_last(CHAT), 1);
        received.push(reader.next_chat(&clock).await);
        if n <= DROPS {
            fake.drop_all();
        }
    }
    // One more message: had a duplicate slipped through, it would arrive before this one.
    fake.send_chat(CHATROOM, &KickChat::new("id-last", "viewer", "!scene last"));
    received.push(reader.next_chat(&clock).await);
    let expected: Vec<String> = (1..=DROPS + 1)
        .map(|n| format!("!scene {n}"))
        .chain(["!scene last".to_string()])
        .collect();
    assert_eq!(received, expected);
    assert!(reader.events.try_recv().is_err(), "nothing doubled");
    assert_eq!(fake.stats().connections, DROPS + 1);
    assert!(reader.health.borrow().is_connected());
    reader.stop(&clock).await;
}

#[tokio::test(start_paused = true)]
async fn chat_badges_and_an_outgoing_host_are_handed_over() {
    let (clock, fake, mut reader) = connected(PusherLimits::default()).await;
    fake.send_chat(
        CHATROOM,
        &KickChat::new("a", "Mod", "!brb")
            .with_badge("moderator")
            .with_badge("og"),
    );
    fake.send_host(CHANNEL, "Target", 42);
    let events = &mut reader.events;
    let first = clock
        .until("chat", STEP, Duration::from_secs(5), events.recv())
        .await;
    let Some(KickEvent::Chat(message)) = first else {
        panic!("{first:?}");
    };
    assert_eq!(message.sender.username, "Mod");
    assert_eq!(message.sender.badges, [Badge::Moderator, Badge::Og]);
    assert_eq!(message.chatroom_id, Some(CHATROOM));
    let second = clock
        .until("host", STEP, Duration::from_secs(5), events.recv())
        .await;
    let Some(KickEvent::OutgoingRaid(raid)) = second else {
        panic!("{second:?}");
    };
    assert_eq!(raid.target_slug, "target");
    assert_eq!(raid.target_viewers, Some(42));
    assert_eq!(raid.channel_id, Some(CHANNEL));
    // Another chatroom's message on a channel we did not subscribe never reaches us.
    assert_eq!(fake.send_chat(99, &KickChat::new("b", "x", "!stop")), 0);
    reader.stop(&clock).await;
}

/// Hostile frames: skipped when they do not read, the connection left when one is over the cap.
#[tokio::test(start_paused = true)]
async fn hostile_frames_are_skipped_and_an_oversized_one_ends_the_connection() {
    let (clock, fake, mut reader) = connected(PusherLimits::default()).await;
    let long = KickChat::new("long", "viewer", &"a".repeat(501));
    let event = "App\\Events\\ChatMessageEvent";
    for data in [
        "not json".to_string(),
        "{}".to_string(),
        r#"{"id":"x","sender":{"id":-1,"username":"v"},"content":"!stop"}"#.to_string(),
        long.data(CHATROOM),
        serde_json::json!({"id": 5, "sender": "nobody"}).to_string(),
    ] {
        assert_eq!(fake.publish(CHAT, event, &data), 1);
    }
    fake.publish(HOSTS, "App\\Events\\ChatMoveToSupportedChannelEvent", "{}");
    fake.publish(CHAT, "pusher:error", "[]");
    fake.send_chat(CHATROOM, &KickChat::new("ok", "viewer", "!scene 1"));
    assert_eq!(
        reader.next_chat(&clock).await,
        "!scene 1",
        "the bad ones were skipped"
    );
    assert!(reader.health.borrow().is_connected());
    // Over the 64 KiB cap: tungstenite refuses the message and the reader reconnects.
    let huge = KickChat::new("huge", "viewer", &"a".repeat(70 * 1024));
    assert_eq!(fake.send_chat(CHATROOM, &huge), 1);
    let (reason, _, _) = reader
        .reconnecting(&clock, None, Duration::from_secs(1))
        .await;
    assert!(reason.contains("socket error"), "{reason}");
    subscribed(&clock, &fake, 2).await;
    fake.send_chat(CHATROOM, &KickChat::new("ok2", "viewer", "!scene 2"));
    assert_eq!(reader.next_chat(&clock).await, "!scene 2");
    reader.stop(&clock).await;
}

/// A server that accepts and never answers the handshake: given up on after the connect
/// timeout, and tried again.
#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out() {
    let clock = Clock::hold();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = pusher::pusher_url(&format!("ws://{}", listener.local_addr().unwrap()), "key");
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let mut reader = start_reader(url, CHATROOM, PusherLimits::default());
    let (reason, attempt) = reader.ten_second_deadline(&clock).await;
    assert_eq!((reason.as_str(), attempt), ("no connection within 10s", 1));
    let (_, attempt, _) = reader
        .reconnecting(&clock, Some(2), Duration::from_secs(15))
        .await;
    assert_eq!(attempt, 2);
    reader.stop(&clock).await;
    held.abort();
}

#[tokio::test(start_paused = true)]
async fn pings_are_answered_and_a_silent_server_is_left() {
    let (clock, fake, mut reader) = connected(PusherLimits {
        max_activity_timeout: Duration::from_secs(20),
        ..PusherLimits::default()
    })
    .await;
    // The server's ping is answered.
    fake.ping_all();
    clock
        .until(
            "a pong",
            STEP,
            Duration::from_secs(1),
            fake.wait_until(|s| s.pongs == 1),
        )
        .await;
    // 20 s of silence (the smaller of ours and the server's 120 s): our ping, and the fake's
    // pong keeps the connection.
    clock
        .run_for(Duration::from_secs(19), Duration::from_secs(1))
        .await;
    assert_eq!(fake.stats().pings, 0);
    clock
        .run_for(Duration::from_secs(2), Duration::from_secs(1))
        .await;
    assert_eq!(fake.stats().pings, 1);
    clock
        .run_for(Duration::from_secs(40), Duration::from_secs(1))
        .await;
    let stats = fake.stats();
    assert_eq!(
        (stats.pings, stats.connections, stats.open),
        (3, 1, 1),
        "{stats:?}"
    );
    // A server that stops answering: our ping, 30 s, and we leave.
    fake.set_silent(true);
    clock
        .run_for(Duration::from_secs(21), Duration::from_secs(1))
        .await;
    assert_eq!(fake.stats().pings, 4);
    clock
        .run_for(Duration::from_secs(27), Duration::from_secs(1))
        .await;
    assert!(
        reader.health.borrow().is_connected(),
        "not before the pong timeout"
    );
    let (reason, attempt, _) = reader
        .reconnecting(&clock, None, Duration::from_secs(3))
        .await;
    assert!(reason.contains("no pusher:pong within 30s"), "{reason}");
    assert_eq!(attempt, 1);
    fake.set_silent(false);
    subscribed(&clock, &fake, 2).await;
    reader.stop(&clock).await;
}

#[tokio::test(start_paused = true)]
async fn error_4001_gives_up_with_a_clear_status_and_never_reconnects() {
    let (clock, fake, mut reader) = connected(PusherLimits::default()).await;
    fake.error_all(code::APP_DOES_NOT_EXIST, "Application does not exist");
    let (code, reason) = reader.gave_up(&clock, Duration::from_secs(2)).await;
    assert_eq!(code, 4001);
    assert!(
        reason.contains("Kick may have changed its Pusher app key"),
        "{reason}"
    );
    assert!(reason.contains("Application does not exist"), "{reason}");
    clock
        .run_for(Duration::from_secs(600), Duration::from_secs(5))
        .await;
    assert_eq!(fake.stats().connections, 1, "no reconnect after 4001");
    assert!(matches!(
        *reader.health.borrow(),
        PusherHealth::GaveUp { .. }
    ));
    reader.stop(&clock).await;
}

#[tokio::test(start_paused = true)]
async fn a_wrong_app_key_is_refused_at_once_and_given_up() {
    let clock = Clock::hold();
    let fake = FakePusher::start(fake_options()).await;
    let url = pusher::pusher_url(&fake.host(), "not-kicks-key");
    let mut reader = start_reader(url, CHATROOM, PusherLimits::default());
    let (code, reason) = reader.gave_up(&clock, Duration::from_secs(5)).await;
    assert_eq!(code, 4001, "{reason}");
    assert_eq!(fake.stats().closes, [code::APP_DOES_NOT_EXIST]);
    reader.stop(&clock).await;
}

#[tokio::test(start_paused = true)]
async fn error_4200_reconnects_soon_and_4100_after_backoff() {
    let (clock, fake, mut reader) = connected(PusherLimits::default()).await;
    fake.error_all(code::RECONNECT_IMMEDIATELY, "Please reconnect immediately");
    let (reason, _, retry_in) = reader
        .reconnecting(&clock, None, Duration::from_secs(1))
        .await;
    assert!(reason.contains("4200"), "{reason}");
    assert!(retry_in <= Duration::from_secs(1), "{retry_in:?}");
    subscribed(&clock, &fake, 2).await;
    // 4100 (over capacity) waits the backoff: twice in a row without a good session between
    // doubles it. The fake refuses nothing after, so each reconnect succeeds and resets it.
    fake.error_all(code::OVER_CAPACITY, "Over capacity");
    let (reason, _, _) = reader
        .reconnecting(&clock, None, Duration::from_secs(1))
        .await;
    assert!(reason.contains("4100"), "{reason}");
    subscribed(&clock, &fake, 3).await;
    reader.stop(&clock).await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_subscription_is_reported_and_retried_with_growing_backoff() {
    let clock = Clock::hold();
    let fake = FakePusher::start(fake_options()).await;
    let mut reader = start_reader(fake.url(), 99, PusherLimits::default());
    let mut delays = Vec::new();
    for attempt in 1..=4u32 {
        let (reason, _, retry_in) = reader
            .reconnecting(&clock, Some(attempt), Duration::from_secs(300))
            .await;
        assert!(
            reason.contains("Pusher refused the subscription to chatrooms.99.v2"),
            "{reason}"
        );
        delays.push(retry_in);
    }
    // 1 s, 2 s, 4 s, 8 s, each jittered to 50–100 %.
    for (i, delay) in delays.iter().enumerate() {
        let full = Duration::from_secs(1 << i);
        assert!(*delay >= full / 2 && *delay <= full, "{delays:?}");
    }
    assert_eq!(fake.stats().refused_subscriptions, 4);
    reader.stop(&clock).await;
}

#[tokio::test(start_paused = true)]
async fn no_subscription_answer_times_out() {
    let clock = Clock::hold();
    let fake = FakePusher::start(fake_options()).await;
    fake.set_hold_subscriptions(true);
    let mut reader = start_reader(fake.url(), CHATROOM, PusherLimits::default());
    let (reason, _) = reader.ten_second_deadline(&clock).await;
    assert!(
        reason.contains(
            "no pusher_internal:subscription_succeeded for chatrooms.7.v2, channel.8 within 10s"
        ),
        "{reason}"
    );
    reader.stop(&clock).await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_host_channel_is_named() {
    let clock = Clock::hold();
    // The fake knows the chat channel only: the host channel's refusal ends the session, and
    // the reader never counts as connected.
    let fake = FakePusher::start(FakePusherOptions::new(&[CHAT])).await;
    let mut reader = start_reader(fake.url(), CHATROOM, PusherLimits::default());
    let (reason, _, _) = reader
        .reconnecting(&clock, None, Duration::from_secs(15))
        .await;
    assert!(
        reason.contains("refused the subscription to channel.8"),
        "{reason}"
    );
    reader.stop(&clock).await;
}

/// The fake itself, through a raw client: Pusher's rules for the path, silent clients and
/// channel names.
#[tokio::test(start_paused = true)]
async fn the_fake_refuses_what_pusher_refuses() {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    let clock = Clock::hold();
    let fake = FakePusher::start(fake_options()).await;
    let tls = Tls::system();
    let open = |url: String| {
        let tls = tls.clone();
        async move { tls.websocket(&url).await.expect("connects") }
    };
    async fn close_code(
        clock: &Clock,
        socket: &mut tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        limit: Duration,
    ) -> (Vec<String>, Option<u16>) {
        clock
            .until("closed", Duration::from_secs(1), limit, async {
                let mut events = Vec::new();
                while let Some(Ok(message)) = socket.next().await {
                    match message {
                        Message::Text(text) => {
                            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                            events.push(v["event"].as_str().unwrap().to_string());
                        }
                        Message::Close(frame) => return (events, frame.map(|f| u16::from(f.code))),
                        _ => {}
                    }
                }
                (events, None)
            })
            .await
    }
    let host = fake.host();
    for (url, code) in [
        (format!("{host}/app/other?protocol=7"), 4001),
        (format!("{host}/app/{}", pusher::DEFAULT_APP_KEY), 4008),
        (
            format!("{host}/app/{}?protocol=6", pusher::DEFAULT_APP_KEY),
            4007,
        ),
    ] {
        let mut socket = clock
            .until("connect", STEP, Duration::from_secs(1), open(url.clone()))
            .await;
        let (events, closed) = close_code(&clock, &mut socket, Duration::from_secs(1)).await;
        assert_eq!(
            (events, closed),
            (vec!["pusher:error".to_string()], Some(code)),
            "{url}"
        );
    }
    // A client that subscribes, then says nothing: pinged after 120 s, closed 30 s later.
    let mut socket = clock
        .until("connect", STEP, Duration::from_secs(1), open(fake.url()))
        .await;
    for channel in [CHAT, "chatrooms.1.v2", "bad channel!"] {
        let subscribe =
            serde_json::json!({"event": "pusher:subscribe", "data": {"channel": channel}});
        socket
            .send(Message::text(subscribe.to_string()))
            .await
            .unwrap();
    }
    let (events, closed) = close_code(&clock, &mut socket, Duration::from_secs(200)).await;
    assert_eq!(
        events,
        [
            "pusher:connection_established",
            "pusher_internal:subscription_succeeded",
            "pusher:error",
            "pusher:error",
            "pusher:ping",
            "pusher:error"
        ]
    );
    assert_eq!(closed, Some(code::PONG_NOT_RECEIVED));
    let stats = fake.stats();
    assert_eq!(stats.refused_subscriptions, 2);
    assert_eq!(stats.closes, [4001, 4008, 4007, 4201]);
}

// ---- webhooks ----

fn test_key() -> PublicKey {
    PublicKey::from_pem(TEST_PUBLIC_KEY_PEM).expect("the test public key reads")
}

fn check(
    delivery: &stream_control_test_support::fake_kick::webhook::Delivery,
    key: &PublicKey,
    seen: &mut SeenIds,
) -> Result<Verdict, Refusal> {
    webhook::verify_and_parse(
        &delivery.header_map(),
        &delivery.body,
        SystemTime::now(),
        key,
        seen,
    )
}

#[test]
fn the_test_public_key_is_the_fakes_signing_key() {
    let fake = FakeKickWebhooks::new();
    assert_eq!(
        PublicKey::from_pkcs1_der(&fake.public_key_pkcs1_der()).unwrap(),
        test_key()
    );
}

#[test]
fn a_signed_chat_message_is_read_and_every_forgery_is_refused() {
    let fake = FakeKickWebhooks::new();
    let key = test_key();
    let mut seen = SeenIds::default();
    let now = SystemTime::now();
    let valid = fake.chat(42, "Mod", &["moderator", "sub_gifter"], "!scene brb", now);
    let Ok(Verdict::Event(KickEvent::Chat(message))) = check(&valid, &key, &mut seen) else {
        panic!(
            "refused: {:?}",
            check(&valid, &key, &mut SeenIds::default())
        );
    };
    assert_eq!(message.content, "!scene brb");
    assert_eq!(message.sender.user_id, 42);
    assert_eq!(message.sender.badges, [Badge::Moderator, Badge::SubGifter]);
    assert_eq!(message.broadcaster_user_id, Some(BROADCASTER_USER_ID));
    // The same delivery again (Kick's retry, or a replay): acknowledged, not handed over.
    assert!(matches!(
        check(&valid, &key, &mut seen),
        Ok(Verdict::Duplicate { .. })
    ));
    let fresh = || fake.chat(42, "Mod", &[], "!scene brb", now);
    assert_eq!(
        check(&fresh().tampered(), &key, &mut seen),
        Err(Refusal::BadSignature)
    );
    let wrong_key = PublicKey::from_pem(webhook::KICK_PUBLIC_KEY_PEM).unwrap();
    assert_eq!(
        check(&fresh(), &wrong_key, &mut seen),
        Err(Refusal::BadSignature)
    );
    // Signed for another id or time: the signature covers both.
    let other = fresh();
    let other_id = fake.message_id();
    assert_eq!(
        check(
            &other.clone().with_header(webhook::MESSAGE_ID, &other_id),
            &key,
            &mut seen
        ),
        Err(Refusal::BadSignature)
    );
    let later = humantime::format_rfc3339_seconds(now + Duration::from_secs(1)).to_string();
    assert_eq!(
        check(
            &other.with_header(webhook::TIMESTAMP, &later),
            &key,
            &mut seen
        ),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        check(&fresh().without(webhook::SIGNATURE), &key, &mut seen),
        Err(Refusal::MissingHeader(webhook::SIGNATURE))
    );
    let stale = check(
        &fake.stale_chat(now, Duration::from_secs(6 * 60)),
        &key,
        &mut seen,
    );
    assert!(
        matches!(stale, Err(Refusal::Stale(age)) if age >= Duration::from_secs(6 * 60)),
        "{stale:?}"
    );
    let future = fake.chat(1, "v", &[], "x", now + Duration::from_secs(6 * 60));
    assert!(matches!(
        check(&future, &key, &mut seen),
        Err(Refusal::Future(_))
    ));
    // Within the tolerance either way: read.
    assert!(matches!(
        check(
            &fake.stale_chat(now, Duration::from_secs(4 * 60)),
            &key,
            &mut seen
        ),
        Ok(Verdict::Event(_))
    ));
    let big = fake.delivery(
        "chat.message.sent",
        "1",
        vec![b' '; webhook::MAX_BODY_BYTES + 1],
        now,
    );
    assert_eq!(check(&big, &key, &mut seen), Err(Refusal::TooLarge));
    // Genuine but not read: acknowledged.
    let follow = fake.delivery("channel.followed", "1", b"{}".to_vec(), now);
    assert!(matches!(
        check(&follow, &key, &mut seen),
        Ok(Verdict::Ignored { .. })
    ));
    let v2 = fake.delivery("chat.message.sent", "2", b"{}".to_vec(), now);
    assert!(matches!(
        check(&v2, &key, &mut seen),
        Ok(Verdict::Ignored { .. })
    ));
    let unreadable = fake.delivery(
        "chat.message.sent",
        "1",
        br#"{"message_id":"x"}"#.to_vec(),
        now,
    );
    assert!(
        matches!(check(&unreadable, &key, &mut seen), Ok(Verdict::Ignored { reason, .. }) if reason.contains("sender"))
    );
}

/// The route over HTTP on 127.0.0.1, as the web server would mount it.
#[tokio::test]
async fn the_route_answers_as_kick_expects() {
    let fake = FakeKickWebhooks::new();
    let (events_tx, mut events) = mpsc::channel(1);
    let (health_tx, health) = watch::channel(webhook::WebhookHealth::default());
    let receiver =
        webhook::Receiver::new(test_key(), Some(BROADCASTER_USER_ID), events_tx, health_tx);
    let app = webhook::router("/kick/webhook", receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/kick/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = stream_control_test_support::http();
    let now = SystemTime::now;
    let valid = fake.chat(42, "Mod", &["moderator"], "!brb", now());
    assert_eq!(valid.post(&client, &url).await, 200);
    let Some(KickEvent::Chat(message)) = events.recv().await else {
        panic!()
    };
    assert_eq!(message.content, "!brb");
    assert_eq!(
        valid.post(&client, &url).await,
        200,
        "a retry is acknowledged"
    );
    assert_eq!(
        fake.chat(42, "Mod", &[], "!brb", now())
            .tampered()
            .post(&client, &url)
            .await,
        401
    );
    assert_eq!(
        fake.stale_chat(now(), Duration::from_secs(600))
            .post(&client, &url)
            .await,
        401
    );
    let big = fake.delivery("chat.message.sent", "1", vec![b' '; 70 * 1024], now());
    assert_eq!(big.post(&client, &url).await, 413);
    assert_eq!(
        fake.delivery("kicks.gifted", "1", b"{}".to_vec(), now())
            .post(&client, &url)
            .await,
        200
    );
    assert_eq!(client.get(&url).send().await.unwrap().status(), 405);
    // The queue (1 deep) is full: 503, so Kick retries; the retry, once there is room, is read.
    let first = fake.chat(1, "a", &[], "one", now());
    let second = fake.chat(2, "b", &[], "two", now());
    assert_eq!(first.post(&client, &url).await, 200);
    assert_eq!(second.post(&client, &url).await, 503);
    assert!(matches!(events.recv().await, Some(KickEvent::Chat(m)) if m.content == "one"));
    assert_eq!(second.post(&client, &url).await, 200);
    assert!(matches!(events.recv().await, Some(KickEvent::Chat(m)) if m.content == "two"));
    assert!(events.try_recv().is_err(), "nothing else was handed over");
    let health = health.borrow().clone();
    assert_eq!(
        (
            health.handed_over,
            health.acknowledged,
            health.refused,
            health.queue_full
        ),
        // The oversized body is refused by the route's limit before the receiver sees it.
        (3, 2, 2, 1),
        "{health:?}"
    );
    assert!(health.last_genuine_unix.is_some());
}

/// Another broadcaster's chat (one app, several channels) is acknowledged and not used.
#[tokio::test]
async fn another_broadcasters_chat_is_not_handed_over() {
    let fake = FakeKickWebhooks::new();
    let (events_tx, mut events) = mpsc::channel(4);
    let receiver = webhook::Receiver::new(
        test_key(),
        Some(1),
        events_tx,
        watch::channel(Default::default()).0,
    );
    let delivery = fake.chat(42, "Mod", &[], "!stop", SystemTime::now());
    assert_eq!(
        receiver.receive(&delivery.header_map(), &delivery.body, SystemTime::now()),
        200
    );
    assert!(events.try_recv().is_err());
}

#[tokio::test]
async fn the_public_key_is_fetched_and_a_bad_answer_refused() {
    use axum::routing::get;
    let answer = serde_json::json!({"data": {"public_key": TEST_PUBLIC_KEY_PEM}, "message": "OK"});
    let app = axum::Router::new()
        .route(
            "/public/v1/public-key",
            get(move || {
                let answer = answer.clone();
                async move { axum::Json(answer) }
            }),
        )
        .route(
            "/broken",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        )
        .route("/huge", get(|| async { "x".repeat(100 * 1024) }))
        .route(
            "/not-a-key",
            get(|| async { axum::Json(serde_json::json!({"data": {"public_key": "hello"}})) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let tls = Tls::system();
    let key = webhook::fetch_public_key(&tls, &format!("{base}/public/v1/public-key")).await;
    assert_eq!(key, Ok(test_key()));
    for path in ["/broken", "/huge", "/missing"] {
        let refused = webhook::fetch_public_key(&tls, &format!("{base}{path}")).await;
        assert!(
            matches!(refused, Err(webhook::KeyError::Fetch(_))),
            "{path}: {refused:?}"
        );
    }
    let refused = webhook::fetch_public_key(&tls, &format!("{base}/not-a-key")).await;
    assert_eq!(refused, Err(webhook::KeyError::NotPem));
}
