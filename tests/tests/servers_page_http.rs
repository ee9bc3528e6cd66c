//! The Servers page at the HTTP level, through the real curl: the security headers of every
//! answer, the session cookie's attributes, who gets the page (session, operator
//! certificate, node certificate, nobody), the same-origin rule and CSRF token of the forms,
//! the sign-in limit, the assets' cache headers, the restart form's refusals (another site, no
//! CSRF token, a bearer token, a read-only session), and the open page of an `--insecure`
//! collector on loopback.
#![allow(missing_docs)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use omswatch_tests::cluster::{CertFiles, Cluster, ClusterSpec, TOKEN};
use omswatch_tests::curl::{self, Answer};
use omswatch_tests::{TrackedChild, bin_path, free_port};
use tokio::process::Command;

type Result = anyhow::Result<()>;

/// The headers every answer of the page carries.
fn assert_secure_headers(answer: &Answer) {
    let csp = answer.header("content-security-policy").unwrap_or_default();
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} not in {csp:?}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(
        answer.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        answer.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    assert_eq!(answer.header("x-frame-options").as_deref(), Some("DENY"));
}

struct Client<'a> {
    cluster: &'a Cluster,
}

impl Client<'_> {
    fn args(&self, cert: Option<&CertFiles>, cookie: Option<&str>, extra: &[&str]) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(pki) = &self.cluster.pki {
            args.extend(["--cacert".to_string(), pki.ca.display().to_string()]);
        }
        if let Some(cert) = cert {
            args.extend([
                "--cert".to_string(),
                cert.cert.display().to_string(),
                "--key".to_string(),
                cert.key.display().to_string(),
            ]);
        }
        if let Some(cookie) = cookie {
            args.extend(["-H".to_string(), format!("Cookie: {cookie}")]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.cluster.http_url);
        curl::get(&url, &self.args(None, cookie, &[])).await
    }

    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
        extra: &[&str],
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.cluster.http_url);
        curl::post_form(&url, form, &self.args(None, cookie, extra)).await
    }
}

/// The `name=value` of a `Set-Cookie` header, and the header itself.
fn session_cookie(answer: &Answer) -> anyhow::Result<(String, String)> {
    let set = answer
        .header("set-cookie")
        .with_context(|| format!("no Set-Cookie: {answer:?}"))?;
    let pair = set.split(';').next().unwrap_or_default().trim().to_string();
    Ok((pair, set))
}

/// The value of `name="…"` in `html` at its first occurrence after `after`.
fn attribute_after(html: &str, after: &str, name: &str) -> Option<String> {
    let rest = &html[html.find(after)?..];
    let start = rest.find(&format!("{name}=\""))? + name.len() + 2;
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_string())
}

