//! `config.ron` loading: the shipped file, every problem at once with line:col, semantic checks.

use proptest::prelude::*;
use std::path::Path;
use stream_control::config::{Config, ConfigError, Level, LogFormat, Problem};

fn shipped_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.ron")).unwrap()
}

fn problems(text: &str) -> Vec<Problem> {
    match Config::parse(text) {
        Ok(config) => panic!("expected problems, got {config:?}"),
        Err(problems) => problems,
    }
}

/// (line, col, path) of each problem, for compact assertions.
fn where_(problems: &[Problem]) -> Vec<(usize, usize, &str)> {
    problems
        .iter()
        .map(|p| (p.line, p.col, p.path.as_str()))
        .collect()
}

#[test]
fn shipped_config_loads_and_matches_the_ron_crate() {
    let ours = Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config.ron")).unwrap();
    // The reference RON implementation reads the same file to the same value.
    let reference: Config = ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(&shipped_text())
        .unwrap();
    assert_eq!(ours, reference);
    assert_eq!(ours.locale, "en-US");
    assert_eq!(ours.log.format, LogFormat::Pretty);
    assert_eq!(ours.web.unwrap().bind.to_string(), "127.0.0.1:8080");
    assert_eq!(ours.commands.prefix, "!");
    assert!(
        ours.commands
            .aliases
            .contains(&("b".to_string(), "brb".to_string()))
    );
    assert_eq!(ours.commands.cooldowns.exempt, Level::Moderator);
}

