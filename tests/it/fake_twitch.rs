//! Tests of the fake Twitch (`tests/support/src/fake_twitch.rs`), driven by the real `twitch_api`
//! 0.8 / `twitch_oauth2` 0.17 clients through an `HttpClient` that rewrites Twitch's base URLs
//! to the fake (and, for the response headers, by a raw reqwest client).
//!
//! Real time, no sleeps: everything is awaited, bounded by timeouts.
//!
//! Lookups the product tests already drive are not tested again here: users by login
//! (`twitch::raid_title_and_category_go_through_helix`, a known and an unknown login) and the live
//! status (`twitch::stream_info_reaches_status_and_rate_limits_wait_for_the_reset`).

use stream_control_test_support as support;

use std::future::Future;
use std::time::Duration;

use futures_util::{StreamExt as _, TryStreamExt as _};
use support::fake_eventsub::FakeEventSub;
use support::fake_twitch::{
    BROADCASTER_ID, BROADCASTER_LOGIN, CLIENT_ID, CLIENT_SECRET, DEFAULT_TOKEN_LIFETIME, FakeTwitch,
};
use twitch_api::HelixClient;
use twitch_api::eventsub::{self, Transport};
use twitch_api::helix::{self, ClientRequestError};
use twitch_oauth2::tokens::errors::{RefreshTokenError, ValidationError};
use twitch_oauth2::{
    AccessToken, ClientId, ClientSecret, DeviceUserTokenBuilder, RefreshToken, RequestParseError,
    Scope, TwitchToken, UserToken,
};

const WAIT: Duration = Duration::from_secs(5);
const HOUR: Duration = Duration::from_secs(3600);

/// The product's way in: rewrite Twitch's base URLs to the fake's, then let reqwest send it.
#[derive(Clone)]
struct Rewrite {
    inner: reqwest::Client,
    helix: String,
    oauth: String,
}

impl Rewrite {
    fn new(fake: &FakeTwitch) -> Rewrite {
        Rewrite {
            inner: stream_control::tls::Tls::system()
                .http_client()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("reqwest client"),
            helix: fake.helix_url(),
            oauth: fake.oauth_url(),
        }
    }
}

impl twitch_api::HttpClient for Rewrite {
    type Error = reqwest::Error;

    fn req(
        &self,
        mut request: twitch_api::client::Request,
    ) -> impl Future<Output = Result<twitch_api::client::Response, Self::Error>> + Send + use<>
    {
        let uri = request.uri().to_string();
        let rewritten = if let Some(rest) = uri.strip_prefix("https://api.twitch.tv/helix/") {
            format!("{}{rest}", self.helix)
        } else if let Some(rest) = uri.strip_prefix("https://id.twitch.tv/oauth2/") {
            format!("{}{rest}", self.oauth)
        } else {
            uri
        };
        *request.uri_mut() = rewritten.parse().expect("rewritten URI parses");
        <reqwest::Client as twitch_api::HttpClient>::req(&self.inner, request)
    }
}

type Helix = HelixClient<'static, Rewrite>;

fn helix_for(fake: &FakeTwitch) -> Helix {
    HelixClient::with_client(Rewrite::new(fake))
}

async fn user_token(helix: &Helix, access: &str, refresh: &str) -> UserToken {
    UserToken::from_existing(
        helix,
        AccessToken::from(access),
        RefreshToken::from(refresh),
        ClientSecret::from(CLIENT_SECRET),
    )
    .await
    .expect("the fake validates its own token")
}

/// A broadcaster token with every scope the product uses.
async fn broadcaster(fake: &FakeTwitch, helix: &Helix) -> UserToken {
    let (access, refresh) = fake.issue_token(
        BROADCASTER_ID,
        &[
            "channel:manage:broadcast",
            "channel:manage:raids",
            "user:write:chat",
            "user:read:chat",
        ],
        HOUR,
    );
    user_token(helix, &access, &refresh).await
}

/// `(status, message)` of a Helix error answer.
fn helix_error<E: std::error::Error + Send + Sync + 'static>(
    err: &ClientRequestError<E>,
) -> (u16, String) {
    match err {
        ClientRequestError::HelixRequestGetError(helix::HelixRequestGetError::Error {
            status,
            message,
            ..
        })
        | ClientRequestError::HelixRequestPostError(helix::HelixRequestPostError::Error {
            status,
            message,
            ..
        })
        | ClientRequestError::HelixRequestPatchError(helix::HelixRequestPatchError::Error {
            status,
            message,
            ..
        })
        | ClientRequestError::HelixRequestDeleteError(helix::HelixRequestDeleteError::Error {
            status,
            message,
            ..
        }) => (status.as_u16(), message.clone()),
        other => panic!("not a Helix error answer: {other:?}"),
    }
}

