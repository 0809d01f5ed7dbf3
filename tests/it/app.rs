//! Supervision and shutdown, on paused time: failing and panicking tasks are restarted with
//! capped backoff and recorded in Status; shutdown waits for tasks, at most the grace period.

use stream_control_test_support as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use stream_control::app::{App, BACKOFF_MAX, RunOptions};
use stream_control::status::{Event, TaskState};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_failing_task_is_restarted_with_doubling_backoff_until_it_succeeds() {
    let ctx = support::context("()");
    let mut events = ctx.events.subscribe();
    let app = App::start(ctx.clone(), RunOptions::default());
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let start = Instant::now();
    app.supervise("flaky", move |ctx, _token| {
        let attempt = counter.fetch_add(1, Ordering::SeqCst);
        let secret = ctx
            .secrets
            .get("OBS_PASSWORD")
            .unwrap()
            .expose()
            .to_string();
        async move {
            match attempt {
                0 => anyhow::bail!("connection refused with password {secret}"),
                1 => panic!("boom"),
                2 => anyhow::bail!("still down"),
                _ => Ok(()),
            }
        }
    });
    let mut status = ctx.status.subscribe();
    status
        .wait_for(|s| {
            s.tasks
                .get("flaky")
                .is_some_and(|t| t.state == TaskState::Stopped)
        })
        .await
        .unwrap();
    // 1 s + 2 s + 4 s of backoff between the four attempts.
    assert_eq!(start.elapsed(), Duration::from_secs(7));
    assert_eq!(attempts.load(Ordering::SeqCst), 4);
    let task = ctx.status.borrow().tasks["flaky"].clone();
    assert_eq!(task.restarts, 3);
    assert_eq!(task.last_error.as_deref(), Some("still down"));
    let mut failures = Vec::new();
    while let Ok(Event::TaskFailed { task, error }) = events.try_recv() {
        assert_eq!(task, "flaky");
        failures.push(error);
    }
    assert_eq!(
        failures,
        vec![
            "connection refused with password ***",
            "panicked: boom",
            "still down"
        ],
        "errors are redacted before they reach Status or events"
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(start_paused = true)]
async fn backoff_is_capped() {
    let ctx = support::context("()");
    let app = App::start(ctx.clone(), RunOptions::default());
    app.supervise("always-failing", |_ctx, _token| async {
        anyhow::bail!("down")
    });
    let mut status = ctx.status.subscribe();
    let start = Instant::now();
    status
        .wait_for(|s| {
            s.tasks
                .get("always-failing")
                .is_some_and(|t| t.restarts >= 9)
        })
        .await
        .unwrap();
    // 1+2+4+8+16+32 then 60 s each: the 9th failure comes after 63 + 2*60 s.
    assert_eq!(start.elapsed(), Duration::from_secs(63) + BACKOFF_MAX * 2);
    assert!(
        app.shutdown(Duration::from_secs(5)).await,
        "a task waiting in backoff stops at once"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_every_task_and_waits_for_them() {
    let ctx = support::context("()");
    let app = App::start(ctx.clone(), RunOptions::default());
    let cleaned = Arc::new(AtomicU32::new(0));
    for name in ["a", "b", "c"] {
        let cleaned = cleaned.clone();
        app.supervise(name, move |_ctx, token| {
            let cleaned = cleaned.clone();
            async move {
                token.cancelled().await;
                tokio::time::sleep(Duration::from_millis(300)).await; // tidy up
                cleaned.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
    }
    tokio::task::yield_now().await;
    let start = Instant::now();
    assert!(app.shutdown(Duration::from_secs(5)).await);
    assert_eq!(cleaned.load(Ordering::SeqCst), 3);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(
        ctx.status
            .borrow()
            .tasks
            .values()
            .all(|t| t.state == TaskState::Stopped)
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_gives_up_on_a_stuck_task_after_the_grace_period() {
    let ctx = support::context("()");
    let app = App::start(ctx.clone(), RunOptions::default());
    app.supervise("stuck", |_ctx, _token| async {
        std::future::pending::<()>().await;
        Ok(())
    });
    tokio::task::yield_now().await;
    let start = Instant::now();
    assert!(!app.shutdown(Duration::from_secs(5)).await);
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}
