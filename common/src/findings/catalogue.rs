//! The finding catalogue: every code omswatch can emit, its severity, what it
//! means and how to fix it. docs/FINDINGS.md documents the same table, and a test
//! checks that every code here appears there.

use std::fmt;

/// How bad a finding is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing, nothing to do.
    Info,
    /// Something is off and will bite later.
    Warning,
    /// OMS is or will be Down, or projects fail.
    Critical,
}

impl Severity {
    /// The lower-case wire name: `info`, `warning`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding does to the state of the nodes it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeImpact {
    /// The node does not serve: OMS shows it Down.
    Down,
    /// The node serves but is misconfigured.
    Degraded,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The stable code.
    pub code: Code,
    /// Severity of every finding with this code.
    pub severity: Severity,
    /// What the nodes named by such a finding become.
    pub impact: NodeImpact,
    /// One line: what the finding means.
    pub meaning: &'static str,
    /// Why it usually happens.
    pub cause: &'static str,
    /// What to do; `{key}` placeholders are filled from the finding's evidence.
    pub remedy: &'static str,
}

macro_rules! catalogue {
    ($( $variant:ident => $name:literal, $sev:ident, $impact:ident,
        meaning: $meaning:literal, cause: $cause:literal, remedy: $remedy:literal; )*) => {
        /// A stable finding code. The wire form (`as_str`) is a contract: never renamed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( #[doc = $meaning] $variant, )*
        }

        impl Code {
            /// Every code, in catalogue order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The wire name, e.g. `DUPLICATE_OMS_HOST_IP`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            /// The catalogue entry of this code.
            pub fn entry(self) -> Entry {
                match self {
                    $( Code::$variant => Entry {
                        code: self,
                        severity: Severity::$sev,
                        impact: NodeImpact::$impact,
                        meaning: $meaning,
                        cause: $cause,
                        remedy: $remedy,
                    }, )*
                }
            }

            /// The code whose wire name is `name` (case-insensitive).
            pub fn parse(name: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(name.trim()))
            }
        }
    };
}

