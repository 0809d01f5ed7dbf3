//! Loops that wait: polling a peer at a fixed period.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Run `poll` now and then every `period` until `cancel` (also cancelling a run in progress).
/// For the tasks that keep a Status section current (stream PC, services).
pub async fn poll_every<F, Fut>(period: Duration, cancel: &CancellationToken, mut poll: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = poll() => {}
        }
    }
}
