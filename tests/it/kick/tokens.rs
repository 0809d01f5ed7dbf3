//! The token holder: refresh before expiry with rotation, the new pair stored before use, one
//! refresh at a time, a dropped caller losing nothing, a refused refresh being final, and a 401
//! on an API call refreshing once and retrying once.

use super::{Rig, TWO_HOURS};
use std::time::Duration;
use stream_control::kick::KickError;
use stream_control::kick::auth::{self, Account, REFRESH_BEFORE};
use stream_control_test_support::fake_kick;

/// A token with less than [`REFRESH_BEFORE`] left.
const SOON: Duration = Duration::from_secs(60);

#[tokio::test]
async fn an_expiring_token_is_refreshed_stored_before_use_and_the_old_refresh_token_dies() {
    let rig = Rig::new().await;
    assert!(SOON < REFRESH_BEFORE);
    let (old_access, old_refresh) = rig.sign_in_broadcaster(SOON);
    let tokens = rig.tokens(Account::Broadcaster);
    let fresh = tokens.access().await.unwrap();
    assert_ne!(fresh.access_token, old_access);
    assert_ne!(
        fresh.refresh_token, old_refresh,
        "Kick rotates the refresh token"
    );
    // Stored: the file holds exactly what was handed out, with the account kept.
    assert_eq!(rig.stored(Account::Broadcaster), Some(fresh.clone()));
    assert_eq!(fresh.user_id, Some(fake_kick::BROADCASTER_ID));
    assert_eq!(fresh.scopes, auth::SCOPES);
    assert!(fresh.expires_in() > Duration::from_secs(7000));
    assert!(
        !rig.kick.refresh_usable(&old_refresh),
        "rotation: the old one is spent"
    );
    assert!(rig.kick.refresh_usable(&fresh.refresh_token));
    let form = rig.kick.requests_to("/oauth/token")[0].form();
    assert!(form.contains(&("grant_type".into(), "refresh_token".into())));
    assert!(form.contains(&("refresh_token".into(), old_refresh)));
    // A fresh token is used as it is: no second refresh.
    assert_eq!(tokens.access().await.unwrap(), fresh);
    assert_eq!(rig.kick.requests_to("/oauth/token").len(), 1);
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(SOON);
    let tokens = rig.tokens(Account::Broadcaster);
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.access().await })
        })
        .collect();
    let mut seen = Vec::new();
    for call in calls {
        seen.push(call.await.unwrap().unwrap().access_token);
    }
    seen.dedup();
    assert_eq!(seen.len(), 1, "every caller got the one refreshed token");
    assert_eq!(rig.kick.requests_to("/oauth/token").len(), 1);
    assert!(rig.kick.refusals().is_empty(), "{:?}", rig.kick.refusals());
}

#[tokio::test]
async fn a_caller_dropped_between_kicks_answer_and_the_write_loses_nothing() {
    let rig = Rig::new().await;
    let (_, old_refresh) = rig.sign_in_broadcaster(SOON);
    let tokens = rig.tokens(Account::Broadcaster);
    rig.kick.hold_token_answers();
    let caller = {
        let tokens = tokens.clone();
        tokio::spawn(async move { tokens.access().await })
    };
    // Kick has rotated (the old refresh token is spent); its answer is on the way.
    rig.kick.wait_for_token_requests(1).await;
    assert!(!rig.kick.refresh_usable(&old_refresh));
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    rig.kick.release_token_answers();
    // The refresh went on without its caller: the next caller gets the stored new pair.
    let fresh = tokens.access().await.unwrap();
    assert_eq!(rig.stored(Account::Broadcaster), Some(fresh.clone()));
    assert!(rig.kick.refresh_usable(&fresh.refresh_token));
    assert!(rig.kick.is_active(&fresh.access_token));
    assert_eq!(rig.kick.requests_to("/oauth/token").len(), 1);
}

