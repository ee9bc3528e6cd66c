//! The files a deployment leaves on disk: each region's config.yaml (as the OMS
//! installer writes it), each node's own copy, and its docker_init log.

use std::path::{Path, PathBuf};

use super::spec::{ClusterSpec, ConfigEdit};
use crate::TestNet;

/// The MetaDB login the generated config.yaml uses.
pub const META_USER: &str = "oms_meta";
/// Its password: tests search outputs for it to prove it never leaks.
pub const META_PASSWORD: &str = "Secr3t-oms-meta-pw";
/// `drc_cm_db` of the generated config.yaml (shared by all regions, as in OMS).
pub const CM_DB: &str = "oms_cm";
/// `drc_cm_heartbeat_db` of region 0; region r uses `oms_cm_heartbeat_<r>`.
pub const HEARTBEAT_DB: &str = "oms_cm_heartbeat_0";

/// The heartbeat database of region `r`.
pub fn heartbeat_db(r: usize) -> String {
    format!("oms_cm_heartbeat_{r}")
}

/// Writes every region's config.yaml into `dir`; returns their paths.
pub fn write_region_configs(
    dir: &Path,
    spec: &ClusterSpec,
    net: &TestNet,
    port: u16,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for r in 0..spec.regions.max(1) {
        let path = dir.join(format!("config-region{r}.yaml"));
        let mut text = match (&spec.config_text, r) {
            (Some(text), 0) => text.replace("{port}", &port.to_string()),
            _ => region_config(spec, net, port, r),
        };
        for (_, edit) in spec.region_edits.iter().filter(|(region, _)| *region == r) {
            text = apply(&text, edit, net)?;
        }
        std::fs::write(&path, text)?;
        paths.push(path);
    }
    Ok(paths)
}

/// A node's own config.yaml: its region's, with the node's edits applied.
pub fn write_node_config(
    dir: &Path,
    region_config: &Path,
    node: &str,
    edits: &[ConfigEdit],
    net: &TestNet,
) -> anyhow::Result<PathBuf> {
    let mut text = std::fs::read_to_string(region_config)?;
    for edit in edits {
        text = apply(&text, edit, net)?;
    }
    let path = dir.join(format!("config-{node}.yaml"));
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Applies one edit to config.yaml text.
pub fn apply(text: &str, edit: &ConfigEdit, net: &TestNet) -> anyhow::Result<String> {
    let ips = |s: &str| {
        net.nodes()
            .iter()
            .enumerate()
            .rev()
            .fold(s.to_string(), |acc, (i, n)| {
                acc.replace(&format!("{{ip{i}}}"), &n.ip.to_string())
            })
    };
    let is_key = |line: &str, key: &str| line.split_once(':').is_some_and(|(k, _)| k == key);
    Ok(match edit {
        ConfigEdit::Set(key, value) => {
            let line = format!("{key}: {}", ips(value));
            if text.lines().any(|l| is_key(l, key)) {
                text.lines()
                    .map(|l| {
                        if is_key(l, key) {
                            format!("{line}\n")
                        } else {
                            format!("{l}\n")
                        }
                    })
                    .collect()
            } else {
                format!("{text}{line}\n")
            }
        }
        ConfigEdit::Remove(key) => text
            .lines()
            .filter(|l| !is_key(l, key))
            .map(|l| format!("{l}\n"))
            .collect(),
        ConfigEdit::Replace(old, new) => {
            let (old, new) = (ips(old), ips(new));
            anyhow::ensure!(text.contains(&old), "config edit: {old:?} not in the file");
            text.replace(&old, &new)
        }
    })
}

/// A node's log directory, with a docker_init log when the deployment ran it.
pub fn write_log_dir(dir: &Path, node: &str, docker_init_ran: bool) -> anyhow::Result<PathBuf> {
    let logs = dir.join(format!("logs-{node}"));
    std::fs::create_dir_all(&logs)?;
    if docker_init_ran {
        std::fs::write(
            logs.join("docker_init.log.20261125"),
            "OMS service start successfully\n",
        )?;
    }
    Ok(logs)
}

/// Region `r`'s config.yaml, as the OMS installer would write it.
fn region_config(spec: &ClusterSpec, net: &TestNet, port: u16, r: usize) -> String {
    let subnet = net.bridge_ip().octets();
    let mut cm_nodes: Vec<String> = spec
        .nodes
        .iter()
        .zip(net.nodes())
        .filter(|(n, _)| n.in_cm_nodes && n.region == r)
        .map(|(_, n)| n.ip.to_string())
        .collect();
    if r == 0 {
        cm_nodes.extend(
            spec.extra_cm_nodes
                .iter()
                .map(|h| format!("{}.{}.{}.{h}", subnet[0], subnet[1], subnet[2])),
        );
    }
    let list: String = cm_nodes.iter().map(|ip| format!("  - {ip}\n")).collect();
    let region = if spec.regions > 1 {
        format!("region_{r}")
    } else {
        String::new()
    };
    format!(
        "# OMS config.yaml of region {r} (omswatch test cluster)\n\
         oms_meta_host: 127.0.0.1\noms_meta_port: {port}\noms_meta_user: {META_USER}\n\
         oms_meta_password: \"{META_PASSWORD}\"\ndrc_rm_db: oms_rm\ndrc_cm_db: {CM_DB}\n\
         drc_cm_heartbeat_db: {}\ncm_url: http://{}:8088\ncm_location: {r}\ncm_region: \"{region}\"\n\
         cm_is_default: {}\ncm_nodes:\n{list}tsdb_enabled: false\n",
        heartbeat_db(r),
        cm_nodes.first().map_or("127.0.0.1", String::as_str),
        r == 0
    )
}