catalogue! {
    DuplicateOmsHostIp => "DUPLICATE_OMS_HOST_IP", Critical, Degraded,
        meaning: "Two or more live nodes report the same OMS_HOST_IP.",
        cause: "Every container was started with the same `-e OMS_HOST_IP=...` (a copied docker run line). OMS then registers one host for several servers, and the others go Down.",
        remedy: "Recreate the containers of {nodes} so that each gets its own server's IP: `docker run ... -e OMS_HOST_IP=<that server's IP>`; only one of them may keep {ip}.";
    OmsHostIpMissing => "OMS_HOST_IP_MISSING", Critical, Degraded,
        meaning: "A node's OMS_HOST_IP is unset or empty.",
        cause: "The container was started without `-e OMS_HOST_IP=<server IP>`, so OMS cannot tell which host it is.",
        remedy: "Recreate the container on {node} with `-e OMS_HOST_IP=<this server's IP>` (one of: {hostname_ips}).";
    OmsHostIpMismatch => "OMS_HOST_IP_MISMATCH", Critical, Degraded,
        meaning: "OMS_HOST_IP is not among the addresses `hostname -i` prints on that node.",
        cause: "The container was started with another server's IP, or the host name resolves to a different address (/etc/hosts).",
        remedy: "On {node}, make OMS_HOST_IP ({oms_host_ip}) and `hostname -i` ({hostname_ips}) agree: recreate the container with `-e OMS_HOST_IP=<this server's IP>`, or fix /etc/hosts so the host name resolves to it.";
    NodeNotInCmNodes => "NODE_NOT_IN_CM_NODES", Critical, Degraded,
        meaning: "A node's OMS_HOST_IP is not in its region's cm_nodes.",
        cause: "config.yaml's cm_nodes lists other IPs than the containers were started with, or the node was added without updating cm_nodes.",
        remedy: "Add {oms_host_ip} to cm_nodes in {file} (or start the container with an IP that is listed), then run `bash /root/docker_init.sh` in the container.";
    CmNodeNotReporting => "CM_NODE_NOT_REPORTING", Warning, Degraded,
        meaning: "An IP in cm_nodes that no live agent reports as its OMS_HOST_IP.",
        cause: "The server's omswatch agent is not deployed or not running, the container is down, or the container runs with another OMS_HOST_IP.",
        remedy: "On server {ip}: check the OMS container is up (`docker ps`) and started with `-e OMS_HOST_IP={ip}`, and that omswatch-agent runs there.";
    NodeSilent => "NODE_SILENT", Critical, Down,
        meaning: "An agent that reported before has been silent for longer than 3 intervals.",
        cause: "The container or server stopped, the agent crashed, or the network between node and collector is cut.",
        remedy: "Check {node}: is the server up, is the OMS container running (`docker ps`), is omswatch-agent running and able to reach the collector?";
    HostRowMissing => "HOST_ROW_MISSING", Critical, Down,
        meaning: "A cm_nodes IP has no row in the host table of drc_cm_db.",
        cause: "The deployment is incomplete: docker_init.sh did not finish on that server, or cm_nodes names an IP OMS never registered.",
        remedy: "In the container on {ip}, run `bash /root/docker_init.sh` and check /home/admin/logs/docker_init.log.*; then `SELECT ip,host_status FROM {db}.host;` must list {ip}.";
    HostNotOnline => "HOST_NOT_ONLINE", Critical, Down,
        meaning: "A host row's host_status is not ONLINE.",
        cause: "oms_drc_supervisor on that host stopped sending heartbeats, or OMS marked the host offline after a failure.",
        remedy: "On {ip}: `supervisorctl status`, restart any component not RUNNING (`supervisorctl restart oms_drc_supervisor`), and check OMS_HOST_IP matches {ip}.";
    HeartbeatMissing => "HEARTBEAT_MISSING", Critical, Down,
        meaning: "A cm_nodes IP has no supervisor row in heart_beat.",
        cause: "oms_drc_supervisor never reported from that IP: it is not running, or the container's OMS_HOST_IP is another IP.",
        remedy: "On {ip}: check `supervisorctl status oms_drc_supervisor` and that the container runs with `-e OMS_HOST_IP={ip}`; the row appears in {db}.heart_beat once it reports.";
    HeartbeatStale => "HEARTBEAT_STALE", Critical, Down,
        meaning: "The supervisor heartbeat's gmt_modified is older than the threshold.",
        cause: "oms_drc_supervisor on that host stopped or hangs, or cannot reach the MetaDB.",
        remedy: "On {ip}: `supervisorctl restart oms_drc_supervisor`, then check /home/admin/logs/supervisor for MetaDB errors; the heartbeat must be younger than {threshold_s}s.";
    ComponentNotRunning => "COMPONENT_NOT_RUNNING", Critical, Down,
        meaning: "A supervisor program is not RUNNING.",
        cause: "The component exited or failed to start (see its spawn error and log), or it was left stopped (autostart=false) after an upgrade.",
        remedy: "In the OMS container on {node}: `supervisorctl restart {program}`; if it stops again, read its log under /home/admin/logs.{?autostart_hint}";
    SupervisorUnreachable => "SUPERVISOR_UNREACHABLE", Critical, Down,
        meaning: "The agent cannot reach supervisord.",
        cause: "supervisord is not running in the container, or its socket/port differs from what the agent reads in supervisord.conf.",
        remedy: "In the OMS container on {node}: check `supervisorctl status`; if supervisord is not running, restart the container; else point the agent at it with --supervisor URL.";
    MetadbUnreachable => "METADB_UNREACHABLE", Critical, Degraded,
        meaning: "omswatch (the collector, or `omswatch check`) cannot read the MetaDB: connect, login, database or table missing.",
        cause: "The MetaDB (oms_meta_host) is down or unreachable, the credentials in config.yaml are wrong, or the deployment did not create the databases.",
        remedy: "Check that `mysql -h{host} -P{port} -u{user} -p` works from the host omswatch runs on and that {target} exists; fix oms_meta_* in {file}.";
    ConfigInvalid => "CONFIG_INVALID", Critical, Degraded,
        meaning: "A config.yaml cannot be read or parsed, or lacks a required key.",
        cause: "A hand edit broke the YAML, or the deployment left required keys out.",
        remedy: "Fix {file} at line {line}: {problem}";
    ConfigKeyMissing => "CONFIG_KEY_MISSING", Warning, Degraded,
        meaning: "A region's config.yaml lacks a key the OMS installer requires (cm_location, cm_is_default, or cm_region with several regions).",
        cause: "The file was written by hand or by an older installer.",
        remedy: "Add `{key}` to {file} ({hint}) and re-run `bash /root/docker_init.sh` in the containers.";
    CmNodesDuplicate => "CM_NODES_DUPLICATE", Critical, Degraded,
        meaning: "An IP appears more than once in cm_nodes, within one region or across regions.",
        cause: "A copy-paste in config.yaml, or a server listed in two regions.",
        remedy: "List {ip} once, in the cm_nodes of the one region that server belongs to ({files}).";
    CmUrlInvalid => "CM_URL_INVALID", Critical, Degraded,
        meaning: "cm_url is not an http(s) URL, or points to loopback in a region of several nodes.",
        cause: "127.0.0.1 works on one node only; other nodes then reach no CM. Multi-node regions need a VIP or a reachable address.",
        remedy: "Set cm_url in {file} (line {line}) to `http://<VIP or server IP>:{cm_server_port}`; it is {cm_url} now.";
    CmUrlPortMismatch => "CM_URL_PORT_MISMATCH", Warning, Degraded,
        meaning: "cm_url's port differs from cm_server_port (fine only behind a VIP that forwards).",
        cause: "cm_server_port was changed without updating cm_url, or the other way round.",
        remedy: "Make cm_url's port ({url_port}) and cm_server_port ({cm_server_port}) in {file} agree, unless a VIP on {url_port} forwards to {cm_server_port}.";
    CmLocationInvalid => "CM_LOCATION_INVALID", Critical, Degraded,
        meaning: "cm_location is not a number in 0..127, or two regions share it.",
        cause: "Regions were copied from one file to another without changing cm_location.",
        remedy: "Give each region its own cm_location in 0..127 ({files}); the value seen is {cm_location}.";
    HeartbeatDbShared => "HEARTBEAT_DB_SHARED", Critical, Degraded,
        meaning: "Several regions name the same drc_cm_heartbeat_db.",
        cause: "Regions were copied without changing drc_cm_heartbeat_db (default oms_cm_heartbeat_<cm_location>).",
        remedy: "Give each region its own drc_cm_heartbeat_db ({files} all use {db}), e.g. oms_cm_heartbeat_<cm_location>.";
    DefaultRegionCount => "DEFAULT_REGION_COUNT", Critical, Degraded,
        meaning: "Not exactly one region has cm_is_default: true.",
        cause: "Every region's file was copied from the default one, or none was marked default.",
        remedy: "Set cm_is_default: true in exactly one region's config.yaml and false in the others (now true in: {defaults}).";
    CmNodesCountMismatch => "CM_NODES_COUNT_MISMATCH", Warning, Degraded,
        meaning: "The number of cm_nodes over all regions differs from the number of nodes reporting.",
        cause: "A server was added or removed without updating cm_nodes, or agents are missing.",
        remedy: "cm_nodes lists {cm_nodes_count} servers but {reporting_count} nodes report: update cm_nodes or deploy the missing agents.";
    ConfigDrift => "CONFIG_DRIFT", Warning, Degraded,
        meaning: "A node's config.yaml differs from its region's (other nodes' or the collector's copy) on a key that must agree.",
        cause: "The file was edited on one server only, or a container mounts an old copy.",
        remedy: "Make `{key}` identical on every node of the region and in the collector's copy ({file}); {node} has {node_value}, expected {expected_value}. Then restart that node's container.";
    NodeConfigUnreadable => "NODE_CONFIG_UNREADABLE", Warning, Degraded,
        meaning: "The agent cannot read or parse its node's config.yaml.",
        cause: "The file is not mounted where the agent looks, or it is broken on that node.",
        remedy: "On {node}: check {path} (the agent's --oms-config) exists and is valid YAML: {error}";
    HostRowUnknown => "HOST_ROW_UNKNOWN", Warning, Degraded,
        meaning: "A host table row whose IP is in no region's cm_nodes.",
        cause: "A server was removed from cm_nodes but not from OMS, or a container registered under a wrong OMS_HOST_IP.",
        remedy: "If {ip} is no OMS server any more, remove it in the OMS console (OPS & Monitoring > Servers); if it is, add it to cm_nodes.";
    HostRowDuplicate => "HOST_ROW_DUPLICATE", Warning, Degraded,
        meaning: "Several host table rows for one IP.",
        cause: "The server was registered twice (re-deployment, changed resource group).",
        remedy: "Keep one row for {ip} in {db}.host ({count} now): remove the stale server in the OMS console.";
    HeartbeatFromUnknownIp => "HEARTBEAT_FROM_UNKNOWN_IP", Critical, Degraded,
        meaning: "A supervisor heartbeat row whose host_ip matches no cm_nodes IP.",
        cause: "The mark of a container started with a wrong -e OMS_HOST_IP: its supervisor reports under an address OMS does not manage.",
        remedy: "Find the container started with OMS_HOST_IP={ip} (`docker inspect`, `env | grep OMS_HOST_IP`) and recreate it with its own server's IP.";
    ClockSkew => "CLOCK_SKEW", Warning, Degraded,
        meaning: "A node's clock differs from the MetaDB's by more than the threshold.",
        cause: "NTP is not running on the server; heartbeats then look stale or fresh when they are not.",
        remedy: "Synchronise {node}'s clock (chronyd/ntpd): it is {skew_s}s off the MetaDB (limit {threshold_s}s).";
    LoadHigh => "LOAD_HIGH", Warning, Degraded,
        meaning: "The node's 5-minute load per CPU is above the threshold.",
        cause: "Too many projects on this server; OMS then fails new ones with `no enough host resource`.",
        remedy: "On {node}: load {load5} on {cpus} CPUs (limit {threshold} per CPU). Stop long-unused projects or add servers.";
    MemoryLow => "MEMORY_LOW", Warning, Degraded,
        meaning: "The node's available memory is below the threshold.",
        cause: "Too many projects on this server, or another process eats memory; OMS refuses new work (`no enough host resource`).",
        remedy: "On {node}: {available_pct}% memory available (limit {threshold_pct}%). Stop long-unused projects or add memory.";
    DiskLow => "DISK_LOW", Warning, Degraded,
        meaning: "A filesystem holding an OMS path is fuller than the threshold.",
        cause: "Logs or stored increments fill the disk; OMS components fail when it is full.",
        remedy: "On {node}: {path} is {used_pct}% full (limit {threshold_pct}%). Clean old logs under /home/admin/logs or stores under /home/ds/store, or grow the disk.";
    OmsHealthFailed => "OMS_HEALTH_FAILED", Critical, Down,
        meaning: "OMS's own health endpoint (/oms/health) fails or says data.healthy is not true.",
        cause: "oms_console or nginx is not serving, or OMS reports itself unhealthy.",
        remedy: "On {node}: `curl {url}` ({error}); check `supervisorctl status` and /home/admin/logs/ghana.";
    DockerInitNotRun => "DOCKER_INIT_NOT_RUN", Critical, Down,
        meaning: "The container shows no sign that docker_init.sh ran.",
        cause: "The deployment is incomplete: `bash /root/docker_init.sh` was not executed in the container (the runbook's first precondition).",
        remedy: "In the OMS container on {node}: `bash /root/docker_init.sh`, then check the newest {evidence}.";
}

