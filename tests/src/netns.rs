//! A private test network: one Linux bridge on the host plus one network namespace per simulated
//! OMS node, so that each agent sees its own IP, hostname and `/etc/hosts`, as a container started
//! with `--net host` on its own server would.
//!
//! Layout of slot `N` (subnet `10.A.B.0/24` with `A = 231 + N / 256`, `B = N % 256`):
//! - bridge `owb<N>` with `10.A.B.1/24`: the host side, where the collector listens;
//! - per node `i`: namespace `omsw<N>n<i>`, veth `owv<N>h<i>` (host end, in the bridge) whose peer
//!   is `eth0` in the namespace with `10.A.B.(10+i)/24`, `lo` up, default route via the bridge;
//! - `/etc/netns/omsw<N>n<i>/hosts`, which `ip netns exec` bind-mounts over `/etc/hosts`.
//!
//! Slots are claimed with a [`HostLock`] named `netns-slot-<N>` (`ss -xlp | grep omswatch`
//! shows the holders), so parallel test processes never share a subnet or interface name, and a
//! slot left behind by a killed process is cleaned by its next owner before use, or by
//! [`sweep_unowned_slots`] (`scripts/cleanup.sh`), which takes each slot's lock first and so never
//! touches a slot a running test holds.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, bail};
use rustix::process::Signal;
use tokio::process::Command;

use crate::host_lock::HostLock;
use crate::process::signal;
use crate::{require_program, require_root};

/// Slots available: `10.231.0.0/24` through `10.239.255.0/24`.
const SLOTS: u32 = 9 * 256;
/// Nodes per net: host numbers 10..=209 of the /24.
const MAX_NODES: usize = 200;
/// Where `ip netns exec` looks for per-namespace files.
const NETNS_ETC: &str = "/etc/netns";

/// One simulated node: its namespace, address and hostname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeNet {
    /// Network namespace name (`omsw<N>n<i>`).
    pub ns: String,
    /// The node's address on the test bridge.
    pub ip: Ipv4Addr,
    /// The hostname its processes see (`oms-node-<i>` unless changed with
    /// [`TestNet::set_hostname`]).
    pub hostname: String,
}

impl NodeNet {
    /// A command that runs `program` inside this node, with its own UTS namespace and hostname:
    ///
    /// `ip netns exec <ns> unshare --uts -- sh -c 'hostname "$0" && exec "$@"' <hostname> <program>`
    ///
    /// Arguments added to the returned command follow `<program>` and reach it unchanged, spaces
    /// included (they travel as `"$@"`). Every step `exec`s, so the child's pid is the program's.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let ip = require_program("ip", "iproute2").unwrap_or_else(|_| PathBuf::from("ip"));
        let mut command = Command::new(ip);
        command
            .args([
                "netns", "exec", &self.ns, "unshare", "--uts", "--", "sh", "-c",
            ])
            .arg(r#"hostname "$0" && exec "$@""#)
            .arg(&self.hostname)
            .arg(program);
        command
    }
}

/// A bridge plus namespaces for `nodes` nodes; dropping it deletes them all.
#[derive(Debug)]
pub struct TestNet {
    /// The slot number `N` in every name.
    slot: u32,
    /// The simulated nodes.
    nodes: Vec<NodeNet>,
    /// Per node, the address its hostname maps to in its `/etc/hosts`.
    hosts_ips: Vec<Ipv4Addr>,
    /// Holds the slot until the net is gone (declared last: released after `Drop::drop`).
    _slot_lock: HostLock,
}

