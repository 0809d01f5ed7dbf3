//! Restream against a real nginx with the rtmp module (a private instance on 127.0.0.1 with its
//! own prefix, a master and one worker): `restream add` renders the include, `nginx -t` passes,
//! nginx reloads, and an ffmpeg publisher to the `publish` application is pushed to the `out`
//! application (seen on the stat page). Then a fault injected after validation (the nginx
//! test command pointed at a configuration that fails) → the reply carries nginx's own error,
//! the include is restored and nginx still serves the old push list. Then a good change drops
//! the publisher so the new list applies at once. Push targets are 127.0.0.1 only. Needs
//! nginx, libnginx-mod-rtmp and ffmpeg (`bash tests/run.sh` installs them); fails loudly
//! without them.

use stream_control_test_support as support;
use stream_control_test_support::nginx;

use nginx::{Nginx, encode_clip, publish};
use std::path::Path;
use std::time::{Duration, Instant};
use stream_control::dispatch::Invoker;
use stream_control::reply::{Outcome, keys};

/// Stream names of an rtmp application on the stat page.
async fn streams(nginx: &Nginx, application: &str) -> Vec<String> {
    let Ok(response) = support::http().get(nginx.stat_url()).send().await else {
        return Vec::new();
    };
    let xml = response.text().await.unwrap_or_default();
    let Ok(doc) = roxmltree::Document::parse(&xml) else {
        return Vec::new();
    };
    let name_of = |node: roxmltree::Node| {
        node.children()
            .find(|c| c.has_tag_name("name"))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_string()
    };
    doc.descendants()
        .filter(|n| n.has_tag_name("application") && name_of(*n) == application)
        .flat_map(|app| app.descendants().filter(|n| n.has_tag_name("stream")))
        .map(name_of)
        .collect()
}