#[tokio::test]
async fn validate_builds_a_user_token() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let (access, refresh) = fake.issue_token(BROADCASTER_ID, &["user:write:chat"], HOUR);
    let token = user_token(&helix, &access, &refresh).await;

    assert_eq!(token.login.as_str(), BROADCASTER_LOGIN);
    assert_eq!(token.user_id.as_str(), BROADCASTER_ID);
    assert_eq!(token.client_id().as_str(), CLIENT_ID);
    assert_eq!(token.scopes(), &[Scope::UserWriteChat]);
    assert!(token.expires_in() <= HOUR && token.expires_in() > HOUR - WAIT);
    assert!(!token.never_expires());

    let validate = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth2/validate")
        .expect("validate request recorded");
    assert_eq!(validate.method, "GET");
    assert_eq!(
        validate.authorization.as_deref(),
        Some(&*format!("OAuth {access}"))
    );
    assert_eq!(validate.status, 200);

    // The raw shape: seconds left as an integer, scopes as an array.
    let raw = stream_control::tls::Tls::system()
        .http_client()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}validate", fake.oauth_url()))
        .header("Authorization", format!("OAuth {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(
        raw.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["client_id"], CLIENT_ID);
    assert_eq!(body["login"], BROADCASTER_LOGIN);
    assert_eq!(body["user_id"], BROADCASTER_ID);
    assert_eq!(body["scopes"], serde_json::json!(["user:write:chat"]));
    assert!(body["expires_in"].as_u64().unwrap() > 3590);
}

#[tokio::test]
async fn expired_and_unknown_tokens_are_refused() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;

    fake.expire(token.access_token.as_str());
    let err = UserToken::from_existing(&helix, token.access_token.clone(), None, None)
        .await
        .expect_err("expired token does not validate");
    assert!(
        matches!(err.error, ValidationError::NotAuthorized),
        "{err:?}"
    );

    let err = helix
        .get_user_from_login(BROADCASTER_LOGIN, &token)
        .await
        .expect_err("expired token is refused by Helix");
    assert_eq!(helix_error(&err), (401, "Invalid OAuth token".to_string()));

    let err = UserToken::from_existing(&helix, AccessToken::from("nosuchtoken"), None, None)
        .await
        .expect_err("unknown token does not validate");
    assert!(
        matches!(err.error, ValidationError::NotAuthorized),
        "{err:?}"
    );

    let raw = stream_control::tls::Tls::system()
        .http_client()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}validate", fake.oauth_url()))
        .header("Authorization", "OAuth nosuchtoken")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": 401, "message": "invalid access token"})
    );
}

#[tokio::test]
async fn refresh_mints_a_new_pair_and_consumes_the_old_refresh_token() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let (access, refresh) = fake.issue_token(BROADCASTER_ID, &["user:write:chat"], HOUR);
    let mut token = user_token(&helix, &access, &refresh).await;

    fake.set_refresh_expires_in(Duration::from_secs(7200));
    token.refresh_token(&helix).await.expect("refresh works");
    assert_ne!(token.access_token.as_str(), access);
    let new_refresh = token.refresh_token.clone().expect("a new refresh token");
    assert_ne!(new_refresh.as_str(), refresh);
    let left = token.expires_in();
    assert!(left <= Duration::from_secs(7200) && left > Duration::from_secs(7200) - WAIT);

    let request = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth2/token")
        .expect("token request recorded");
    assert_eq!(request.method, "POST");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(request.body.as_bytes())
        .into_owned()
        .collect();
    for (key, value) in [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ] {
        assert!(
            form.iter().any(|(k, v)| k == key && v == value),
            "{key} missing in {form:?}"
        );
    }

    // The new access token works, with the same scopes.
    let again = user_token(&helix, token.access_token.as_str(), new_refresh.as_str()).await;
    assert_eq!(again.scopes(), &[Scope::UserWriteChat]);

    // The old refresh token is consumed.
    let err = RefreshToken::from(refresh.as_str())
        .refresh_token(&helix, &ClientId::from(CLIENT_ID), None)
        .await
        .expect_err("a used refresh token is refused");
    match err {
        RefreshTokenError::RequestParseError(RequestParseError::TwitchError(e)) => {
            assert_eq!(e.status.as_u16(), 400);
            assert_eq!(e.message, "Invalid refresh token");
        }
        other => panic!("unexpected error {other:?}"),
    }

    // Refresh after expiry: from_existing_or_refresh_token validates (401), refreshes, validates.
    fake.expire(token.access_token.as_str());
    let revived = UserToken::from_existing_or_refresh_token(
        &helix,
        token.access_token.clone(),
        new_refresh,
        ClientId::from(CLIENT_ID),
        ClientSecret::from(CLIENT_SECRET),
    )
    .await
    .expect("refreshes the expired token");
    assert_eq!(revived.user_id.as_str(), BROADCASTER_ID);
}

