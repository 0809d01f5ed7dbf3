//! IP bans of the web server: `ban-ip`, `unban-ip`, `bans`. Parsing lives in `commands::web`;
//! the ban list in `web::bans`.
//!
//! Managed on Discord only (and the local console): a Twitch chat is public, and an address in
//! it is personal data. Dispatch refuses these commands there (`Command::is_private`).

use crate::context::Context;
use crate::dispatch::{Invoker, Surface};
use crate::reply::{Reply, keys};
use crate::web::bans::format_utc;
use commands::web::WebCommand;

pub(crate) async fn handle_command(
    _ctx: &Context,
    bans: &std::sync::Arc<crate::web::bans::Bans>,
    invoker: &Invoker,
    cmd: WebCommand,
) -> anyhow::Result<Reply> {
    Ok(match cmd {
        WebCommand::Ban(ip) => {
            let by = match invoker.surface {
                Surface::Console => "console".to_string(),
                _ => invoker.key(),
            };
            let added = bans.ban(ip, &by).await?;
            Reply::new(if added {
                keys::BAN_ADDED
            } else {
                keys::BAN_ALREADY
            })
            .arg("ip", ip.to_canonical().to_string())
        }
        WebCommand::Unban(ip) => {
            let removed = bans.unban(ip).await?;
            Reply::new(if removed {
                keys::BAN_REMOVED
            } else {
                keys::BAN_NOT_FOUND
            })
            .arg("ip", ip.to_canonical().to_string())
        }
        WebCommand::List => {
            let list = bans.list();
            if list.is_empty() {
                Reply::new(keys::BANS_NONE)
            } else {
                let entries = list
                    .into_iter()
                    .map(|(ip, entry)| {
                        let since = format_utc(entry.banned_ts);
                        match entry.by {
                            Some(by) => Reply::new(keys::BAN_ENTRY_MANUAL).arg("by", by),
                            None => Reply::new(keys::BAN_ENTRY_AUTO),
                        }
                        .arg("ip", ip.to_string())
                        .arg("since", since)
                    })
                    .collect();
                Reply::new(keys::BANS_LIST).list("bans", entries)
            }
        }
    })
}
