//! Kick: the login ([`login`]), the tokens ([`auth`]), the API calls ([`api`]) over one HTTP
//! client ([`http`]), and [`Kick`], what the rest of the bot uses: chat messages as the
//! configured sender, the channel's id, each call retried once with a refreshed token after a
//! 401. A peer: it knows nothing of surfaces, dispatch or handlers. The chat readers — Pusher
//! ([`pusher`], unofficial) and signed webhooks ([`webhook`], official) — hand over what
//! [`chat`] reads, on channels and a `watch`; the chat surface sits on top.
//!
//! Who posts ([`crate::config::SendAs`]): `Bot` posts as the bot account when one is logged in
//! (`kick login --bot`: `type: "user"` with its token, into the broadcaster's channel), else as
//! the Kick application's bot (`type: "bot"` with the broadcaster's token: Kick posts it into
//! the channel of the token's user, KickDevDocs issue #123); `Broadcaster` posts as the
//! broadcaster (`type: "user"`).

pub mod api;
pub mod auth;
pub mod chat;
pub mod http;
pub mod link;
pub mod login;
pub mod pusher;
pub mod webhook;

pub use api::{CHAT_LIMIT, ChatKind, SentMessage, chat_content};
pub use auth::{Account, Tokens};
pub use chat::{Badge, ChatMessage, KickEvent};
pub use http::KickError;
pub use link::Links;
pub use webhook::{Receiver as WebhookReceiver, router as webhook_router};

use crate::config::{KickConfig, SendAs};
use crate::reply::{Reply, keys};
use crate::secrets::{Redactor, Secrets};
use crate::state_store::StateDir;
use http::{Answer, KickHttp};
use std::sync::Mutex;

impl KickError {
    /// The localised reply for a person (the surface renders it).
    pub fn reply(&self) -> Reply {
        match self {
            KickError::NotLoggedIn { .. } | KickError::NoCredentials => {
                Reply::new(keys::KICK_NOT_LOGGED_IN)
            }
            KickError::LoginRequired { .. } | KickError::Unauthorized(_) => {
                Reply::new(keys::KICK_LOGIN_REQUIRED)
            }
            KickError::Forbidden {
                missing_scope: Some(scope),
                ..
            } => Reply::new(keys::KICK_MISSING_SCOPE).arg("scope", scope.clone()),
            KickError::RateLimited { .. } => Reply::new(keys::KICK_RATE_LIMITED),
            KickError::BotRefused(_) => Reply::new(keys::KICK_BOT_REFUSED),
            KickError::Unreachable(_) => Reply::new(keys::KICK_UNREACHABLE),
            KickError::Forbidden { reason, .. }
            | KickError::NotFound(reason)
            | KickError::BadRequest(reason)
            | KickError::Server { reason, .. }
            | KickError::Invalid(reason) => {
                Reply::new(keys::KICK_REFUSED).arg("reason", reason.clone())
            }
        }
        .with_outcome(crate::reply::Outcome::Failed)
    }
}

impl From<KickError> for crate::reply::UserError {
    fn from(error: KickError) -> Self {
        crate::reply::UserError {
            reply: error.reply(),
        }
    }
}

/// Kick as the rest of the bot uses it. Share it as `Arc<Kick>`.
pub struct Kick {
    pub config: KickConfig,
    http: KickHttp,
    broadcaster: Tokens,
    bot: Tokens,
    /// The command prefix: a reply never starts with it.
    prefix: String,
    /// The channel's `broadcaster_user_id`, once looked up (it never changes).
    broadcaster_user_id: Mutex<Option<u64>>,
    /// `kick.admins` entries resolved to user ids (by the slug of their channel).
    admin_ids: Mutex<std::collections::HashMap<String, u64>>,
    /// The ids Kick gave the bot's recent messages (at most [`SENT_REMEMBERED`]): its own
    /// messages come back through the chat readers and must not run as commands.
    sent: Mutex<std::collections::VecDeque<String>>,
}

/// How many of its own message ids the bot remembers.
pub const SENT_REMEMBERED: usize = 256;

impl std::fmt::Debug for Kick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kick")
            .field("channel", &self.config.channel)
            .finish_non_exhaustive()
    }
}

