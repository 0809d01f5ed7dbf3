//! Twitch channel management: title, category, raid. Parsing lives in `commands::twitch`; the
//! Helix calls in `twitch::helix`.

use crate::context::Context;
use crate::dispatch::Invoker;
use crate::reply::{Reply, UserError, keys};
use crate::twitch::helix::{self, CategoryChoice, RaidChoice};
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
    })
}
