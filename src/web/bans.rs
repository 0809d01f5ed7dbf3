//! IP bans of the web server, kept in `state_dir/bans.json` (0600, written atomically through
//! `state_store`; the seed's `{"bans": {"<ip>": {"banned_ts", "reason"}}}` file is read as is).
//!
//! A banned client gets 403 on every route. Bans come from `ban-ip` (Discord or the console),
//! lasting until `unban-ip`, and automatically after `web.auto_ban.after` bad access keys or alert
//! tokens within `web.auto_ban.within`, lasting `web.auto_ban.for` (`expires_ts` in the file).
//! At most `web.limits.max_auto_bans` automatic bans are kept: beyond, the one closest to
//! expiring goes. Bad attempts are counted in memory only, for at most [`MAX_TRACKED`] IPs.

use crate::config::AutoBanConfig;
use crate::state_store::{Sensitivity, StateDir};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The state file.
pub const BANS_FILE: &str = "bans.json";
/// IPs with recent bad attempts tracked at most: beyond, the expired ones are forgotten, then the
/// one whose last attempt is oldest.
pub const MAX_TRACKED: usize = 10_000;

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
    /// When an automatic ban ends, seconds since the epoch; `None`: at `unban-ip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ts: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct BanFile {
    #[serde(default)]
    bans: BTreeMap<String, BanEntry>,
}

#[derive(Debug, Default)]
struct State {
    bans: BTreeMap<IpAddr, BanEntry>,
    /// When each automatic ban ends (on the runtime's clock; `expires_ts` in the file).
    expiry: HashMap<IpAddr, Instant>,
    /// Recent bad attempts per IP, oldest first.
    attempts: HashMap<IpAddr, VecDeque<Instant>>,
}

impl State {
    /// Forget the automatic bans that have ended.
    fn drop_expired(&mut self, now: Instant) {
        let ended: Vec<IpAddr> = self
            .expiry
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in ended {
            self.expiry.remove(&ip);
            self.bans.remove(&ip);
        }
    }
}

/// The ban list. Shared as `Arc<Bans>`; the lock is a `std::sync::Mutex` never held across
/// `.await` (file writes run on the blocking pool).
#[derive(Debug)]
pub struct Bans {
    dir: StateDir,
    auto: Option<AutoBanConfig>,
    /// Automatic bans kept at most (`web.limits.max_auto_bans`).
    max_auto_bans: usize,
    state: Mutex<State>,
    /// Serialises file writes; each writes the newest list.
    writing: Mutex<()>,
}

