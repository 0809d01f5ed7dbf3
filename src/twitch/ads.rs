//! Ads: start a commercial (Helix Start Commercial), snooze the next scheduled ad (Helix Snooze
//! Next Ad), and what an ad break that began (EventSub `channel.ad_break.begin`) does to
//! `Status.twitch`.
//!
//! Snooze Next Ad goes through twitch_api's client with a request type of our own: Twitch's
//! production API answers `snooze_refresh_at` and `next_ad_at` as Unix seconds (`0`: none), not
//! the RFC 3339 strings its reference shows and twitch_api 0.8's `SnoozedAdSchedule` expects
//! (github.com/twitchdev/issues/issues/857, #879, #961), so that type would fail on every real
//! answer. [`Snoozed`] reads either form.

use super::Twitch;
use super::helix::{TwitchError, post_as_broadcaster, with_token};
use crate::status::{AdBreakStatus, Event, now_unix};
use std::time::Duration;
use twitch_api::helix;

/// A commercial Twitch started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commercial {
    /// The length Twitch serves, in seconds.
    pub length: u32,
    /// How long until Twitch takes another one.
    pub retry_after: Duration,
    /// Twitch's note on serving it (usually empty).
    pub message: String,
}

/// Why a commercial did not start, beyond the common Twitch errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdRefusal {
    /// Within the pause Twitch keeps between commercials; how much of it is left, if this
    /// process started the previous one.
    Cooldown(Option<Duration>),
    Twitch(TwitchError),
}

impl From<TwitchError> for AdRefusal {
    fn from(error: TwitchError) -> Self {
        AdRefusal::Twitch(error)
    }
}

/// Start a commercial of `seconds` (30, 60, …, 180; see `commands::AdSeconds`).
pub async fn start_commercial(twitch: &Twitch, seconds: u32) -> Result<Commercial, AdRefusal> {
    let length = commercial_length(seconds);
    let result = with_token(twitch, |token| async move {
        let body = helix::channels::StartCommercialBody::new(token.user_id.clone(), length);
        twitch
            .helix
            .req_post(helix::channels::StartCommercialRequest::new(), body, &token)
            .await
            .map(|response| response.data)
    })
    .await;
    let started = match result {
        Ok(started) => started,
        // "429 Too Many Requests: The broadcaster may not run another commercial until the
        // cooldown period expires" (dev.twitch.tv/docs/api/reference/#start-commercial).
        Err(TwitchError::RateLimited) => {
            return Err(AdRefusal::Cooldown(twitch.ad_cooldown_left()));
        }
        Err(TwitchError::Api {
            status: 400,
            message,
        }) if mentions_live(&message) => {
            return Err(TwitchError::NotLive.into());
        }
        Err(other) => return Err(other.into()),
    };
    let retry_after = Duration::from_secs(started.retry_after);
    twitch.ad_started(retry_after);
    Ok(Commercial {
        length: started.length as u32,
        retry_after,
        message: started.message,
    })
}

fn commercial_length(seconds: u32) -> twitch_api::types::CommercialLength {
    use twitch_api::types::CommercialLength as L;
    match seconds {
        ..=30 => L::Length30,
        31..=60 => L::Length60,
        61..=90 => L::Length90,
        91..=120 => L::Length120,
        121..=150 => L::Length150,
        _ => L::Length180,
    }
}

fn mentions_live(message: &str) -> bool {
    message.to_ascii_lowercase().contains("live")
}

/// What a snooze left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnoozeOutcome {
    /// Snoozed: snoozes left, and when the next ad comes (Unix seconds), if Twitch said.
    Snoozed { left: u32, next_ad_at: Option<u64> },
    /// None left; when one comes back (Unix seconds), if known.
    NoneLeft { refresh_at: Option<u64> },
}

/// Push the next scheduled ad back (Twitch: by 5 minutes, a few times per stream).
pub async fn snooze(twitch: &Twitch) -> Result<SnoozeOutcome, TwitchError> {
    let result =
        post_as_broadcaster(twitch, |broadcaster_id| SnoozeRequest { broadcaster_id }).await;
    match result {
        Ok(answers) => {
            let snoozed = answers.into_iter().next().unwrap_or_default();
            Ok(SnoozeOutcome::Snoozed {
                left: snoozed.snooze_count.0,
                next_ad_at: snoozed.next_ad_at.0,
            })
        }
        // Out of snoozes (Snooze Next Ad's 429, dev.twitch.tv/docs/api/reference/#snooze-next-ad).
        Err(TwitchError::RateLimited) => Ok(SnoozeOutcome::NoneLeft { refresh_at: None }),
        Err(TwitchError::Api {
            status: 400,
            message,
        }) if mentions_live(&message) => Err(TwitchError::NotLive),
        Err(other) => Err(other),
    }
}

/// `POST /helix/channels/ads/schedule/snooze?broadcaster_id=…` (scope `channel:manage:ads`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct SnoozeRequest {
    broadcaster_id: String,
}

