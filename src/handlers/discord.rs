//! Discord's own commands: `panel`. Parsing lives in `commands::discord`; the panel's buttons
//! in `surfaces::discord::panel`, which posts it once this handler said yes.

use crate::context::Context;
use crate::dispatch::{Invoker, Surface};
use crate::reply::{Outcome, Reply, keys};
use commands::discord::DiscordCommand;

pub(crate) async fn handle_command(
    _ctx: &Context,
    invoker: &Invoker,
    cmd: DiscordCommand,
) -> anyhow::Result<Reply> {
    let DiscordCommand::Panel = cmd;
    Ok(match invoker.surface {
        Surface::Discord => Reply::new(keys::PANEL_POSTED),
        Surface::Twitch | Surface::Kick | Surface::Console => Reply::new(keys::PANEL_ON_DISCORD)
            .arg("command", "/panel")
            .with_outcome(Outcome::Usage),
    })
}
