//! Loops that wait: polling a peer at a fixed period ([`poll_every`]) and retrying after a
//! failure with capped exponential backoff ([`Backoff`]).

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

/// Capped exponential backoff: the delays `min`, `2·min`, `4·min`, … up to `max`.
///
/// One per retry loop (task supervision, the OBS reconnect, EventSub's reconnect and
/// resubscribe, the Twitch token refresh); the loop decides when a success [resets](Self::reset)
/// it. Doubling saturates, so a huge `max` cannot overflow.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// Starts at `min`. The cap applies from the second delay on (callers validate `min ≤ max`).
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            current: min,
        }
    }

    /// The delay to wait now; the one after it is twice as long, at most `max`.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.current;
        self.current = self.current.saturating_mul(2).min(self.max);
        delay
    }

    /// The delay [`next_delay`](Self::next_delay) returns, without advancing.
    pub fn current(&self) -> Duration {
        self.current
    }

    /// The cap.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// Start again from `min` (after a success).
    pub fn reset(&mut self) {
        self.current = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn delays(backoff: &mut Backoff, n: usize) -> Vec<Duration> {
        (0..n).map(|_| backoff.next_delay()).collect()
    }

    #[test]
    fn backoff_doubles_from_min() {
        let mut backoff = Backoff::new(secs(1), secs(60));
        assert_eq!(
            delays(&mut backoff, 4),
            [secs(1), secs(2), secs(4), secs(8)]
        );
        assert_eq!(backoff.current(), secs(16));
    }

    #[test]
    fn backoff_is_capped_at_max() {
        let mut backoff = Backoff::new(secs(5), secs(300));
        let seen = delays(&mut backoff, 9);
        assert_eq!(
            seen,
            [5, 10, 20, 40, 80, 160, 300, 300, 300].map(secs),
            "the cap is reached and held"
        );
        assert_eq!(backoff.max(), secs(300));
    }

    #[test]
    fn backoff_reset_starts_again_from_min() {
        let mut backoff = Backoff::new(secs(2), secs(120));
        delays(&mut backoff, 5);
        backoff.reset();
        assert_eq!(backoff.current(), secs(2));
        assert_eq!(delays(&mut backoff, 2), [secs(2), secs(4)]);
    }

    #[test]
    fn backoff_does_not_overflow_with_a_huge_max() {
        let mut backoff = Backoff::new(secs(1), Duration::MAX);
        let last = delays(&mut backoff, 200).pop().unwrap();
        assert_eq!(last, Duration::MAX);
        assert_eq!(backoff.next_delay(), Duration::MAX);
    }

    #[test]
    fn backoff_with_min_equal_to_max_is_constant() {
        let mut backoff = Backoff::new(secs(3), secs(3));
        assert_eq!(delays(&mut backoff, 3), [secs(3); 3]);
    }
}
