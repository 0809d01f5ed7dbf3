//! Runtime state files (tokens, restream endpoints, bans) in the state directory.
//!
//! **Invariant:** state files are only written through [`write_atomic`]: a temporary file in the
//! same directory, fsync, rename over the old file, fsync of the directory. A crash at any point
//! leaves either the old or the new content, never a mix. Secret files are created 0600 (never
//! briefly readable by others); the directory is created 0700.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether a file holds secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    /// Mode 0644.
    Public,
    /// Mode 0600.
    Secret,
}

impl Sensitivity {
    fn mode(self) -> u32 {
        match self {
            Sensitivity::Public => 0o644,
            Sensitivity::Secret => 0o600,
        }
    }
}

/// The state directory from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of a state file (a plain file name, no directories).
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Create the directory (0700) if needed.
    pub fn ensure(&self) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
    }

    /// Remove temporary files left by writes that were interrupted (a crash, a kill). Only at
    /// start: one process owns the directory, so nothing else is writing then. Returns how many.
    pub fn remove_stale_temporaries(&self) -> usize {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return 0;
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.starts_with('.') && name.ends_with(".tmp")
            })
            .filter(|e| fs::remove_file(e.path()).is_ok())
            .count()
    }

    /// Write `value` as pretty JSON to `name`, atomically.
    pub fn write_json<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        sensitivity: Sensitivity,
    ) -> io::Result<()> {
        self.ensure()?;
        let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        bytes.push(b'\n');
        write_atomic(&self.path(name), &bytes, sensitivity)
    }

    /// Read JSON from `name`; `Ok(None)` if the file does not exist.
    pub fn read_json<T: DeserializeOwned>(&self, name: &str) -> io::Result<Option<T>> {
        match fs::read(self.path(name)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replace `path` with `bytes` atomically (temp file + fsync + rename + directory fsync).
pub fn write_atomic(path: &Path, bytes: &[u8], sensitivity: Sensitivity) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "state path has no file name")
    })?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(sensitivity.mode())
            .open(&tmp)?;
        // The umask may have narrowed the mode; make it exact.
        file.set_permissions(fs::Permissions::from_mode(sensitivity.mode()))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        write_atomic(&path, b"one", Sensitivity::Public).unwrap();
        write_atomic(&path, b"two", Sensitivity::Public).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.json")]);
    }

    #[test]
    fn secret_files_are_0600_and_public_0644() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("tokens.json");
        let public = dir.path().join("bans.json");
        write_atomic(&secret, b"{}", Sensitivity::Secret).unwrap();
        write_atomic(&public, b"{}", Sensitivity::Public).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&secret), 0o600);
        assert_eq!(mode(&public), 0o644);
    }

    #[test]
    fn json_round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        assert_eq!(state.read_json::<Vec<u32>>("n.json").unwrap(), None);
        state
            .write_json("n.json", &vec![1, 2, 3], Sensitivity::Secret)
            .unwrap();
        assert_eq!(
            state.read_json::<Vec<u32>>("n.json").unwrap(),
            Some(vec![1, 2, 3])
        );
        let mode = fs::metadata(state.root()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn stale_temporaries_are_removed_and_real_files_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        state.write_json("a.json", &1, Sensitivity::Public).unwrap();
        fs::write(dir.path().join(".a.json.123.4.tmp"), b"{").unwrap();
        fs::write(dir.path().join("notes.tmp"), b"x").unwrap();
        assert_eq!(state.remove_stale_temporaries(), 1);
        assert!(dir.path().join("a.json").exists() && dir.path().join("notes.tmp").exists());
    }

    #[test]
    fn a_failed_write_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        write_atomic(&path, b"old", Sensitivity::Public).unwrap();
        // A directory where the file should be cannot be replaced by rename.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("inner"), b"").unwrap();
        assert!(write_atomic(&blocked, b"new", Sensitivity::Public).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
