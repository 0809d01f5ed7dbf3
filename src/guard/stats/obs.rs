//! OBS's own outgoing stream, as a last-resort "stats server".
//!
//! **Source of the numbers**: the OBS actor, from obs-websocket v5 `GetStreamStatus`
//! (`outputActive`, `outputBytes`); nothing is fetched here.
//!
//! **What it measures**: the upload *from OBS* to its streaming service, not the ingest from
//! the field. It cannot see the IRL encoder at all, so it only detects that OBS itself stopped
//! sending (stream stopped, output stalled, uplink of the OBS machine gone). Use it as the last
//! entry of a priority list, after the real ingest servers.
//!
//! **Reading**: not active → [`Reading::NoPublisher`]; active → `Reading::Counter { bytes:
//! outputBytes, fallback: None, rtt: None }` ([`super::Meter`] turns two polls into a bitrate;
//! a restarted output resets the counter, which the meter handles).
//!
//! **Units**: bytes.

use super::Reading;

/// The reading for OBS's output state.
pub fn reading(active: bool, output_bytes: u64) -> Reading {
    if active {
        Reading::Counter {
            bytes: output_bytes,
            fallback: None,
            rtt: None,
        }
    } else {
        Reading::NoPublisher
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(name: &str, active: bool, bytes: u64, expected: &Reading) {
        assert_eq!(&reading(active, bytes), expected, "case `{name}`");
    }

    #[test]
    fn maps_the_output_state() {
        let cases: &[(&str, bool, u64, Reading)] = &[
            ("not streaming", false, 0, Reading::NoPublisher),
            (
                "stopped with bytes left over",
                false,
                123_456,
                Reading::NoPublisher,
            ),
            (
                "streaming",
                true,
                987_654_321,
                Reading::Counter {
                    bytes: 987_654_321,
                    fallback: None,
                    rtt: None,
                },
            ),
            (
                "just started",
                true,
                0,
                Reading::Counter {
                    bytes: 0,
                    fallback: None,
                    rtt: None,
                },
            ),
        ];
        for (name, active, bytes, expected) in cases {
            check(name, *active, *bytes, expected);
        }
    }

    proptest! {
        #[test]
        fn active_is_a_counter_of_the_output_bytes(active in any::<bool>(), bytes in any::<u64>()) {
            match reading(active, bytes) {
                Reading::Counter { bytes: got, fallback: None, rtt: None } => {
                    prop_assert!(active);
                    prop_assert_eq!(got, bytes);
                }
                Reading::NoPublisher => prop_assert!(!active),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