impl helix::Request for SnoozeRequest {
    const PATH: &'static str = "channels/ads/schedule/snooze";
    const SCOPE: twitch_oauth2::Validator =
        twitch_oauth2::validator![twitch_oauth2::Scope::ChannelManageAds];
    type Response = Vec<Snoozed>;
    type PaginationData = ();
}

impl helix::RequestPost for SnoozeRequest {
    type Body = helix::EmptyBody;
}

/// One answer of Snooze Next Ad, read leniently (see the module's note).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
struct Snoozed {
    #[serde(default)]
    snooze_count: Count,
    #[serde(default)]
    next_ad_at: Instant,
}

/// A count Twitch writes as a number or as a numeric string.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Count(pub(crate) u32);

impl<'de> serde::Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Count(match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n.as_u64().unwrap_or(0).min(u64::from(u32::MAX)) as u32,
            serde_json::Value::String(s) => s.trim().parse().unwrap_or(0),
            _ => 0,
        }))
    }
}

/// A moment Twitch writes as Unix seconds, a numeric string or RFC 3339; `0` or empty: none.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Instant(Option<u64>);

impl<'de> serde::Deserialize<'de> for Instant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s
                .trim()
                .parse::<u64>()
                .ok()
                .or_else(|| crate::timestamp::parse_unix_secs(s.trim())),
            _ => None,
        };
        Ok(Instant(secs.filter(|&s| s > 0)))
    }
}

/// `channel.ad_break.begin`, the fields the bot uses. Read with its own type, leniently (a count
/// as a number or a string), because Twitch's examples and answers have disagreed on the types
/// of these fields (github.com/twitchdev/issues/issues/857).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub(crate) struct AdBreakBegin {
    pub duration_seconds: Count,
    #[serde(default)]
    pub is_automatic: bool,
    pub broadcaster_user_id: String,
}

impl AdBreakBegin {
    /// How long the break lasts: Twitch's number, capped at [`MAX_BREAK_SECS`] rather than
    /// trusted when absurd.
    pub fn seconds(&self) -> u32 {
        self.duration_seconds.0.min(MAX_BREAK_SECS)
    }
}

/// An ad break began: show it in Status and tell the bus; `Status.twitch.ad_break` is cleared
/// (and [`Event::AdBreakEnded`] sent) when it is over, unless a newer one replaced it.
pub(crate) fn ad_break_began(twitch: &std::sync::Arc<Twitch>, begin: &AdBreakBegin) {
    let seconds = begin.seconds();
    let started = now_unix();
    let ad_break = AdBreakStatus {
        started_at: started,
        duration_secs: seconds,
        automatic: begin.is_automatic,
    };
    twitch
        .status
        .update(|t| t.ad_break = Some(ad_break.clone()));
    tracing::info!(seconds, automatic = begin.is_automatic, "an ad break began");
    let _ = twitch.events.send(Event::AdBreakBegan {
        duration_secs: seconds,
        automatic: begin.is_automatic,
    });
    let twitch = twitch.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(u64::from(seconds))).await;
        let mut ended = false;
        twitch.status.update(|t| {
            if t.ad_break.as_ref() == Some(&ad_break) {
                t.ad_break = None;
                ended = true;
            }
        });
        if ended {
            let _ = twitch.events.send(Event::AdBreakEnded);
        }
    });
}

/// The longest ad break taken from an event, in seconds (Twitch's longest commercial is 180 s;
/// automatic breaks are up to 3 minutes too).
pub const MAX_BREAK_SECS: u32 = 600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snooze_answers_are_read_in_every_form_twitch_has_used() {
        let read = |json: &str| serde_json::from_str::<Snoozed>(json).unwrap();
        // Production: Unix seconds, 0 for none.
        let production =
            read(r#"{"snooze_count": 2, "snooze_refresh_at": 0, "next_ad_at": 1702019672}"#);
        assert_eq!(production.snooze_count, Count(2));
        assert_eq!(production.next_ad_at, Instant(Some(1_702_019_672)));
        // The reference's example: strings.
        let documented = read(
            r#"{"snooze_count": "1", "snooze_refresh_at": "2023-08-01T23:08:18+00:00", "next_ad_at": "2023-08-01T23:08:18+00:00"}"#,
        );
        assert_eq!(documented.snooze_count, Count(1));
        assert_eq!(documented.next_ad_at, Instant(Some(1_690_931_298)));
        let none = read(r#"{"snooze_count": 0, "next_ad_at": ""}"#);
        assert_eq!(none.next_ad_at, Instant(None));
        assert_eq!(read("{}"), Snoozed::default());
    }

    #[test]
    fn lengths_round_up_to_what_twitch_serves() {
        use twitch_api::types::CommercialLength as L;
        assert_eq!(commercial_length(30), L::Length30);
        assert_eq!(commercial_length(60), L::Length60);
        assert_eq!(commercial_length(61), L::Length90);
        assert_eq!(commercial_length(180), L::Length180);
        assert_eq!(commercial_length(999), L::Length180);
    }
}
