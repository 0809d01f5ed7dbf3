//! IP bans for the web server.
//! Parsing lives in `commands::web`.
//!
//! This feature's configuration section does not exist yet, so the feature is off: every command
//! answers "not enabled" (localised), as it will whenever the section is absent.

use crate::app::Context;
use crate::dispatch::Invoker;
use crate::reply::{Reply, keys};
use commands::web::WebCommand;

pub(crate) async fn handle_command(
    _ctx: &Context,
    _invoker: &Invoker,
    _cmd: WebCommand,
) -> anyhow::Result<Reply> {
    Ok(Reply::not_enabled(keys::FEATURE_BANS))
}
