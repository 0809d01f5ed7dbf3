//! Kick: the login (`kick login`, OAuth 2.1 with PKCE on a loopback listener), the tokens
//! (refresh with rotation, stored before use, one refresh at a time, a refused refresh is
//! final), the API client (chat as the application's bot, a bot account or the broadcaster;
//! cut and defused content; 401 → refresh → one retry; typed errors), doctor's Kick checks and
//! the `kick` section, against the fake Kick (`tests/support/src/fake_kick.rs`) over TLS with a
//! test CA, through the product's own HTTP client.

mod chat;
mod config;
mod doctor;
mod login;
mod surface;
mod tokens;

use std::collections::BTreeMap;
use std::time::Duration;
use stream_control::config::Config;
use stream_control::kick::auth::{self, Account, StoredToken};
use stream_control::kick::{Kick, Tokens};
use stream_control::secrets::{Redactor, Secrets};
use stream_control::state_store::StateDir;
use stream_control_test_support::fake_kick::{self, FakeKick, test_ca::TestCa};

/// `KICK_CLIENT_ID` and `KICK_CLIENT_SECRET` of the fake application.
pub(crate) fn secrets() -> Secrets {
    let values = BTreeMap::from([
        ("KICK_CLIENT_ID", fake_kick::CLIENT_ID),
        ("KICK_CLIENT_SECRET", fake_kick::CLIENT_SECRET),
    ]);
    Secrets::from_lookup(|name| values.get(name).map(|v| v.to_string()))
}

/// The fake Kick over TLS, a state directory, and a configuration pointing at both.
pub(crate) struct Rig {
    pub(crate) kick: FakeKick,
    pub(crate) ca: TestCa,
    pub(crate) dir: tempfile::TempDir,
}

impl Rig {
    pub(crate) async fn new() -> Rig {
        let ca = TestCa::new();
        let kick = FakeKick::start_tls(ca.acceptor()).await;
        Rig {
            kick,
            ca,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The configuration text with `kick_fields` added to the `kick` section.
    pub(crate) fn config_text(&self, kick_fields: &str) -> String {
        format!(
            r#"(state_dir: "{}", {}, kick: (channel: "{}", {}, {kick_fields}))"#,
            self.dir.path().join("state").display(),
            self.ca.config_entry(),
            fake_kick::BROADCASTER_NAME,
            self.kick.config_urls(),
        )
    }

    pub(crate) fn config(&self, kick_fields: &str) -> Config {
        Config::parse(&self.config_text(kick_fields)).unwrap_or_else(|p| panic!("{p:#?}"))
    }

    pub(crate) fn state(&self) -> StateDir {
        StateDir::new(self.dir.path().join("state"))
    }

    /// The product's Kick client for this configuration.
    pub(crate) fn product(&self, kick_fields: &str) -> Kick {
        let config = self.config(kick_fields);
        let tls = stream_control::tls::Tls::new(&config.tls).unwrap();
        Kick::new(
            config.kick.clone().unwrap(),
            &config.commands.prefix,
            &secrets(),
            self.state(),
            Redactor::default(),
            &tls,
        )
    }

    pub(crate) fn tokens(&self, account: Account) -> Tokens {
        self.product("").tokens(account).clone()
    }

    /// The broadcaster signed in with every scope, the token valid for `expires_in`.
    pub(crate) fn sign_in_broadcaster(&self, expires_in: Duration) -> (String, String) {
        self.kick.sign_in(
            &self.dir.path().join("state"),
            auth::TOKEN_FILE,
            fake_kick::BROADCASTER_ID,
            auth::SCOPES,
            expires_in,
        )
    }

    /// The bot account signed in with its scopes for two hours.
    pub(crate) fn sign_in_bot(&self) -> (String, String) {
        self.kick.sign_in(
            &self.dir.path().join("state"),
            auth::BOT_TOKEN_FILE,
            fake_kick::BOT_ID,
            auth::BOT_SCOPES,
            TWO_HOURS,
        )
    }

    pub(crate) fn stored(&self, account: Account) -> Option<StoredToken> {
        auth::load(&self.state(), account.file()).unwrap()
    }

    /// An HTTP client that trusts the test CA and follows no redirect (the tests' browser).
    pub(crate) fn browser(&self) -> reqwest::Client {
        let config = self.config("");
        stream_control::tls::Tls::new(&config.tls)
            .unwrap()
            .http_client()
            .no_proxy()
            .user_agent("Mozilla/5.0 (the tests' browser)")
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }
}

pub(crate) const TWO_HOURS: Duration = Duration::from_secs(7200);
