//! Restream endpoints for nginx-rtmp.
//! Parsing lives in `commands::restream`.
//!
//! This feature's configuration section does not exist yet, so the feature is off: every command
//! answers "not enabled" (localised), as it will whenever the section is absent.

use crate::app::Context;
use crate::dispatch::{Invoker, Progress};
use crate::reply::{Reply, keys};
use commands::restream::RestreamCommand;

pub(crate) async fn handle_command(
    _ctx: &Context,
    _invoker: &Invoker,
    _cmd: RestreamCommand,
    _progress: &Progress,
) -> anyhow::Result<Reply> {
    Ok(Reply::not_enabled(keys::FEATURE_RESTREAM))
}
