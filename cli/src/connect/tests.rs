//! Unit tests of the CLI's pure parts: flag rules, token files, failure text.

use std::path::PathBuf;

use clap::Parser;

use crate::connect::{self, ConnectArgs, ConnectError, TokenError};
use crate::failure;

/// Parses connection flags as `omswatch status` would (no environment).
#[derive(Debug, Parser)]
struct Flags {
    #[command(flatten)]
    connect: ConnectArgs,
}

fn args(flags: &[&str]) -> ConnectArgs {
    let argv = std::iter::once("omswatch").chain(flags.iter().copied());
    Flags::try_parse_from(argv).expect("flags parse").connect
}

#[test]
fn url_scheme_and_flags_decide_tls_or_plain_text() {
    let pki = ["--ca", "ca.pem", "--cert", "op.pem", "--key", "op-key.pem"];
    let cases: &[(&[&str], Result<bool, &str>)] = &[
        (&pki, Ok(true)),
        (&["--ca", "ca.pem"], Ok(true)),
        (&["--ca", "ca.pem", "--token-file", "t"], Ok(true)),
        (&[], Err("needs --ca FILE")),
        (
            &["--ca", "ca.pem", "--cert", "op.pem"],
            Err("--cert and --key go together"),
        ),
        (
            &["--ca", "ca.pem", "--key", "k.pem"],
            Err("--cert and --key go together"),
        ),
        (
            &["--ca", "ca.pem", "--insecure"],
            Err("does not turn off certificate checks"),
        ),
        (
            &["--collector", "http://127.0.0.1:9470"],
            Err("is plain text"),
        ),
        (
            &["--collector", "http://127.0.0.1:9470", "--insecure"],
            Ok(false),
        ),
        (
            &["--collector", "http://[::1]:9470", "--insecure"],
            Ok(false),
        ),
        (
            &["--collector", "http://10.0.0.5:9470", "--insecure"],
            Err("not a loopback address"),
        ),
        (
            &[
                "--collector",
                "http://10.0.0.5:9470",
                "--insecure",
                "--insecure-allow-remote",
            ],
            Ok(false),
        ),
        (
            &["--insecure-allow-remote"],
            Err("together with --insecure"),
        ),
        (
            &["--collector", "10.0.0.5:9470", "--ca", "c"],
            Err("must start with https://"),
        ),
    ];
    for (flags, want) in cases {
        let got = connect::plan(&args(flags)).map(|p| p.tls.is_some());
        match (want, got) {
            (Ok(tls), Ok(got)) => assert_eq!(*tls, got, "{flags:?}"),
            (Err(words), Err(e)) => assert!(e.to_string().contains(words), "{flags:?}: {e}"),
            (want, got) => panic!("{flags:?}: want {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn the_default_collector_is_https_on_loopback() {
    assert_eq!(args(&[]).collector, ["https://127.0.0.1:9470"]);
}

#[test]
fn plain_text_warns_about_unused_files_and_a_token_left_unsent() {
    let plan = connect::plan(&args(&[
        "--collector",
        "http://10.0.0.5:9470",
        "--insecure",
        "--insecure-allow-remote",
        "--ca",
        "ca.pem",
        "--token-file",
        "t",
    ]))
    .expect("plan");
    let text = plan.warnings.join("\n");
    assert!(text.contains("not used with an http:// URL"), "{text}");
    assert!(
        text.contains("--token-file is not sent over an http:// URL"),
        "{text}"
    );
}

#[test]
fn the_token_is_the_first_line_that_is_not_blank_or_a_comment() {
    assert_eq!(connect::parse_token("s3cret\n"), Some("s3cret"));
    assert_eq!(
        connect::parse_token("\n  \n\t s3cret  \r\nother\n"),
        Some("s3cret")
    );
    assert_eq!(
        connect::parse_token("# operators' tokens\n\ns3cret\n"),
        Some("s3cret")
    );
    assert_eq!(connect::parse_token(""), None);
    assert_eq!(connect::parse_token("\n \n# only a comment\n"), None);
    assert_eq!(
        connect::parse_token("s3cret name=ci scopes=read,restart\n"),
        Some("s3cret"),
        "a line of the collector's token file"
    );
}

#[test]
fn token_files_fail_without_showing_their_contents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = connect::read_token(&dir.path().join("absent")).expect_err("missing");
    assert!(matches!(missing, TokenError::Read { .. }), "{missing}");
    assert!(missing.to_string().contains("absent"), "{missing}");
    let blank = dir.path().join("blank");
    std::fs::write(&blank, "\n   \n").expect("write");
    assert!(matches!(
        connect::read_token(&blank),
        Err(TokenError::Empty { .. })
    ));
    let odd = dir.path().join("odd");
    std::fs::write(&odd, "hünter2\n").expect("write");
    let err = connect::read_token(&odd).expect_err("not ASCII");
    assert!(matches!(err, TokenError::Invalid { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("nter2"));
    let good = dir.path().join("good");
    std::fs::write(&good, "\n  hunter2\n").expect("write");
    let token = connect::read_token(&good).expect("token");
    assert_eq!(token.expose(), "hunter2");
}

#[test]
fn the_connection_never_shows_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("token");
    std::fs::write(&file, "hunter2\n").expect("write");
    let path = file.display().to_string();
    let ca = omswatch_common::identity::mint::Ca::create(
        "t",
        omswatch_common::identity::mint::Validity::days(1),
    )
    .expect("ca");
    let (ca_file, _) =
        omswatch_common::identity::mint::write_pair(dir.path(), "ca", ca.pem()).expect("write ca");
    let connection = args(&[
        "--collector",
        "https://127.0.0.1:1",
        "--ca",
        &ca_file.display().to_string(),
        "--token-file",
        &path,
    ])
    .connection()
    .expect("connection");
    let shown = format!("{connection:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}

#[test]
fn unreadable_tls_files_are_usage_errors_naming_the_file() {
    let flags = ["--ca", "/no/such/ca.pem", "--token-file", "/no/such/token"];
    match args(&flags).connection() {
        Err(ConnectError::Token(TokenError::Read { path, .. })) => {
            assert_eq!(path, PathBuf::from("/no/such/token"));
        }
        other => panic!("want the token file's error first, got {other:?}"),
    }
    let err = args(&["--ca", "/no/such/ca.pem"])
        .connection()
        .expect_err("no CA file");
    assert!(err.to_string().contains("/no/such/ca.pem"), "{err}");
}

#[test]
fn refusals_teach_how_to_authenticate() {
    for status in [
        tonic::Status::permission_denied("node certificate oms-1 may not query"),
        tonic::Status::unauthenticated("no operator certificate or token"),
    ] {
        let reason = status.message().to_string();
        let text = failure::explain("the status", "https://c:9470", &status.into(), true);
        assert!(
            text.contains("the collector refused this client ("),
            "{text}"
        );
        assert!(text.contains(&reason), "{text}");
        assert!(text.contains("omswatch certs operator"), "{text}");
        assert!(text.contains("--token-file"), "{text}");
        assert!(!text.contains("Is omswatch-collector running"), "{text}");
    }
}

#[test]
fn other_failures_point_at_tls_or_the_collector() {
    let down = anyhow::anyhow!("transport error: connection refused");
    let text = failure::explain("the bundle", "https://c:9470", &down, true);
    assert!(
        text.starts_with("omswatch: cannot get the bundle from https://c:9470"),
        "{text}"
    );
    assert!(text.contains("Is omswatch-collector running"), "{text}");
    let untrusted = anyhow::anyhow!("transport error: invalid peer certificate: UnknownIssuer");
    let text = failure::explain("the status", "https://c:9470", &untrusted, true);
    assert!(text.contains("TLS failed. Check that --ca"), "{text}");
    let busy = tonic::Status::unavailable("shutting down");
    let text = failure::explain("the status", "http://127.0.0.1:1", &busy.into(), false);
    assert!(text.contains("shutting down (Unavailable)"), "{text}");
}

#[test]
fn a_pair_repeats_the_flag_or_comma_separates_and_is_reached_alike() {
    let pair = args(&["--collector", "https://a:9470,https://b:9470", "--ca", "c"]);
    assert_eq!(pair.collector, ["https://a:9470", "https://b:9470"]);
    let repeated = args(&[
        "--collector",
        "https://a:9470",
        "--collector",
        "https://b:9470",
        "--ca",
        "c",
    ]);
    assert_eq!(repeated.collector, pair.collector);
    assert!(connect::plan(&pair).expect("plan").tls.is_some());
    let mixed = args(&[
        "--collector",
        "https://a:9470,http://127.0.0.1:9470",
        "--ca",
        "c",
        "--insecure",
    ]);
    let err = connect::plan(&mixed).expect_err("mixed");
    assert!(
        err.to_string()
            .contains("does not turn off certificate checks"),
        "{err}"
    );
    let twice = args(&["--collector", "https://a:9470,https://a:9470", "--ca", "c"]);
    let err = connect::plan(&twice).expect_err("twice");
    assert!(err.to_string().contains("given twice"), "{err}");
}
