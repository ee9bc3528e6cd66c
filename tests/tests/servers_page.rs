//! Issue 9's Servers page in a real browser (Debian's chromium, headless, through
//! chromedriver), on the demo's cluster over real TLS: signing in, what the page shows, its
//! live refresh, a phone's width, the first paint without JavaScript (a second browser),
//! signing out, and the collector going away. One cluster for all of it: the machine is small.
//! Screenshots go to `target/test-output/servers_page/`; with `OMSWATCH_UPDATE_SCREENSHOT=1`
//! the README's `docs/servers-page.png` is written from the same run.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use omswatch_tests::browser::{Browser, BrowserOptions, output_dir};
use omswatch_tests::cluster::{Cluster, ClusterSpec, TOKEN, find};
use omswatch_tests::servers_page::{self, full_screenshot, node_state, nodes, problems};

type Result = anyhow::Result<()>;

/// Set to 1 to rewrite docs/servers-page.png from this test.
const UPDATE_SCREENSHOT: &str = "OMSWATCH_UPDATE_SCREENSHOT";
/// The window of the wide screenshots.
const WIDE: (u32, u32) = (1280, 900);
/// The README's screenshot.
const README_SHOT: (u32, u32) = (1280, 1540);

/// The demo's cluster with oms_console stopped on node 3, once the collector sees both
/// mistakes (as `scripts/demo.sh` shows them).
async fn demo_cluster() -> anyhow::Result<Cluster> {
    let cluster = Cluster::start(ClusterSpec::demo()).await?;
    cluster.supervisors[2].stop_program("oms_console").await?;
    cluster
        .wait_for("both mistakes", Duration::from_secs(30), |s| {
            !find(s, "DUPLICATE_OMS_HOST_IP").is_empty()
                && !find(s, "HEARTBEAT_MISSING").is_empty()
                && find(s, "COMPONENT_NOT_RUNNING")
                    .iter()
                    .any(|f| f["evidence"]["program"] == "oms_console")
        })
        .await?;
    Ok(cluster)
}

fn ca(cluster: &Cluster) -> anyhow::Result<PathBuf> {
    Ok(cluster
        .pki
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the demo runs TLS"))?
        .ca
        .clone())
}

/// Fails, showing what the browser shows, unless its page is at `path`.
async fn expect_path(client: &Client, path: &str) -> Result {
    let url = client.current_url().await?;
    if url.path() != path {
        let source = client.source().await.unwrap_or_default();
        let shown: String = source.chars().take(1500).collect();
        anyhow::bail!("the browser is at {url}, not {path}; it shows:\n{shown}");
    }
    Ok(())
}

/// Signs in through the form with `token`; returns the page's path afterwards.
async fn sign_in(client: &Client, token: &str) -> anyhow::Result<String> {
    let form = client.form(Locator::Css("form.sign-in-form")).await?;
    form.set_by_name("token", token).await?;
    form.submit().await?;
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("body"))
        .await?;
    Ok(client.current_url().await?.path().to_string())
}

