//! Twitch channel management: title, category, raid, markers, clips and ads. Parsing lives in
//! `commands::twitch`; the Helix calls in `twitch::helix`, `twitch::moments` and `twitch::ads`.

use crate::context::Context;
use crate::dispatch::Invoker;
use crate::reply::format_uptime;
use crate::reply::{Outcome, Reply, UserError, keys};
use crate::twitch::ads::{self, AdRefusal, SnoozeOutcome};
use crate::twitch::helix::{self, CategoryChoice, RaidChoice};
use crate::twitch::moments::{self, ClipOutcome};
use commands::twitch::TwitchCommand;

pub(crate) async fn handle_command(
    _ctx: &Context,
    twitch: &crate::twitch::Twitch,
    _invoker: &Invoker,
    cmd: TwitchCommand,
) -> anyhow::Result<Reply> {
    Ok(match cmd {
        TwitchCommand::Title(title) => {
            helix::set_title(twitch, title.as_str())
                .await
                .map_err(UserError::from)?;
            Reply::new(keys::TITLE_SET).arg("title", title.as_str())
        }
        TwitchCommand::Category(query) => match helix::set_category(twitch, query.as_str())
            .await
            .map_err(UserError::from)?
        {
            CategoryChoice::Set(name) => Reply::new(keys::CATEGORY_SET).arg("category", name),
            CategoryChoice::Ambiguous(names) => Reply::new(keys::CATEGORY_AMBIGUOUS)
                .arg("query", query.as_str())
                .arg("candidates", names.join(", ")),
            CategoryChoice::NotFound => {
                Reply::new(keys::CATEGORY_NOT_FOUND).arg("query", query.as_str())
            }
        },
        TwitchCommand::Raid(channel) => match helix::raid(twitch, channel.as_str())
            .await
            .map_err(UserError::from)?
        {
            RaidChoice::Started(name) => Reply::new(keys::RAID_STARTED).arg("channel", name),
            RaidChoice::UnknownUser => {
                Reply::new(keys::RAID_UNKNOWN_USER).arg("channel", channel.as_str())
            }
        },
        TwitchCommand::Marker(text) => {
            let text = text.as_ref().map(|t| t.as_str());
            let marker = moments::create_marker(twitch, text)
                .await
                .map_err(UserError::from)?;
            let position = format_uptime(marker.position.as_secs());
            match text {
                Some(text) => Reply::new(keys::MARKER_SET_DESCRIBED).arg("text", text),
                None => Reply::new(keys::MARKER_SET),
            }
            .arg("position", position)
        }
        TwitchCommand::Clip => match moments::create_clip(twitch)
            .await
            .map_err(UserError::from)?
        {
            ClipOutcome::Made { url } => Reply::new(keys::CLIP_MADE).arg("url", url),
            ClipOutcome::Pending { url } => Reply::new(keys::CLIP_PENDING)
                .number("seconds", moments::CLIP_WAIT.as_secs() as f64)
                .arg("url", url),
        },
        TwitchCommand::Ad(seconds) => match ads::start_commercial(twitch, seconds.get()).await {
            Ok(started) => Reply::new(keys::AD_STARTED)
                .number("seconds", started.length)
                .arg("retry", format_uptime(started.retry_after.as_secs())),
            Err(AdRefusal::Cooldown(left)) => Reply::new(keys::AD_COOLDOWN)
                .arg(
                    "retry",
                    left.map_or("none".to_string(), |l| format_uptime(l.as_secs())),
                )
                .with_outcome(Outcome::Failed),
            Err(AdRefusal::Twitch(error)) => return Err(UserError::from(error).into()),
        },
        TwitchCommand::Snooze => match ads::snooze(twitch).await.map_err(UserError::from)? {
            SnoozeOutcome::Snoozed { left, next_ad_at } => Reply::new(keys::AD_SNOOZED)
                .number("count", left)
                .arg("next", in_from_now(next_ad_at)),
            SnoozeOutcome::NoneLeft { refresh_at } => Reply::new(keys::AD_NO_SNOOZE)
                .arg("refresh", in_from_now(refresh_at))
                .with_outcome(Outcome::Failed),
        },
    })
}

/// How long until `unix` (seconds since the epoch) as a reply says it; `none` when unknown or
/// past.
fn in_from_now(unix: Option<u64>) -> String {
    let now = crate::status::now_unix();
    match unix {
        Some(at) if at > now => format_uptime(at - now),
        _ => "none".into(),
    }
}
