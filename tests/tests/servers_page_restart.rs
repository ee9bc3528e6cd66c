//! Issue 10's restart button on the Servers page, in a real headless chromium against a
//! real collector, real agents and real supervisords over TLS: a read-only token sees no
//! button and its posts (a bad CSRF token, or the right one of a read-only session) are
//! refused and change nothing; a token granted `restart` sees the button where both
//! `--allow-restart` switches are on (disabled, with the switch named, where the agent's is
//! off), clicks, confirms with a reason, gets RUNNING, and the page's timeline shows the
//! restart under the token's name. Screenshots go to `target/test-output/servers_page/`.
#![allow(missing_docs)]

use std::time::Duration;

use fantoccini::{Client, Locator};
use omswatch_tests::browser::{Browser, BrowserOptions, output_dir};
use omswatch_tests::cluster::{Cluster, ClusterSpec, TOKEN, find};
use omswatch_tests::servers_page::{self, RestartButton, full_screenshot, problems};

type Result = anyhow::Result<()>;

const PROGRAM: &str = "oms_console";
/// A token granted `restart`, named `oncall` in the token file.
const RESTART_TOKEN: &str = "omswatch-restart-token-77c2e0b4";
const WIDE: (u32, u32) = (1280, 900);

/// Three nodes; the collector and the agents of nodes 1 and 2 allow restarts, node 3's agent
/// does not. oms_console stopped on nodes 2 and 3; the token file gains the `oncall` token.
async fn cluster() -> anyhow::Result<Cluster> {
    let mut spec = ClusterSpec::healthy(3);
    spec.collector_args.push("--allow-restart".into());
    for node in spec.nodes.iter_mut().take(2) {
        node.agent_args = vec!["--allow-restart".into()];
    }
    let cluster = Cluster::start(spec).await?;
    let pki = cluster
        .pki
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("TLS cluster"))?;
    std::fs::write(
        &pki.token_file,
        format!("{TOKEN} name=viewer\n{RESTART_TOKEN} name=oncall scopes=read,restart\n"),
    )?;
    cluster.supervisors[1].stop_program(PROGRAM).await?;
    cluster.supervisors[2].stop_program(PROGRAM).await?;
    cluster
        .wait_for("both stopped programs", Duration::from_secs(30), |s| {
            find(s, "COMPONENT_NOT_RUNNING").len() == 2
        })
        .await?;
    let started = tokio::time::Instant::now();
    while !re_read(&cluster) {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(20),
            "the collector did not re-read its token file:\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(cluster)
}

/// Whether the collector logged the token file with the `oncall` token in it.
fn re_read(cluster: &Cluster) -> bool {
    cluster
        .all_logs()
        .lines()
        .any(|l| l.contains("token file re-read") && l.contains("token:oncall"))
}

async fn sign_in(client: &Client, url: &str, token: &str) -> Result {
    client.goto(&format!("{url}/sign-in")).await?;
    let form = client.form(Locator::Css("form.sign-in-form")).await?;
    form.set_by_name("token", token).await?;
    form.submit().await?;
    wait_for(client, "li.problem").await?;
    anyhow::ensure!(
        client.current_url().await?.path() == "/",
        "not signed in: {}",
        client.source().await.unwrap_or_default()
    );
    Ok(())
}

async fn wait_for(client: &Client, css: &str) -> Result {
    client
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css(css))
        .await?;
    Ok(())
}

/// Posts the page's restart form as a script of the page would (same origin), with `csrf`.
async fn post_restart(client: &Client, csrf: &str, node: &str) -> anyhow::Result<String> {
    let script = "const f = document.createElement('form'); f.method = 'post'; \
        f.action = 'restart'; const add = (n, v) => { const i = document.createElement('input'); \
        i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); }; \
        add('csrf', arguments[0]); add('node', arguments[1]); add('program', arguments[2]); \
        add('reason', 'forged'); document.body.appendChild(f); f.submit(); return true;";
    client
        .execute(script, vec![csrf.into(), node.into(), PROGRAM.into()])
        .await?;
    wait_for(client, ".refused, .restart-outcome").await?;
    Ok(client.find(Locator::Css("main")).await?.text().await?)
}

async fn csrf_of_page(client: &Client) -> anyhow::Result<String> {
    Ok(client
        .find(Locator::Css("form.sign-out input[name=csrf]"))
        .await?
        .attr("value")
        .await?
        .unwrap_or_default())
}

async fn remediation_events(cluster: &Cluster) -> anyhow::Result<usize> {
    let events = cluster.history(&["--kind", "remediation"]).await?;
    Ok(events.len())
}

fn save(name: &str, png: &[u8]) -> Result {
    std::fs::write(output_dir("servers_page")?.join(name), png)?;
    Ok(())
}