#[tokio::test]
async fn refresh_failure_answers_400() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;
    let mut token_copy = token.clone();

    fake.fail_refresh(true);
    let err = token_copy
        .refresh_token(&helix)
        .await
        .expect_err("refresh refused");
    match err {
        RefreshTokenError::RequestParseError(RequestParseError::TwitchError(e)) => {
            assert_eq!(e.status.as_u16(), 400);
            assert_eq!(e.message, "Invalid refresh token");
        }
        other => panic!("unexpected error {other:?}"),
    }
    // twitch_oauth2 took the refresh token out before asking.
    assert!(matches!(
        token_copy.refresh_token(&helix).await,
        Err(RefreshTokenError::NoRefreshToken)
    ));

    // A refused refresh does not consume the refresh token: it works once refresh is back.
    fake.fail_refresh(false);
    let mut token = token;
    token
        .refresh_token(&helix)
        .await
        .expect("refresh works again");
    assert_eq!(fake.request_count("/oauth2/token"), 2);
}

#[tokio::test]
async fn device_flow_is_pending_until_approved() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let mut builder = DeviceUserTokenBuilder::new(
        CLIENT_ID,
        vec![Scope::ChannelManageBroadcast, Scope::UserWriteChat],
    );
    let code = builder.start(&helix).await.expect("device code").clone();
    assert_eq!(code.interval, 5);
    assert_eq!(code.expires_in, 1800);
    assert_eq!(code.user_code.len(), 8);
    assert!(code.verification_uri.contains(&code.user_code));
    assert_eq!(fake.pending_user_codes(), vec![code.user_code.clone()]);

    let device_request = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth2/device")
        .expect("device request recorded");
    let params = device_request.query_pairs();
    assert!(params.contains(&("client_id".into(), CLIENT_ID.into())));
    assert!(params.contains(&(
        "scopes".into(),
        "channel:manage:broadcast user:write:chat".into()
    )));

    let pending = builder.try_finish(&helix).await.expect_err("still pending");
    assert!(pending.is_pending(), "{pending:?}");

    assert!(!fake.approve_device("NOPENOPE", BROADCASTER_ID, &[]));
    assert!(fake.approve_device(
        &code.user_code,
        BROADCASTER_ID,
        &["channel:manage:broadcast", "user:write:chat"]
    ));
    let token = builder
        .try_finish(&helix)
        .await
        .expect("token after approval");
    assert_eq!(token.user_id.as_str(), BROADCASTER_ID);
    assert_eq!(token.login.as_str(), BROADCASTER_LOGIN);
    assert_eq!(
        token.scopes(),
        &[Scope::ChannelManageBroadcast, Scope::UserWriteChat]
    );
    assert!(token.refresh_token.is_some());
    let left = token.expires_in();
    assert!(left <= DEFAULT_TOKEN_LIFETIME && left > DEFAULT_TOKEN_LIFETIME - WAIT);

    // The device code is single-use.
    let again = builder.try_finish(&helix).await.expect_err("used code");
    assert!(!again.is_pending());

    // wait_for_code: the user approves while the client waits between polls.
    let mut builder = DeviceUserTokenBuilder::new(CLIENT_ID, vec![Scope::UserReadChat]);
    let user_code = builder.start(&helix).await.unwrap().user_code.clone();
    fake.add_user("2002", "someone", "Someone");
    let waiter = fake.clone();
    let token = tokio::time::timeout(
        WAIT,
        builder.wait_for_code(&helix, move |interval| {
            assert_eq!(interval, Duration::from_secs(5));
            waiter.approve_device(&user_code, "2002", &["user:read:chat"]);
            std::future::ready(())
        }),
    )
    .await
    .expect("in time")
    .expect("token");
    assert_eq!(token.login.as_str(), "someone");
    assert_eq!(token.scopes(), &[Scope::UserReadChat]);
}

