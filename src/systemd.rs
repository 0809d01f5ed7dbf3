//! systemd service notifications (`sd_notify`), for `Type=notify` units with `WatchdogSec=`.
//!
//! systemd passes a datagram socket in `NOTIFY_SOCKET` (a path, or `@name` in the abstract
//! namespace) and, with a watchdog, the interval in `WATCHDOG_USEC` (and the pid it is meant
//! for in `WATCHDOG_PID`). The bot sends `READY=1` once its tasks are started, `WATCHDOG=1`
//! from `app::run`'s own loop at half the interval (so a stalled runtime stops pinging and
//! systemd restarts the service), and `STOPPING=1` when it shuts down. Without those variables
//! every call here does nothing: the same binary runs under systemd, in a terminal and in tests.
//!
//! No crate: a notification is one datagram of `KEY=value` lines.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Where notifications go, and the watchdog interval if systemd asked for one.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    address: SocketAddr,
    watchdog: Option<Duration>,
}

/// A watchdog interval below this is not honoured (pinging every few milliseconds is a
/// misconfiguration, not a watchdog).
const MIN_WATCHDOG: Duration = Duration::from_millis(100);

impl Notifier {
    /// From the process environment; `None` when not started by systemd with `Type=notify`.
    pub fn from_env() -> Option<Notifier> {
        Notifier::from_lookup(|name| std::env::var(name).ok(), std::process::id())
    }

    /// From `lookup` (the environment in production), for the process `pid`. `None` when
    /// `NOTIFY_SOCKET` is unset, empty or unusable (then nothing is ever sent).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>, pid: u32) -> Option<Notifier> {
        let path = lookup("NOTIFY_SOCKET").filter(|p| !p.is_empty())?;
        let address = match address(&path) {
            Ok(address) => address,
            Err(error) => {
                tracing::warn!(%error, socket = %path, "NOTIFY_SOCKET is not usable; systemd will not hear from the bot");
                return None;
            }
        };
        let socket = match UnixDatagram::unbound() {
            Ok(socket) => socket,
            Err(error) => {
                tracing::warn!(%error, "cannot open a socket for systemd notifications");
                return None;
            }
        };
        // A watchdog meant for another process (WATCHDOG_PID) is not ours to feed.
        let for_us = lookup("WATCHDOG_PID")
            .map(|p| p.trim().parse::<u32>().ok() == Some(pid))
            .unwrap_or(true);
        let watchdog = lookup("WATCHDOG_USEC")
            .and_then(|usec| usec.trim().parse::<u64>().ok())
            .map(Duration::from_micros)
            .filter(|interval| for_us && *interval >= MIN_WATCHDOG);
        Some(Notifier {
            socket,
            address,
            watchdog,
        })
    }

    /// The watchdog interval systemd expects pings within, if any.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// How often to ping: half the watchdog interval (systemd's advice).
    pub fn ping_every(&self) -> Option<Duration> {
        self.watchdog.map(|interval| interval / 2)
    }

    /// Send one notification (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`). Failures are
    /// logged, never fatal: systemd being away must not stop the bot.
    pub fn notify(&self, state: &str) {
        if let Err(error) = self.socket.send_to_addr(state.as_bytes(), &self.address) {
            tracing::debug!(%error, "systemd notification not delivered");
        }
    }

    pub fn ready(&self, status: &str) {
        self.notify(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    pub fn watchdog_ping(&self) {
        self.notify("WATCHDOG=1");
    }

    pub fn stopping(&self) {
        self.notify("STOPPING=1\nSTATUS=Shutting down");
    }
}

/// A `STATUS=` value must be one line.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// `NOTIFY_SOCKET` as an address: an absolute path, or `@name` in the abstract namespace.
fn address(path: &str) -> std::io::Result<SocketAddr> {
    if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        SocketAddr::from_abstract_name(name.as_bytes())
    } else if path.starts_with('/') {
        SocketAddr::from_pathname(path)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "neither an absolute path nor @abstract",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn receive(socket: &UnixDatagram) -> String {
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buffer = [0u8; 512];
        let n = socket.recv(&mut buffer).unwrap();
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    }

    #[test]
    fn without_notify_socket_there_is_nothing_to_do() {
        assert!(Notifier::from_lookup(lookup(&[]), 1).is_none());
        assert!(Notifier::from_lookup(lookup(&[("NOTIFY_SOCKET", "")]), 1).is_none());
        assert!(Notifier::from_lookup(lookup(&[("NOTIFY_SOCKET", "relative")]), 1).is_none());
    }

    #[test]
    fn notifications_reach_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::from_lookup(
            lookup(&[
                ("NOTIFY_SOCKET", path.to_str().unwrap()),
                ("WATCHDOG_USEC", "2000000"),
            ]),
            7,
        )
        .unwrap();
        assert_eq!(notifier.watchdog(), Some(Duration::from_secs(2)));
        assert_eq!(notifier.ping_every(), Some(Duration::from_secs(1)));
        notifier.ready("running\nwith two lines");
        assert_eq!(receive(&listener), "READY=1\nSTATUS=running with two lines");
        notifier.watchdog_ping();
        assert_eq!(receive(&listener), "WATCHDOG=1");
        notifier.stopping();
        assert!(receive(&listener).starts_with("STOPPING=1"));
    }

    #[test]
    fn notifications_reach_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("stream-control-test-{}", std::process::id());
        let listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let notifier =
            Notifier::from_lookup(lookup(&[("NOTIFY_SOCKET", &format!("@{name}"))]), 7).unwrap();
        assert_eq!(notifier.watchdog(), None);
        notifier.watchdog_ping();
        assert_eq!(receive(&listener), "WATCHDOG=1");
    }

    #[test]
    fn a_watchdog_for_another_pid_or_a_silly_interval_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let _listener = UnixDatagram::bind(&path).unwrap();
        let socket = path.to_str().unwrap();
        let other = Notifier::from_lookup(
            lookup(&[
                ("NOTIFY_SOCKET", socket),
                ("WATCHDOG_USEC", "2000000"),
                ("WATCHDOG_PID", "8"),
            ]),
            7,
        )
        .unwrap();
        assert_eq!(other.watchdog(), None);
        let ours = Notifier::from_lookup(
            lookup(&[
                ("NOTIFY_SOCKET", socket),
                ("WATCHDOG_USEC", "2000000"),
                ("WATCHDOG_PID", "7"),
            ]),
            7,
        )
        .unwrap();
        assert_eq!(ours.watchdog(), Some(Duration::from_secs(2)));
        for silly in ["0", "50", "soon"] {
            let notifier = Notifier::from_lookup(
                lookup(&[("NOTIFY_SOCKET", socket), ("WATCHDOG_USEC", silly)]),
                7,
            )
            .unwrap();
            assert_eq!(notifier.watchdog(), None, "{silly}");
        }
    }

    #[test]
    fn a_missing_listener_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nobody");
        let notifier =
            Notifier::from_lookup(lookup(&[("NOTIFY_SOCKET", path.to_str().unwrap())]), 7).unwrap();
        notifier.ready("running");
    }
}