#[tokio::test]
async fn a_refused_refresh_means_log_in_again_and_is_not_retried() {
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(SOON);
    rig.kick.revoke(fake_kick::BROADCASTER_ID);
    let tokens = rig.tokens(Account::Broadcaster);
    for _ in 0..3 {
        let error = tokens.access().await.unwrap_err();
        assert!(
            matches!(error, KickError::LoginRequired { bot: false, .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("`stream-control kick login`"),
            "{error}"
        );
        assert!(error.needs_login());
    }
    assert_eq!(
        rig.kick.requests_to("/oauth/token").len(),
        1,
        "asked once, then remembered"
    );
    // A new login (another refresh token in the file) lifts it.
    rig.sign_in_broadcaster(TWO_HOURS);
    assert!(tokens.access().await.is_ok());
}

#[tokio::test]
async fn not_logged_in_and_no_credentials_are_clear() {
    let rig = Rig::new().await;
    let error = rig.tokens(Account::Bot).access().await.unwrap_err();
    assert_eq!(error, KickError::NotLoggedIn { bot: true });
    assert!(error.to_string().contains("kick login --bot"), "{error}");
    // A token that needs a refresh without the application's credentials.
    rig.sign_in_broadcaster(SOON);
    let config = rig.config("");
    let kick = stream_control::kick::Kick::new(
        config.kick.clone().unwrap(),
        "!",
        &stream_control::secrets::Secrets::default(),
        rig.state(),
        stream_control::secrets::Redactor::default(),
        &stream_control::tls::Tls::new(&config.tls).unwrap(),
    );
    let error = kick
        .tokens(Account::Broadcaster)
        .access()
        .await
        .unwrap_err();
    assert_eq!(error, KickError::NoCredentials);
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries_once() {
    let rig = Rig::new().await;
    let (access, _) = rig.sign_in_broadcaster(TWO_HOURS);
    // The file says two hours, Kick says expired (revoked early, a clock off).
    rig.kick.expire(&access);
    // As the application's bot: the chat message is the first call.
    let kick = rig.product("send_as: Bot");
    let sent = kick.send_chat("hello", None).await.unwrap().unwrap();
    assert!(sent.is_sent);
    let chats = rig.kick.requests_to("/public/v1/chat");
    assert_eq!(
        chats.iter().map(|r| r.status).collect::<Vec<_>>(),
        [401, 200]
    );
    assert_eq!(rig.kick.requests_to("/oauth/token").len(), 1);
    let stored = rig.stored(Account::Broadcaster).unwrap();
    assert_eq!(
        chats[1].authorization.as_deref(),
        Some(format!("Bearer {}", stored.access_token).as_str())
    );
}

#[tokio::test]
async fn a_401_whose_refresh_is_refused_stops_there() {
    let rig = Rig::new().await;
    let (access, _) = rig.sign_in_broadcaster(TWO_HOURS);
    rig.kick.revoke(fake_kick::BROADCASTER_ID);
    let kick = rig.product("send_as: Broadcaster");
    // The channel lookup comes first: 401, one refresh (refused), no more.
    let error = kick.send_chat("hello", None).await.unwrap_err();
    assert!(matches!(error, KickError::LoginRequired { .. }), "{error}");
    let error = kick.send_chat("hello", None).await.unwrap_err();
    assert!(matches!(error, KickError::LoginRequired { .. }), "{error}");
    assert_eq!(rig.kick.requests_to("/oauth/token").len(), 1);
    assert_eq!(rig.kick.requests_to("/public/v1/chat").len(), 0);
    assert!(!rig.kick.is_active(&access));
}

/// `Tokens::maintain` (the task the wiring runs): refreshed ahead of expiry while idle; a
/// refused refresh is not asked again until a new login is stored. The clock is paused to
/// reach each due time and runs again while Kick is asked (a paused clock would move past the
/// request timeouts while the answer is on its way).
#[tokio::test(start_paused = true)]
async fn an_idle_token_is_kept_fresh_and_a_refused_one_waits_for_a_login() {
    let rig = Rig::new().await;
    let (old_access, _) = rig.sign_in_broadcaster(TWO_HOURS);
    let tokens = rig.tokens(Account::Broadcaster);
    let mut outcomes = tokens.outcomes();
    let cancel = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn({
        let tokens = tokens.clone();
        let cancel = cancel.clone();
        async move { tokens.maintain(cancel).await }
    });
    // Not before it is due (five minutes before expiry); then at once.
    let due = TWO_HOURS - REFRESH_BEFORE;
    tokio::time::sleep(due - Duration::from_secs(60)).await;
    assert!(rig.kick.requests_to("/oauth/token").is_empty());
    tokio::time::advance(Duration::from_secs(61)).await;
    tokio::time::resume();
    outcomes.changed().await.unwrap();
    let fresh = rig.stored(Account::Broadcaster).unwrap();
    assert_ne!(fresh.access_token, old_access);
    assert!(rig.kick.is_active(&fresh.access_token));
    // Revoked: the next refresh is refused, then Kick is not asked again, however long.
    rig.kick.revoke(fake_kick::BROADCASTER_ID);
    tokio::time::pause();
    tokio::time::advance(TWO_HOURS).await;
    tokio::time::resume();
    outcomes.changed().await.unwrap();
    assert_eq!(rig.kick.requests_to("/oauth/token").len(), 2);
    tokio::time::pause();
    tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    assert_eq!(rig.kick.requests_to("/oauth/token").len(), 2);
    // A new login is picked up (the file is read again) and kept fresh in turn.
    let (login, _) = rig.sign_in_broadcaster(Duration::from_secs(120));
    tokio::time::advance(auth::FILE_POLL).await;
    tokio::time::resume();
    outcomes.changed().await.unwrap();
    let stored = rig.stored(Account::Broadcaster).unwrap();
    assert_ne!(stored.access_token, login);
    assert!(rig.kick.is_active(&stored.access_token));
    cancel.cancel();
    task.await.unwrap();
}