impl TestNet {
    /// Claims a free slot and builds the bridge and `nodes` namespaces (1..=200).
    pub fn new(nodes: usize) -> anyhow::Result<TestNet> {
        require_root()?;
        require_program("ip", "iproute2")?;
        require_program("unshare", "util-linux")?;
        if nodes == 0 || nodes > MAX_NODES {
            bail!("a TestNet has 1..={MAX_NODES} nodes, not {nodes}");
        }
        let (slot, slot_lock) = claim_slot()?;
        clear_dead_slot(slot); // a killed previous owner's namespaces and links
        let mut net = TestNet {
            slot,
            nodes: Vec::new(),
            hosts_ips: Vec::new(),
            _slot_lock: slot_lock,
        };
        // From here on `net`'s Drop removes whatever part of the setup exists.
        let bridge = net.bridge();
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/24", net.bridge_ip()),
            "dev",
            &bridge,
        ])?;
        ip(&["link", "set", &bridge, "up"])?;
        for index in 0..nodes {
            net.add_node(index)?;
        }
        Ok(net)
    }

    /// The host's address on the bridge (`10.A.B.1`): bind servers the nodes must reach here.
    pub fn bridge_ip(&self) -> Ipv4Addr {
        let [a, b] = subnet(self.slot);
        Ipv4Addr::new(10, a, b, 1)
    }

    /// The bridge's interface name (`owb<N>`).
    pub fn bridge(&self) -> String {
        format!("owb{}", self.slot)
    }

    /// The simulated nodes, in index order.
    pub fn nodes(&self) -> &[NodeNet] {
        &self.nodes
    }

    /// Node `index`, or an error naming how many there are.
    pub fn node(&self, index: usize) -> anyhow::Result<&NodeNet> {
        self.nodes
            .get(index)
            .with_context(|| format!("no node {index}: this TestNet has {}", self.nodes.len()))
    }

    /// Renames node `index`; its `/etc/hosts` maps the new name to the node's own IP again.
    pub fn set_hostname(&mut self, index: usize, hostname: &str) -> anyhow::Result<()> {
        let ip = self.node(index)?.ip;
        self.nodes[index].hostname = hostname.to_owned();
        self.hosts_ips[index] = ip;
        self.write_hosts(index)
    }

    /// Maps node `index`'s hostname to `ip` in its `/etc/hosts`, so that `hostname -i` there
    /// prints `ip` (a node whose resolved address differs from its real one).
    pub fn set_hosts_ip(&mut self, index: usize, ip: Ipv4Addr) -> anyhow::Result<()> {
        self.node(index)?;
        self.hosts_ips[index] = ip;
        self.write_hosts(index)
    }

    /// Creates node `index`'s namespace, veth pair, addresses, route and hosts file.
    fn add_node(&mut self, index: usize) -> anyhow::Result<()> {
        let [a, b] = subnet(self.slot);
        let host_number = u8::try_from(10 + index).context("node index out of range")?;
        let node = NodeNet {
            ns: format!("omsw{}n{index}", self.slot),
            ip: Ipv4Addr::new(10, a, b, host_number),
            hostname: format!("oms-node-{index}"),
        };
        let veth = format!("owv{}h{index}", self.slot);
        ip(&["netns", "add", &node.ns])?;
        self.hosts_ips.push(node.ip);
        self.nodes.push(node.clone());
        let ns = node.ns.as_str();
        ip(&[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ])?;
        ip(&["link", "set", &veth, "master", &self.bridge(), "up"])?;
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{}/24", node.ip),
            "dev",
            "eth0",
        ])?;
        ip(&["-n", ns, "link", "set", "eth0", "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        ip(&[
            "-n",
            ns,
            "route",
            "add",
            "default",
            "via",
            &self.bridge_ip().to_string(),
        ])?;
        self.write_hosts(index)
    }

    /// Writes `/etc/netns/<ns>/hosts` for node `index`.
    fn write_hosts(&self, index: usize) -> anyhow::Result<()> {
        let node = &self.nodes[index];
        let dir = PathBuf::from(NETNS_ETC).join(&node.ns);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let hosts = format!(
            "127.0.0.1 localhost\n{} {}\n",
            self.hosts_ips[index], node.hostname
        );
        std::fs::write(dir.join("hosts"), hosts)
            .with_context(|| format!("writing {}/hosts", dir.display()))
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        remove_slot_leftovers(self.slot);
    }
}

/// The second and third octets of slot `slot`'s subnet.
fn subnet(slot: u32) -> [u8; 2] {
    let [_, _, high, low] = (231 * 256 + slot).to_be_bytes();
    [high, low]
}

/// Takes the lowest free slot.
fn claim_slot() -> anyhow::Result<(u32, HostLock)> {
    for slot in 0..SLOTS {
        if let Some(lock) = HostLock::try_acquire(&slot_lock_name(slot))? {
            return Ok((slot, lock));
        }
    }
    bail!("all {SLOTS} TestNet slots are in use")
}

/// The name of the [`HostLock`] that holds slot `slot`.
fn slot_lock_name(slot: u32) -> String {
    format!("netns-slot-{slot}")
}

/// Cleans every slot that has leftovers (namespaces, links, `/etc/netns` dirs) but no owner:
/// what test processes killed before their `Drop` left. Each slot's lock is held while it is
/// cleaned, so slots of running tests (of any checkout) are never touched. Returns the slots
/// cleaned.
pub fn sweep_unowned_slots() -> anyhow::Result<Vec<u32>> {
    let mut names: Vec<String> = ip_output(&["-o", "link", "show"])
        .lines()
        .map(|line| link_name(line).to_owned())
        .collect();
    names.extend(
        ip_output(&["netns", "list"])
            .lines()
            .map(|line| line.split_whitespace().next().unwrap_or("").to_owned()),
    );
    if let Ok(entries) = std::fs::read_dir(NETNS_ETC) {
        names.extend(
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok()),
        );
    }
    let slots: BTreeSet<u32> = names.iter().filter_map(|name| slot_of(name)).collect();
    let mut cleaned = Vec::new();
    for slot in slots {
        if let Some(_lock) = HostLock::try_acquire(&slot_lock_name(slot))? {
            clear_dead_slot(slot);
            cleaned.push(slot);
        }
    }
    Ok(cleaned)
}

