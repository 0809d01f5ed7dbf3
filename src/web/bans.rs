//! IP bans of the web server, kept in `state_dir/bans.json` (0600, written atomically through
//! `state_store`; the seed's `{"bans": {"<ip>": {"banned_ts", "reason"}}}` file is read as is).
//!
//! A banned client gets 403 on every route. Bans come from `ban-ip` (Discord or the console) and
//! automatically after `web.auto_ban.after` bad access keys or alert tokens within
//! `web.auto_ban.within`; they last until `unban-ip`. Bad attempts are counted in memory only.

use crate::config::AutoBanConfig;
use crate::state_store::{Sensitivity, StateDir};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// The state file.
pub const BANS_FILE: &str = "bans.json";
/// Beyond this many IPs with recent bad attempts, the expired ones are forgotten.
const MAX_TRACKED: usize = 10_000;

/// One ban.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanEntry {
    /// When, seconds since the epoch.
    pub banned_ts: u64,
    /// Why, in words (for whoever reads the file).
    pub reason: String,
    /// Who banned it (`discord:<id>`, `console`); `None`: automatically.
    #[serde(default)]
    pub by: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct BanFile {
    #[serde(default)]
    bans: BTreeMap<String, BanEntry>,
}

#[derive(Debug, Default)]
struct State {
    bans: BTreeMap<IpAddr, BanEntry>,
    /// Recent bad attempts per IP, oldest first.
    attempts: HashMap<IpAddr, VecDeque<Instant>>,
}

/// The ban list. Shared as `Arc<Bans>`; the lock is a `std::sync::Mutex` never held across
/// `.await` (file writes run on the blocking pool).
#[derive(Debug)]
pub struct Bans {
    dir: StateDir,
    auto: Option<AutoBanConfig>,
    state: Mutex<State>,
    /// Serialises file writes; each writes the newest list.
    writing: Mutex<()>,
}

impl Bans {
    /// Read the ban list (a missing file is an empty list; an unreadable one is logged and
    /// treated as empty).
    pub fn load(dir: StateDir, auto: Option<AutoBanConfig>) -> Bans {
        let file: BanFile = match dir.read_json(BANS_FILE) {
            Ok(file) => file.unwrap_or_default(),
            Err(error) => {
                tracing::error!(%error, path = %dir.path(BANS_FILE).display(), "cannot read the IP bans; starting with none");
                BanFile::default()
            }
        };
        let mut bans = BTreeMap::new();
        for (ip, entry) in file.bans {
            match ip.parse::<IpAddr>() {
                Ok(ip) => {
                    bans.insert(ip.to_canonical(), entry);
                }
                Err(_) => tracing::warn!(%ip, "ignoring a ban that is not an IP address"),
            }
        }
        Bans {
            dir,
            auto,
            state: Mutex::new(State {
                bans,
                attempts: HashMap::new(),
            }),
            writing: Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_banned(&self, ip: IpAddr) -> bool {
        self.lock().bans.contains_key(&ip.to_canonical())
    }

    /// Every ban, by IP.
    pub fn list(&self) -> Vec<(IpAddr, BanEntry)> {
        self.lock()
            .bans
            .iter()
            .map(|(ip, entry)| (*ip, entry.clone()))
            .collect()
    }

    /// Ban `ip`; `Ok(false)` if it already was. Saved before returning.
    pub async fn ban(self: &Arc<Self>, ip: IpAddr, by: &str) -> std::io::Result<bool> {
        let entry = BanEntry {
            banned_ts: crate::status::now_unix(),
            reason: format!("banned by {by}"),
            by: Some(by.to_string()),
        };
        let added = {
            let mut state = self.lock();
            let ip = ip.to_canonical();
            state.attempts.remove(&ip);
            match state.bans.entry(ip) {
                std::collections::btree_map::Entry::Occupied(_) => false,
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(entry);
                    true
                }
            }
        };
        if added {
            self.save().await?;
        }
        Ok(added)
    }

    /// Lift the ban on `ip`; `Ok(false)` if there was none. Saved before returning.
    pub async fn unban(self: &Arc<Self>, ip: IpAddr) -> std::io::Result<bool> {
        let removed = {
            let mut state = self.lock();
            let ip = ip.to_canonical();
            state.attempts.remove(&ip);
            state.bans.remove(&ip).is_some()
        };
        if removed {
            self.save().await?;
        }
        Ok(removed)
    }

    /// A bad access key or alert token from `ip`. Returns whether this attempt banned it (the
    /// file is written in the background).
    pub fn bad_attempt(self: &Arc<Self>, ip: IpAddr) -> bool {
        let Some(auto) = &self.auto else {
            return false;
        };
        let ip = ip.to_canonical();
        let now = Instant::now();
        let banned = {
            let mut state = self.lock();
            if state.bans.contains_key(&ip) {
                return false;
            }
            if state.attempts.len() >= MAX_TRACKED {
                state.attempts.retain(|_, times| {
                    times
                        .back()
                        .is_some_and(|t| now.saturating_duration_since(*t) < auto.within)
                });
            }
            let times = state.attempts.entry(ip).or_default();
            while times
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= auto.within)
            {
                times.pop_front();
            }
            times.push_back(now);
            if times.len() < auto.after as usize {
                false
            } else {
                state.attempts.remove(&ip);
                state.bans.insert(
                    ip,
                    BanEntry {
                        banned_ts: crate::status::now_unix(),
                        reason: format!(
                            "{} bad access keys or alert tokens within {}",
                            auto.after,
                            humantime::format_duration(auto.within)
                        ),
                        by: None,
                    },
                );
                true
            }
        };
        if banned {
            tracing::warn!(%ip, "banned automatically after repeated bad keys or tokens");
            let bans = self.clone();
            tokio::spawn(async move {
                if let Err(error) = bans.save().await {
                    tracing::error!(%error, "cannot save the IP bans");
                }
            });
        }
        banned
    }

