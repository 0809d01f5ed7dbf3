//! One handler file per feature, named as in `commands/src/<feature>.rs` and its configuration
//! section. Each exposes `handle_command(ctx, peer, invoker, cmd) -> anyhow::Result<Reply>`
//! (`meta` and `discord`, which need no peer: `(ctx, invoker, cmd)`); only `dispatch` calls them, after it
//! has refused a command whose feature is not configured.

pub mod discord;
pub mod guard;
pub mod meta;
pub mod obs;
pub mod overlay;
pub mod power;
pub mod restream;
pub mod services;
pub mod twitch;
pub mod web;