/// The shipped config with its documented example sections (`//: ` lines) switched on.
fn shipped_with_examples() -> String {
    shipped_text()
        .lines()
        .map(|line| match line.trim_start().strip_prefix("//: ") {
            Some(rest) => {
                let indent = line.len() - line.trim_start().len();
                format!("{}{rest}", " ".repeat(indent))
            }
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_documented_example_sections_are_valid_and_show_the_defaults() {
    let text = shipped_with_examples();
    let config = Config::parse(&text).unwrap_or_else(|p| panic!("{p:#?}"));
    let obs = config.obs.clone().expect("obs example");
    let guard = config.guard.clone().expect("guard example");
    assert_eq!(guard.servers.len(), 2);
    let twitch = config.twitch.expect("twitch example");
    assert_eq!(twitch.admins, ["mod_friend"]);
    let default_twitch = Config::parse("(twitch: ())").unwrap().twitch.unwrap();
    assert_eq!(twitch.announce, default_twitch.announce);
    assert_eq!(
        twitch.stream_info_interval,
        default_twitch.stream_info_interval
    );
    assert_eq!(twitch.helix_url, default_twitch.helix_url);
    // Every value the examples show (except those marked "example") is the default.
    let defaults = Config::parse(
        r#"(obs: (host: "127.0.0.1", raid_stop: ()), guard: (servers: [(name: "x", kind: Obs)]))"#,
    )
    .unwrap();
    let default_obs = defaults.obs.unwrap();
    assert_eq!(obs, default_obs);
    assert_eq!(guard.policy, defaults.guard.as_ref().unwrap().policy);
    assert_eq!(
        guard.poll_interval,
        defaults.guard.as_ref().unwrap().poll_interval
    );
    assert_eq!(
        guard.only_when_streaming,
        defaults.guard.as_ref().unwrap().only_when_streaming
    );
    // The restream, power and services examples.
    let restream = config.restream.clone().expect("restream example");
    let default_restream =
        Config::parse(r#"(restream: (stunnel: Some(()), drop_publisher: Some(())))"#)
            .unwrap()
            .restream
            .unwrap();
    assert_eq!(restream, default_restream);
    let power = config.power.clone().expect("power example");
    let default_power = Config::parse(
        r#"(power: (mac: "AA:BB:CC:DD:EE:FF", host: "192.168.1.50", ssh_user: Some("stream")))"#,
    )
    .unwrap()
    .power
    .unwrap();
    assert_eq!(power, default_power);
    let services = config.services.clone().expect("services example");
    assert_eq!(services.units["nginx"], "nginx.service");
    assert_eq!(services.repair, None);
    let default_services = Config::parse(r#"(services: (units: {"a": "a.service"}))"#)
        .unwrap()
        .services
        .unwrap();
    assert_eq!(services.command_timeout, default_services.command_timeout);
    assert_eq!(config.programs, Config::parse("()").unwrap().programs);
    // The reference RON implementation agrees.
    let reference: Config = ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(&text)
        .unwrap();
    assert_eq!(reference.guard.unwrap().servers, guard.servers);
}

#[test]
fn guard_and_obs_problems_are_reported() {
    let text = r#"(
    obs: (port: 0, reconnect_min: "2s", reconnect_max: "1s", scenes: (low: "LIVE"), fix: RestartMedia(sources: [])),
    guard: (
        poll_interval: "10ms",
        servers: [(name: "a", kind: Obs), (name: "A", kind: SrtLiveServer(url: "ftp://x"))],
        policy: (low_kbps: Some(800), recover_kbps: 500, offline_kbps: Some(900), rtt_low_ms: Some(100), rtt_offline_ms: Some(50)),
    ),
)"#;
    let found = problems(text);
    let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    for expected in [
        "obs.port",
        "obs.reconnect_max",
        "obs.scenes.low",
        "obs.fix",
        "guard.poll_interval",
        "guard.servers[1].name",
        "guard.servers[1].kind.url",
        "guard.policy.recover_kbps",
        "guard.policy.offline_kbps",
        "guard.policy.rtt_offline_ms",
    ] {
        assert!(paths.contains(&expected), "missing {expected}: {found:#?}");
    }
    assert_eq!(found.len(), 10, "{found:#?}");
    let upload = problems(
        r#"(obs: (upload: (congestion: 1.5, dropped_percent: 0.0, dropped_window: "5s", disk_low_mb: Some(0))))"#,
    );
    let paths: Vec<&str> = upload.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "obs.upload.congestion",
            "obs.upload.dropped_percent",
            "obs.upload.dropped_window",
            "obs.upload.disk_low_mb"
        ],
        "{upload:#?}"
    );
    let guard_only = problems(r#"(guard: (servers: [(name: "a", kind: Obs)]))"#);
    assert_eq!(guard_only.len(), 1);
    assert!(guard_only[0].message.contains("add an `obs` section"));
}

#[test]
fn audio_inputs_and_sources_are_checked_with_positions() {
    let text = r#"(obs: (
    audio_inputs: ["Mic", " ", "Mic"],
    sources: [(name: "Cam"), (name: ""), (name: "Cam", scene: Some("LIVE")), (name: "Chat", scene: Some(""))],
))"#;
    let found = problems(text);
    assert_eq!(
        where_(&found),
        [
            (2, 27, "obs.audio_inputs[1]"),
            (2, 32, "obs.audio_inputs[2]"),
            (3, 37, "obs.sources[1].name"),
            (3, 49, "obs.sources[2].name"),
            (3, 100, "obs.sources[3].scene"),
        ],
        "{found:#?}"
    );
    assert!(found[1].message.contains("`Mic` is listed twice"));
    assert!(found[3].message.contains("one scene per source"));
    // Absent, both are empty: no input or source is reachable.
    let config = Config::parse("(obs: ())").unwrap();
    let obs = config.obs.unwrap();
    assert!(obs.audio_inputs.is_empty() && obs.sources.is_empty());
    let config = Config::parse(
        r#"(obs: (audio_inputs: ["Mic/Aux"], sources: [(name: "Webcam"), (name: "Chat", scene: Some("LIVE"))]))"#,
    )
    .unwrap();
    let obs = config.obs.unwrap();
    assert_eq!(obs.audio_inputs, ["Mic/Aux"]);
    assert_eq!(obs.sources[0].scene, None);
    assert_eq!(obs.sources[1].scene.as_deref(), Some("LIVE"));
}

#[test]
fn restream_power_services_and_programs_problems_are_reported_with_positions() {
    let text = r#"(
    restream: (include_path: "/", command_timeout: "0s", nginx_args: [""],
        stunnel: Some((first_port: 80, unit: Some("-x"))),
        drop_publisher: Some((control_url: "ftp://x", application: "a b"))),
    power: (mac: "AA:BB", host: "-oProxyCommand=x", probe_port: 0, broadcast: "255.255.255.255:0",
        ssh_user: Some("-l"), restart_command: "  "),
    services: (units: {"NGINX": "nginx.service", "bad unit": "x", "nginx": "n", "x": "-evil"},
        repair: ["nope"]),
    programs: (ssh: ""),
)"#;
    let found = problems(text);
    let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    let expected = [
        "restream.include_path",
        "restream.command_timeout",
        "restream.nginx_args[0]",
        "restream.stunnel.first_port",
        "restream.stunnel.unit",
        "restream.drop_publisher.control_url",
        "restream.drop_publisher.application",
        "power.mac",
        "power.host",
        "power.probe_port",
        "power.broadcast",
        "power.ssh_user",
        "power.restart_command",
        "services.units[\"bad unit\"]",
        "services.units[\"nginx\"]",
        "services.units[\"x\"]",
        "services.repair[0]",
        "programs.ssh",
    ];
    for path in expected {
        assert!(paths.contains(&path), "missing {path}: {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    // Each is placed at its value.
    let at = |path: &str| {
        found
            .iter()
            .find(|p| p.path == path)
            .map(|p| (p.line, p.col))
    };
    assert_eq!(at("power.mac"), Some((5, 18)));
    assert_eq!(at("services.units[\"x\"]"), Some((7, 86)));
    assert!(found.iter().all(|p| p.line > 1), "{found:#?}");
}

#[test]
fn a_missing_power_mac_or_services_units_is_reported() {
    let found = problems(r#"(power: (host: "pc"), services: ())"#);
    let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["power", "services"], "{found:#?}");
    assert!(found[0].message.contains("mac"), "{found:#?}");
}

#[test]
fn an_empty_struct_gives_every_default_and_no_web() {
    let config = Config::parse("()").unwrap();
    assert_eq!(config.locale, "en-US");
    assert!(config.web.is_none());
    assert_eq!(config.commands.prefix, "!");
    assert!(!config.features()["web"]);
}

#[test]
fn type_and_semantic_problems_are_reported_in_the_same_run() {
    let text = "(\n    locale: \"xx-XX\",\n    nope: 1,\n    commands: (aliases: {\"b\": \"brb\", \"B\": \"live\"}),\n)";
    let found = problems(text);
    assert_eq!(
        where_(&found),
        vec![
            (2, 13, "locale"),
            (3, 5, "nope"),
            (4, 43, "commands.aliases[\"B\"]")
        ],
        "{found:#?}"
    );
}

#[test]
fn every_unknown_key_a_type_error_and_a_semantic_problem_come_in_one_report() {
    let text = r#"(
    log: (fromat: Json),
    web: (bind: "127.0.0.1:99999", limits: (max_conections: 100, max_connections: "many")),
    commands: (
        prefix: 5,
        aliases: {"stop": "brb"},
        cooldowns: (overrides: {"brb": (usr: "1s")}),
    ),
)"#;
    let found = problems(text);
    assert_eq!(
        where_(&found),
        vec![
            (2, 11, "log.fromat"),
            (3, 17, "web.bind"),
            (3, 45, "web.limits.max_conections"),
            (3, 83, "web.limits.max_connections"),
            (5, 17, "commands.prefix"),
            (6, 27, "commands.aliases[\"stop\"]"),
            (7, 41, "commands.cooldowns.overrides[\"brb\"].usr"),
        ],
        "{found:#?}"
    );
    assert!(found[1].message.contains("127.0.0.1:99999"), "{found:#?}");
    assert!(
        found[2]
            .message
            .starts_with("unknown field `max_conections`, expected `max_rate_limit_entries`,"),
        "{found:#?}"
    );
    assert_eq!(found[3].message, "expected integer, found `\"many\"`");
    assert_eq!(found[4].message, "expected string, found `5`");
    assert!(found[5].message.contains("already a command"));
    assert_eq!(
        found[6].message,
        "unknown field `usr`, expected `command` or `user`"
    );
}

#[test]
fn syntax_errors_have_a_position() {
    let found = problems("(\n    locale: \"en-US\"\n    web: (),\n)");
    assert_eq!(where_(&found), [(3, 5, "")], "{found:#?}");
    assert_eq!(
        found[0].message,
        "expected `,` or a closing bracket, found `web`"
    );
    let cut = problems("(\n    web: (bind: \"127.0.0.1:8080\",");
    assert_eq!(where_(&cut), [(2, 34, "")], "{cut:#?}");
    assert!(cut[0].message.contains("end of the file"), "{cut:#?}");
}

#[test]
fn semantic_problems_name_the_key_and_its_position() {
    let text = r#"(
    locale: "xx-XX",
    log: (filter: "info,[[["),
    commands: (
        prefix: "  ",
        aliases: {"b": "brb", "B": "live", "stop": "brb", "x": "nonsense", "two words": "brb"},
        permissions: {"brbb": Moderator},
        allow: {"raid": ["twitch:42", "irc:someone"]},
        cooldowns: (overrides: {"nope": (user: "1s")}),
    ),
    messages: {"en-US": {"pong": "ok", "not-an-id": "x"}, "de-DE": {}},
)"#;
    let found = problems(text);
    let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    for expected in [
        "locale",
        "log.filter",
        "commands.prefix",
        "commands.aliases[\"B\"]",
        "commands.aliases[\"stop\"]",
        "commands.aliases[\"x\"]",
        "commands.aliases[\"two words\"]",
        "commands.permissions[\"brbb\"]",
        "commands.allow[\"raid\"][1]",
        "commands.cooldowns.overrides[\"nope\"]",
        "messages[\"en-US\"][\"not-an-id\"]",
        "messages[\"de-DE\"]",
    ] {
        assert!(
            paths.contains(&expected),
            "missing {expected} in {found:#?}"
        );
    }
    assert_eq!(found.len(), 12, "{found:#?}");
    let message = |path: &str| &found.iter().find(|p| p.path == path).unwrap().message;
    assert!(message("commands.permissions[\"brbb\"]").contains("did you mean `brb`"));
    assert!(message("commands.aliases[\"B\"]").contains("duplicate"));
    assert!(message("commands.aliases[\"stop\"]").contains("already a command"));
    assert!(message("locale").contains("en-US, nb-NO"));
    // Semantic problems point at the value in the file.
    let locale = found.iter().find(|p| p.path == "locale").unwrap();
    assert_eq!((locale.line, locale.col), (2, 13));
}

