//! Value types shared by the sections: durations, addresses, maps kept in order, and the
//! checks several sections make (positive durations, locales, unit and host names).

use super::web::IpNet;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

pub(super) fn socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.trim().parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "`{text}` is not an IP address and port, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\""
        ))
    })
}

pub(super) fn ip_net<'de, D: Deserializer<'de>>(d: D) -> Result<IpNet, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

pub(super) fn parse_duration<E: serde::de::Error>(text: &str) -> Result<Duration, E> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        E::custom(format!(
            "`{text}` is not a duration ({e}); write e.g. \"500ms\", \"10s\" or \"2m 30s\""
        ))
    })
}

/// A duration written like "500ms", "10s", "2m 30s".
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parse_duration(&String::deserialize(d)?)
}

/// An optional duration (`None` or a duration string).
pub(crate) fn optional_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|text| parse_duration(&text))
        .transpose()
}

/// A map kept as its entries, in order, duplicates included.
pub(super) fn entries<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of strings to strings, e.g. {\"b\": \"brb\"}")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, String>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Entries)
}

/// A locale setting must name one of [`crate::catalog::LOCALES`].
pub(super) fn check_locale(
    path: &str,
    locale: Option<&String>,
    problem: &mut impl FnMut(String, String),
) {
    if let Some(locale) = locale
        && !crate::catalog::LOCALES.contains(&locale.as_str())
    {
        problem(
            path.into(),
            format!(
                "unknown locale `{locale}`; available: {}",
                crate::catalog::LOCALES.join(", ")
            ),
        );
    }
}

pub(super) fn positive(path: &str, value: Duration, problem: &mut impl FnMut(String, String)) {
    if value.is_zero() {
        problem(path.into(), "must be longer than 0s".into());
    }
}

/// A system user or group name (stunnel's `setuid`, a sudoers rule): 1–32 of `A-Z a-z 0-9 . _
/// -`, not starting with `-`, so it is one plain word in either file.
pub fn valid_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A systemd unit name: 1–256 of `A-Z a-z 0-9 : _ . @ -` and `\`-free, not starting with `-`
/// or `.` (it is passed as an argument: it must never read as an option).
pub fn valid_unit_name(unit: &str) -> bool {
    !unit.is_empty()
        && unit.len() <= 256
        && !unit.starts_with(['-', '.'])
        && unit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '@' | '-'))
}

/// A host name or IP address that is safe as a program argument (never an option).
pub fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['-', '.'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'))
}

/// A DNS name (labels of letters, digits and inner `-`) or an IPv4 address.
pub fn valid_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}