/// The slot `N` of an omswatch name: namespace `omsw<N>n<i>`, veth `owv<N>h<i>`, bridge `owb<N>`.
fn slot_of(name: &str) -> Option<u32> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let numbered = |rest: &str, separator: char| {
        let (slot, index) = rest.split_once(separator)?;
        (digits(slot) && digits(index)).then(|| slot.parse().ok())?
    };
    if let Some(rest) = name.strip_prefix("omsw") {
        numbered(rest, 'n')
    } else if let Some(rest) = name.strip_prefix("owv") {
        numbered(rest, 'h')
    } else {
        name.strip_prefix("owb")
            .filter(|rest| digits(rest))
            .and_then(|rest| rest.parse().ok())
    }
}

/// SIGKILLs the processes still inside slot `slot`'s namespaces, then removes its leftovers.
/// Only for a slot whose lock the caller just took: its previous owner is gone.
fn clear_dead_slot(slot: u32) {
    let ns_prefix = format!("omsw{slot}n");
    for line in ip_output(&["netns", "list"]).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if slot_of(name) == Some(slot) && name.starts_with(&ns_prefix) {
            for pid in ip_output(&["netns", "pids", name]).split_whitespace() {
                if let Ok(pid) = pid.parse() {
                    signal(pid, Signal::KILL);
                }
            }
        }
    }
    remove_slot_leftovers(slot);
}

/// The interface name in a line of `ip -o link show`, e.g. `owv3h0` in
/// `12: owv3h0@if11: <BROADCAST,...`: between the first `": "` and `'@'` or `':'`.
fn link_name(line: &str) -> &str {
    line.split(": ")
        .nth(1)
        .unwrap_or("")
        .split(['@', ':'])
        .next()
        .unwrap_or("")
}

/// Deletes every namespace, link and `/etc/netns` dir named for `slot`, ignoring errors.
/// Only the slot's lock holder calls this, so nothing live is touched.
fn remove_slot_leftovers(slot: u32) {
    let ns_prefix = format!("omsw{slot}n");
    let veth_prefix = format!("owv{slot}h");
    let of_slot = |name: &str, prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
    };
    let links = ip_output(&["-o", "link", "show"]);
    for line in links.lines() {
        let name = link_name(line);
        if of_slot(name, &veth_prefix) {
            let _ = ip(&["link", "del", name]);
        }
    }
    for line in ip_output(&["netns", "list"]).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if of_slot(name, &ns_prefix) {
            let _ = ip(&["netns", "del", name]);
        }
    }
    if let Ok(entries) = std::fs::read_dir(NETNS_ETC) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|name| of_slot(name, &ns_prefix))
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let bridge = format!("owb{slot}");
    if links
        .lines()
        .any(|line| line.split(": ").nth(1).is_some_and(|name| name == bridge))
    {
        let _ = ip(&["link", "del", &bridge]);
    }
}

/// Runs `ip <args>`, failing with its stderr.
fn ip(args: &[&str]) -> anyhow::Result<()> {
    let output = std::process::Command::new(require_program("ip", "iproute2")?)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running ip {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// The stdout of `ip <args>`, empty on any failure.
fn ip_output(args: &[&str]) -> String {
    let Ok(ip_path) = require_program("ip", "iproute2") else {
        return String::new();
    };
    std::process::Command::new(ip_path)
        .args(args)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{link_name, slot_of};

    #[test]
    fn slots_are_read_from_omswatch_names_only() {
        assert_eq!(slot_of("omsw12n3"), Some(12));
        assert_eq!(slot_of("owv7h0"), Some(7));
        assert_eq!(slot_of("owb2303"), Some(2303));
        for other in [
            "omsw12", "omsw12n", "omswan1", "owb", "owb1x", "owv1", "eth0", "omsw1n2x",
        ] {
            assert_eq!(slot_of(other), None, "{other}");
        }
        assert_eq!(
            link_name("12: owv3h0@if11: <BROADCAST,MULTICAST>"),
            "owv3h0"
        );
        assert_eq!(link_name("5: owb3: <BROADCAST>"), "owb3");
    }
}
