//! The poller's tick.
//!
//! tokio's timer wheel wakes twice for a deadline further than 64 ms away: at the start of the
//! 64 ms slot that holds it (to move it to the finer level), then at the deadline. On the
//! guard's own thread (the product) a poll's tick is therefore a Linux `timerfd` instead,
//! read through the runtime's I/O driver: one wakeup a tick. Under a current-thread runtime
//! (tests, with tokio's paused time) it is tokio's interval, which follows that time.
//!
//! Both keep a fixed schedule from the first tick (which is at once), and hand out the
//! scheduled time of the tick they report. Ticks missed behind a slow poll are reported once,
//! at once, never made up in a burst: the timerfd dates that tick at the latest schedule point
//! passed, tokio's interval at the first one missed (`sample_time` dates a reading that came
//! more than a poll after its tick at its arrival, so either is right).

use std::os::fd::OwnedFd;
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::time::{Instant, Interval, MissedTickBehavior};

pub(super) enum Tick {
    Tokio(Interval),
    Timerfd(Timerfd),
}

impl Tick {
    /// tokio's interval, on tokio's clock (paused or not).
    pub(super) fn tokio(period: Duration) -> Tick {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Tick::Tokio(interval)
    }

    /// A `timerfd`, or tokio's interval when the system refuses one (said in the log).
    pub(super) fn timerfd(period: Duration) -> Tick {
        match Timerfd::new(period) {
            Ok(timer) => Tick::Timerfd(timer),
            Err(error) => {
                tracing::warn!(%error, "no timerfd for the guard's poll: tokio's timer instead");
                Tick::tokio(period)
            }
        }
    }

    /// The next tick's scheduled time.
    pub(super) async fn tick(&mut self) -> Instant {
        match self {
            Tick::Tokio(interval) => interval.tick().await,
            Tick::Timerfd(timer) => timer.tick().await,
        }
    }
}

pub(super) struct Timerfd {
    fd: AsyncFd<OwnedFd>,
    first: Instant,
    period: Duration,
    /// Expirations so far (the first tick is the first).
    expired: u64,
}

fn timespec(duration: Duration) -> rustix::time::Timespec {
    rustix::time::Timespec {
        tv_sec: duration.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: duration.subsec_nanos().into(),
    }
}

impl Timerfd {
    fn new(period: Duration) -> std::io::Result<Timerfd> {
        use rustix::time::{TimerfdClockId, TimerfdFlags, TimerfdTimerFlags};
        // CLOCK_MONOTONIC: the clock of `Instant` on Linux.
        let fd = rustix::time::timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // A zero period would disarm the timer after its first expiration.
        let period = period.max(Duration::from_millis(1));
        let first = Instant::now();
        rustix::time::timerfd_settime(
            &fd,
            TimerfdTimerFlags::empty(),
            &rustix::time::Itimerspec {
                it_interval: timespec(period),
                // At once (zero would disarm it).
                it_value: timespec(Duration::from_nanos(1)),
            },
        )?;
        // SAFETY: the `OwnedFd` moves into the `AsyncFd` and stays there, open and the same
        // descriptor, until the `AsyncFd` is dropped (what registration asks).
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Timerfd {
            fd,
            first,
            period,
            expired: 0,
        })
    }

    async fn tick(&mut self) -> Instant {
        loop {
            let mut ready = match self.fd.readable().await {
                Ok(ready) => ready,
                // The driver is gone (the runtime shutting down): nothing will tick again.
                Err(_) => std::future::pending().await,
            };
            let mut count = [0u8; 8];
            match ready.try_io(|fd| Ok(rustix::io::read(fd.get_ref(), &mut count)?)) {
                Ok(Ok(8)) => {
                    // How many periods passed since the last read: more than one after a
                    // slow poll. The latest is reported; the others are skipped.
                    self.expired += u64::from_ne_bytes(count).max(1);
                    let periods = u32::try_from(self.expired - 1).unwrap_or(u32::MAX);
                    return self.first + self.period.saturating_mul(periods);
                }
                // Not ready after all (`try_io` cleared the readiness), or an odd read: wait again.
                Ok(_) | Err(_) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The timerfd ticks at once, then a period apart, and ticks that came while the poller
    /// was busy are reported once, at the latest one's scheduled time (not made up in a burst).
    /// A kernel timer runs on the real clock: the slow poll is a real (blocking) wait, and the
    /// checks hold however late a loaded machine wakes the test.
    #[tokio::test]
    async fn a_timerfd_ticks_on_its_schedule_and_skips_what_a_slow_poll_missed() {
        let period = Duration::from_millis(20);
        let mut tick = Tick::timerfd(period);
        assert!(matches!(tick, Tick::Timerfd(_)), "Linux gives a timerfd");
        let first = tick.tick().await;
        let on_schedule = |at: Instant| {
            let since = (at - first).as_nanos();
            assert_eq!(
                since % period.as_nanos(),
                0,
                "{since} ns is off the schedule"
            );
            assert!(Instant::now() >= at, "a tick never comes before its time");
            since / period.as_nanos()
        };
        assert_eq!(on_schedule(tick.tick().await), 1);
        // A poll that takes three and a half periods: ticks 2, 3 and 4 (at least) passed.
        std::thread::sleep(period * 7 / 2);
        let late = on_schedule(tick.tick().await);
        assert!(
            late >= 4,
            "the latest tick passed, not the first missed one: {late}"
        );
        let next = on_schedule(tick.tick().await);
        assert!(next > late, "the next tick after it ({next} after {late})");
    }
}
