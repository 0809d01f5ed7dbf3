//! The stop after an outgoing raid (Twitch's `channel.raid` fires when the raid executes).

use super::ObsHandle;
use crate::status::{Event, RaidOutcome, SwitchedBy};
use std::time::Duration;
use tokio::time::Instant;

/// Raids handled within this window of each other count once.
pub const RAID_DEDUPE: Duration = Duration::from_secs(30);

impl ObsHandle {
    /// After an outgoing raid to `channel`: wait the configured delay, then, if streaming and live
    /// long enough, end the stream (ending scene, confirmed stop, offline scene). Announces
    /// [`Event::RaidHandled`] with the chat message to post. Idempotent within 30 s.
    pub async fn stop_after_raid(&self, channel: &str) -> RaidOutcome {
        let outcome = self.raid_outcome().await;
        let message = match (&outcome, &self.inner.config.raid_stop) {
            (RaidOutcome::Stopped, Some(config)) => config
                .message
                .as_ref()
                .map(|m| m.replace("{channel}", channel)),
            _ => None,
        };
        tracing::info!(channel, ?outcome, "outgoing raid handled");
        self.emit(Event::RaidHandled {
            channel: channel.to_string(),
            outcome: outcome.clone(),
            message,
        });
        outcome
    }

    async fn raid_outcome(&self) -> RaidOutcome {
        let Some(config) = self.inner.config.raid_stop.clone() else {
            return RaidOutcome::Disabled;
        };
        {
            let now = Instant::now();
            let mut last = self
                .inner
                .last_raid
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| now.saturating_duration_since(at) < RAID_DEDUPE) {
                return RaidOutcome::Duplicate;
            }
            *last = Some(now);
        }
        tokio::time::sleep(config.delay).await;
        if !self.is_streaming() {
            return RaidOutcome::NotStreaming;
        }
        let uptime = self
            .inner
            .status
            .borrow()
            .obs
            .as_ref()
            .and_then(|o| o.stream_uptime_secs)
            .map(Duration::from_secs);
        if uptime.is_some_and(|up| up < config.min_live) {
            return RaidOutcome::TooShort;
        }
        match self.end_stream(SwitchedBy::Raid).await {
            Ok(_) => RaidOutcome::Stopped,
            Err(error) => RaidOutcome::Failed(error.to_string()),
        }
    }
}
