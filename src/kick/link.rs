//! Between Kick's chat readers and the rest of the bot: [`Links`] (the queues and the health
//! channels the reader, the webhook route and the chat surface share), and [`run`], the task
//! that passes chat on to the surface, runs the stop after an outgoing host (`kick.raid_stop`)
//! and keeps `Status.kick` current from the readers' health. A peer's task: it reports through
//! Status and the chat queue, never by calling up.

use super::chat::{ChatMessage, KickEvent};
use super::pusher::PusherHealth;
use super::webhook::WebhookHealth;
use crate::config::{KickConfig, KickReader};
use crate::status::{KickStatus, Publisher};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Chat messages waiting for the surface. Beyond this a reader waits (Pusher) or answers 503
/// so that Kick delivers again (webhooks).
pub const CHAT_QUEUE: usize = super::pusher::EVENT_QUEUE;

/// The queues and health channels of Kick chat. The receivers sit behind a lock so that a
/// restarted task takes the same queue (nothing read is lost with the task).
#[derive(Debug, Clone)]
pub struct Links {
    /// What a reader (the Pusher task or the webhook route) hands over.
    pub events: mpsc::Sender<KickEvent>,
    pub received: Arc<Mutex<mpsc::Receiver<KickEvent>>>,
    /// Chat messages for the surface.
    pub chat: mpsc::Sender<ChatMessage>,
    pub messages: Arc<Mutex<mpsc::Receiver<ChatMessage>>>,
    pub pusher: watch::Sender<PusherHealth>,
    pub webhook: watch::Sender<WebhookHealth>,
}

impl Default for Links {
    fn default() -> Self {
        let (events, received) = mpsc::channel(CHAT_QUEUE);
        let (chat, messages) = mpsc::channel(CHAT_QUEUE);
        Links {
            events,
            received: Arc::new(Mutex::new(received)),
            chat,
            messages: Arc::new(Mutex::new(messages)),
            pusher: watch::channel(PusherHealth::Connecting { attempt: 1 }).0,
            webhook: watch::channel(WebhookHealth::default()).0,
        }
    }
}

/// `Status.kick` as the readers' health says.
pub fn status(config: &KickConfig, pusher: &PusherHealth, webhook: &WebhookHealth) -> KickStatus {
    match &config.reader {
        None => KickStatus {
            reader: "none",
            chat: "none",
            chat_error: None,
            deliveries: None,
            refused: None,
        },
        Some(KickReader::Pusher { .. }) => {
            let (chat, chat_error) = match pusher {
                PusherHealth::Connecting { .. } => ("connecting", None),
                PusherHealth::Connected { .. } => ("connected", None),
                PusherHealth::Reconnecting { reason, .. } => ("reconnecting", Some(reason.clone())),
                PusherHealth::GaveUp { code, reason } => {
                    ("gave_up", Some(format!("{code}: {reason}")))
                }
                PusherHealth::Stopped => ("stopped", None),
            };
            KickStatus {
                reader: "pusher",
                chat,
                chat_error,
                deliveries: None,
                refused: None,
            }
        }
        Some(KickReader::Webhook { .. }) => KickStatus {
            reader: "webhook",
            chat: if webhook.last_genuine_unix.is_some() {
                "receiving"
            } else {
                "waiting"
            },
            chat_error: webhook.last_refusal.clone(),
            deliveries: Some(webhook.handed_over),
            refused: Some(webhook.refused),
        },
    }
}

/// Pass chat on to the surface, stop after an outgoing host when `kick.raid_stop` says so
/// (`obs` runs `obs.raid_stop`: the same routine as Twitch's raid), and publish the readers'
/// health as `Status.kick`, until cancelled.
pub async fn run(
    config: KickConfig,
    links: Links,
    obs: Option<crate::obs::ObsHandle>,
    part: Publisher<Option<KickStatus>>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let mut received = links.received.lock().await;
    let mut pusher = links.pusher.subscribe();
    let mut webhook = links.webhook.subscribe();
    let publish = |pusher: &PusherHealth, webhook: &WebhookHealth| {
        let now = status(&config, pusher, webhook);
        part.modify_if(|kick| {
            let changed = kick.as_ref() != Some(&now);
            if changed {
                *kick = Some(now.clone());
            }
            changed
        });
    };
    publish(&pusher.borrow_and_update(), &webhook.borrow_and_update());
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            Ok(()) = pusher.changed() => publish(&pusher.borrow_and_update(), &webhook.borrow()),
            Ok(()) = webhook.changed() => publish(&pusher.borrow(), &webhook.borrow_and_update()),
            event = received.recv() => match event {
                None => return Ok(()),
                Some(KickEvent::Chat(message)) => {
                    // The surface's queue full: wait, as the reader waits on ours.
                    if links.chat.send(message).await.is_err() {
                        return Ok(());
                    }
                }
                Some(KickEvent::OutgoingRaid(raid)) => {
                    tracing::info!(target = %raid.target_slug, "Kick: our channel hosted another");
                    match (&obs, config.raid_stop) {
                        (Some(obs), true) => {
                            let obs = obs.clone();
                            tokio::spawn(async move { obs.stop_after_raid(&raid.target_slug).await });
                        }
                        _ => tracing::debug!("kick.raid_stop is off: the stream goes on"),
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config(reader: Option<KickReader>) -> KickConfig {
        let mut config: KickConfig = ron::from_str(r#"(channel: "someone")"#).unwrap();
        config.reader = reader;
        config
    }

    #[test]
    fn the_configured_default_socket_is_the_one_the_reader_builds() {
        assert_eq!(
            crate::config::KICK_PUSHER_URL,
            super::super::pusher::pusher_url(
                super::super::pusher::DEFAULT_HOST,
                super::super::pusher::DEFAULT_APP_KEY
            )
        );
    }

    #[test]
    fn the_readers_health_becomes_status_kick() {
        let pusher = config(Some(KickReader::Pusher {
            chatroom_id: 1,
            channel_id: None,
            url: "wss://x".into(),
        }));
        let down = PusherHealth::Reconnecting {
            reason: "closed".into(),
            attempt: 2,
            retry_in: Duration::from_secs(2),
        };
        let status = status(&pusher, &down, &WebhookHealth::default());
        assert_eq!(
            (status.reader, status.chat, status.chat_error.as_deref()),
            ("pusher", "reconnecting", Some("closed"))
        );
        let gave_up = PusherHealth::GaveUp {
            code: 4001,
            reason: "no such app".into(),
        };
        let status = super::status(&pusher, &gave_up, &WebhookHealth::default());
        assert_eq!(
            (status.chat, status.chat_error.as_deref()),
            ("gave_up", Some("4001: no such app"))
        );

        let webhook = config(Some(KickReader::Webhook {
            path: "/kick/webhook".into(),
            public_key_file: None,
        }));
        let seen = WebhookHealth {
            handed_over: 3,
            refused: 1,
            last_genuine_unix: Some(1),
            last_refusal: Some("bad signature".into()),
            ..WebhookHealth::default()
        };
        let status = super::status(&webhook, &PusherHealth::Stopped, &seen);
        assert_eq!(
            (
                status.reader,
                status.chat,
                status.deliveries,
                status.refused
            ),
            ("webhook", "receiving", Some(3), Some(1))
        );
        let none = super::status(&config(None), &PusherHealth::Stopped, &seen);
        assert_eq!((none.reader, none.chat), ("none", "none"));
    }
}
