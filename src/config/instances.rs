//! Several streamers on one host (`stream-control@<name>.service`): one process per streamer,
//! each with its configuration beside the others' (`/etc/stream-control/<name>.ron`). Nothing
//! may be shared but the binary: [`clashes`] finds another configuration in the same directory
//! that listens on the same web port or keeps its state in the same directory. `check-config`
//! and `doctor` report them.
//!
//! A relative `state_dir` is relative to each process's working directory, which the template
//! unit makes per instance (`/var/lib/stream-control/<name>`), so only absolute state
//! directories are compared.

use super::Config;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// At most this many other configurations are read (a directory full of `.ron` files is not
/// an instance list).
pub const MAX_SIBLINGS: usize = 64;
/// A sibling larger than this is not a configuration and is skipped.
pub const MAX_SIBLING_BYTES: u64 = 1024 * 1024;

/// What another instance's configuration shares with this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clash {
    /// Both web servers would listen on this port (on the same or an overlapping address).
    WebPort { other: PathBuf, port: u16 },
    /// Both would keep tokens and state in this directory.
    StateDir { other: PathBuf, dir: PathBuf },
}

impl std::fmt::Display for Clash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clash::WebPort { other, port } => write!(
                f,
                "{} uses web port {port} too: give each instance its own `web.bind` port",
                other.display()
            ),
            Clash::StateDir { other, dir } => write!(
                f,
                "{} keeps its state in {} too: give each instance its own `state_dir`",
                other.display(),
                dir.display()
            ),
        }
    }
}

/// The other `.ron` files beside `path` that parse as configurations, in name order
/// (unreadable or invalid ones are left to their own `check-config`).
pub fn siblings(path: &Path) -> Vec<(PathBuf, Config)> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let me = std::fs::canonicalize(path).ok();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .filter(|p| std::fs::canonicalize(p).ok() != me)
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= MAX_SIBLING_BYTES))
        .collect();
    paths.sort();
    paths.truncate(MAX_SIBLINGS);
    paths
        .into_iter()
        .filter_map(|p| Config::load(&p).ok().map(|c| (p, c)))
        .collect()
}

/// What `config` shares with `others` (its [`siblings`]).
pub fn clashes(config: &Config, others: &[(PathBuf, Config)]) -> Vec<Clash> {
    let mut found = Vec::new();
    for (other, theirs) in others {
        if let (Some(mine), Some(their)) = (&config.web, &theirs.web)
            && binds_overlap(mine.bind, their.bind)
        {
            found.push(Clash::WebPort {
                other: other.clone(),
                port: mine.bind.port(),
            });
        }
        if config.state_dir.is_absolute()
            && theirs.state_dir.is_absolute()
            && normal(&config.state_dir) == normal(&theirs.state_dir)
        {
            found.push(Clash::StateDir {
                other: other.clone(),
                dir: normal(&config.state_dir),
            });
        }
    }
    found
}

/// Two listeners collide on the same port when their addresses are equal or one takes the
/// other's: `0.0.0.0` takes every IPv4 address, and `[::]` every address of both families
/// (Linux's default dual-stack socket). Port 0 picks a free port and never collides.
fn binds_overlap(a: SocketAddr, b: SocketAddr) -> bool {
    let takes =
        |x: SocketAddr, y: SocketAddr| x.ip().is_unspecified() && (x.is_ipv6() || y.is_ipv4());
    a.port() != 0 && a.port() == b.port() && (a.ip() == b.ip() || takes(a, b) || takes(b, a))
}

/// `path` without `.` and `..` steps (lexically; the directory may not exist yet) and without a
/// trailing slash.
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        // Through tempfile: `config` imports nothing of the app, not even in its tests.
        let mut file = tempfile::NamedTempFile::new_in(dir).unwrap();
        std::io::Write::write_all(file.as_file_mut(), text.as_bytes()).unwrap();
        let path = dir.join(name);
        file.persist(&path).unwrap();
        path
    }

    #[test]
    fn another_instance_on_the_same_port_or_state_directory_is_a_clash() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let alice = write(
            d,
            "alice.ron",
            r#"(state_dir: "/var/lib/stream-control/alice", web: (bind: "127.0.0.1:8081"))"#,
        );
        write(
            d,
            "bob.ron",
            r#"(state_dir: "/var/lib/stream-control/bob", web: (bind: "0.0.0.0:8081"))"#,
        );
        write(
            d,
            "carol.ron",
            r#"(state_dir: "/var/lib/stream-control/./alice/", web: (bind: "127.0.0.1:8083"))"#,
        );
        write(
            d,
            "dave.ron",
            r#"(state_dir: "/var/lib/stream-control/dave", web: (bind: "127.0.0.2:8084"))"#,
        );
        // Not configurations: skipped, not reported.
        write(d, "broken.ron", "(web: (bind: ");
        write(d, "notes.txt", r#"(web: (bind: "127.0.0.1:8081"))"#);
        let config = Config::load(&alice).unwrap();
        let found = clashes(&config, &siblings(&alice));
        assert_eq!(
            found,
            [
                Clash::WebPort {
                    other: d.join("bob.ron"),
                    port: 8081
                },
                Clash::StateDir {
                    other: d.join("carol.ron"),
                    dir: PathBuf::from("/var/lib/stream-control/alice")
                },
            ]
        );
        assert_eq!(
            found[0].to_string(),
            format!(
                "{} uses web port 8081 too: give each instance its own `web.bind` port",
                d.join("bob.ron").display()
            )
        );
    }

    #[test]
    fn relative_state_directories_and_port_zero_never_clash() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let one = write(d, "one.ron", r#"(web: (bind: "127.0.0.1:0"))"#);
        write(d, "two.ron", r#"(web: (bind: "127.0.0.1:0"))"#);
        let config = Config::load(&one).unwrap();
        assert_eq!(clashes(&config, &siblings(&one)), []);
    }

    #[test]
    fn addresses_overlap_only_within_a_family_or_when_equal() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(binds_overlap(addr("127.0.0.1:80"), addr("127.0.0.1:80")));
        assert!(binds_overlap(addr("0.0.0.0:80"), addr("192.168.1.2:80")));
        assert!(binds_overlap(addr("[::]:80"), addr("[::1]:80")));
        assert!(!binds_overlap(addr("127.0.0.1:80"), addr("127.0.0.2:80")));
        assert!(!binds_overlap(addr("127.0.0.1:80"), addr("127.0.0.1:81")));
        assert!(!binds_overlap(addr("0.0.0.0:80"), addr("[::1]:80")));
        assert!(binds_overlap(addr("127.0.0.1:80"), addr("[::]:80")));
    }
}