    /// Write the newest list to the state file.
    async fn save(self: &Arc<Self>) -> std::io::Result<()> {
        let bans = self.clone();
        tokio::task::spawn_blocking(move || {
            let _writing = bans.writing.lock().unwrap_or_else(|e| e.into_inner());
            let file = BanFile {
                bans: bans
                    .lock()
                    .bans
                    .iter()
                    .map(|(ip, entry)| (ip.to_string(), entry.clone()))
                    .collect(),
            };
            bans.dir.write_json(BANS_FILE, &file, Sensitivity::Secret)
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

/// `2026-11-24 13:30 UTC` for seconds since the epoch.
pub fn format_utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(1_795_527_041), "2026-11-24 13:30 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[tokio::test(start_paused = true)]
    async fn bad_attempts_ban_only_within_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let bans = Arc::new(Bans::load(
            StateDir::new(dir.path()),
            Some(AutoBanConfig {
                after: 3,
                within: Duration::from_secs(60),
            }),
        ));
        let ip: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert!(!bans.bad_attempt(ip));
        assert!(!bans.bad_attempt(ip));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(!bans.bad_attempt(ip), "the first two expired");
        assert!(!bans.bad_attempt(ip));
        assert!(bans.bad_attempt(ip));
        assert!(bans.is_banned("203.0.113.9".parse().unwrap()), "canonical");
        // The file follows in the background.
        let path = dir.path().join(BANS_FILE);
        while !path.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let reloaded = Bans::load(StateDir::new(dir.path()), None);
        assert_eq!(reloaded.list().len(), 1);
        assert_eq!(reloaded.list()[0].1.by, None);
    }

    #[test]
    fn the_seeds_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        crate::state_store::write_atomic(
            &dir.path().join(BANS_FILE),
            br#"{"attempts": {"198.51.100.1": {"count": 1, "first_ts": 1, "last_ts": 1}},
                 "bans": {"198.51.100.2": {"banned_ts": 1700000000, "reason": "Exceeded 3 failed login attempts"},
                          "not-an-ip": {"banned_ts": 1, "reason": "x"}}}"#,
            Sensitivity::Secret,
        )
        .unwrap();
        let bans = Bans::load(StateDir::new(dir.path()), None);
        assert!(bans.is_banned("198.51.100.2".parse().unwrap()));
        assert!(!bans.is_banned("198.51.100.1".parse().unwrap()));
        assert_eq!(bans.list().len(), 1);
    }
}