/// The catalogue, then the causal links ([`super::causes::markdown`]), as the
/// generated section of docs/FINDINGS.md (a test keeps them equal; regenerate
/// with `omswatch explain --all --markdown`).
pub fn markdown() -> String {
    format!("{}\n{}", table(), super::causes::markdown())
}

/// The catalogue as a Markdown table.
fn table() -> String {
    let mut out = String::from(
        "| Code | Severity | Node becomes | Means | Usual cause | Fix |\n|---|---|---|---|---|---|\n",
    );
    for code in Code::ALL {
        let e = code.entry();
        let impact = match e.impact {
            NodeImpact::Down => "DOWN",
            NodeImpact::Degraded => "DEGRADED",
        };
        let cell = |s: &str| s.replace('|', "\\|");
        out.push_str(&format!(
            "| `{}` | {} | {impact} | {} | {} | {} |\n",
            e.code,
            e.severity,
            cell(e.meaning),
            cell(e.cause),
            cell(e.remedy)
        ));
    }
    out
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_are_unique() {
        let mut names: Vec<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        for code in Code::ALL {
            assert_eq!(Code::parse(code.as_str()), Some(*code));
            assert_eq!(Code::parse(&code.as_str().to_lowercase()), Some(*code));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
    }

    #[test]
    fn findings_doc_carries_the_catalogue_verbatim() {
        let doc = include_str!("../../../docs/FINDINGS.md");
        assert!(
            doc.contains(&markdown()),
            "docs/FINDINGS.md is out of date: run scripts/update-findings-doc.sh"
        );
    }
}
