//! Stream-PC power (Wake-on-LAN, restart, shutdown).
//! Parsing lives in `commands::power`.
//!
//! This feature's configuration section does not exist yet, so the feature is off: every command
//! answers "not enabled" (localised), as it will whenever the section is absent.

use crate::app::Context;
use crate::dispatch::{Invoker, Progress};
use crate::reply::{Reply, keys};
use commands::power::PowerCommand;

pub(crate) async fn handle_command(
    _ctx: &Context,
    _invoker: &Invoker,
    _cmd: PowerCommand,
    _progress: &Progress,
) -> anyhow::Result<Reply> {
    Ok(Reply::not_enabled(keys::FEATURE_POWER))
}
