use super::*;

fn flags(files: &str, insecure: bool, allow_remote: bool) -> TransportFlags {
    let file = |flag: char| {
        files
            .contains(flag)
            .then(|| format!("/pki/{flag}.pem").into())
    };
    TransportFlags {
        tls: ClientTlsFiles {
            ca: file('a'),
            cert: file('c'),
            key: file('k'),
        },
        insecure,
        insecure_allow_remote: allow_remote,
    }
}

/// URL, which files (a = --ca, c = --cert, k = --key), --insecure,
/// --insecure-allow-remote → "tls", "plain", or the error's distinctive words.
type Case = (
    &'static str,
    &'static str,
    bool,
    bool,
    Result<&'static str, &'static str>,
);

#[test]
fn url_scheme_and_flags_decide_the_transport() {
    let cases: &[Case] = &[
        ("https://10.0.0.5:9470", "ack", false, false, Ok("tls")),
        ("HTTPS://oms-collector:9470", "ack", false, false, Ok("tls")),
        (
            "https://10.0.0.5:9470",
            "",
            false,
            false,
            Err("needs --ca, --cert, --key"),
        ),
        (
            "https://10.0.0.5:9470",
            "a",
            false,
            false,
            Err("needs --cert, --key"),
        ),
        (
            "https://10.0.0.5:9470",
            "ac",
            false,
            false,
            Err("needs --key:"),
        ),
        (
            "https://10.0.0.5:9470",
            "ck",
            false,
            false,
            Err("needs --ca:"),
        ),
        (
            "https://10.0.0.5:9470",
            "ack",
            true,
            false,
            Err("does not turn off"),
        ),
        (
            "http://127.0.0.1:9470",
            "",
            false,
            false,
            Err("is plain text"),
        ),
        (
            "http://10.0.0.5:9470",
            "",
            false,
            false,
            Err("is plain text"),
        ),
        ("http://127.0.0.1:9470", "", true, false, Ok("plain")),
        ("http://localhost:9470", "ack", true, false, Ok("plain")),
        ("http://[::1]:9470", "", true, false, Ok("plain")),
        (
            "http://10.0.0.5:9470",
            "",
            true,
            false,
            Err("not a loopback"),
        ),
        ("http://10.0.0.5:9470", "", true, true, Ok("plain")),
        (
            "http://10.0.0.5:9470",
            "",
            false,
            true,
            Err("together with --insecure"),
        ),
        (
            "10.0.0.5:9470",
            "ack",
            false,
            false,
            Err("must start with https://"),
        ),
        (
            "grpc://10.0.0.5:9470",
            "ack",
            true,
            false,
            Err("must start with https://"),
        ),
    ];
    for (url, files, insecure, remote, want) in cases {
        let got = check(url, &flags(files, *insecure, *remote));
        match (want, got) {
            (Ok("tls"), Ok(Transport::Tls(tls))) => {
                assert!(tls.ca.is_some() && tls.cert.is_some() && tls.key.is_some());
            }
            (Ok("plain"), Ok(Transport::Plain)) => {}
            (Err(words), Err(e)) => {
                let text = e.to_string();
                assert!(text.contains(words), "{url} {files}: {text}");
            }
            (want, got) => panic!("{url} {files} {insecure} {remote}: want {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn errors_teach_the_next_step() {
    let missing = check("https://c:9470", &flags("a", false, false)).map(|_| ());
    let text = missing.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("omswatch certs node"), "{text}");
    let remote = check("http://10.1.1.1:9470", &flags("", true, false)).map(|_| ());
    let text = remote.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("--insecure-allow-remote"), "{text}");
    assert!(text.contains("http://10.1.1.1:9470"), "{text}");
}
