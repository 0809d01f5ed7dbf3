//! The `kick` section: the shipped example shows the defaults, and every problem is reported
//! at once with its key and position.

use std::time::Duration;
use stream_control::config::{Config, KickReader, SendAs};

/// The shipped config with its documented example sections switched on (as `config::`'s test
/// does).
fn shipped_with_examples() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.ron"))
        .unwrap()
        .lines()
        .map(|line| match line.trim_start().strip_prefix("//: ") {
            Some(rest) => format!("{}{rest}", " ".repeat(line.len() - line.trim_start().len())),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_shipped_example_is_valid_and_shows_the_defaults() {
    let config = Config::parse(&shipped_with_examples()).unwrap_or_else(|p| panic!("{p:#?}"));
    let kick = config.kick.expect("the kick example");
    assert_eq!(kick.channel, "my_channel");
    assert_eq!(kick.admins, ["mod_friend"]);
    // Everything but the example reader is the default.
    let defaults = Config::parse(
        r#"(kick: (channel: "my_channel", admins: ["mod_friend"],
                   reader: Some(Pusher(chatroom_id: 1234567, channel_id: Some(1234568)))))"#,
    )
    .unwrap()
    .kick
    .unwrap();
    assert_eq!(kick, defaults);
    assert_eq!(
        kick.reader,
        Some(KickReader::Pusher {
            chatroom_id: 1234567,
            channel_id: Some(1234568),
            url: stream_control::config::KICK_PUSHER_URL.into(),
        })
    );
    assert!(!kick.raid_stop);
    assert_eq!(kick.send_as, SendAs::Bot);
    assert_eq!(kick.redirect_port, 8888);
    assert_eq!(kick.redirect_uri(), "http://127.0.0.1:8888/kick/callback");
    assert_eq!(kick.api_url, "https://api.kick.com/");
    assert_eq!(kick.oauth_url, "https://id.kick.com/");
    assert_eq!(kick.request_timeout, Duration::from_secs(10));
}

/// The other reader `config.ron` shows (commented out under the example) parses as written,
/// and its default path is the documented one.
#[test]
fn the_documented_webhook_reader_parses() {
    let shipped = shipped_with_examples();
    let line = shipped
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("// reader: Some(Webhook("))
        .expect("config.ron shows the webhook reader");
    let with_webhook = shipped.replace(
        "reader: Some(Pusher(chatroom_id: 1234567, channel_id: Some(1234568))),",
        &format!("reader: Some(Webhook({line}"),
    );
    let config = Config::parse(&with_webhook).unwrap_or_else(|p| panic!("{p:#?}"));
    let reader = config.kick.unwrap().reader;
    assert_eq!(
        reader,
        Some(KickReader::Webhook {
            path: "/kick/webhook".into(),
            public_key_file: None,
        })
    );
    let default = Config::parse(
        r#"(web: (bind: "127.0.0.1:8080"), kick: (channel: "c", reader: Some(Webhook())))"#,
    )
    .unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(default.kick.unwrap().reader, reader);
}

#[test]
fn no_kick_section_means_no_kick() {
    assert_eq!(Config::parse("()").unwrap().kick, None);
}

#[test]
fn every_problem_is_reported_at_once_with_its_key_and_position() {
    let text = r#"(
    kick: (
        channel: "kick.com/streamer",
        admins: ["ok_name", "not a name"],
        locale: "xx-XX",
        redirect_port: 0,
        api_url: "ftp://api.kick.com/",
        request_timeout: "5m",
    ),
)"#;
    let problems = Config::parse(text).unwrap_err();
    let found: Vec<(usize, &str, &str)> = problems
        .iter()
        .map(|p| (p.line, p.path.as_str(), p.message.as_str()))
        .collect();
    let expect = [
        (3, "kick.channel", "is not a Kick channel"),
        (4, "kick.admins[1]", "is not a Kick username or user id"),
        (5, "kick.locale", ""),
        (6, "kick.redirect_port", "must be a fixed port"),
        (7, "kick.api_url", "must start with https:// or http://"),
        (8, "kick.request_timeout", "at most 1m"),
    ];
    assert_eq!(found.len(), expect.len(), "{problems:#?}");
    for ((line, path, message), (want_line, want_path, want)) in found.iter().zip(expect) {
        assert_eq!((*line, *path), (want_line, want_path), "{problems:#?}");
        assert!(message.contains(want), "{path}: {message}");
    }
}

#[test]
fn a_missing_channel_an_unknown_key_and_a_wrong_sender_are_type_problems() {
    let problems = Config::parse(r#"(kick: (send_as: Viewer, client_secret: "x"))"#).unwrap_err();
    let text = format!("{problems:#?}");
    assert!(text.contains("channel"), "{text}");
    assert!(text.contains("client_secret"), "{text}");
    assert!(text.contains("Viewer"), "{text}");
    let problems = Config::parse(r#"(kick: (channel: "a", request_timeout: "0s"))"#).unwrap_err();
    assert_eq!(problems[0].path, "kick.request_timeout");
}
