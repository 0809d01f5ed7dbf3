//! The ad scene: while Twitch runs an ad break (EventSub `channel.ad_break.begin`), show
//! `obs.scenes.ad_break`, then put back the scene it replaced.
//!
//! The guard leaves a scene it does not own alone (a manual override), so it does not fight the
//! ad scene; when the scene comes back, it decides again. A break that begins while another is
//! covered extends the cover and keeps the first break's scene to restore. Someone who switches
//! away from the ad scene during the break keeps their choice.

use super::ObsHandle;
use crate::status::SwitchedBy;
use std::time::Duration;

/// The ad break being covered.
#[derive(Debug)]
pub(crate) struct Cover {
    /// Bumped by each break that begins during the cover: only the last one restores.
    generation: u64,
    /// The scene to put back.
    restore: Option<String>,
}

impl ObsHandle {
    /// Cover an ad break of `duration` with the ad scene, if one is configured and OBS streams.
    pub async fn cover_ad_break(&self, duration: Duration) {
        let Some(scene) = self.inner.config.scenes.ad_break.clone() else {
            return;
        };
        if !self.is_streaming() {
            return;
        }
        let generation = {
            let mut cover = self
                .inner
                .ad_cover
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let current = self.current_scene();
            let next = match cover.take() {
                Some(ongoing) => Cover {
                    generation: ongoing.generation + 1,
                    restore: ongoing.restore,
                },
                None => Cover {
                    generation: 0,
                    restore: current.filter(|s| *s != scene),
                },
            };
            let generation = next.generation;
            *cover = Some(next);
            generation
        };
        if let Err(error) = self.switch_to(&scene, SwitchedBy::AdBreak).await {
            tracing::warn!(%error, scene, "cannot show the ad scene");
        }
        tokio::time::sleep(duration).await;
        let restore = {
            let mut cover = self
                .inner
                .ad_cover
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match cover.as_ref() {
                Some(c) if c.generation == generation => cover.take().and_then(|c| c.restore),
                // A later break covers on; it restores.
                _ => return,
            }
        };
        let Some(restore) = restore else { return };
        if self.current_scene().as_deref() != Some(scene.as_str()) {
            tracing::info!(scene = %restore, "the ad break is over; the scene was changed meanwhile, so it stays");
            return;
        }
        if let Err(error) = self.switch_to(&restore, SwitchedBy::AdBreak).await {
            tracing::warn!(%error, scene = %restore, "cannot put the scene back after the ad break");
        }
    }
}
