//! A private nginx with the rtmp module for tests: its own prefix, `daemon off`, one worker,
//! rtmp and http (stat, control) on 127.0.0.1, and ffmpeg publishers with a known bitrate.
//! Needs the Debian packages nginx, libnginx-mod-rtmp and ffmpeg (`tests/run.sh` installs them);
//! without them the tests that use this fail loudly.

#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn require(program: &str) -> PathBuf {
    require_program(program, "nginx, libnginx-mod-rtmp and ffmpeg")
}

/// Where Debian puts the rtmp module.
const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// The installed `program` (on PATH, or in /usr/sbin or /usr/bin); a test that needs it fails
/// loudly without it, naming the packages `bash tests/run.sh` installs.
pub(crate) fn require_program(program: &str, packages: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(program))
        .find(|path| path.is_file());
    found.unwrap_or_else(|| {
        panic!("`{program}` is not installed: run `bash tests/run.sh` (it installs {packages})")
    })
}

/// A free TCP port on 127.0.0.1 (bound and released; fine for a private test server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Nginx {
    dir: tempfile::TempDir,
    child: Child,
    program: PathBuf,
    /// A master process with a worker (reloads work; stopped with `-s stop`).
    master: bool,
    pub rtmp_port: u16,
    pub http_port: u16,
}

impl Nginx {
    /// Start nginx with the applications given as rtmp `application` blocks (name → body).
    /// One process: fine for reading stats; it cannot reload the rtmp module.
    pub fn start(applications: &[(&str, &str)]) -> Nginx {
        Nginx::launch(applications, false)
    }

    /// Like [`Nginx::start`], with a master process and one worker, so `nginx -s reload`
    /// works as in production (the new worker takes new connections, the old one keeps its
    /// publishers).
    pub fn start_reloadable(applications: &[(&str, &str)]) -> Nginx {
        Nginx::launch(applications, true)
    }

    fn launch(applications: &[(&str, &str)], master: bool) -> Nginx {
        let nginx = require("nginx");
        assert!(
            Path::new(RTMP_MODULE).is_file(),
            "{RTMP_MODULE} is missing: install libnginx-mod-rtmp (bash tests/run.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let rtmp_port = free_port();
        let http_port = free_port();
        let prefix = dir.path();
        std::fs::create_dir_all(prefix.join("tmp")).unwrap();
        let apps: String = applications
            .iter()
            .map(|(name, body)| format!("        application {name} {{\n            live on;\n            record off;\n{body}\n        }}\n"))
            .collect();
        let config = format!(
            r#"load_module {RTMP_MODULE};
daemon off;
master_process {master};
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log info;
events {{ worker_connections 256; }}
rtmp {{
    server {{
        listen 127.0.0.1:{rtmp_port};
        chunk_size 4096;
{apps}    }}
}}
http {{
    access_log off;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    server {{
        listen 127.0.0.1:{http_port};
        location /stat {{ rtmp_stat all; }}
        location /control {{ rtmp_control all; }}
    }}
}}
"#,
            p = prefix.display(),
            master = if master { "on" } else { "off" },
        );
        let conf = prefix.join("nginx.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new(&nginx)
            .arg("-p")
            .arg(prefix)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx {
            dir,
            child,
            program: nginx,
            master,
            rtmp_port,
            http_port,
        };
        nginx.wait_listening();
        nginx
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log =
                    std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}): {log}");
            }
            let up = |port| TcpStream::connect(("127.0.0.1", port)).is_ok();
            if up(self.http_port) && up(self.rtmp_port) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stat_url(&self) -> String {
        format!("http://127.0.0.1:{}/stat", self.http_port)
    }

    pub fn publish_url(&self, application: &str, stream: &str) -> String {
        format!("rtmp://127.0.0.1:{}/{application}/{stream}", self.rtmp_port)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The prefix directory (with a trailing `/`, as `nginx -p` takes it).
    pub fn prefix(&self) -> String {
        format!("{}/", self.dir.path().display())
    }

    pub fn conf_path(&self) -> PathBuf {
        self.dir.path().join("nginx.conf")
    }

    pub fn error_log_path(&self) -> PathBuf {
        self.dir.path().join("error.log")
    }

    /// The arguments that address this instance: `-p <prefix> -e <log> -c <conf>`.
    pub fn instance_args(&self) -> Vec<String> {
        vec![
            "-p".into(),
            self.prefix(),
            "-e".into(),
            self.error_log_path().display().to_string(),
            "-c".into(),
            self.conf_path().display().to_string(),
        ]
    }

    pub fn control_url(&self) -> String {
        format!("http://127.0.0.1:{}/control", self.http_port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if self.master {
            // The master stops its workers; killing it would orphan them.
            let _ = Command::new(&self.program)
                .args(self.instance_args())
                .args(["-s", "stop"])
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Encode a test clip (lavfi test pattern and tone) at a video bitrate, for publishing with
/// `-c copy` so the bitrate on the wire is the encoded one.
pub fn encode_clip(dir: &Path, name: &str, seconds: u32, video_kbps: u32) -> PathBuf {
    let ffmpeg = require("ffmpeg");
    let out = dir.join(format!("{name}.flv"));
    let status = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size=640x360:rate=30:duration={seconds}"),
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=440:sample_rate=48000:duration={seconds}"),
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            "30",
        ])
        .args([
            "-b:v",
            &format!("{video_kbps}k"),
            "-maxrate",
            &format!("{video_kbps}k"),
        ])
        .args([
            "-bufsize",
            &format!("{}k", video_kbps / 2),
            "-x264-params",
            "nal-hrd=cbr:filler=1",
        ])
        .args(["-c:a", "aac", "-b:a", "64k", "-f", "flv"])
        .arg(&out)
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg could not encode {name}");
    out
}

/// Publish clips one after another in real time to `url` (one connection). The child ends
/// when the last clip ends.
pub fn publish(clips: &[&Path], url: &str) -> Child {
    let ffmpeg = require("ffmpeg");
    let dir = clips[0].parent().unwrap();
    let list = dir.join(format!(
        "list-{}.txt",
        std::process::id() as u64 * 1000 + clips.len() as u64
    ));
    let body: String = clips
        .iter()
        .map(|c| format!("file '{}'\n", c.display()))
        .collect();
    std::fs::write(&list, body).unwrap();
    Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "concat", "-safe", "0", "-i"])
        .arg(&list)
        .args(["-c", "copy", "-f", "flv", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ffmpeg")
}