#[tokio::test]
async fn channel_patch_changes_title_and_category() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;

    let mut body = helix::channels::ModifyChannelInformationBody::new();
    body.title("Hiking up the hill").game_id("509670");
    let answer = helix
        .req_patch(
            helix::channels::ModifyChannelInformationRequest::broadcaster_id(BROADCASTER_ID),
            body,
            &token,
        )
        .await
        .expect("patch accepted");
    assert_eq!(
        answer.data,
        helix::channels::ModifyChannelInformation::Success
    );
    let channel = fake.channel();
    assert_eq!(channel.title, "Hiking up the hill");
    assert_eq!(channel.game_id, "509670");
    assert_eq!(channel.game_name, "Science & Technology");

    let request = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .expect("patch recorded");
    assert_eq!(request.path, "/helix/channels");
    assert_eq!(request.query, format!("broadcaster_id={BROADCASTER_ID}"));
    assert_eq!(request.status, 204);
    assert_eq!(
        request.json(),
        Some(serde_json::json!({"game_id": "509670", "title": "Hiking up the hill"}))
    );

    let info = helix
        .get_channel_from_id(BROADCASTER_ID, &token)
        .await
        .unwrap()
        .expect("channel");
    assert_eq!(info.title, "Hiking up the hill");
    assert_eq!(info.game_name.as_str(), "Science & Technology");
    assert_eq!(info.broadcaster_login.as_str(), BROADCASTER_LOGIN);

    // Title limit: 140 characters.
    let long = "x".repeat(141);
    let mut body = helix::channels::ModifyChannelInformationBody::new();
    body.title(long.as_str());
    let err = helix
        .req_patch(
            helix::channels::ModifyChannelInformationRequest::broadcaster_id(BROADCASTER_ID),
            body,
            &token,
        )
        .await
        .expect_err("too long");
    assert_eq!(helix_error(&err).0, 400);
    let exact = "y".repeat(140);
    let mut body = helix::channels::ModifyChannelInformationBody::new();
    body.title(exact.as_str());
    helix
        .req_patch(
            helix::channels::ModifyChannelInformationRequest::broadcaster_id(BROADCASTER_ID),
            body,
            &token,
        )
        .await
        .expect("140 characters are fine");
    assert_eq!(fake.channel().title, exact);

    // Unknown category.
    let mut body = helix::channels::ModifyChannelInformationBody::new();
    body.game_id("999999999");
    let err = helix
        .req_patch(
            helix::channels::ModifyChannelInformationRequest::broadcaster_id(BROADCASTER_ID),
            body,
            &token,
        )
        .await
        .expect_err("unknown game");
    assert_eq!(helix_error(&err).0, 400);

    // Missing scope.
    let (access, refresh) = fake.issue_token(BROADCASTER_ID, &["user:write:chat"], HOUR);
    let weak = user_token(&helix, &access, &refresh).await;
    let mut body = helix::channels::ModifyChannelInformationBody::new();
    body.title("nope");
    let err = helix
        .req_patch(
            helix::channels::ModifyChannelInformationRequest::broadcaster_id(BROADCASTER_ID),
            body,
            &weak,
        )
        .await
        .expect_err("missing scope");
    assert_eq!(
        helix_error(&err),
        (401, "Missing scope: channel:manage:broadcast".to_string())
    );
    assert_eq!(fake.channel().title, exact);
}

#[tokio::test]
async fn category_search_and_games() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;

    let found: Vec<helix::search::Category> = helix
        .search_categories("mine", &token)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_str(), "27471");
    assert_eq!(found[0].name, "Minecraft");

    let found: Vec<helix::search::Category> = helix
        .search_categories("CHATTING", &token)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Just Chatting");

    let none: Vec<helix::search::Category> = helix
        .search_categories("zzzz", &token)
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    let request = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/helix/search/categories")
        .unwrap();
    assert_eq!(request.query, "query=mine&first=100");

    // More matches than one page: the client follows the cursor.
    for n in 0..150 {
        fake.add_category(&format!("{}", 800_000 + n), &format!("Retro Game {n}"));
    }
    let many: Vec<helix::search::Category> = helix
        .search_categories("retro game", &token)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(many.len(), 150);
    assert!(fake.request_count("/helix/search/categories") >= 5);

    let ids: &[&twitch_api::types::CategoryIdRef] = &["509658".into(), "498566".into()];
    let ids: twitch_api::types::Collection<'_, twitch_api::types::CategoryId> = ids.into();
    let mut games: Vec<helix::games::Game> = helix
        .get_games_by_id(&ids, &token)
        .try_collect()
        .await
        .unwrap();
    games.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = games.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Just Chatting", "Slots"]);
}

