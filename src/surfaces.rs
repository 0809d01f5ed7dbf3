//! Surfaces are adapters: they turn platform input into an `Invocation` and render the `Reply`
//! back. No business logic lives here.

pub mod console;
pub mod discord;
pub mod kick_chat;
pub mod twitch_chat;

use crate::config::AnnounceConfig;
use crate::context::Context;
use crate::reply::{Key, Reply, keys};
use crate::status::{Event, Events, GuardTransition, UploadProblem};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// One surface's message keys for the upload alerts: (started, cleared), in
/// [`UploadProblem::ALL`]'s order.
pub type UploadKeys = [(Key, Key); 4];

/// An upload alert (`Event::ObsUpload`) as a message: the started one with its number
/// (`percent` of congestion or of dropped frames, `mb` free on the recording disk), the
/// cleared one without.
pub fn upload_reply(
    keys: &UploadKeys,
    problem: UploadProblem,
    active: bool,
    value: Option<f64>,
) -> Reply {
    let index = UploadProblem::ALL
        .iter()
        .position(|p| *p == problem)
        .unwrap_or_default();
    let (started, cleared) = keys[index];
    if !active {
        return Reply::new(cleared);
    }
    let value = value.unwrap_or_default();
    let reply = Reply::new(started);
    match problem {
        UploadProblem::Reconnecting => reply,
        UploadProblem::Congestion => reply.number("percent", (value * 100.0).round()),
        UploadProblem::DroppedFrames => reply.number("percent", (value * 10.0).round() / 10.0),
        UploadProblem::DiskLow => reply.number("mb", value.round()),
    }
}

/// What a chat posts of its own accord.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatPost {
    /// The raid stop's message, sent as written (it may be meant for another bot).
    RaidMessage(String),
    /// An announcement ([`chat_announcement`]), to render in the chat's language.
    Announcement(Reply),
}

/// A chat's announcer's feed (Twitch's, Kick's): what it posts, as its `announce` section says.
/// Notable events only: a chat flood cannot push a transition out while a post is slow.
pub struct ChatPosts {
    events: Events,
    announce: AnnounceConfig,
}

impl ChatPosts {
    pub fn new(ctx: &Context, announce: AnnounceConfig) -> ChatPosts {
        ChatPosts {
            events: ctx.events.subscribe_notable(),
            announce,
        }
    }

    /// The next post; `None` once cancelled or the bus is closed. Events missed while a post
    /// was slow are skipped.
    pub async fn next(&mut self, cancel: &CancellationToken) -> Option<ChatPost> {
        loop {
            let event = tokio::select! {
                _ = cancel.cancelled() => return None,
                event = self.events.recv() => event,
            };
            let event = match event {
                Ok(event) => event,
                Err(RecvError::Closed) => return None,
                Err(RecvError::Lagged(_)) => continue,
            };
            if let Event::RaidHandled {
                message: Some(message),
                ..
            } = event
            {
                return Some(ChatPost::RaidMessage(message));
            }
            if let Some(reply) = chat_announcement(&self.announce, &event) {
                return Some(ChatPost::Announcement(reply));
            }
        }
    }
}

/// What a chat (Twitch's, Kick's) announces for `event`, as its `announce` section says: guard
/// transitions, upload alerts and, opt-in, the streamer's own troubles. `None`: nothing. (The
/// raid stop's message is each chat's own.)
pub fn chat_announcement(announce: &AnnounceConfig, event: &Event) -> Option<Reply> {
    let shown = |dry_run: bool| announce.dry_run || !dry_run;
    Some(match event {
        Event::BitrateLow(t) if announce.low && shown(t.dry_run) => {
            transition(keys::ANNOUNCE_LOW, t)
        }
        Event::BitrateRestored(t) if announce.restored && shown(t.dry_run) => {
            transition(keys::ANNOUNCE_RESTORED, t)
        }
        Event::IngestOffline(t) if announce.offline && shown(t.dry_run) => {
            transition(keys::ANNOUNCE_OFFLINE, t)
        }
        Event::AutoStart {
            server,
            error: None,
        } if announce.auto_start => {
            Reply::new(keys::ANNOUNCE_AUTO_START).arg("server", server.clone())
        }
        // Over because the stream (or OBS) went away: viewers know, nothing to say.
        Event::ObsUpload {
            problem,
            active,
            value,
            gone: false,
        } if upload_announced(announce, *problem) => {
            upload_reply(&CHAT_UPLOAD_KEYS, *problem, *active, *value)
        }
        Event::OfflineTimeout { stopped: true } if announce.offline_timeout => {
            Reply::new(keys::ANNOUNCE_OFFLINE_TIMEOUT)
        }
        Event::TaskFailed { task, .. } if announce.task_failed => {
            Reply::new(keys::ANNOUNCE_TASK_FAILED).arg("task", task.clone())
        }
        Event::ServiceStateChanged { key, from, to, .. } if announce.service => {
            Reply::new(keys::ANNOUNCE_SERVICE)
                .arg("key", key.clone())
                .arg("from", from.clone())
                .arg("to", to.clone())
        }
        Event::PowerStateChanged { reachable } if announce.pc => Reply::new(if *reachable {
            keys::ANNOUNCE_PC_UP
        } else {
            keys::ANNOUNCE_PC_DOWN
        }),
        Event::EventSubDown { .. } if announce.eventsub => Reply::new(keys::ANNOUNCE_EVENTSUB_DOWN),
        Event::EventSubBack if announce.eventsub => Reply::new(keys::ANNOUNCE_EVENTSUB_BACK),
        _ => return None,
    })
}

/// The upload alerts' messages in chat.
const CHAT_UPLOAD_KEYS: UploadKeys = [
    (keys::ANNOUNCE_RECONNECTING, keys::ANNOUNCE_RECONNECTED),
    (keys::ANNOUNCE_CONGESTION, keys::ANNOUNCE_CONGESTION_CLEARED),
    (
        keys::ANNOUNCE_DROPPED_FRAMES,
        keys::ANNOUNCE_DROPPED_FRAMES_CLEARED,
    ),
    (keys::ANNOUNCE_DISK_LOW, keys::ANNOUNCE_DISK_CLEARED),
];

/// Whether an upload alert is announced in chat.
fn upload_announced(announce: &AnnounceConfig, problem: UploadProblem) -> bool {
    match problem {
        UploadProblem::Reconnecting => announce.reconnecting,
        UploadProblem::Congestion => announce.congestion,
        UploadProblem::DroppedFrames => announce.dropped_frames,
        UploadProblem::DiskLow => announce.disk_low,
    }
}

/// A guard transition as a chat message (wrapped as a dry-run decision when it was one).
fn transition(key: Key, t: &GuardTransition) -> Reply {
    let mut reply = Reply::new(key).arg("scene", t.to.to_uppercase());
    reply = match t.bitrate_kbps {
        Some(kbps) => reply.number("kbps", kbps),
        None => reply.arg("kbps", "–"),
    };
    if t.dry_run {
        Reply::new(keys::ANNOUNCE_DRY_RUN).message("what", reply)
    } else {
        reply
    }
}
