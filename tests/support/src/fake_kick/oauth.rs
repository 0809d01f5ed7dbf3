//! Kick's OAuth server, faked: authorize (auto-approved by the configured user), the token
//! endpoint (authorization code with PKCE, refresh with rotation), introspection. Each
//! refusal cites the rule it enforces.

use super::{Code, FakeKick, Incoming, Refresh, Reply, Shared, State, Token, lock, refuse};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::time::Instant;

/// Issue a token pair for `user_id`.
pub(crate) fn mint_pair(
    shared: &Shared,
    state: &mut State,
    user_id: u64,
    scopes: Vec<String>,
    expires_in: Duration,
) -> (String, String) {
    let access = FakeKick::next_id(shared, "kick-access");
    let refresh = FakeKick::next_id(shared, "kick-refresh");
    state.tokens.insert(
        access.clone(),
        Token {
            user_id,
            scopes: scopes.clone(),
            expires_at: Instant::now() + expires_in,
        },
    );
    state.refresh_tokens.insert(
        refresh.clone(),
        Refresh {
            user_id,
            scopes,
            used: false,
        },
    );
    (access, refresh)
}

/// RFC 7636 §4.1: `code_verifier = 43*128unreserved`, unreserved = ALPHA / DIGIT / "-" / "." /
/// "_" / "~".
fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

/// `GET /oauth/authorize`: the consent page, approved at once by [`FakeKick::approve_as`]'s
/// user. Refusals are 400 `{"error":"Invalid request"}` (the OAuth page's 400 tab).
pub(crate) fn authorize(shared: &Shared, req: &Incoming<'_>) -> Reply {
    let mut guard = lock(shared);
    let state: &mut State = &mut guard;
    let refuse_with = |state: &mut State, reason: &str| {
        refuse(state, format!("authorize: {reason}"));
        Reply::oauth_error(StatusCode::BAD_REQUEST)
    };
    // Every parameter the OAuth page marks required: client_id, response_type, redirect_uri,
    // state ("Yes (at the moment)"), scope, code_challenge, code_challenge_method.
    for key in [
        "client_id",
        "response_type",
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
        "code_challenge_method",
    ] {
        if req.query(key).is_none_or(str::is_empty) {
            return refuse_with(
                state,
                &format!("{key} missing (required by Kick's OAuth page)"),
            );
        }
    }
    let query = |key: &str| req.query(key).unwrap_or_default().to_string();
    // An unknown client: RFC 6749 §4.1.2.1, the server "MUST NOT automatically redirect".
    if query("client_id") != super::CLIENT_ID {
        return refuse_with(state, "unknown client_id (RFC 6749 §4.1.2.1)");
    }
    // `response_type`: `code` (OAuth page).
    if query("response_type") != "code" {
        return refuse_with(state, "response_type is not `code` (Kick's OAuth page)");
    }
    // The redirect URI must match a registered one exactly (OAuth 2.1 §2.3.1 "exact string
    // matching"; Kick's page: "the redirect URI needs to match exactly to your callback URL").
    let redirect_uri = query("redirect_uri");
    if !state.redirect_uris.contains(&redirect_uri) {
        return refuse_with(
            state,
            "redirect_uri is not registered (exact match: OAuth 2.1 §2.3.1)",
        );
    }
    // Kick takes only S256 (OAuth page: `code_challenge_method` = `S256`; RFC 7636 §4.3).
    if query("code_challenge_method") != "S256" {
        return refuse_with(
            state,
            "code_challenge_method is not S256 (Kick's OAuth page; RFC 7636 §4.3)",
        );
    }
    // S256's challenge is BASE64URL(SHA256(verifier)) without padding: 43 characters (RFC 7636
    // §4.2).
    let challenge = query("code_challenge");
    if challenge.len() != 43 || URL_SAFE_NO_PAD.decode(&challenge).is_err() {
        return refuse_with(
            state,
            "code_challenge is not a base64url SHA-256 (RFC 7636 §4.2)",
        );
    }
    let client_state = query("state");
    if let Some(error) = state.deny_next.take() {
        // The user said no: RFC 6749 §4.1.2.1, `error` and the client's `state`.
        let location = with_query(
            &redirect_uri,
            &[("error", &error), ("state", &client_state)],
        );
        return Reply::redirect(location);
    }
    let asked: Vec<String> = query("scope")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let scopes = state.grant_only.clone().unwrap_or(asked);
    let code = FakeKick::next_id(shared, "kick-code");
    let user_id = state.approver;
    state.codes.insert(
        code.clone(),
        Code {
            user_id,
            scopes,
            challenge,
            redirect_uri: redirect_uri.clone(),
            expires_at: Instant::now() + super::CODE_LIFETIME,
            used: false,
        },
    );
    let location = with_query(&redirect_uri, &[("code", &code), ("state", &client_state)]);
    Reply::redirect(location)
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}?{query}")
}

