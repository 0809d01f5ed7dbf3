//! Shared test helpers: build a context from config text, fake secrets, an HTTP client that only
//! talks to loopback.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use stream_control::app::Context;
use stream_control::config::Config;
use stream_control::secrets::{Redactor, Secrets, VARIABLES};

/// A recognisable fake value for each secret variable.
pub fn fake_secret_values() -> BTreeMap<String, String> {
    VARIABLES
        .iter()
        .map(|(name, _)| {
            (
                name.to_string(),
                format!("fake-{}-s3cr3t-9f8e7d", name.to_lowercase()),
            )
        })
        .collect()
}

pub fn fake_secrets() -> Secrets {
    let values = fake_secret_values();
    Secrets::from_lookup(|name| values.get(name).cloned())
}

/// A context from config text, with fake secrets.
pub fn context(config: &str) -> Arc<Context> {
    let config = Config::parse(config).unwrap_or_else(|p| panic!("test config: {p:#?}"));
    let secrets = fake_secrets();
    let redactor = Redactor::new(&secrets);
    Context::new(config, secrets, redactor).unwrap()
}

/// An HTTP client for the app under test: no proxy, short timeout.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}