#[tokio::test]
async fn the_restart_button_brings_a_program_back_for_a_token_granted_restart() -> Result {
    let cluster = cluster().await?;
    let ca = cluster.pki.as_ref().map(|p| p.ca.clone());
    let browser = Browser::start(&BrowserOptions {
        trust_ca: ca,
        window: WIDE,
        ..BrowserOptions::default()
    })
    .await?;
    let client = &browser.client;
    let url = cluster.http_url.clone();

    // A read-only token: the problems, no button; its posts are refused, nothing changes.
    sign_in(client, &url, TOKEN).await?;
    let cards = problems(client).await?;
    assert_eq!(
        cards
            .iter()
            .filter(|c| c.code == "COMPONENT_NOT_RUNNING")
            .count(),
        2,
        "{cards:?}"
    );
    assert_eq!(servers_page::restart_buttons(client).await?, []);
    let csrf = csrf_of_page(client).await?;
    let bad = post_restart(client, &"0".repeat(64), "oms-node-2").await?;
    assert!(bad.contains("CSRF token"), "{bad}");
    client.goto(&format!("{url}/")).await?;
    let read_only = post_restart(client, &csrf, "oms-node-2").await?;
    assert!(
        read_only.contains("refused") && read_only.contains("restart"),
        "{read_only}"
    );
    assert!(read_only.contains("token:viewer"), "{read_only}");
    assert_eq!(
        cluster.supervisors[1].program_state(PROGRAM).await?,
        "STOPPED",
        "a refused post changed nothing"
    );
    let refusals = cluster.history(&["--kind", "remediation"]).await?;
    let results: Vec<&str> = refusals
        .iter()
        .filter_map(|e| e["result"].as_str())
        .collect();
    assert_eq!(
        results,
        ["refused"],
        "the bad CSRF token is not even recorded; the read-only session's try is: {refusals:#?}"
    );
    client.goto(&format!("{url}/")).await?;
    client
        .find(Locator::Css("form.sign-out button"))
        .await?
        .click()
        .await?;
    wait_for(client, "form.sign-in-form").await?;

    // The `oncall` token: node 2's button, node 3's disabled with the agent's switch named.
    sign_in(client, &url, RESTART_TOKEN).await?;
    let mut buttons = servers_page::restart_buttons(client).await?;
    buttons.sort_by(|a, b| a.node.cmp(&b.node));
    assert_eq!(
        buttons,
        [
            RestartButton {
                node: "oms-node-2".into(),
                program: PROGRAM.into(),
                enabled: true,
                off_reason: None,
            },
            RestartButton {
                node: "oms-node-3".into(),
                program: PROGRAM.into(),
                enabled: false,
                off_reason: Some("agent restarts off (--allow-restart)".into()),
            },
        ]
    );
    save(
        "restart-buttons-1280.png",
        &full_screenshot(client, WIDE.0, WIDE.1).await?,
    )?;
    click_restart(client, "oms-node-2").await?;
    wait_for(client, "h1.restart-question").await?;
    let question = client
        .find(Locator::Css("h1.restart-question"))
        .await?
        .text()
        .await?;
    assert_eq!(question, "Restart oms_console on oms-node-2?");
    save("restart-confirm-1280.png", &client.screenshot().await?)?;
    let form = client
        .form(Locator::Css("form.restart-form-confirm"))
        .await?;
    form.set_by_name("reason", "stopped in the e2e test")
        .await?;
    form.submit().await?;
    wait_for(client, ".restart-outcome").await?;
    let outcome = client.find(Locator::Css(".restart-outcome")).await?;
    let result = outcome.attr("data-result").await?.unwrap_or_default();
    let text = outcome.text().await?;
    assert_eq!(result, "running", "{text}\n{}", cluster.logs());
    assert!(
        text.contains("oms_console on oms-node-2 is RUNNING"),
        "{text}"
    );
    assert!(text.contains("token:oncall"), "{text}");
    save("restart-outcome-1280.png", &client.screenshot().await?)?;
    assert_eq!(
        cluster.supervisors[1].program_state(PROGRAM).await?,
        "RUNNING"
    );

    // Back on the page: the timeline shows the restart under the token's name.
    client
        .find(Locator::Css("a.restart-back"))
        .await?
        .click()
        .await?;
    wait_for(client, "table.timeline").await?;
    let rows = servers_page::timeline(client).await?;
    let restarts: Vec<_> = rows.iter().filter(|r| r.kind == "remediation").collect();
    assert!(
        restarts
            .iter()
            .any(|r| r.what.starts_with("restart oms_console: running")
                && r.nodes == "oms-node-2"
                && r.message.contains("token:oncall")
                && r.message.contains("RUNNING")),
        "{restarts:#?}"
    );
    assert!(
        restarts
            .iter()
            .any(|r| r.what == "restart oms_console: requested"
                && r.message.contains("stopped in the e2e test")),
        "{restarts:#?}"
    );
    assert_eq!(
        remediation_events(&cluster).await?,
        3,
        "refused, requested, running"
    );
    save(
        "restart-timeline-1280.png",
        &full_screenshot(client, WIDE.0, WIDE.1).await?,
    )?;
    browser.close().await?;
    Ok(())
}

/// Clicks node's restart button; the live part may be swapped under it by the refresh, so
/// a stale button is looked up again.
async fn click_restart(client: &Client, node: &str) -> Result {
    let css = format!("form.restart-form[data-node=\"{node}\"] button.restart");
    let mut last = None;
    for _ in 0..5 {
        match client.find(Locator::Css(&css)).await {
            Ok(button) => match button.click().await {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e.to_string()),
            },
            Err(e) => last = Some(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("cannot click the restart button of {node}: {last:?}")
}