/// Wait until `out` has exactly these pushed streams (sorted), or fail with what it has.
async fn wait_for_pushes(nginx: &Nginx, expected: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut seen = streams(nginx, "out").await;
        seen.sort();
        if seen == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "out has {seen:?}, expected {expected:?}\n{}",
            nginx.error_log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A wrapper for nginx: with `marker` present, `… -t` tests `bad_conf` instead (the fault);
/// everything else goes to the real nginx unchanged.
fn nginx_wrapper(dir: &Path, nginx: &Nginx, marker: &Path, bad_conf: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let real = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("nginx is not installed: run `bash tests/run.sh`");
    let path = dir.join("nginx");
    let script = format!(
        r#"#!/bin/sh
last=""
for a in "$@"; do last="$a"; done
if [ -e "{marker}" ] && [ "$last" = "-t" ]; then
  exec {real} -p "{prefix}" -e "{log}" -c "{bad}" -t
fi
exec {real} "$@"
"#,
        marker = marker.display(),
        prefix = nginx.prefix(),
        log = nginx.error_log_path().display(),
        bad = bad_conf.display(),
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Wait out a concurrent fork that still holds the file open for writing (ETXTBSY).
    for _ in 0..200 {
        match std::process::Command::new(&path).arg("-v").output() {
            Ok(out) if out.status.success() => break,
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(10)),
            other => panic!("the nginx wrapper does not run: {other:?}"),
        }
    }
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_rollback_and_drop_on_a_real_nginx_rtmp() {
    let files = tempfile::tempdir().unwrap();
    let include = files.path().join("restream.conf");
    std::fs::write(&include, "# empty until the bot writes it\n").unwrap();
    let nginx = Nginx::start_reloadable(&[
        (
            "publish",
            &format!("            include {};", include.display()),
        ),
        ("out", ""),
    ]);
    let clips = tempfile::tempdir().unwrap();
    let clip = encode_clip(clips.path(), "clip", 60, 600);

    let marker = files.path().join("fail-the-test");
    let bad_conf = files.path().join("bad.conf");
    std::fs::write(&bad_conf, "events {}\nhttp {\n    bogus_directive on;\n}\n").unwrap();
    let wrapper = nginx_wrapper(files.path(), &nginx, &marker, &bad_conf);
    let nginx_args: Vec<String> = nginx.instance_args()[..4].to_vec();
    let config = format!(
        r#"(
            state_dir: "{state}",
            restream: (
                include_path: "{include}",
                nginx_config: Some("{conf}"),
                nginx_args: {nginx_args:?},
                drop_publisher: Some((control_url: "{control}", application: "publish")),
            ),
            programs: (nginx: "{wrapper}", use_sudo: Some(false)),
            commands: (cooldowns: (command: "0s", user: "0s")),
        )"#,
        state = files.path().join("state").display(),
        include = include.display(),
        conf = nginx.conf_path().display(),
        control = nginx.control_url(),
        wrapper = wrapper.display(),
    );
    let ctx = support::context(&config);
    let say = |line: String| {
        let ctx = ctx.clone();
        async move {
            let (reply, _) = support::command(&ctx, &line, Invoker::console()).await;
            let text = ctx.render("en-US", &reply);
            (reply, text)
        }
    };
    let target = |stream: &str| format!("rtmp://127.0.0.1:{}/out/{stream}", nginx.rtmp_port);
    // A change that must apply: its reply's text.
    let applied = |line: String| {
        let say = &say;
        let nginx = &nginx;
        async move {
            let (reply, text) = say(line).await;
            assert_eq!(
                reply.outcome,
                Outcome::Done,
                "{text}\n{}",
                nginx.error_log()
            );
            text
        }
    };

    // 1. Render → apply: nginx -t passes, nginx reloads.
    applied(format!("!restream add Copy {}", target("copy"))).await;
    assert!(
        std::fs::read_to_string(&include)
            .unwrap()
            .contains(&format!("push {};", target("copy")))
    );
    let check = std::process::Command::new(&wrapper)
        .args(nginx.instance_args())
        .arg("-t")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Give the master a moment to start the new worker, then publish: pushed to out/copy.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let publish_url = nginx.publish_url("publish", "test");
    let mut publisher = publish(&[&clip], &publish_url);
    wait_for_pushes(&nginx, &["copy"]).await;

    // 2. A fault after validation: the test command reads a failing configuration.
    std::fs::write(&marker, "").unwrap();
    let include_before = std::fs::read_to_string(&include).unwrap();
    let (reply, text) = say(format!("!restream add Second {}", target("second"))).await;
    assert_eq!(reply.key, keys::RESTREAM_APPLY_FAILED, "{text}");
    assert!(
        text.contains("unknown directive \"bogus_directive\""),
        "nginx's own error text: {text}"
    );
    assert_eq!(std::fs::read_to_string(&include).unwrap(), include_before);
    let last = support::last_apply(&ctx);
    assert!(!last.ok);
    // nginx still serves the old list, also to a new publisher.
    let _ = publisher.kill();
    let _ = publisher.wait();
    wait_for_pushes(&nginx, &[]).await;
    let mut publisher = publish(&[&clip], &publish_url);
    wait_for_pushes(&nginx, &["copy"]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    wait_for_pushes(&nginx, &["copy"]).await;

    // 3. Without the fault the change applies, and the publisher is dropped so it takes
    // effect at once (a real encoder reconnects; ffmpeg ends, so it is started again).
    std::fs::remove_file(&marker).unwrap();
    let text = applied(format!("!restream add Second {}", target("second"))).await;
    assert!(
        text.ends_with(
            "The encoder was disconnected so the new list applies now; it reconnects by itself."
        ),
        "{text}"
    );
    let ended = tokio::task::spawn_blocking(move || publisher.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!ended.success(), "ffmpeg was disconnected");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut publisher = publish(&[&clip], &publish_url);
    wait_for_pushes(&nginx, &["copy", "second"]).await;

    // 4. Off: the next publish pushes only the remaining target.
    applied("!restream off Copy".into()).await;
    let _ = publisher.wait();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut publisher = publish(&[&clip], &publish_url);
    wait_for_pushes(&nginx, &["second"]).await;
    let _ = publisher.kill();
    let _ = publisher.wait();
}