impl Kick {
    /// `prefix` is `commands.prefix`; the credentials come from `KICK_CLIENT_ID` and
    /// `KICK_CLIENT_SECRET`; tokens live in `state`.
    pub fn new(
        config: KickConfig,
        prefix: &str,
        secrets: &Secrets,
        state: StateDir,
        redactor: Redactor,
        tls: &crate::tls::Tls,
    ) -> Kick {
        let http = KickHttp::new(tls, &config);
        let credentials = auth::Credentials::from_secrets(secrets);
        let tokens = |account| {
            Tokens::new(
                account,
                state.clone(),
                http.clone(),
                credentials.clone(),
                redactor.clone(),
            )
        };
        Kick {
            broadcaster: tokens(Account::Broadcaster),
            bot: tokens(Account::Bot),
            config,
            http,
            prefix: prefix.to_string(),
            broadcaster_user_id: Mutex::new(None),
            admin_ids: Mutex::new(std::collections::HashMap::new()),
            sent: Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// An account's tokens (shared with whoever else calls Kick as it).
    pub fn tokens(&self, account: Account) -> &Tokens {
        match account {
            Account::Broadcaster => &self.broadcaster,
            Account::Bot => &self.bot,
        }
    }

    pub fn http(&self) -> &KickHttp {
        &self.http
    }

    /// Make a call with `tokens`' access token; after a 401, refresh (or take the token someone
    /// else refreshed meanwhile) and make it once more.
    pub async fn with_token<F, Fut>(&self, tokens: &Tokens, call: F) -> Result<Answer, KickError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<Answer, KickError>>,
    {
        let token = tokens.access().await?;
        let answer = call(token.access_token.clone()).await?;
        if answer.status != 401 {
            return Ok(answer);
        }
        tracing::info!(account = ?tokens.account(), "Kick answered 401: refreshing the token");
        let fresh = tokens.after_unauthorized(&token.access_token).await?;
        let answer = call(fresh.access_token).await?;
        if answer.status == 401 {
            return Err(KickError::Unauthorized(answer.reason()));
        }
        Ok(answer)
    }

    /// The configured channel's `broadcaster_user_id` (looked up once, with the broadcaster's
    /// token).
    pub async fn broadcaster_user_id(&self) -> Result<u64, KickError> {
        let known = *self
            .broadcaster_user_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(id) = known {
            return Ok(id);
        }
        let channel = self.channel(&self.config.channel).await?.ok_or_else(|| {
            KickError::NotFound(format!(
                "no Kick channel `{}` (kick.channel)",
                self.config.channel
            ))
        })?;
        *self
            .broadcaster_user_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(channel.broadcaster_user_id);
        Ok(channel.broadcaster_user_id)
    }

    /// Whether a chatter is a configured admin (`kick.admins`), by user id: names are resolved
    /// by [`Kick::resolve_admins`], so a renamed account keeps its rights and whoever takes an
    /// old name does not get them.
    pub fn is_admin(&self, user_id: u64) -> bool {
        self.admin_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .any(|id| *id == user_id)
    }

    /// Resolve the configured admins to user ids: digits are an id; a username is looked up
    /// as the slug of its channel (Kick's slugs write a username's `_` as `-`). Each is asked
    /// for until Kick has answered it once; a failure takes nothing away and is only logged.
    pub async fn resolve_admins(&self) {
        for admin in &self.config.admins {
            let name = admin.trim_start_matches('@').to_lowercase();
            let known = self
                .admin_ids
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains_key(&name);
            if known {
                continue;
            }
            let id = match name.parse::<u64>() {
                Ok(id) => id,
                Err(_) => match self.channel(&name.replace('_', "-")).await {
                    Ok(Some(channel)) => channel.broadcaster_user_id,
                    Ok(None) => {
                        tracing::warn!(%name, "kick.admins names a user Kick does not know");
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(%name, %error, "cannot resolve a Kick admin");
                        continue;
                    }
                },
            };
            self.admin_ids
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(name, id);
        }
    }

    /// A channel by its slug (`None`: Kick knows none), with the broadcaster's token.
    pub async fn channel(&self, slug: &str) -> Result<Option<api::Channel>, KickError> {
        let answer = self
            .with_token(&self.broadcaster, |access| async move {
                api::channel_request(&self.http, &access, slug).await
            })
            .await?;
        api::channel(&answer)
    }

    /// Post `text` in the channel's chat as `kick.send_as` says, as a reply to `reply_to` when
    /// given. The text is made safe first ([`chat_content`]: never like a command, at most
    /// [`CHAT_LIMIT`] characters); an empty text is not posted (`Ok(None)`).
    pub async fn send_chat(
        &self,
        text: &str,
        reply_to: Option<&str>,
    ) -> Result<Option<SentMessage>, KickError> {
        let Some(content) = chat_content(text, &self.prefix) else {
            return Ok(None);
        };
        let bot_logged_in = self.config.send_as == SendAs::Bot && self.bot.stored()?.is_some();
        let (tokens, kind) = match self.config.send_as {
            SendAs::Broadcaster => (&self.broadcaster, ChatKind::User),
            SendAs::Bot if bot_logged_in => (&self.bot, ChatKind::User),
            SendAs::Bot => (&self.broadcaster, ChatKind::Bot),
        };
        let broadcaster_user_id = match kind {
            ChatKind::User => Some(self.broadcaster_user_id().await?),
            ChatKind::Bot => None,
        };
        let message = api::ChatMessage {
            kind,
            broadcaster_user_id,
            content,
            reply_to_message_id: reply_to.map(str::to_string),
        };
        let answer = self
            .with_token(tokens, |access| {
                let message = &message;
                async move { api::send_chat(&self.http, &access, message).await }
            })
            .await;
        let answer = match answer {
            // Kick answers 401 to bot messages with a token it takes elsewhere (KickDevDocs
            // issue #289): the bot, not the login, is what to look at.
            Err(KickError::Unauthorized(reason)) if kind == ChatKind::Bot => {
                return Err(KickError::BotRefused(reason));
            }
            other => other?,
        };
        let sent = api::sent(&answer, kind)?;
        if !sent.message_id.is_empty() {
            let mut ids = self
                .sent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if ids.len() >= SENT_REMEMBERED {
                ids.pop_front();
            }
            ids.push_back(sent.message_id.clone());
        }
        Ok(Some(sent))
    }

    /// Whether a chat message (by the id Kick gave it) is one the bot sent.
    pub fn own_message(&self, message_id: &str) -> bool {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .any(|id| id == message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_localised_replies() {
        let scope = KickError::Forbidden {
            reason: "x".into(),
            missing_scope: Some("chat:write".into()),
        };
        assert_eq!(scope.reply().key, keys::KICK_MISSING_SCOPE);
        assert_eq!(
            KickError::NotLoggedIn { bot: false }.reply().key,
            keys::KICK_NOT_LOGGED_IN
        );
        assert_eq!(
            KickError::BadRequest("no".into()).reply().key,
            keys::KICK_REFUSED
        );
    }
}
