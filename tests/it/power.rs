//! Stream-PC power: the Wake-on-LAN packet received and checked on a 127.0.0.1 UDP socket,
//! waking with progress (real and paused time), the TCP probe into Status with change events,
//! and restart/shutdown through a fake `ssh` that records its argv: the exact argv, no shell,
//! each exit code's reply (a connection dropped by the reboot is success), the timeout, and the
//! refusal while OBS streams unless `force`.

use stream_control_test_support as support;
use stream_control_test_support::fake_exec;

use fake_exec::{FakeProgram, process_alive};
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::dispatch::Invoker;
use stream_control::reply::{Outcome, Reply, keys};
use stream_control::status::{Event, ObsStatus};
use tokio::net::{TcpListener, UdpSocket};

const MAC: [u8; 6] = [0xAA, 0xBB, 0xCC, 0x01, 0x02, 0xFE];

struct Setup {
    _dir: tempfile::TempDir,
    ssh: FakeProgram,
    ctx: Arc<Context>,
}

fn setup(broadcast_port: u16, probe_port: u16, extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let ssh = FakeProgram::new(dir.path(), "ssh");
    let user = if extra.contains("ssh_user") {
        ""
    } else {
        r#"ssh_user: Some("stream"),"#
    };
    let config = format!(
        r#"(
            power: (
                mac: "aa:bb:cc:01:02:fe",
                host: "127.0.0.1",
                broadcast: "127.0.0.1:{broadcast_port}",
                probe_port: {probe_port},
                ssh_timeout: "1s",
                {user}
                {extra}
            ),
            programs: (ssh: "{ssh}"),
            commands: (cooldowns: (command: "0s", user: "0s")),
        )"#,
        ssh = ssh.path.display(),
    );
    Setup {
        _dir: dir,
        ssh,
        ctx: support::context(&config),
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn say(setup: &Setup, line: &str) -> (Reply, Vec<Reply>, String) {
    let (reply, steps) = support::command(&setup.ctx, line, Invoker::console()).await;
    let text = setup.ctx.render("en-US", &reply);
    (reply, steps, text)
}

/// `Status.power.reachable`.
fn reachable(setup: &Setup) -> Option<bool> {
    setup.ctx.status.borrow().power.as_ref()?.reachable
}

async fn receive_packet(socket: &UdpSocket) -> Vec<u8> {
    let mut buffer = [0u8; 512];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buffer))
        .await
        .expect("a magic packet")
        .unwrap();
    buffer[..n].to_vec()
}

fn check_magic_packet(packet: &[u8]) {
    assert_eq!(packet.len(), 102);
    assert_eq!(&packet[..6], &[0xFF; 6]);
    for copy in packet[6..].chunks(6) {
        assert_eq!(copy, MAC);
    }
}

#[tokio::test]
async fn wake_sends_the_magic_packet_and_reports_a_pc_that_answers() {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let pc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let s = setup(
        udp.local_addr().unwrap().port(),
        pc.local_addr().unwrap().port(),
        "",
    );
    let (reply, steps, text) = say(&s, "!pc wake").await;
    check_magic_packet(&receive_packet(&udp).await);
    assert_eq!(reply.key, keys::PC_WAKE_UP, "{text}");
    assert_eq!(text, "The stream PC is up (it answered after 0 s).");
    let steps: Vec<String> = steps.iter().map(|r| s.ctx.render("en-US", r)).collect();
    assert_eq!(
        steps,
        ["Magic packet sent to AA:BB:CC:01:02:FE; waiting up to 120 s for the stream PC…"]
    );
    assert_eq!(reachable(&s), Some(true));
}

#[tokio::test]
async fn wake_waits_until_the_pc_comes_up() {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = closed_port();
    let s = setup(
        udp.local_addr().unwrap().port(),
        port,
        r#"wake_timeout: "20s","#,
    );
    // The "PC" starts listening once the packet arrived, plus 1.5 s of boot.
    let boot = tokio::spawn(async move {
        let packet = receive_packet(&udp).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        (packet, listener)
    });
    let started = std::time::Instant::now();
    let (reply, _, text) = say(&s, "!pc wake").await;
    let (packet, _listener) = boot.await.unwrap();
    check_magic_packet(&packet);
    assert_eq!(reply.key, keys::PC_WAKE_UP, "{text}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn wake_gives_up_after_the_timeout_with_progress_every_5_s() {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let s = setup(
        udp.local_addr().unwrap().port(),
        closed_port(),
        r#"wake_timeout: "30s","#,
    );
    let (reply, steps, text) = say(&s, "!pc wake").await;
    check_magic_packet(&receive_packet(&udp).await);
    assert_eq!(reply.key, keys::PC_WAKE_TIMEOUT);
    assert_eq!(reply.outcome, Outcome::Failed);
    assert!(
        text.starts_with("Magic packet sent, but the stream PC did not answer within 30 s."),
        "{text}"
    );
    let steps: Vec<String> = steps.iter().map(|r| s.ctx.render("en-US", r)).collect();
    assert_eq!(
        steps,
        [
            "Magic packet sent to AA:BB:CC:01:02:FE; waiting up to 30 s for the stream PC…",
            "Waiting for the stream PC… 5 s",
            "Waiting for the stream PC… 10 s",
            "Waiting for the stream PC… 15 s",
            "Waiting for the stream PC… 20 s",
            "Waiting for the stream PC… 25 s",
        ]
    );
    assert_eq!(reachable(&s), Some(false));
}