/// The ids of the findings the collector folded under `root_id`, by its status JSON.
fn folded_under(status: &serde_json::Value, root_id: &str) -> Vec<String> {
    let mut codes: Vec<String> = status["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["caused_by"] == root_id)
        .filter_map(|f| f["code"].as_str().map(String::from))
        .collect();
    codes.sort();
    codes
}

fn save(name: &str, png: &[u8]) -> anyhow::Result<PathBuf> {
    let path = output_dir("servers_page")?.join(name);
    std::fs::write(&path, png)?;
    Ok(path)
}

#[tokio::test]
async fn the_demo_clusters_page_in_chromium() -> Result {
    let mut cluster = demo_cluster().await?;
    let options = BrowserOptions {
        trust_ca: Some(ca(&cluster)?),
        window: WIDE,
        ..BrowserOptions::default()
    };
    let browser = Browser::start(&options).await?;
    let client = &browser.client;

    // No cookie: the sign-in form. A wrong token: refused, the form again.
    client.goto(&format!("{}/", cluster.http_url)).await?;
    expect_path(client, "/sign-in").await?;
    assert_eq!(
        sign_in(client, "not-the-token-0123456789").await?,
        "/sign-in"
    );
    let refused = client.find(Locator::Css(".refused")).await?.text().await?;
    assert!(refused.starts_with("Refused."), "{refused}");

    // The right token: the page, with every node and the demo's two problems.
    assert_eq!(sign_in(client, TOKEN).await?, "/");
    let rows = nodes(client).await?;
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["oms-node-1", "oms-node-2", "oms-node-3"],
        "{rows:?}"
    );
    assert_eq!(
        node_state(client, "oms-node-3").await.as_deref(),
        Some("DOWN")
    );
    let (status, _) = cluster.status_json().await?;
    let cards = problems(client).await?;
    let dup: Vec<_> = cards
        .iter()
        .filter(|c| c.code == "DUPLICATE_OMS_HOST_IP")
        .collect();
    assert_eq!(dup.len(), 1, "the duplicated IP is one problem: {cards:?}");
    let mut symptoms = dup[0].symptoms.clone();
    symptoms.sort();
    assert!(symptoms.len() >= 2, "{cards:?}");
    assert!(
        symptoms.contains(&"OMS_HOST_IP_MISMATCH".to_string()),
        "{cards:?}"
    );
    assert_eq!(
        symptoms,
        folded_under(&status, &dup[0].id),
        "as the collector folded them"
    );
    for card in &cards {
        assert!(
            !symptoms.contains(&card.code) || card.code == "DUPLICATE_OMS_HOST_IP",
            "a symptom is no problem of its own: {cards:?}"
        );
    }
    let stopped = cards
        .iter()
        .find(|c| c.code == "COMPONENT_NOT_RUNNING")
        .ok_or_else(|| anyhow::anyhow!("no COMPONENT_NOT_RUNNING problem: {cards:?}"))?;
    assert!(
        stopped
            .commands
            .contains(&"supervisorctl restart oms_console".to_string()),
        "the fix is a command to copy: {stopped:?}"
    );
    let verdict = servers_page::verdict(client).await?;
    // (The label is in capitals by the stylesheet: WebDriver reads the rendered text.)
    let rendered = verdict.to_lowercase();
    assert!(
        rendered.contains("critical") && rendered.contains("fix first"),
        "{verdict}"
    );

    save(
        "demo-1280-full.png",
        &full_screenshot(client, WIDE.0, WIDE.1).await?,
    )?;
    // The README's picture: the top of the page, down to the start of the timeline.
    client.set_window_size(README_SHOT.0, README_SHOT.1).await?;
    let png = client.screenshot().await?;
    save("demo-1280.png", &png)?;
    if std::env::var(UPDATE_SCREENSHOT).is_ok_and(|v| v == "1") {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/servers-page.png");
        std::fs::write(&docs, &png)?;
    }
    client.set_window_size(WIDE.0, WIDE.1).await?;

    // Live: node 3's program started again shows ONLINE within 6 s, without a reload.
    client
        .execute("window.omswatchNoReload = 42; return true;", vec![])
        .await?;
    cluster.supervisors[2].start_program("oms_console").await?;
    let started = Instant::now();
    while node_state(client, "oms-node-3").await.as_deref() != Some("ONLINE") {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(6),
            "oms-node-3 not ONLINE on the page 6 s after `supervisorctl start`: {:?}\n{}",
            nodes(client).await,
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    let same_page = client
        .execute("return window.omswatchNoReload === 42;", vec![])
        .await?;
    assert_eq!(
        same_page,
        serde_json::json!(true),
        "the page was not reloaded"
    );
    let refresh = client
        .find(Locator::Css("#refresh-text"))
        .await?
        .text()
        .await?;
    assert!(refresh.starts_with("Live · updated"), "{refresh}");
    eprintln!("oms-node-3 ONLINE on the page {took:?} after supervisorctl start");

    // A phone: nothing wider than the screen but the tables' own scrolling.
    client.set_window_size(390, 844).await?;
    let overflow = client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await?;
    assert_eq!(
        overflow,
        serde_json::json!(0),
        "the page scrolls sideways at 390 px"
    );
    save("demo-390.png", &full_screenshot(client, 390, 844).await?)?;
    client.set_window_size(WIDE.0, WIDE.1).await?;

    without_javascript(&cluster).await?;

    // The collector gone: the last data stays, a banner says since when.
    cluster.collector.kill();
    let gone = Instant::now();
    loop {
        let banner = client.find(Locator::Css("#banner")).await?;
        if banner.is_displayed().await? {
            let text = banner.text().await?;
            assert!(text.starts_with("Collector unreachable since"), "{text}");
            break;
        }
        anyhow::ensure!(
            gone.elapsed() < Duration::from_secs(15),
            "no banner 15 s after the collector died"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(nodes(client).await?.len(), 3, "the last data is kept");
    save("collector-gone-1280.png", &client.screenshot().await?)?;
    browser.close().await?;
    Ok(())
}

/// A second browser with JavaScript off: the form signs in, the first paint has the nodes
/// and the problems, and the sign-out form ends the session.
async fn without_javascript(cluster: &Cluster) -> Result {
    let options = BrowserOptions {
        javascript: false,
        trust_ca: Some(ca(cluster)?),
        window: WIDE,
    };
    let browser = Browser::start(&options).await?;
    let client = &browser.client;
    client.goto(&format!("{}/", cluster.http_url)).await?;
    expect_path(client, "/sign-in").await?;
    assert_eq!(sign_in(client, TOKEN).await?, "/", "a plain form signs in");

    let names: Vec<String> = nodes(client).await?.into_iter().map(|n| n.name).collect();
    assert_eq!(names, ["oms-node-1", "oms-node-2", "oms-node-3"]);
    let codes: Vec<String> = problems(client)
        .await?
        .into_iter()
        .map(|p| p.code)
        .collect();
    assert!(
        codes.contains(&"DUPLICATE_OMS_HOST_IP".to_string()),
        "{codes:?}"
    );
    // Without the script, the copy buttons stay out of the way: the command is plain text.
    let copy = client.find(Locator::Css("button.copy")).await?;
    assert!(
        !copy.is_displayed().await?,
        "no Copy button without JavaScript"
    );
    save("no-javascript-1280.png", &client.screenshot().await?)?;

    client
        .find(Locator::Css("form.sign-out button"))
        .await?
        .click()
        .await?;
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form.sign-in-form"))
        .await?;
    assert_eq!(client.current_url().await?.path(), "/sign-in");
    client.goto(&format!("{}/", cluster.http_url)).await?;
    assert_eq!(
        client.current_url().await?.path(),
        "/sign-in",
        "signed out: the page asks again"
    );
    browser.close().await?;
    Ok(())
}
