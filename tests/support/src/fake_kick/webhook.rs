//! Kick's webhook sender, faked: deliveries signed as Kick signs them, with a committed test
//! key (`tests/support/keys/kick-webhook-test.key.pem`, made once with `openssl genrsa 2048`;
//! a test key, it guards nothing), and the broken ones a receiver must refuse.
//!
//! The rules it follows are KickDevDocs' (`events/webhook-security.md`, "Headers" and
//! "Signature Creation"; `events/event-types.md`, "Chat Message"):
//! - headers `Kick-Event-Message-Id` (a ULID), `Kick-Event-Message-Timestamp` (RFC 3339),
//!   `Kick-Event-Signature` (base64), `Kick-Event-Type`, `Kick-Event-Version`;
//! - the signature: RSASSA-PKCS1-v1_5 with SHA-256 over `<id>.<timestamp>.<raw body>`;
//! - a `chat.message.sent` v1 body shaped as the documented example.

#![allow(dead_code)]

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use base64::Engine as _;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// The fake's private key (PKCS#8 PEM). TEST KEY ONLY.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../../keys/kick-webhook-test.key.pem");
/// Its public key (SubjectPublicKeyInfo PEM), for the receiver under test.
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("../../keys/kick-webhook-test.pub.pem");

/// The broadcaster the fake's chat messages are sent to.
pub const BROADCASTER_USER_ID: u64 = 123_456_789;

/// One delivery: what Kick would POST.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in &self.headers {
            map.insert(
                HeaderName::from_static(name_lower(name)),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        map
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The same delivery with one body byte changed (the signature no longer covers it).
    pub fn tampered(mut self) -> Delivery {
        if let Some(byte) = self.body.iter_mut().find(|b| b.is_ascii_lowercase()) {
            *byte = byte.to_ascii_uppercase();
        }
        self
    }

    /// The same delivery with a header set to `value`.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Delivery {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name, value.to_string()));
        self
    }

    /// The same delivery without a header.
    pub fn without(mut self, name: &str) -> Delivery {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// POST it to `url`: the status code.
    pub async fn post(&self, client: &reqwest::Client, url: &str) -> StatusCode {
        let mut request = client.post(url).body(self.body.clone());
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let status = request.send().await.expect("the receiver answers").status();
        StatusCode::from_u16(status.as_u16()).expect("a status code")
    }
}

/// Header names are sent lower-case (HTTP/1.1 names are case-insensitive).
fn name_lower(name: &'static str) -> &'static str {
    match name {
        "Kick-Event-Message-Id" => "kick-event-message-id",
        "Kick-Event-Message-Timestamp" => "kick-event-message-timestamp",
        "Kick-Event-Signature" => "kick-event-signature",
        "Kick-Event-Type" => "kick-event-type",
        "Kick-Event-Version" => "kick-event-version",
        other => panic!("not a Kick header: {other}"),
    }
}

/// Signs deliveries with the test key.
pub struct FakeKickWebhooks {
    key: ring::signature::RsaKeyPair,
    next: AtomicU64,
}

impl Default for FakeKickWebhooks {
    fn default() -> Self {
        FakeKickWebhooks::new()
    }
}

impl FakeKickWebhooks {
    pub fn new() -> FakeKickWebhooks {
        let der = pem_der(TEST_PRIVATE_KEY_PEM, "PRIVATE KEY");
        FakeKickWebhooks {
            key: ring::signature::RsaKeyPair::from_pkcs8(&der).expect("the test key reads"),
            next: AtomicU64::new(1),
        }
    }

    /// The public key as PKCS#1 DER (*ring*'s form), to compare with a parsed PEM.
    pub fn public_key_pkcs1_der(&self) -> Vec<u8> {
        use ring::signature::KeyPair as _;
        self.key.public_key().as_ref().to_vec()
    }

    /// A fresh message id, shaped as a ULID (26 Crockford base32 characters).
    pub fn message_id(&self) -> String {
        const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut id = vec![b'0'; 26];
        for slot in id.iter_mut().rev() {
            *slot = CROCKFORD[(n % 32) as usize];
            n /= 32;
        }
        id[0] = b'0';
        String::from_utf8(id).expect("ASCII")
    }

    /// `base64(RSASSA-PKCS1-v1_5-SHA256(<id>.<timestamp>.<body>))`.
    pub fn sign(&self, id: &str, timestamp: &str, body: &[u8]) -> String {
        let mut signed = format!("{id}.{timestamp}.").into_bytes();
        signed.extend_from_slice(body);
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                &signed,
                &mut signature,
            )
            .expect("signing");
        base64::engine::general_purpose::STANDARD.encode(signature)
    }

    /// A signed delivery of `event_type` version `version` with `body`, stamped `at`.
    pub fn delivery(
        &self,
        event_type: &str,
        version: &str,
        body: Vec<u8>,
        at: SystemTime,
    ) -> Delivery {
        let id = self.message_id();
        let timestamp = humantime::format_rfc3339_seconds(at).to_string();
        let signature = self.sign(&id, &timestamp, &body);
        Delivery {
            headers: vec![
                ("Kick-Event-Message-Id", id),
                ("Kick-Event-Message-Timestamp", timestamp),
                ("Kick-Event-Signature", signature),
                ("Kick-Event-Type", event_type.to_string()),
                ("Kick-Event-Version", version.to_string()),
            ],
            body,
        }
    }

    /// A `chat.message.sent` v1 delivery: `username` (user id `user_id`, `badges`) says
    /// `content` in [`BROADCASTER_USER_ID`]'s chat.
    pub fn chat(
        &self,
        user_id: u64,
        username: &str,
        badges: &[&str],
        content: &str,
        at: SystemTime,
    ) -> Delivery {
        self.chat_in(BROADCASTER_USER_ID, user_id, username, badges, content, at)
    }

    /// [`FakeKickWebhooks::chat`] in the chat of the channel `broadcaster` owns.
    pub fn chat_in(
        &self,
        broadcaster: u64,
        user_id: u64,
        username: &str,
        badges: &[&str],
        content: &str,
        at: SystemTime,
    ) -> Delivery {
        let message_id = format!("msg-{}", self.message_id());
        let badges: Vec<_> = badges
            .iter()
            .map(|b| json!({"text": b, "type": b}))
            .collect();
        let body = json!({
            "message_id": message_id,
            "replies_to": null,
            "broadcaster": {"is_anonymous": false, "user_id": broadcaster,
                            "username": "broadcaster_name", "is_verified": true,
                            "profile_picture": "https://example.com/b.jpg",
                            "channel_slug": "broadcaster_channel", "identity": null},
            "sender": {"is_anonymous": false, "user_id": user_id, "username": username,
                       "is_verified": false, "profile_picture": "https://example.com/s.jpg",
                       "channel_slug": username.to_lowercase(),
                       "identity": {"username_color": "#FF5733", "badges": badges}},
            "content": content,
            "emotes": [],
            "created_at": humantime::format_rfc3339_seconds(at).to_string(),
        });
        self.delivery("chat.message.sent", "1", body.to_string().into_bytes(), at)
    }

    /// The same chat delivery stamped `age` before `now` (and signed so).
    pub fn stale_chat(&self, now: SystemTime, age: Duration) -> Delivery {
        self.chat(1, "viewer", &[], "!scene live", now - age)
    }
}

/// The DER of a PEM block (the text before it, the test-key notice, is skipped).
fn pem_der(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).expect("a BEGIN line") + begin.len();
    let stop = pem[start..].find(&end).expect("an END line") + start;
    let text: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}