#[tokio::test]
async fn raids() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;
    fake.add_user("2002", "someone", "Someone");

    let raid = helix
        .start_a_raid(BROADCASTER_ID, "2002", &token)
        .await
        .expect("raid started");
    assert!(format!("{raid:?}").contains("is_mature: false"));
    assert_eq!(
        fake.raids(),
        vec![(BROADCASTER_ID.to_string(), "2002".to_string())]
    );
    let request = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/helix/raids")
        .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.query,
        format!("from_broadcaster_id={BROADCASTER_ID}&to_broadcaster_id=2002")
    );

    helix
        .cancel_a_raid(BROADCASTER_ID, &token)
        .await
        .expect("raid cancelled");
    let err = helix
        .cancel_a_raid(BROADCASTER_ID, &token)
        .await
        .expect_err("nothing to cancel");
    assert_eq!(helix_error(&err).0, 404);

    let err = helix
        .start_a_raid(BROADCASTER_ID, BROADCASTER_ID, &token)
        .await
        .expect_err("self raid");
    assert_eq!(helix_error(&err).0, 400);
    let err = helix
        .start_a_raid(BROADCASTER_ID, "777777", &token)
        .await
        .expect_err("unknown target");
    assert_eq!(
        helix_error(&err),
        (404, "The targeted channel was not found.".to_string())
    );

    let (access, refresh) = fake.issue_token(BROADCASTER_ID, &["user:write:chat"], HOUR);
    let weak = user_token(&helix, &access, &refresh).await;
    let err = helix
        .start_a_raid(BROADCASTER_ID, "2002", &weak)
        .await
        .expect_err("missing scope");
    assert_eq!(
        helix_error(&err),
        (401, "Missing scope: channel:manage:raids".to_string())
    );
    assert_eq!(fake.raids().len(), 1);
}

