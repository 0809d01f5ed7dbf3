//! The pages in a real browser (headless Chromium over the DevTools protocol): the overlay shows
//! the banner of an alert POSTed while it is open; the status page draws the chart from the
//! served history (points, thresholds, scene switches), adds live samples, shows the health dots
//! and an ad break's countdown, and fits a phone. Screenshots go to `target/test-artefacts/`.

use stream_control_test_support as support;

use stream_control_test_support::chromium;

use chromium::Chromium;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use stream_control::history::{HistorySample, SwitchMark, now_unix_ms};
use stream_control::status::{AdBreakStatus, SwitchedBy, TwitchStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overlay_shows_an_alert_posted_while_it_is_open() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context_with_secrets(
        &format!(
            r#"(state_dir: "{}", web: (bind: "127.0.0.1:0", overlay: (banner: "30s")))"#,
            state.path().display()
        ),
        &["ALERT_TOKEN", "OVERLAY_KEY"],
    );
    let (app, base) = support::start_web(&ctx).await;
    let mut browser = Chromium::launch().await;
    let page = browser
        .open(
            &format!("{base}/overlay?key={}", support::secret("OVERLAY_KEY")),
            1280,
            720,
        )
        .await;
    // Connected (through the key) before anything is sent.
    browser
        .wait_for(&page, "document.body.dataset.state === 'connected'")
        .await;
    assert_eq!(ctx.alerts.as_ref().unwrap().clients(), 1);
    let hidden = browser
        .eval(
            &page,
            "document.getElementById('banner').classList.contains('show')",
        )
        .await;
    assert_eq!(hidden, false, "no banner before an alert");

    let message = "Bitrate low on the bike — test 7";
    let response = support::http()
        .post(format!("{base}/api/alert"))
        .header("x-alert-token", support::secret("ALERT_TOKEN"))
        .json(&serde_json::json!({"type": "low", "message": message}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let shown = browser
        .wait_for(
            &page,
            "(() => { const b = document.getElementById('banner'); \
               return b.classList.contains('show') && b.dataset.kind === 'low' \
                 && getComputedStyle(b).opacity === '1' \
                 ? document.getElementById('banner-text').textContent : null; })()",
        )
        .await;
    assert_eq!(shown, message);
    let box_ = browser
        .eval(
            &page,
            "(() => { const r = document.getElementById('banner').getBoundingClientRect(); \
               return [r.top, r.height, r.width]; })()",
        )
        .await;
    let (top, height, width) = (
        box_[0].as_f64().unwrap(),
        box_[1].as_f64().unwrap(),
        box_[2].as_f64().unwrap(),
    );
    assert!(
        top >= 0.0 && height > 20.0 && width > 200.0,
        "on screen: {box_}"
    );
    let background = browser
        .eval(&page, "getComputedStyle(document.body).backgroundColor")
        .await;
    assert_eq!(background, "rgba(0, 0, 0, 0)", "transparent for OBS");
    let shot = browser.screenshot(&page, "overlay-low-alert").await;
    assert!(std::fs::metadata(shot).unwrap().len() > 1000);

    // The next alert replaces the banner.
    ctx.alerts
        .as_ref()
        .unwrap()
        .publish(&stream_control::alerts::OverlayAlert {
            kind: commands::AlertKind::Raid,
            message: "RAIDING friend!".into(),
        });
    browser
        .wait_for(
            &page,
            "document.getElementById('banner').dataset.kind === 'raid' \
             && document.getElementById('banner-text').textContent === 'RAIDING friend!'",
        )
        .await;
    browser.close().await;
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_draws_the_chart_from_served_history_and_fits_a_phone() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context_with_secrets(
        &format!(
            r#"(state_dir: "{}", web: (bind: "127.0.0.1:0"))"#,
            state.path().display()
        ),
        &["STATUS_KEY"],
    );
    // Ten minutes of samples, with a 20-second hole where the ingest had no number.
    let now = now_unix_ms();
    let start = now - 600_000;
    let mut drawn = 0;
    for i in 0..600u64 {
        let hole = (300..320).contains(&i);
        if !hole {
            drawn += 1;
        }
        ctx.history.record_sample(HistorySample {
            at_unix_ms: start + i * 1000,
            bitrate_kbps: (!hole).then_some(if i < 280 { 3000 } else { 600 }),
            rtt_ms: Some(40 + (i % 20) as u32),
        });
    }
    ctx.history.record_switch(SwitchMark {
        at_unix_ms: start + 282_000,
        scene: "LOW".into(),
        by: Some(SwitchedBy::Guard),
    });
    ctx.history.record_switch(SwitchMark {
        at_unix_ms: start + 400_000,
        scene: "BRB".into(),
        by: None,
    });
    ctx.history.set_thresholds(Some(800), Some(1200));
    ctx.status.publisher(|s| s).modify(|s| {
        let mut guard = support::live_guard("belabox", 600, 45, 800, 1200);
        guard.level = Some("low");
        s.guard = Some(guard);
        s.kick = Some(stream_control::status::KickStatus {
            reader: "pusher",
            chat: "reconnecting",
            chat_error: Some("closed by Kick".into()),
            deliveries: None,
            refused: None,
        });
    });
    let (app, base) = support::start_web(&ctx).await;
    let mut browser = Chromium::launch().await;
    let page = browser
        .open(
            &format!("{base}/?key={}", support::secret("STATUS_KEY")),
            1280,
            900,
        )
        .await;
    let points = "[...document.querySelectorAll('#chart polyline.bitrate')] \
                  .reduce((n, p) => n + p.getAttribute('points').trim().split(/\\s+/).length, 0)";
    let got = browser
        .wait_for(&page, &format!("({points}) >= {drawn} ? ({points}) : 0"))
        .await;
    assert_eq!(got, drawn, "one point per served sample with a bitrate");
    let lines = browser
        .eval(
            &page,
            "document.querySelectorAll('#chart polyline.bitrate').length",
        )
        .await;
    assert_eq!(lines, 2, "the hole splits the line");
    let thresholds = browser
        .eval(
            &page,
            "[...document.querySelectorAll('#chart line.threshold')].map(l => l.dataset.kbps)",
        )
        .await;
    assert_eq!(thresholds, serde_json::json!(["800", "1200"]));
    let marks = browser
        .eval(
            &page,
            "[...document.querySelectorAll('#chart .switch-mark')].map(m => m.dataset.scene)",
        )
        .await;
    assert_eq!(marks, serde_json::json!(["LOW", "BRB"]));
    // Points are inside the drawing, and the low part is drawn lower than the good part.
    let ys = browser
        .eval(
            &page,
            "[...document.querySelectorAll('#chart polyline.bitrate')].map(p => \
               p.getAttribute('points').trim().split(/\\s+/).map(xy => +xy.split(',')[1]))",
        )
        .await;
    let first: Vec<f64> = ys[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let second: Vec<f64> = ys[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        first[0] < second[second.len() - 1],
        "3000 kbps above 600 kbps: {ys}"
    );
    // Health dots: the ingest is live, OBS is not configured.
    let health = browser
        .wait_for(
            &page,
            "[...document.querySelectorAll('#health li')].length >= 8 && \
             [...document.querySelectorAll('#health li')].map(li => li.className + ' ' + li.dataset.component)",
        )
        .await;
    let health: Vec<String> = health
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(
        health.contains(&"dot warn has-reason Ingest".to_string()),
        "the guard says LOW: {health:?}"
    );
    assert!(
        health.contains(&"dot offline OBS".to_string()),
        "{health:?}"
    );
    let reason = browser
        .eval(
            &page,
            "document.querySelector('#health li[data-component=Ingest]').title",
        )
        .await;
    assert_eq!(reason, "belabox: 600 kbps, 45 ms");
    // Kick's chat socket on its way back: amber, with the reader and Kick's words.
    assert!(
        health.contains(&"dot warn has-reason Kick chat".to_string()),
        "{health:?}"
    );
    let kick = browser
        .eval(
            &page,
            "[document.querySelector('#health li[data-component=\"Kick chat\"] .state').textContent, \
              document.querySelector('#health li[data-component=\"Kick chat\"]').title]",
        )
        .await;
    assert_eq!(
        kick,
        serde_json::json!(["reconnecting", "read by: pusher\nclosed by Kick"])
    );

    // A live sample arrives over the stream and is drawn.
    ctx.history.record_sample(HistorySample {
        at_unix_ms: now_unix_ms(),
        bitrate_kbps: Some(2500),
        rtt_ms: Some(50),
    });
    browser
        .wait_for(&page, &format!("({points}) === {}", drawn + 1))
        .await;
    // An ad break Twitch runs shows with its time left, counted down by the page; then it ends.
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 10;
    ctx.status.publisher(|s| &mut s.twitch).modify(|t| {
        *t = Some(TwitchStatus {
            ad_break: Some(AdBreakStatus {
                started_at: started,
                duration_secs: 60,
                automatic: true,
            }),
            ..Default::default()
        })
    });
    browser
        .wait_for(
            &page,
            "/^(4\\d|50)s \\/ 1m 0s \\(automatic\\)$/.test(document.getElementById('ad-break').textContent)",
        )
        .await;
    ctx.status.publisher(|s| &mut s.twitch).modify(|t| {
        if let Some(t) = t {
            t.ad_break = None;
        }
    });
    browser
        .wait_for(
            &page,
            "document.getElementById('ad-break').textContent === '–'",
        )
        .await;
    browser.screenshot(&page, "status-page-desktop").await;

    // On a phone: nothing wider than the screen.
    browser.resize(&page, 390, 844).await;
    browser
        .wait_for(
            &page,
            "document.documentElement.scrollWidth <= window.innerWidth && \
             document.getElementById('chart').viewBox.baseVal.width === \
               Math.max(300, document.getElementById('chart').clientWidth)",
        )
        .await;
    let chart_width = browser
        .eval(
            &page,
            "document.getElementById('chart').getBoundingClientRect().width",
        )
        .await;
    assert!(chart_width.as_f64().unwrap() <= 390.0, "{chart_width}");
    browser.screenshot(&page, "status-page-phone").await;
    browser.close().await;
    assert!(app.shutdown(Duration::from_secs(5)).await);
}
