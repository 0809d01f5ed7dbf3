//! `kick login`: the test plays the browser (opens the authorize URL on the fake, follows its
//! redirect to the loopback listener).

use super::{Rig, secrets};
use std::os::unix::fs::PermissionsExt;
use stream_control::kick::auth::{self, Account};
use stream_control::kick::login::{LOGIN_TIMEOUT, Login, Pkce};
use stream_control_test_support::fake_kick;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Start a login on a free loopback port, registered with the fake.
async fn start(rig: &Rig, bot: bool) -> Login {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let login = Login::with_listener(&rig.config(""), &secrets(), bot, listener).unwrap();
    rig.kick.register_redirect_uri(login.redirect_uri());
    login
}

/// Open the authorize URL as a browser: Kick's answer must be a redirect; returns where to.
async fn authorize(rig: &Rig, url: &str) -> String {
    let answer = rig.browser().get(url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302, "{:?}", answer.text().await);
    answer.headers()["location"].to_str().unwrap().to_string()
}

/// Follow a redirect to the loopback listener: (status, page).
async fn visit(rig: &Rig, url: &str) -> (u16, String) {
    let answer = rig.browser().get(url).send().await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

#[tokio::test]
async fn a_login_with_pkce_ends_with_the_token_stored_0600() {
    let rig = Rig::new().await;
    let login = start(&rig, false).await;
    let url = login.authorize_url().to_string();
    assert!(url.starts_with(&format!("{}oauth/authorize?", rig.kick.url())));
    let finish = tokio::spawn(login.finish());
    let back = authorize(&rig, &url).await;
    assert!(back.starts_with("http://127.0.0.1:"), "{back}");
    let (status, page) = visit(&rig, &back).await;
    assert_eq!(status, 200);
    assert!(page.contains("Logged in to Kick as streamer"), "{page}");
    let done = finish.await.unwrap().unwrap();
    assert_eq!(done.account, Account::Broadcaster);
    assert!(done.missing_scopes.is_empty());
    let stored = rig.stored(Account::Broadcaster).expect("the token file");
    assert_eq!(stored, done.token);
    assert_eq!(stored.user_id, Some(fake_kick::BROADCASTER_ID));
    assert_eq!(stored.username.as_deref(), Some("streamer"));
    assert_eq!(stored.scopes, auth::SCOPES);
    assert!(rig.kick.is_active(&stored.access_token));
    let mode = std::fs::metadata(&done.file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // What went over the wire: S256, the workaround parameter first, a form POST with the
    // verifier and the same redirect URI.
    let authorize = &rig.kick.requests_to("/oauth/authorize")[0];
    let query: Vec<(String, String)> = url::form_urlencoded::parse(authorize.query.as_bytes())
        .into_owned()
        .collect();
    let keys: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "response_type",
            "client_id",
            "redirect",
            "redirect_uri",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "state"
        ]
    );
    let token = &rig.kick.requests_to("/oauth/token")[0];
    assert_eq!(
        token.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let form = token.form();
    let get = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(get("grant_type"), Some("authorization_code"));
    assert_eq!(get("client_secret"), Some(fake_kick::CLIENT_SECRET));
    let verifier = get("code_verifier").unwrap();
    assert!((43..=128).contains(&verifier.len()));
    let challenge = query.iter().find(|(k, _)| k == "code_challenge").unwrap();
    assert_eq!(Pkce::from_verifier(verifier.into()).challenge, challenge.1);
    assert!(rig.kick.refusals().is_empty(), "{:?}", rig.kick.refusals());
}

#[tokio::test]
async fn the_bot_account_logs_in_to_its_own_file_with_its_scopes() {
    let rig = Rig::new().await;
    rig.kick.approve_as(fake_kick::BOT_ID, None);
    let login = start(&rig, true).await;
    let url = login.authorize_url().to_string();
    assert!(url.contains("scope=user%3Aread+chat%3Awrite&"), "{url}");
    let finish = tokio::spawn(login.finish());
    let back = authorize(&rig, &url).await;
    visit(&rig, &back).await;
    let done = finish.await.unwrap().unwrap();
    assert!(done.file.ends_with(auth::BOT_TOKEN_FILE));
    assert_eq!(done.token.username.as_deref(), Some(fake_kick::BOT_NAME));
    assert!(rig.stored(Account::Broadcaster).is_none());
}

#[tokio::test]
async fn a_scope_kick_did_not_grant_is_named() {
    let rig = Rig::new().await;
    rig.kick.approve_as(
        fake_kick::BROADCASTER_ID,
        Some(&["user:read", "chat:write"]),
    );
    let login = start(&rig, false).await;
    let url = login.authorize_url().to_string();
    let finish = tokio::spawn(login.finish());
    visit(&rig, &authorize(&rig, &url).await).await;
    let done = finish.await.unwrap().unwrap();
    assert_eq!(done.missing_scopes, ["channel:read", "events:subscribe"]);
}

#[tokio::test]
async fn strangers_are_ignored_and_kicks_refusal_ends_the_login() {
    let rig = Rig::new().await;
    let login = start(&rig, false).await;
    let url = login.authorize_url().to_string();
    let base = login
        .redirect_uri()
        .trim_end_matches("/kick/callback")
        .to_string();
    let finish = tokio::spawn(login.finish());
    // Another path, a callback for another login, a head too large, a silent connection that
    // closes: each answered (or dropped) and ignored.
    let (status, page) = visit(&rig, &format!("{base}/favicon.ico")).await;
    assert_eq!(status, 404, "{page}");
    let (status, page) = visit(
        &rig,
        &format!("{base}/kick/callback?code=stolen&state=not-ours"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        page.contains("does not belong to the login in progress"),
        "{page}"
    );
    let address = base.trim_start_matches("http://");
    let mut huge = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "GET /kick/callback?x={} HTTP/1.1\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    let _ = huge.write_all(head.as_bytes()).await;
    let mut answer = String::new();
    // Closed with unread bytes, the socket may be reset before the answer is read.
    let _ = huge.read_to_string(&mut answer).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    drop(TcpStream::connect(address).await.unwrap());
    assert!(!finish.is_finished());
    // Kick says no: the page and the command say why.
    rig.kick.deny_next("access_denied");
    let back = authorize(&rig, &url).await;
    assert!(back.contains("error=access_denied"), "{back}");
    let (status, page) = visit(&rig, &back).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("Kick refused the login: access_denied"),
        "{page}"
    );
    let error = finish.await.unwrap().unwrap_err();
    assert!(
        format!("{error:#}").contains("Kick refused the login: access_denied"),
        "{error:#}"
    );
    assert!(rig.stored(Account::Broadcaster).is_none());
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_refused_by_kick() {
    let rig = Rig::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let login = Login::with_listener(&rig.config(""), &secrets(), false, listener).unwrap();
    // Not registered with the application.
    let answer = rig
        .browser()
        .get(login.authorize_url())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    assert_eq!(
        answer.text().await.unwrap(),
        r#"{"error":"Invalid request"}"#
    );
    assert!(rig.kick.refusals()[0].contains("redirect_uri is not registered"));
}

#[tokio::test(start_paused = true)]
async fn a_login_nobody_completes_ends_after_its_timeout() {
    let rig = Rig::new().await;
    let login = start(&rig, false).await;
    let began = tokio::time::Instant::now();
    let error = login.finish().await.unwrap_err();
    assert!(began.elapsed() >= LOGIN_TIMEOUT);
    assert!(
        error.to_string().contains("no login came back within 5m"),
        "{error}"
    );
}

#[tokio::test]
async fn a_login_without_the_credentials_or_the_section_says_what_is_missing() {
    let rig = Rig::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = Login::with_listener(
        &rig.config(""),
        &stream_control::secrets::Secrets::default(),
        false,
        listener,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("KICK_CLIENT_ID and KICK_CLIENT_SECRET")
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = Login::with_listener(
        &stream_control::config::Config::parse("()").unwrap(),
        &secrets(),
        false,
        listener,
    )
    .unwrap_err();
    assert!(error.to_string().contains("no `kick` section"), "{error}");
}

/// The fake's OAuth rules on the wire, each refusal in Kick's shape with its reason noted:
/// PKCE (missing, malformed or wrong verifier; a method other than S256), the redirect URI,
/// single-use and short-lived codes, the client's secret, refresh-token rotation.
#[tokio::test]
async fn the_fake_refuses_what_kick_refuses_in_oauth() {
    let rig = Rig::new().await;
    let redirect_uri = "http://127.0.0.1:1/kick/callback";
    rig.kick.register_redirect_uri(redirect_uri);
    let browser = rig.browser();
    let authorize_url = |challenge: &str, method: &str, state: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", fake_kick::CLIENT_ID)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "user:read chat:write")
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", method)
            .append_pair("state", state)
            .finish();
        format!("{}oauth/authorize?{query}", rig.kick.url())
    };
    let pkce = Pkce::new().unwrap();
    let code = || async {
        let back = authorize(&rig, &authorize_url(&pkce.challenge, "S256", "st")).await;
        let query = back.split_once('?').unwrap().1.to_string();
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    };
    let token = |form: Vec<(&'static str, String)>| {
        let browser = browser.clone();
        let url = format!("{}oauth/token", rig.kick.url());
        async move {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            let answer = browser
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let exchange = |code: String, verifier: &str, redirect: &str, secret: &str| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("client_id", fake_kick::CLIENT_ID.to_string()),
            ("client_secret", secret.to_string()),
            ("redirect_uri", redirect.to_string()),
            ("code", code),
        ];
        if !verifier.is_empty() {
            form.push(("code_verifier", verifier.to_string()));
        }
        token(form)
    };
    let last_refusal = || rig.kick.refusals().last().cloned().unwrap_or_default();
    let secret = fake_kick::CLIENT_SECRET;
    let other = Pkce::new().unwrap();

    // A wrong verifier, then the right one on the same code: both refused.
    let first = code().await;
    let (status, body) = exchange(first.clone(), &other.verifier, redirect_uri, secret).await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"error":"Invalid request"}"#)
    );
    assert!(
        last_refusal().contains("does not match the code_challenge"),
        "{}",
        last_refusal()
    );
    let (status, _) = exchange(first, &pkce.verifier, redirect_uri, secret).await;
    assert_eq!(status, 400);
    assert!(last_refusal().contains("code already used"));
    // No verifier; a malformed one; another redirect URI; the wrong secret.
    let (status, _) = exchange(code().await, "", redirect_uri, secret).await;
    assert_eq!(status, 400);
    assert!(last_refusal().contains("code_verifier missing"));
    let (status, _) = exchange(code().await, "short", redirect_uri, secret).await;
    assert_eq!(status, 400);
    assert!(last_refusal().contains("43-128 unreserved"));
    let (status, _) = exchange(
        code().await,
        &pkce.verifier,
        "http://127.0.0.1:2/kick/callback",
        secret,
    )
    .await;
    assert_eq!(status, 400);
    assert!(last_refusal().contains("redirect_uri differs"));
    let (status, _) = exchange(code().await, &pkce.verifier, redirect_uri, "not-the-secret").await;
    assert_eq!(status, 401);
    assert!(last_refusal().contains("wrong secret"));
    // A code older than its lifetime.
    let late = code().await;
    tokio::time::pause();
    tokio::time::advance(fake_kick::CODE_LIFETIME + std::time::Duration::from_secs(1)).await;
    tokio::time::resume();
    let (status, _) = exchange(late, &pkce.verifier, redirect_uri, secret).await;
    assert_eq!(status, 400);
    assert!(last_refusal().contains("code expired"));
    // Right: a token pair; the code once only.
    let good = code().await;
    let (status, body) = exchange(good.clone(), &pkce.verifier, redirect_uri, secret).await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (status, _) = exchange(good, &pkce.verifier, redirect_uri, secret).await;
    assert_eq!(status, 400);
    // Rotation: a refresh token works once.
    let refresh = |refresh_token: String| {
        token(vec![
            ("grant_type", "refresh_token".to_string()),
            ("client_id", fake_kick::CLIENT_ID.to_string()),
            ("client_secret", secret.to_string()),
            ("refresh_token", refresh_token),
        ])
    };
    let old = answer["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = refresh(old.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = refresh(old).await;
    assert_eq!(status, 400);
    assert!(last_refusal().contains("refresh token already used"));
    // The authorize endpoint: only S256, and every required parameter.
    let stranger =
        authorize_url(&pkce.challenge, "S256", "st").replace(fake_kick::CLIENT_ID, "someone-else");
    for (url, reason) in [
        (authorize_url(&other.verifier, "plain", "st"), "not S256"),
        (stranger, "unknown client_id"),
        (authorize_url(&pkce.challenge, "S256", ""), "state missing"),
    ] {
        let status = browser.get(&url).send().await.unwrap().status().as_u16();
        assert_eq!(status, 400, "{reason}");
        assert!(last_refusal().contains(reason), "{}", last_refusal());
    }
}

/// The command itself: `stream-control kick login --config …` with the credentials in the
/// `.env` beside the configuration, its listener on `kick.redirect_port`; what it prints names
/// no secret but the client id the address must carry.
#[tokio::test]
async fn the_command_logs_in_and_prints_no_secret() {
    use tokio::io::AsyncBufReadExt;
    let rig = Rig::new().await;
    let port = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().port()
    };
    rig.kick
        .register_redirect_uri(&format!("http://127.0.0.1:{port}/kick/callback"));
    let path = rig.dir.path().join("config.ron");
    std::fs::write(&path, rig.config_text(&format!("redirect_port: {port}"))).unwrap();
    stream_control::state_store::write_atomic(
        &rig.dir.path().join(".env"),
        format!(
            "KICK_CLIENT_ID={}\nKICK_CLIENT_SECRET={}\n",
            fake_kick::CLIENT_ID,
            fake_kick::CLIENT_SECRET
        )
        .as_bytes(),
        stream_control::state_store::Sensitivity::Secret,
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stream-control"))
        .args(["kick", "login", "--config", path.to_str().unwrap()])
        .env_remove("KICK_CLIENT_ID")
        .env_remove("KICK_CLIENT_SECRET")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = lines.next_line().await.unwrap().expect("the address");
        printed.push(line.clone());
        if let Some(url) = line.trim().strip_prefix(&rig.kick.url()) {
            break format!("{}{url}", rig.kick.url());
        }
    };
    let back = authorize(&rig, &url).await;
    let (status, _) = visit(&rig, &back).await;
    assert_eq!(status, 200);
    while let Some(line) = lines.next_line().await.unwrap() {
        printed.push(line);
    }
    let output = child.wait_with_output().await.unwrap();
    let stdout = printed.join("\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Logged in to Kick as streamer"), "{stdout}");
    assert!(
        stdout.contains(&format!("http://127.0.0.1:{port}/kick/callback")),
        "{stdout}"
    );
    let stored = rig.stored(Account::Broadcaster).unwrap();
    for secret in [
        fake_kick::CLIENT_SECRET,
        &stored.access_token,
        &stored.refresh_token,
    ] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
}
