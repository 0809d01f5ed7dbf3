//! One handler file per feature, named as in `commands/src/<feature>.rs`. Each exposes
//! `handle_command(ctx, invoker, cmd) -> anyhow::Result<Reply>`; only `dispatch` calls them.

use crate::reply::{Key, keys};

pub mod alert;
pub mod guard;
pub mod meta;
pub mod power;
pub mod restream;
pub mod scene;
pub mod service;
pub mod stream;
pub mod twitch;
pub mod web;

/// Every feature of [`crate::config::FEATURES`], in its order, with its localised name.
pub const FEATURES: &[(&str, Key)] = &[
    ("obs", keys::FEATURE_OBS),
    ("guard", keys::FEATURE_GUARD),
    ("twitch", keys::FEATURE_TWITCH),
    ("discord", keys::FEATURE_DISCORD),
    ("restream", keys::FEATURE_RESTREAM),
    ("power", keys::FEATURE_POWER),
    ("services", keys::FEATURE_SERVICES),
    ("overlay", keys::FEATURE_OVERLAY),
    ("web", keys::FEATURE_WEB),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_configured_feature_has_a_localised_name_in_the_same_order() {
        let names: Vec<&str> = super::FEATURES.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, crate::config::FEATURES);
    }
}
