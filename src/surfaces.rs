//! Surfaces are adapters: they turn platform input into an `Invocation` and render the `Reply`
//! back. No business logic lives here.

pub mod console;
pub mod discord;
pub mod twitch_chat;

use crate::reply::{Key, Reply};
use crate::status::UploadProblem;

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