/// `POST /oauth/token`: `authorization_code` and `refresh_token` grants.
pub(crate) fn token(shared: &Shared, req: &Incoming<'_>) -> Reply {
    let mut guard = lock(shared);
    let state: &mut State = &mut guard;
    // The OAuth page: `Content-Type: application/x-www-form-urlencoded`, required.
    if !req
        .content_type()
        .starts_with("application/x-www-form-urlencoded")
    {
        refuse(
            state,
            "token: not a form body (Kick's OAuth page: Content-Type)",
        );
        return Reply::oauth_error(StatusCode::BAD_REQUEST);
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(req.body).into_owned().collect();
    let get = |key: &str| {
        form.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // Client authentication: both client_id and client_secret are required by every grant on
    // the OAuth page; a wrong one is `invalid_client`, 401 (RFC 6749 §5.2).
    if get("client_id") != super::CLIENT_ID || get("client_secret") != super::CLIENT_SECRET {
        refuse(
            state,
            "token: unknown client or wrong secret (RFC 6749 §5.2 invalid_client)",
        );
        return Reply::oauth_error(StatusCode::UNAUTHORIZED);
    }
    match get("grant_type").as_str() {
        "authorization_code" => exchange(shared, state, &get),
        "refresh_token" => refresh(shared, state, &get("refresh_token")),
        _ => {
            refuse(state, "token: unsupported grant_type (RFC 6749 §5.2)");
            Reply::oauth_error(StatusCode::BAD_REQUEST)
        }
    }
}

/// A new pair for `user_id`, answered as the OAuth page's 200 shows it.
fn grant(shared: &Shared, state: &mut State, user_id: u64, scopes: Vec<String>) -> Reply {
    let (access, refresh) = mint_pair(
        shared,
        state,
        user_id,
        scopes.clone(),
        super::TOKEN_LIFETIME,
    );
    token_answer(&access, &refresh, &scopes)
}

fn token_answer(access: &str, refresh: &str, scopes: &[String]) -> Reply {
    // The OAuth page's 200: access_token, token_type, refresh_token, expires_in, scope.
    Reply::json(
        StatusCode::OK,
        json!({
            "access_token": access,
            "token_type": "Bearer",
            "refresh_token": refresh,
            "expires_in": super::TOKEN_LIFETIME.as_secs(),
            "scope": scopes.join(" "),
        }),
    )
}

fn exchange(shared: &Shared, state: &mut State, get: &dyn Fn(&str) -> String) -> Reply {
    let code_value = get("code");
    let invalid = |state: &mut State, reason: &str| {
        refuse(state, format!("token: {reason}"));
        Reply::oauth_error(StatusCode::BAD_REQUEST)
    };
    // Each use marks the code used, refused or not.
    let Some(code) = state.codes.get_mut(&code_value).map(|code| {
        let seen = Code {
            user_id: code.user_id,
            scopes: code.scopes.clone(),
            challenge: code.challenge.clone(),
            redirect_uri: code.redirect_uri.clone(),
            expires_at: code.expires_at,
            used: code.used,
        };
        code.used = true;
        seen
    }) else {
        return invalid(state, "unknown code (RFC 6749 §5.2 invalid_grant)");
    };
    // Single use: "The client MUST NOT use the authorization code more than once" and the
    // server refuses a second use (RFC 6749 §4.1.2; OAuth 2.1 §4.1.3).
    if code.used {
        return invalid(state, "code already used (RFC 6749 §4.1.2)");
    }
    // Short-lived (RFC 6749 §4.1.2: at most 10 minutes recommended).
    if code.expires_at <= Instant::now() {
        return invalid(state, "code expired (RFC 6749 §4.1.2)");
    }
    // The same redirect_uri as the authorization request (RFC 6749 §4.1.3; required by Kick's
    // token endpoint).
    if get("redirect_uri") != code.redirect_uri {
        return invalid(
            state,
            "redirect_uri differs from the authorization request (RFC 6749 §4.1.3)",
        );
    }
    // PKCE: the verifier is required (Kick's token endpoint; RFC 7636 §4.5) and well-formed
    // (§4.1), and BASE64URL(SHA256(verifier)) must equal the challenge (§4.6).
    let verifier = get("code_verifier");
    if verifier.is_empty() {
        return invalid(state, "code_verifier missing (RFC 7636 §4.5)");
    }
    if !valid_verifier(&verifier) {
        return invalid(
            state,
            "code_verifier is not 43-128 unreserved characters (RFC 7636 §4.1)",
        );
    }
    let derived = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if derived != code.challenge {
        return invalid(
            state,
            "code_verifier does not match the code_challenge (RFC 7636 §4.6)",
        );
    }
    grant(shared, state, code.user_id, code.scopes)
}

fn refresh(shared: &Shared, state: &mut State, refresh_token: &str) -> Reply {
    let Some(old) = state.refresh_tokens.get_mut(refresh_token).map(|old| {
        let seen = (old.used, old.user_id, old.scopes.clone());
        old.used = true;
        seen
    }) else {
        refuse(
            state,
            "token: unknown refresh token (RFC 6749 §5.2 invalid_grant)",
        );
        return Reply::oauth_error(StatusCode::BAD_REQUEST);
    };
    // Rotation: every refresh answers a new refresh token (the OAuth page: "refresh both access
    // and refresh codes"), and the old one is refused from then on (OAuth 2.1 §4.3.1 refresh
    // token rotation). Stricter than Kick since 25/11/2025 ("Made refresh tokens
    // reusable/flexible", README changelog, PR #291, after issue #52), on purpose: the bot
    // must not depend on a grace Kick does not quantify.
    let (used, user_id, scopes) = old;
    if used {
        refuse(
            state,
            "token: refresh token already used (rotation: OAuth 2.1 §4.3.1)",
        );
        return Reply::oauth_error(StatusCode::BAD_REQUEST);
    }
    grant(shared, state, user_id, scopes)
}

/// The access token of a request, if Kick would take it: issued here, not expired, not
/// revoked. Otherwise 401 `{"data":{},"message":"Unauthorized"}` (KickDevDocs issue #253).
pub(crate) fn authorized(
    state: &mut State,
    req: &Incoming<'_>,
    what: &str,
) -> Result<(String, u64, Vec<String>), Reply> {
    let unauthorized = |state: &mut State, reason: &str| {
        refuse(state, format!("{what}: {reason}"));
        Reply::api_error(StatusCode::UNAUTHORIZED, json!({}), "Unauthorized")
    };
    let Some(access) = req.bearer() else {
        return Err(unauthorized(state, "no bearer token"));
    };
    let found = state
        .tokens
        .get(access)
        .map(|t| (t.expires_at > Instant::now(), t.user_id, t.scopes.clone()));
    match found {
        Some((true, user_id, scopes)) => Ok((access.to_string(), user_id, scopes)),
        Some((false, ..)) => Err(unauthorized(state, "access token expired")),
        None => Err(unauthorized(state, "unknown access token")),
    }
}

/// `POST /oauth/token/introspect` (the OAuth page, "Token Introspect Endpoint"): the bearer
/// token's `active`, `client_id`, `token_type`, `scope`, `exp` in Kick's envelope.
pub(crate) fn introspect(shared: &Shared, req: &Incoming<'_>) -> Reply {
    let mut guard = lock(shared);
    let state: &mut State = &mut guard;
    if *req.method != axum::http::Method::POST {
        refuse(state, "introspect: not a POST (the OAuth page)");
        return Reply::api_error(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({}),
            "Method Not Allowed",
        );
    }
    let (access, _, scopes) = match authorized(state, req, "introspect") {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let left = state
        .tokens
        .get(&access)
        .map(|t| t.expires_at.saturating_duration_since(Instant::now()))
        .unwrap_or_default();
    Reply::data(json!({
        "active": true,
        "client_id": super::CLIENT_ID,
        "token_type": "user",
        "scope": scopes.join(" "),
        "exp": stream_control::status::now_unix() + left.as_secs(),
    }))
}
