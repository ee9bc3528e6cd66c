//! Reading the collector's Servers page as a person sees it, through a real browser
//! ([`crate::browser::Browser`]): the nodes table, the problems with their folded symptoms,
//! the verdict and the refresh line, by the page's own markup (its classes are the contract
//! between `collector/templates/` and these tests).

use anyhow::Context;
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};

/// One row of the nodes table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// The node's name.
    pub name: String,
    /// The state badge's text (ONLINE, DEGRADED, DOWN).
    pub state: String,
}

/// One problem card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemCard {
    /// Its root finding's code.
    pub code: String,
    /// Its root finding's id (`data-id`).
    pub id: String,
    /// The codes of the symptoms folded under it.
    pub symptoms: Vec<String>,
    /// The commands shown as code in its fix.
    pub commands: Vec<String>,
}

async fn text_in(element: &Element, css: &str) -> anyhow::Result<String> {
    Ok(element
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("no {css}"))?
        .text()
        .await?
        .trim()
        .to_string())
}

async fn texts_in(element: &Element, css: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for e in element.find_all(Locator::Css(css)).await? {
        out.push(e.text().await?.trim().to_string());
    }
    Ok(out)
}

/// The rows of every nodes table on the page.
pub async fn nodes(client: &Client) -> anyhow::Result<Vec<NodeRow>> {
    let mut rows = Vec::new();
    for row in client
        .find_all(Locator::Css("table.nodes tbody tr"))
        .await?
    {
        rows.push(NodeRow {
            name: text_in(&row, "th").await?,
            state: text_in(&row, ".badge").await?,
        });
    }
    Ok(rows)
}

/// The problem cards, in the page's order.
pub async fn problems(client: &Client) -> anyhow::Result<Vec<ProblemCard>> {
    let mut cards = Vec::new();
    for card in client.find_all(Locator::Css("li.problem")).await? {
        cards.push(ProblemCard {
            code: text_in(&card, ".problem-head .code").await?,
            id: card.attr("data-id").await?.unwrap_or_default(),
            symptoms: texts_in(&card, "li.symptom .code").await?,
            commands: texts_in(&card, ".fix code").await?,
        });
    }
    Ok(cards)
}

/// A problem's restart button, as a viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartButton {
    /// The node it restarts on (`data-node`).
    pub node: String,
    /// The program (`data-program`).
    pub program: String,
    /// Whether it can be clicked.
    pub enabled: bool,
    /// Why not, beside a disabled button.
    pub off_reason: Option<String>,
}

/// The restart buttons of the problem cards (none for a viewer who may not restart).
pub async fn restart_buttons(client: &Client) -> anyhow::Result<Vec<RestartButton>> {
    let mut out = Vec::new();
    for actions in client
        .find_all(Locator::Css("li.problem .problem-actions"))
        .await?
    {
        let Ok(button) = actions.find(Locator::Css("button.restart")).await else {
            continue;
        };
        let off = actions.find(Locator::Css(".restart-off")).await.ok();
        out.push(RestartButton {
            node: actions.attr("data-node").await?.unwrap_or_default(),
            program: actions.attr("data-program").await?.unwrap_or_default(),
            enabled: button.is_enabled().await?,
            off_reason: match off {
                Some(e) => Some(e.text().await?.trim().to_string()),
                None => None,
            },
        });
    }
    Ok(out)
}

/// One row of the page's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    /// `raised`, `cleared`, `remediation`…
    pub kind: String,
    /// The code, state change or restart and its result.
    pub what: String,
    /// The nodes concerned.
    pub nodes: String,
    /// What happened.
    pub message: String,
}

/// The timeline's rows, newest first.
pub async fn timeline(client: &Client) -> anyhow::Result<Vec<TimelineRow>> {
    let mut rows = Vec::new();
    for row in client
        .find_all(Locator::Css("table.timeline tbody tr"))
        .await?
    {
        let cells = texts_in(&row, "td").await?;
        if let [_, kind, what, nodes, message] = cells.as_slice() {
            rows.push(TimelineRow {
                kind: kind.clone(),
                what: what.clone(),
                nodes: nodes.clone(),
                message: message.clone(),
            });
        }
    }
    Ok(rows)
}

/// The verdict bar's text (label, summary, "Fix first").
pub async fn verdict(client: &Client) -> anyhow::Result<String> {
    Ok(client
        .find(Locator::Css("section.verdict"))
        .await?
        .text()
        .await?)
}

/// The state badge of node `name`, if the page has a row for it (None while the page is
/// being swapped).
pub async fn node_state(client: &Client, name: &str) -> Option<String> {
    nodes(client)
        .await
        .ok()?
        .into_iter()
        .find(|n| n.name == name)
        .map(|n| n.state)
}

/// The whole page as a PNG: the window grown to the document's height first (WebDriver
/// screenshots show the viewport only), then set back to `width` × `height`.
pub async fn full_screenshot(client: &Client, width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    let document_height = client
        .execute(
            "return Math.ceil(document.documentElement.scrollHeight);",
            vec![],
        )
        .await?
        .as_u64()
        .unwrap_or(u64::from(height));
    let tall = u32::try_from(document_height)
        .unwrap_or(height)
        .clamp(height, 6000);
    client.set_window_size(width, tall).await?;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let png = client.screenshot().await?;
    client.set_window_size(width, height).await?;
    Ok(png)
}