#[tokio::test]
async fn chat_messages_are_recorded_and_awaitable() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;

    assert!(
        fake.wait_for_chat(0, Duration::from_millis(50))
            .await
            .is_none()
    );

    // wait_for_chat wakes up when the message arrives.
    let waiter = {
        let fake = fake.clone();
        tokio::spawn(async move { fake.wait_for_chat(0, WAIT).await })
    };
    let sent = helix
        .send_chat_message(BROADCASTER_ID, BROADCASTER_ID, "Hello chat", &token)
        .await
        .expect("sent");
    assert!(sent.is_sent);
    assert!(sent.drop_reason.is_none());
    let message_id = sent.message_id.clone().expect("message id");
    let got = waiter.await.unwrap().expect("message seen");
    assert_eq!(got.message, "Hello chat");
    assert_eq!(got.broadcaster_id, BROADCASTER_ID);
    assert_eq!(got.sender_id, BROADCASTER_ID);
    assert_eq!(got.token_user_id, BROADCASTER_ID);
    assert_eq!(got.reply_parent_message_id, None);
    assert_eq!(got.message_id, message_id.as_str());

    helix
        .send_chat_message_reply(BROADCASTER_ID, BROADCASTER_ID, "abc-123", "a reply", &token)
        .await
        .expect("reply sent");
    let reply = fake.wait_for_chat(1, WAIT).await.expect("second message");
    assert_eq!(reply.reply_parent_message_id.as_deref(), Some("abc-123"));
    assert_eq!(fake.chat_messages().len(), 2);

    let request = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/helix/chat/messages")
        .unwrap();
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        request.json(),
        Some(serde_json::json!({
            "broadcaster_id": BROADCASTER_ID,
            "sender_id": BROADCASTER_ID,
            "message": "Hello chat",
        }))
    );

    let long = "é".repeat(501);
    let err = helix
        .send_chat_message(BROADCASTER_ID, BROADCASTER_ID, long.as_str(), &token)
        .await
        .expect_err("too long");
    assert_eq!(helix_error(&err).0, 400);
    let exact = "é".repeat(500);
    helix
        .send_chat_message(BROADCASTER_ID, BROADCASTER_ID, exact.as_str(), &token)
        .await
        .expect("500 characters are fine");

    let err = helix
        .send_chat_message(BROADCASTER_ID, "2002", "spoof", &token)
        .await
        .expect_err("sender must be the token's user");
    assert_eq!(helix_error(&err).0, 401);

    let (access, refresh) = fake.issue_token(BROADCASTER_ID, &["channel:manage:raids"], HOUR);
    let weak = user_token(&helix, &access, &refresh).await;
    let err = helix
        .send_chat_message(BROADCASTER_ID, BROADCASTER_ID, "hi", &weak)
        .await
        .expect_err("missing scope");
    assert_eq!(
        helix_error(&err),
        (401, "Missing scope: user:write:chat".to_string())
    );
    assert_eq!(fake.chat_messages().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_repeat_of_the_previous_message_within_30_s_is_dropped() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;
    let send = |text: &'static str| {
        let helix = &helix;
        let token = &token;
        async move {
            helix
                .send_chat_message(BROADCASTER_ID, BROADCASTER_ID, text, token)
                .await
                .expect("answered")
        }
    };
    assert!(send("Switched to BRB.").await.is_sent);
    let dropped = send("Switched to BRB.").await;
    assert!(!dropped.is_sent);
    let reason = dropped.drop_reason.expect("a drop reason");
    assert_eq!(
        reason.code,
        helix::chat::send_chat_message::ChatMessageDropCode::MsgDuplicate
    );
    // Only the previous message counts; another text in between makes it new again.
    assert!(send("Switched to LIVE.").await.is_sent);
    assert!(send("Switched to BRB.").await.is_sent);
    // 30 s later the same text is new again.
    tokio::time::advance(support::fake_twitch::DUPLICATE_WINDOW).await;
    assert!(send("Switched to BRB.").await.is_sent);
    assert_eq!(fake.chat_messages().len(), 4);
    assert_eq!(fake.dropped_chat_messages().len(), 1);
}

/// Opens a raw EventSub websocket on the EventSub fake and returns it with the session id of
/// its welcome (parsed by twitch_api, as the product does).
async fn eventsub_session(eventsub: &FakeEventSub) -> (EventSubSocket, String) {
    let (mut socket, _) =
        tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(eventsub.url()))
            .await
            .expect("connect in time")
            .expect("websocket connects");
    let frame = tokio::time::timeout(WAIT, socket.next())
        .await
        .expect("welcome in time")
        .expect("socket open")
        .expect("frame");
    let text = frame.into_text().expect("text frame");
    let session = match eventsub::Event::parse_websocket(&text).expect("welcome parses") {
        eventsub::EventsubWebsocketData::Welcome { payload, .. } => payload.session.id.to_string(),
        other => panic!("expected a welcome, got {other:?}"),
    };
    (socket, session)
}

type EventSubSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[tokio::test]
async fn eventsub_websocket_subscriptions_go_through_the_eventsub_fake() {
    let eventsub = FakeEventSub::start().await;
    let (_socket, session) = eventsub_session(&eventsub).await;
    let fake = FakeTwitch::start(Some(eventsub.clone())).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;

    let created = helix
        .create_eventsub_subscription(
            eventsub::channel::ChannelRaidV1::to_broadcaster_user_id(BROADCASTER_ID),
            Transport::websocket(&session),
            &token,
        )
        .await
        .expect("raid subscription created");
    assert_eq!(created.status, eventsub::Status::Enabled);
    assert_eq!(created.total, 1);
    assert_eq!(created.total_cost, 0);
    assert_eq!(created.max_total_cost, 10);
    assert_eq!(
        created
            .condition
            .to_broadcaster_user_id
            .as_ref()
            .map(|u| u.as_str()),
        Some(BROADCASTER_ID)
    );
    match &created.transport {
        eventsub::TransportResponse::Websocket(ws) => assert_eq!(ws.session_id, session),
        other => panic!("unexpected transport {other:?}"),
    }
    let request = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/helix/eventsub/subscriptions")
        .unwrap();
    assert_eq!(request.status, 202);
    let body = request.json().unwrap();
    assert_eq!(body["type"], "channel.raid");
    assert_eq!(body["version"], "1");
    assert_eq!(body["transport"]["method"], "websocket");
    assert_eq!(body["transport"]["session_id"], session.as_str());
    assert!(
        eventsub
            .wait_for_subscription("channel.raid", WAIT)
            .await
            .is_some()
    );

    let chat = helix
        .create_eventsub_subscription(
            eventsub::channel::ChannelChatMessageV1::new(BROADCASTER_ID, BROADCASTER_ID),
            Transport::websocket(&session),
            &token,
        )
        .await
        .expect("chat subscription created");
    assert_eq!(chat.total, 2);

    // The EventSub fake's refusals come back with their status.
    let err = helix
        .create_eventsub_subscription(
            eventsub::channel::ChannelRaidV1::to_broadcaster_user_id(BROADCASTER_ID),
            Transport::websocket(&session),
            &token,
        )
        .await
        .expect_err("duplicate");
    assert_eq!(
        helix_error(&err),
        (409, "subscription already exists".to_string())
    );
    let err = helix
        .create_eventsub_subscription(
            eventsub::channel::ChannelRaidV1::from_broadcaster_user_id(BROADCASTER_ID),
            Transport::websocket("nosuchsession"),
            &token,
        )
        .await
        .expect_err("unknown session");
    assert_eq!(helix_error(&err).0, 400);

    // channel.chat.message needs user:read:chat.
    let (access, refresh) = fake.issue_token(BROADCASTER_ID, &["user:write:chat"], HOUR);
    let weak = user_token(&helix, &access, &refresh).await;
    let err = helix
        .create_eventsub_subscription(
            eventsub::channel::ChannelChatMessageV1::new(BROADCASTER_ID, "2002"),
            Transport::websocket(&session),
            &weak,
        )
        .await
        .expect_err("missing scope");
    assert_eq!(
        helix_error(&err),
        (403, "subscription missing proper authorization".to_string())
    );

    let listed: Vec<helix::eventsub::EventSubSubscriptions> = helix
        .get_eventsub_subscriptions(None, None, None, &token)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].total, 2);
    assert_eq!(listed[0].max_total_cost, 10);
    let types: Vec<String> = listed[0]
        .subscriptions
        .iter()
        .map(|s| s.type_.to_string())
        .collect();
    assert_eq!(types, ["channel.raid", "channel.chat.message"]);
    assert_eq!(fake.eventsub_subscriptions().len(), 2);

    // Deleting goes to the EventSub fake too.
    helix
        .delete_eventsub_subscription(created.id.as_str(), &token)
        .await
        .expect("deleted");
    let err = helix
        .delete_eventsub_subscription(created.id.as_str(), &token)
        .await
        .expect_err("already deleted");
    assert_eq!(helix_error(&err).0, 404);
    let remaining: Vec<String> = eventsub
        .subscriptions()
        .iter()
        .map(|s| s["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(remaining, ["channel.chat.message"]);

    // A revoked subscription disappears from the list.
    eventsub.revoke("channel.chat.message", "authorization_revoked");
    let listed: Vec<helix::eventsub::EventSubSubscriptions> = helix
        .get_eventsub_subscriptions(None, None, None, &token)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed[0].total, 0);
    assert!(listed[0].subscriptions.is_empty());
}

#[tokio::test]
async fn eventsub_without_an_eventsub_fake_is_refused() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;
    let err = helix
        .create_eventsub_subscription(
            eventsub::channel::ChannelRaidV1::to_broadcaster_user_id(BROADCASTER_ID),
            Transport::websocket("whatever"),
            &token,
        )
        .await
        .expect_err("no session can exist");
    assert_eq!(helix_error(&err).0, 400);
}

#[tokio::test]
async fn wrong_client_id_and_missing_token_answer_401() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let (access, refresh) = fake.issue_token(BROADCASTER_ID, &[], HOUR);
    let token = UserToken::from_existing_unchecked(
        AccessToken::from(access.as_str()),
        RefreshToken::from(refresh.as_str()),
        ClientId::from("someotherclientid"),
        None,
        BROADCASTER_LOGIN.into(),
        BROADCASTER_ID.into(),
        None,
        None,
    );
    let err = helix
        .get_user_from_login(BROADCASTER_LOGIN, &token)
        .await
        .expect_err("client id mismatch");
    assert_eq!(
        helix_error(&err),
        (401, "Client ID and OAuth token do not match".to_string())
    );
    let request = fake.requests().pop().unwrap();
    assert_eq!(request.client_id.as_deref(), Some("someotherclientid"));
    assert_eq!(request.status, 401);

    let raw = stream_control::tls::Tls::system()
        .http_client()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}users?login=streamer", fake.helix_url()))
        .header("Client-Id", CLIENT_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": "Unauthorized", "status": 401, "message": "OAuth token is missing"})
    );
}