impl Bans {
    /// Read the ban list (a missing file is an empty list; an unreadable one is logged and
    /// treated as empty).
    pub fn load(dir: StateDir, auto: Option<AutoBanConfig>, max_auto_bans: usize) -> Bans {
        let file: BanFile = match dir.read_json(BANS_FILE) {
            Ok(file) => file.unwrap_or_default(),
            Err(error) => {
                tracing::error!(%error, path = %dir.path(BANS_FILE).display(), "cannot read the IP bans; starting with none");
                BanFile::default()
            }
        };
        let mut bans = BTreeMap::new();
        let mut expiry = HashMap::new();
        let (now_unix, now) = (crate::status::now_unix(), Instant::now());
        for (ip, entry) in file.bans {
            match ip.parse::<IpAddr>() {
                Ok(ip) => {
                    let ip = ip.to_canonical();
                    if let Some(until) = entry.expires_ts {
                        if until <= now_unix {
                            continue;
                        }
                        expiry.insert(ip, now + Duration::from_secs(until - now_unix));
                    }
                    bans.insert(ip, entry);
                }
                Err(_) => tracing::warn!(%ip, "ignoring a ban that is not an IP address"),
            }
        }
        Bans {
            dir,
            auto,
            max_auto_bans: max_auto_bans.max(1),
            state: Mutex::new(State {
                bans,
                expiry,
                attempts: HashMap::new(),
            }),
            writing: Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_banned(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let mut state = self.lock();
        if state
            .expiry
            .get(&ip)
            .is_some_and(|until| *until <= Instant::now())
        {
            state.expiry.remove(&ip);
            state.bans.remove(&ip);
        }
        state.bans.contains_key(&ip)
    }

    /// Every ban in force, by IP.
    pub fn list(&self) -> Vec<(IpAddr, BanEntry)> {
        let mut state = self.lock();
        state.drop_expired(Instant::now());
        state
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
            expires_ts: None,
        };
        let added = {
            let mut state = self.lock();
            let ip = ip.to_canonical();
            state.drop_expired(Instant::now());
            state.attempts.remove(&ip);
            // A ban by command replaces an automatic one: it lasts until `unban-ip`.
            let was_auto = state.expiry.remove(&ip).is_some();
            match state.bans.entry(ip) {
                std::collections::btree_map::Entry::Occupied(mut slot) => {
                    if was_auto {
                        slot.insert(entry);
                    }
                    was_auto
                }
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
            state.drop_expired(Instant::now());
            state.attempts.remove(&ip);
            state.expiry.remove(&ip);
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
            state.drop_expired(now);
            if state.bans.contains_key(&ip) {
                return false;
            }
            if state.attempts.len() >= MAX_TRACKED && !state.attempts.contains_key(&ip) {
                state.attempts.retain(|_, times| {
                    times
                        .back()
                        .is_some_and(|t| now.saturating_duration_since(*t) < auto.within)
                });
                if state.attempts.len() >= MAX_TRACKED
                    && let Some(oldest) = state
                        .attempts
                        .iter()
                        .min_by_key(|(_, times)| times.back().copied())
                        .map(|(ip, _)| *ip)
                {
                    state.attempts.remove(&oldest);
                }
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
                if state.expiry.len() >= self.max_auto_bans
                    && let Some(soonest) = state
                        .expiry
                        .iter()
                        .min_by_key(|(_, until)| **until)
                        .map(|(ip, _)| *ip)
                {
                    state.expiry.remove(&soonest);
                    state.bans.remove(&soonest);
                }
                let banned_ts = crate::status::now_unix();
                state.expiry.insert(ip, now + auto.duration);
                state.bans.insert(
                    ip,
                    BanEntry {
                        banned_ts,
                        reason: format!(
                            "{} bad access keys or alert tokens within {}",
                            auto.after,
                            humantime::format_duration(auto.within)
                        ),
                        by: None,
                        expires_ts: Some(banned_ts.saturating_add(auto.duration.as_secs())),
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
            let now_unix = crate::status::now_unix();
            let file = BanFile {
                bans: bans
                    .lock()
                    .bans
                    .iter()
                    .filter(|(_, entry)| entry.expires_ts.is_none_or(|until| until > now_unix))
                    .map(|(ip, entry)| (ip.to_string(), entry.clone()))
                    .collect(),
            };
            bans.dir.write_json(BANS_FILE, &file, Sensitivity::Secret)
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

/// `2026-11-24 13:30 UTC` for seconds since the epoch: RFC 3339's date and minutes, read more
/// easily by a person.
pub fn format_utc(unix: u64) -> String {
    // Past year 9999 (an edited bans file) the formatter clamps; `checked_add` keeps the
    // addition itself from overflowing.
    let at = std::time::UNIX_EPOCH
        .checked_add(Duration::from_secs(unix))
        .unwrap_or(std::time::UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 100));
    let rfc3339 = crate::timestamp::format_rfc3339_secs(at);
    // `2026-11-24T13:30:41Z`
    format!("{} {} UTC", &rfc3339[..10], &rfc3339[11..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(1_795_527_041), "2026-11-24 13:30 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(u64::MAX), "9999-12-31 23:59 UTC");
    }

    #[tokio::test(start_paused = true)]
    async fn bad_attempts_ban_only_within_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let bans = Arc::new(Bans::load(
            StateDir::new(dir.path()),
            Some(AutoBanConfig {
                after: 3,
                within: Duration::from_secs(60),
                duration: Duration::from_secs(3600),
            }),
            100,
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
        let reloaded = Bans::load(StateDir::new(dir.path()), None, 100);
        assert_eq!(reloaded.list().len(), 1);
        assert_eq!(reloaded.list()[0].1.by, None);
    }

    fn auto_bans(dir: &tempfile::TempDir, max: usize) -> Arc<Bans> {
        Arc::new(Bans::load(
            StateDir::new(dir.path()),
            Some(AutoBanConfig {
                after: 1,
                within: Duration::from_secs(60),
                duration: Duration::from_secs(3600),
            }),
            max,
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn automatic_bans_end_after_their_time_and_manual_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let bans = auto_bans(&dir, 100);
        let auto: IpAddr = "203.0.113.1".parse().unwrap();
        let manual: IpAddr = "203.0.113.2".parse().unwrap();
        assert!(bans.bad_attempt(auto));
        assert!(bans.ban(manual, "console").await.unwrap());
        tokio::time::advance(Duration::from_secs(3599)).await;
        assert!(bans.is_banned(auto));
        assert_eq!(bans.list().len(), 2);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!bans.is_banned(auto), "an automatic ban ends after `for`");
        assert!(bans.is_banned(manual));
        assert_eq!(bans.list().len(), 1);
        // The file says when it ends (wall clock), and a reload keeps that.
        let reloaded = Bans::load(StateDir::new(dir.path()), None, 100);
        assert!(reloaded.is_banned(manual));
        let entry = BanEntry {
            banned_ts: 1,
            reason: "x".into(),
            by: None,
            expires_ts: Some(2),
        };
        let ended = serde_json::json!({"bans": {"198.51.100.3": entry}});
        // A directory of its own: the automatic ban above is saved by a background task that may
        // still be writing `dir`.
        let down = tempfile::tempdir().unwrap();
        crate::state_store::write_atomic(
            &down.path().join(BANS_FILE),
            ended.to_string().as_bytes(),
            Sensitivity::Secret,
        )
        .unwrap();
        let reloaded = Bans::load(StateDir::new(down.path()), None, 100);
        assert!(reloaded.list().is_empty(), "ended while the bot was down");
    }

    #[tokio::test(start_paused = true)]
    async fn the_automatic_ban_list_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let bans = auto_bans(&dir, 10);
        let manual: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(bans.ban(manual, "console").await.unwrap());
        for i in 0..1_000u32 {
            assert!(bans.bad_attempt(IpAddr::V4(std::net::Ipv4Addr::from(0xCB00_7100 + i))));
            tokio::time::advance(Duration::from_millis(10)).await;
        }
        let list = bans.list();
        assert_eq!(list.len(), 11, "10 automatic bans and the manual one");
        assert!(bans.is_banned(manual), "a ban by command is never dropped");
        let newest = IpAddr::V4(std::net::Ipv4Addr::from(0xCB00_7100 + 999));
        assert!(
            bans.is_banned(newest),
            "the oldest automatic bans went first"
        );
        assert!(!bans.is_banned(IpAddr::V4(std::net::Ipv4Addr::from(0xCB00_7100))));
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
        let bans = Bans::load(StateDir::new(dir.path()), None, 100);
        assert!(bans.is_banned("198.51.100.2".parse().unwrap()));
        assert!(!bans.is_banned("198.51.100.1".parse().unwrap()));
        assert_eq!(bans.list().len(), 1);
    }
}
