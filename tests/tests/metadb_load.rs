//! The collector's MetaDB load must not grow with the number of nodes: three
//! SELECTs per region per tick (host, heart_beat, NOW()), counted by MariaDB itself.
#![allow(missing_docs)]

use std::time::Duration;

use omswatch_tests::cluster::{Cluster, ClusterSpec};

async fn com_select(cluster: &Cluster) -> anyhow::Result<i64> {
    // SHOW STATUS is counted as Com_show_status, so reading the counter does not move it.
    let row: (String, String) = sqlx::query_as("SHOW GLOBAL STATUS LIKE 'Com_select'")
        .fetch_one(cluster.db.pool())
        .await?;
    Ok(row.1.parse()?)
}

#[tokio::test]
async fn three_selects_per_tick_whatever_the_node_count() -> anyhow::Result<()> {
    let mut spec = ClusterSpec::healthy(4);
    spec.tick = Duration::from_millis(250);
    let cluster = Cluster::start(spec).await?;
    let window = Duration::from_secs(3);
    let before = com_select(&cluster).await?;
    tokio::time::sleep(window).await;
    let selects = com_select(&cluster).await? - before;
    let ticks = (window.as_millis() / 250) as i64;
    // 4 nodes; per-node queries would give 8 or more per tick. One tick of slack either side.
    assert!(
        (3 * (ticks - 1)..=3 * (ticks + 1)).contains(&selects),
        "{selects} SELECTs in {ticks} ticks: expected 3 per tick for 4 nodes"
    );
    Ok(())
}