#[tokio::test]
async fn status_probes_and_a_change_is_an_event() {
    let pc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = pc.local_addr().unwrap().port();
    let s = setup(9, port, "");
    assert_eq!(
        s.ctx.status.borrow().power.clone(),
        Some(Default::default()),
        "present and empty before the first probe"
    );
    let mut events = s.ctx.events.subscribe();
    let (_, _, text) = say(&s, "!pc").await;
    assert_eq!(text, "The stream PC answers (127.0.0.1).");
    drop(pc);
    let (reply, _, text) = say(&s, "!pc status").await;
    assert_eq!(reply.key, keys::PC_OFF);
    assert!(
        text.starts_with("The stream PC does not answer (127.0.0.1: "),
        "{text}"
    );
    let power = s.ctx.status.borrow().power.clone().unwrap();
    assert_eq!(power.reachable, Some(false));
    assert!(power.error.is_some() && power.checked_unix.is_some());
    let changes: Vec<Event> = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, Event::PowerStateChanged { .. }))
        .collect();
    assert_eq!(changes, [Event::PowerStateChanged { reachable: false }]);
}

#[tokio::test]
async fn the_poll_task_fills_status_at_start() {
    let pc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let s = setup(9, pc.local_addr().unwrap().port(), "");
    let app = App::start(s.ctx.clone(), RunOptions::default());
    let mut status = s.ctx.status.subscribe();
    tokio::time::timeout(
        Duration::from_secs(5),
        status.wait_for(|st| st.power.as_ref().is_some_and(|p| p.reachable == Some(true))),
    )
    .await
    .expect("probed at start")
    .unwrap();
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

fn ssh_args(remote: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        "stream@127.0.0.1",
        "--",
    ]
    .map(String::from)
    .to_vec();
    args.extend(remote.iter().map(|s| s.to_string()));
    args
}

#[tokio::test]
async fn restart_and_shutdown_run_ssh_with_the_exact_argv() {
    let s = setup(9, closed_port(), "");
    let (reply, _, text) = say(&s, "!pc restart").await;
    assert_eq!(reply.outcome, Outcome::Done, "{text}");
    assert_eq!(text, "The stream PC is restarting.");
    let (_, _, text) = say(&s, "!pc shutdown").await;
    assert_eq!(text, "The stream PC is shutting down.");
    assert_eq!(
        s.ssh.calls(),
        [
            ssh_args(&["sudo", "-n", "reboot"]),
            ssh_args(&["sudo", "-n", "shutdown", "-h", "now"]),
        ]
    );
}

#[tokio::test]
async fn command_templates_are_split_into_words_and_never_run_through_a_local_shell() {
    let s = setup(
        9,
        closed_port(),
        r#"ssh_user: None, restart_command: "systemctl   reboot;touch /tmp/pwned $(id) `id` &&x","#,
    );
    let (reply, _, _) = say(&s, "!pc restart").await;
    assert_eq!(reply.outcome, Outcome::Done);
    let expected: Vec<String> = [
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        "127.0.0.1",
        "--",
        "systemctl",
        "reboot;touch",
        "/tmp/pwned",
        "$(id)",
        "`id`",
        "&&x",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(s.ssh.calls(), [expected]);
}

#[tokio::test]
async fn each_ssh_exit_code_has_its_reply() {
    let s = setup(9, closed_port(), "");
    // The reboot cuts the session: success.
    s.ssh.answer(
        None,
        255,
        "",
        "Connection to 127.0.0.1 closed by remote host.\r\n",
    );
    let (reply, _, text) = say(&s, "!pc restart").await;
    assert_eq!(
        (reply.outcome, text.as_str()),
        (Outcome::Done, "The stream PC is restarting.")
    );
    // ssh could not connect.
    s.ssh.answer(
        None,
        255,
        "",
        "ssh: connect to host 127.0.0.1 port 22: Connection refused\r\n",
    );
    let (reply, _, text) = say(&s, "!pc restart").await;
    assert_eq!(reply.outcome, Outcome::Failed);
    assert_eq!(
        text,
        "Could not reach the stream PC over ssh: ssh: connect to host 127.0.0.1 port 22: Connection refused"
    );
    // The PC refused the command.
    s.ssh.answer(None, 1, "", "sudo: a password is required\n");
    let (reply, _, text) = say(&s, "!pc shutdown").await;
    assert_eq!(reply.outcome, Outcome::Failed);
    assert_eq!(
        text,
        "The stream PC refused (exit code 1): sudo: a password is required"
    );
    // ssh hangs: killed at ssh_timeout.
    s.ssh.answer(None, 0, "", "");
    s.ssh.hang(None);
    let started = std::time::Instant::now();
    let (reply, _, text) = say(&s, "!pc shutdown").await;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(reply.key, keys::COMMAND_TIMEOUT);
    assert_eq!(text, "ssh did not finish within 1 s and was stopped.");
    assert!(!process_alive(s.ssh.last_pid().unwrap()));
}

#[tokio::test]
async fn restart_and_shutdown_are_refused_while_obs_streams_unless_forced() {
    let s = setup(9, closed_port(), "");
    s.ctx.status.publisher(|s| s).modify(|st| {
        st.obs = Some(ObsStatus {
            streaming: true,
            ..ObsStatus::default()
        })
    });
    for word in ["restart", "shutdown"] {
        let (reply, _, text) = say(&s, &format!("!pc {word}")).await;
        assert_eq!(reply.outcome, Outcome::Refused);
        assert_eq!(
            text,
            format!(
                "OBS is streaming: !pc {word} would end the stream. To do it anyway: !pc {word} force"
            )
        );
    }
    assert!(s.ssh.calls().is_empty(), "nothing ran");
    let (reply, _, _) = say(&s, "!pc restart force").await;
    assert_eq!(reply.outcome, Outcome::Done);
    assert_eq!(s.ssh.calls(), [ssh_args(&["sudo", "-n", "reboot"])]);
}