#[tokio::test]
async fn sign_in_sessions_headers_and_who_gets_the_page() -> Result {
    let cluster = Cluster::start(ClusterSpec::healthy(1)).await?;
    let client = Client { cluster: &cluster };

    // Nobody: the sign-in form's address; the form itself, with the headers.
    let root = client.get("/", None).await?;
    assert_eq!(
        (root.code, root.header("location").as_deref()),
        (303, Some("sign-in"))
    );
    assert_secure_headers(&root);
    let form = client.get("/sign-in", None).await?;
    assert_eq!(form.code, 200, "{form:?}");
    assert_secure_headers(&form);
    assert_eq!(form.header("cache-control").as_deref(), Some("no-store"));
    assert!(form.body.contains("name=\"token\""), "{}", form.body);
    assert_eq!(client.get("/page/live", None).await?.code, 401);

    // A form posted from another site is refused before its token is looked at.
    let evil = client
        .post(
            "/sign-in",
            &[("token", TOKEN)],
            None,
            &["-H", "Origin: https://evil.example"],
        )
        .await?;
    assert_eq!(evil.code, 403, "{evil:?}");
    assert!(evil.header("set-cookie").is_none());

    // A wrong token: refused, after a delay.
    let started = Instant::now();
    let wrong = client
        .post(
            "/sign-in",
            &[("token", "wrong-token-0123456789")],
            None,
            &[],
        )
        .await?;
    assert_eq!(wrong.code, 403, "{wrong:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(wrong.body.contains("Refused."), "{}", wrong.body);
    assert!(wrong.header("set-cookie").is_none());

    // The right token: a session cookie with every attribute, then the page and the API.
    let right = client
        .post("/sign-in", &[("token", TOKEN)], None, &[])
        .await?;
    assert_eq!(
        (right.code, right.header("location").as_deref()),
        (303, Some("./"))
    );
    let (cookie, set) = session_cookie(&right)?;
    let value = cookie
        .strip_prefix("__Host-omswatch-session=")
        .with_context(|| format!("cookie name: {set}"))?;
    assert!(
        value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        "{set}"
    );
    for attribute in [
        "Path=/",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=43200",
    ] {
        assert!(
            set.split("; ").any(|a| a == attribute),
            "{attribute} not in {set}"
        );
    }
    assert!(!set.contains(TOKEN), "the cookie is no token");
    let page = client.get("/", Some(&cookie)).await?;
    assert_eq!(page.code, 200, "{page:?}");
    assert_secure_headers(&page);
    assert!(page.body.contains("oms-node-1") && page.body.contains("signed in with a token"));
    let live = client.get("/page/live", Some(&cookie)).await?;
    assert!(
        live.code == 200 && live.body.starts_with("<div id=\"live\""),
        "{live:?}"
    );
    let api = client.get("/api/v1/status", Some(&cookie)).await?;
    assert_eq!(
        api.code, 200,
        "a signed-in page may read the status API: {api:?}"
    );
    let metrics = client.get("/metrics", Some(&cookie)).await?;
    assert_eq!(metrics.code, 401, "a page session is no scraper");
    let forged = client
        .get("/api/v1/status", Some("__Host-omswatch-session=00"))
        .await?;
    assert_eq!(forged.code, 401);

    // The assets: hashed names, cached for a year; an unknown name is no asset.
    let css = attribute_after(&page.body, "rel=\"stylesheet\"", "href").context("stylesheet")?;
    let asset = client.get(&format!("/{css}"), None).await?;
    assert_eq!(asset.code, 200);
    assert_eq!(
        asset.header("content-type").as_deref(),
        Some("text/css; charset=utf-8")
    );
    assert!(
        asset
            .header("cache-control")
            .unwrap_or_default()
            .contains("immutable")
    );
    assert_eq!(
        client.get("/assets/omswatch.0000.css", None).await?.code,
        404
    );

    // Sign-out needs the session's CSRF token; then the cookie is forgotten and dead.
    let csrf = attribute_after(&page.body, "name=\"csrf\"", "value").context("csrf field")?;
    let forged = client
        .post("/sign-out", &[("csrf", "0000")], Some(&cookie), &[])
        .await?;
    assert_eq!(forged.code, 403, "{forged:?}");
    let out = client
        .post("/sign-out", &[("csrf", &csrf)], Some(&cookie), &[])
        .await?;
    assert_eq!(
        (out.code, out.header("location").as_deref()),
        (303, Some("sign-in"))
    );
    assert!(session_cookie(&out)?.1.contains("Max-Age=0"));
    assert_eq!(
        client.get("/", Some(&cookie)).await?.code,
        303,
        "the session is gone"
    );
    assert_eq!(client.get("/api/v1/status", Some(&cookie)).await?.code, 401);

    // Certificates: an operator's signs in directly, a node's is refused with the reason.
    let pki = cluster.pki.as_ref().context("TLS")?;
    let url = format!("{}/", cluster.http_url);
    let operator = curl::get(&url, &client.args(Some(&pki.operator), None, &[])).await?;
    assert_eq!(operator.code, 200, "{operator:?}");
    assert!(operator.body.contains("operator tester (certificate)"));
    let node = pki.node("oms-node-1").context("node cert")?;
    let refused = curl::get(&url, &client.args(Some(node), None, &[])).await?;
    assert_eq!(refused.code, 403, "{refused:?}");
    assert!(refused.body.contains("may not query"), "{}", refused.body);

    // Guessing: after five refusals within a minute, an address is not even checked.
    // (The sign-in above forgot this address's earlier refusal.)
    for _ in 0..5 {
        client
            .post(
                "/sign-in",
                &[("token", "guess-0123456789abcdef")],
                None,
                &[],
            )
            .await?;
    }
    let held = client
        .post("/sign-in", &[("token", TOKEN)], None, &[])
        .await?;
    assert_eq!(held.code, 429, "{held:?}");
    assert!(held.header("set-cookie").is_none());
    Ok(())
}

/// The remediation events in the collector's timeline.
async fn remediations(cluster: &Cluster) -> anyhow::Result<Vec<serde_json::Value>> {
    cluster.history(&["--kind", "remediation"]).await
}

#[tokio::test]
async fn the_restart_form_refuses_forgeries_before_the_restart_core() -> Result {
    let cluster = Cluster::start(ClusterSpec::healthy(1)).await?;
    cluster.supervisors[0].stop_program("oms_console").await?;
    cluster
        .wait_finding("COMPONENT_NOT_RUNNING", &["oms-node-1"])
        .await?;
    let client = Client { cluster: &cluster };
    let pki = cluster.pki.as_ref().context("TLS")?;
    let url = |path: &str| format!("{}{path}", cluster.http_url);
    let operator = |extra: &[&str]| client.args(Some(&pki.operator), None, extra);
    let confirm_path = "/restart?node=oms-node-1&program=oms_console";

    // The operator may restart: the button is there, disabled by the collector's switch.
    let page = curl::get(&url("/"), &operator(&[])).await?;
    assert!(
        page.body
            .contains("collector restarts off (--allow-restart)"),
        "{}",
        page.body
    );
    let confirm = curl::get(&url(confirm_path), &operator(&[])).await?;
    assert_eq!(confirm.code, 200, "{confirm:?}");
    assert_secure_headers(&confirm);
    assert!(
        confirm
            .body
            .contains("Restart <code>oms_console</code> on oms-node-1?")
    );
    let csrf = attribute_after(&confirm.body, "name=\"csrf\"", "value").context("csrf")?;
    let form = |csrf: &str| {
        [
            ("csrf", csrf.to_string()),
            ("node", "oms-node-1".to_string()),
            ("program", "oms_console".to_string()),
            ("reason", "forged".to_string()),
        ]
    };
    let post = |fields: [(&'static str, String); 4], extra: Vec<String>| async move {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        curl::post_form(&url("/restart"), &fields, &extra).await
    };

    // Another site, no CSRF token, a bearer token: refused before the core, nothing recorded.
    let evil = post(
        form(&csrf),
        operator(&["-H", "Origin: https://evil.example"]),
    )
    .await?;
    assert_eq!(evil.code, 403, "{evil:?}");
    let no_csrf = post(form(""), operator(&[])).await?;
    assert_eq!(no_csrf.code, 403, "{no_csrf:?}");
    assert!(no_csrf.body.contains("CSRF token"), "{}", no_csrf.body);
    let bearer = format!("Authorization: Bearer {TOKEN}");
    let scripted = post(form(&csrf), client.args(None, None, &["-H", &bearer])).await?;
    assert_eq!(scripted.code, 403, "{scripted:?}");
    assert!(scripted.body.contains("posts no form"), "{}", scripted.body);
    assert_eq!(
        remediations(&cluster).await?,
        Vec::<serde_json::Value>::new()
    );

    // A read-only session: no button, no confirm page, its post refused.
    let signed = client
        .post("/sign-in", &[("token", TOKEN)], None, &[])
        .await?;
    let (cookie, _) = session_cookie(&signed)?;
    let page = client.get("/", Some(&cookie)).await?;
    assert!(!page.body.contains("class=\"restart\""), "{}", page.body);
    assert_eq!(client.get(confirm_path, Some(&cookie)).await?.code, 403);

    // The right CSRF token from this page reaches the core, which names the switch and
    // records the refusal under the operator's name.
    let done = post(form(&csrf), operator(&[])).await?;
    assert_eq!(done.code, 403, "{done:?}");
    assert!(done.body.contains("collector_switch_off"), "{}", done.body);
    assert!(done.body.contains("--allow-restart"), "{}", done.body);
    let events = remediations(&cluster).await?;
    let who: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| Some((e["result"].as_str()?, e["actor"].as_str()?)))
        .collect();
    assert_eq!(who, [("refused", "tester")], "{events:#?}");
    assert_eq!(
        cluster.supervisors[0].program_state("oms_console").await?,
        "STOPPED"
    );
    Ok(())
}

#[tokio::test]
async fn an_insecure_collector_on_loopback_serves_the_page_open_and_says_so() -> Result {
    let dir = tempfile::tempdir()?;
    let http = format!("127.0.0.1:{}", free_port()?);
    let log = std::fs::File::create(dir.path().join("collector.log"))?;
    let mut command = Command::new(bin_path("omswatch-collector")?);
    command
        .args([
            "--insecure",
            "--listen",
            &format!("127.0.0.1:{}", free_port()?),
        ])
        .args(["--http-listen", &http, "--tick", "1s"])
        .arg("--oms-config")
        .arg(dir.path().join("config.yaml"))
        .arg("--store")
        .arg(dir.path().join("store.db"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let _collector = TrackedChild::spawn(&mut command)?;
    let url = format!("http://{http}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let answer = curl::get(&format!("{url}/"), &[]).await?;
        if answer.code != 0 {
            break answer;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the collector never answered:\n{}",
            std::fs::read_to_string(dir.path().join("collector.log"))?
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(page.code, 200, "open: no sign-in: {page:?}");
    assert_secure_headers(&page);
    assert!(page.body.contains("Insecure mode."), "{}", page.body);
    assert!(
        page.body.contains("No agent has reported yet"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Sign out"), "nobody signs in or out");
    let sign_in = curl::get(&format!("{url}/sign-in"), &[]).await?;
    assert_eq!(sign_in.code, 303, "{sign_in:?}");
    Ok(())
}