#[tokio::test]
async fn revoked_tokens_stop_working() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;
    token
        .access_token
        .revoke_token(&helix, &ClientId::from(CLIENT_ID))
        .await
        .expect("revoked");
    let err = helix
        .get_user_from_login(BROADCASTER_LOGIN, &token)
        .await
        .expect_err("revoked token");
    assert_eq!(helix_error(&err).0, 401);
}

#[tokio::test]
async fn rate_limited_calls_answer_429_with_headers() {
    let fake = FakeTwitch::start(None).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;

    fake.rate_limit_next(2, Duration::from_secs(30));
    let err = helix
        .get_user_from_login(BROADCASTER_LOGIN, &token)
        .await
        .expect_err("rate limited");
    assert_eq!(helix_error(&err), (429, "Too Many Requests".to_string()));

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let raw = stream_control::tls::Tls::system()
        .http_client()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}users?login=streamer", fake.helix_url()))
        .header("Client-Id", CLIENT_ID)
        .header(
            "Authorization",
            format!("Bearer {}", token.access_token.as_str()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 429);
    let header = |name: &str| {
        raw.headers()[name]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(header("ratelimit-limit"), 800);
    assert_eq!(header("ratelimit-remaining"), 0);
    let reset = header("ratelimit-reset");
    assert!(
        reset >= now + 29 && reset <= now + 32,
        "reset {reset} now {now}"
    );

    // The third call goes through, with the headers of a healthy bucket.
    let user = helix
        .get_user_from_login(BROADCASTER_LOGIN, &token)
        .await
        .expect("no longer limited");
    assert!(user.is_some());
    let statuses: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/helix/users")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 429, 200]);
    assert_eq!(fake.request_count("/helix/"), 3);
}

#[tokio::test]
async fn eventsub_websocket_limits_answer_429_with_twitchs_messages() {
    let eventsub = FakeEventSub::start().await;
    let fake = FakeTwitch::start(Some(eventsub.clone())).await;
    let helix = helix_for(&fake);
    let token = broadcaster(&fake, &helix).await;
    let client = reqwest::Client::new();
    let create = |session: String, to: u64| {
        client
            .post(format!("{}eventsub/subscriptions", fake.helix_url()))
            .header("Client-Id", support::fake_twitch::CLIENT_ID)
            .bearer_auth(token.access_token.secret())
            .json(&serde_json::json!({
                "type": "channel.raid", "version": "1",
                "condition": {"to_broadcaster_user_id": to.to_string()},
                "transport": {"method": "websocket", "session_id": session},
            }))
            .send()
    };
    let answer = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        (status, body["message"].as_str().unwrap_or("").to_string())
    };
    // 300 subscriptions on one socket; the 301st is refused.
    let (_first, session) = eventsub_session(&eventsub).await;
    for to in 0..support::fake_twitch::SUBSCRIPTIONS_PER_WEBSOCKET as u64 {
        let (status, message) = answer(create(session.clone(), to).await.unwrap()).await;
        assert_eq!(status, 202, "{to}: {message}");
    }
    assert_eq!(
        answer(create(session.clone(), 999).await.unwrap()).await,
        (
            429,
            "websocket transport subscriptions limit exceeded".to_string()
        )
    );
    // Three sessions with subscriptions; the 4th is refused, until one of the others ends.
    let (_second, two) = eventsub_session(&eventsub).await;
    let (third, three) = eventsub_session(&eventsub).await;
    for session in [&two, &three] {
        assert_eq!(
            answer(create(session.clone(), 1).await.unwrap()).await.0,
            202
        );
    }
    let (_fourth, four) = eventsub_session(&eventsub).await;
    assert_eq!(
        answer(create(four.clone(), 1).await.unwrap()).await,
        (
            429,
            "number of websocket transports limit exceeded".to_string()
        )
    );
    drop(third);
    assert!(eventsub.wait_for_connections(3, WAIT).await);
    assert_eq!(answer(create(four, 1).await.unwrap()).await.0, 202);
}