#[test]
fn durations_and_levels_are_checked_as_types() {
    let found = problems(r#"(commands: (cooldowns: (command: "soon", exempt: Owner)))"#);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].message.contains("not a duration"));
    assert!(found[1].message.contains("unknown variant `Owner`"));
}

#[test]
fn load_reports_the_file_and_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ron");
    std::fs::write(&path, "(\n  locale: 5,\n  nope: 1,\n)").unwrap();
    let error = Config::load(&path).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, ConfigError::Invalid { ref problems, .. } if problems.len() == 2));
    assert!(text.contains("2 problems"), "{text}");
    assert!(
        text.contains("bad.ron:2:11: locale: expected string, found `5`"),
        "{text}"
    );
    assert!(
        text.contains("bad.ron:3:3: nope: unknown field `nope`"),
        "{text}"
    );
    let missing = Config::load(&dir.path().join("missing.ron")).unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }));
}

#[test]
fn no_config_key_holds_a_secret() {
    // Secrets only come from the environment: no field name in the schema suggests one.
    let text = shipped_with_examples().to_lowercase();
    for word in ["password", "token:", "secret:", "key:"] {
        let hit = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .any(|l| l.contains(word));
        assert!(!hit, "config.ron has a `{word}` key");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_gives_problems_never_a_panic(text in "\\PC{0,400}") {
        let _ = Config::parse(&text);
    }

    #[test]
    fn mutations_of_the_shipped_config_never_panic(
        cut in 0usize..4000,
        insert in "[(){}\\[\\],:\"a-z0-9 \n]{0,8}",
    ) {
        let text = shipped_text();
        let mut at = cut.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mutated = format!("{}{}{}", &text[..at], insert, &text[at..]);
        if let Err(problems) = Config::parse(&mutated) {
            prop_assert!(!problems.is_empty());
            for p in problems {
                prop_assert!(p.line >= 1 && p.col >= 1);
            }
        }
    }
}
