//! The VOD's moments: stream markers (Helix Create Stream Marker) and clips (Helix Create Clip,
//! then Get Clips until Twitch has made it).
//!
//! Both need the broadcaster to be live: Twitch answers 404 otherwise, which is
//! [`TwitchError::NotLive`] here. A clip is made asynchronously: "If, after 15 seconds, Get Clips
//! hasn't returned the clip, assume it failed" (dev.twitch.tv/docs/api/clips); since 2026 it
//! sometimes takes longer (github.com/twitchdev/issues/issues/1135), so after the wait the
//! answer is the address the clip will have, not a verdict.
//!
//! Create Clip goes through twitch_api's client with a request type of our own: Twitch answers
//! it `202 Accepted` ("Successfully started the clip process", dev.twitch.tv/docs/api/reference
//! /#create-clip), and twitch_api 0.8's `CreateClipRequest` takes only `200`, so it would fail
//! on every real answer.

use super::Twitch;
use super::helix::{TwitchError, post_as_broadcaster, with_token};
use std::time::Duration;
use twitch_api::helix;

/// A marker Twitch made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// Where in the stream (its VOD), from the stream's start.
    pub position: Duration,
}

/// Longest marker description Helix takes, in characters ("limited to a maximum of 140
/// characters", dev.twitch.tv/docs/api/markers).
pub const MARKER_DESCRIPTION_MAX: usize = 140;

/// Mark the current moment of the broadcaster's stream, described by `description` (cut to
/// [`MARKER_DESCRIPTION_MAX`] characters).
pub async fn create_marker(
    twitch: &Twitch,
    description: Option<&str>,
) -> Result<Marker, TwitchError> {
    let description: Option<String> =
        description.map(|d| d.chars().take(MARKER_DESCRIPTION_MAX).collect());
    let marker = with_token(twitch, |token| {
        let description = description.clone();
        async move {
            let body = match description {
                Some(text) => {
                    helix::streams::CreateStreamMarkerBody::new(token.user_id.clone(), text)
                }
                None => helix::streams::CreateStreamMarkerBody::user_id(token.user_id.clone()),
            };
            twitch
                .helix
                .req_post(
                    helix::streams::CreateStreamMarkerRequest::new(),
                    body,
                    &token,
                )
                .await
                .map(|response| response.data)
        }
    })
    .await
    .map_err(not_live_on_404)?;
    Ok(Marker {
        position: Duration::from_secs(marker.position_seconds),
    })
}

/// How long Twitch may take to make a clip before it counts as failed.
pub const CLIP_WAIT: Duration = Duration::from_secs(15);
/// How often Get Clips is asked meanwhile.
pub const CLIP_POLL: Duration = Duration::from_secs(1);

/// What became of a clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipOutcome {
    /// Twitch made it: its public URL.
    Made { url: String },
    /// Twitch took the request but the clip did not appear within [`CLIP_WAIT`]: where it will
    /// be if Twitch finishes it.
    Pending { url: String },
}

/// `POST /helix/clips?broadcaster_id=…` (scope `clips:edit`), any 2xx answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct CreateClip {
    broadcaster_id: String,
}

impl helix::Request for CreateClip {
    const PATH: &'static str = "clips";
    const SCOPE: twitch_oauth2::Validator =
        twitch_oauth2::validator![twitch_oauth2::Scope::ClipsEdit];
    type Response = Vec<helix::clips::CreatedClip>;
    type PaginationData = ();
}

impl helix::RequestPost for CreateClip {
    type Body = helix::EmptyBody;
}

/// Clip the last seconds of the broadcaster's stream and wait (at most [`CLIP_WAIT`]) for it.
pub async fn create_clip(twitch: &Twitch) -> Result<ClipOutcome, TwitchError> {
    let created = post_as_broadcaster(twitch, |broadcaster_id| CreateClip { broadcaster_id })
        .await
        .map_err(not_live_on_404)?;
    let Some(created) = created.into_iter().next() else {
        return Err(TwitchError::Api {
            status: 200,
            message: "Twitch answered without a clip".into(),
        });
    };
    let id = created.id;
    let deadline = tokio::time::Instant::now() + CLIP_WAIT;
    loop {
        tokio::time::sleep(CLIP_POLL).await;
        let found = with_token(twitch, |token| {
            let id = id.clone();
            async move {
                let ids: [&twitch_api::types::ClipIdRef; 1] = [id.as_ref()];
                let request = helix::clips::GetClipsRequest::clip_ids(&ids[..]);
                twitch
                    .helix
                    .req_get(request, &token)
                    .await
                    .map(|response| response.data)
            }
        })
        .await?;
        if let Some(clip) = found.into_iter().find(|c| c.id == id) {
            return Ok(ClipOutcome::Made { url: clip.url });
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(clip = %id, "Twitch has not made the clip in time");
            return Ok(ClipOutcome::Pending {
                url: format!("https://clips.twitch.tv/{id}"),
            });
        }
    }
}

/// Twitch answers 404 when the broadcaster is not live (markers and clips need a live stream).
fn not_live_on_404(error: TwitchError) -> TwitchError {
    match error {
        TwitchError::Api { status: 404, .. } => TwitchError::NotLive,
        other => other,
    }
}
