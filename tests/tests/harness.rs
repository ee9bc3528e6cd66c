//! The harness's own tests: each piece is exercised for real (mariadbd, network namespaces,
//! supervisord), including its cleanup, since every end-to-end test relies on both.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use omswatch_tests::host_lock::HostLock;
use omswatch_tests::{
    MariaDb, ProgramSpec, Supervisord, TestNet, TrackedChild, bins, free_port, oms_programs,
    require_program, require_root,
};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::{Connection, Row};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

const CM_DB: &str = "oms_cm";
const HEARTBEAT_DB: &str = "oms_cm_heartbeat_0";

/// Stdout of a finished command, failing unless it exited 0.
async fn stdout_of(command: &mut tokio::process::Command) -> anyhow::Result<String> {
    let output = command.output().await.context("spawning")?;
    ensure!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// Whether process `pid` is gone entirely (not even a zombie: its parent reaped it).
fn gone(pid: u32) -> bool {
    !Path::new("/proc").join(pid.to_string()).exists()
}

/// Whether a process `pid` is alive (present and not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
}

#[tokio::test]
async fn mariadb_starts_seeds_queries_stops_and_restarts() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut db = MariaDb::start().await?;
    eprintln!("MariaDb::start took {:?}", started.elapsed());
    assert_ne!(db.port(), 3306);
    assert_eq!(
        db.root_url(),
        format!("mysql://root@127.0.0.1:{}", db.port())
    );

    db.create_cm_db(CM_DB).await?;
    db.create_heartbeat_db(HEARTBEAT_DB).await?;
    db.insert_host(CM_DB, "10.231.0.10", "ONLINE").await?;
    db.insert_host(CM_DB, "10.231.0.11", "OFFLINE").await?;
    let hosts: Vec<(String, String)> =
        sqlx::query_as("SELECT ip, host_status FROM oms_cm.host ORDER BY ip")
            .fetch_all(db.pool())
            .await?;
    assert_eq!(
        hosts,
        [("10.231.0.10", "ONLINE"), ("10.231.0.11", "OFFLINE")]
            .map(|(ip, status)| (ip.to_owned(), status.to_owned()))
    );

    db.upsert_heartbeat(HEARTBEAT_DB, "10.231.0.10", 5).await?;
    db.upsert_heartbeat(HEARTBEAT_DB, "10.231.0.10", 120)
        .await?;
    db.upsert_heartbeat(HEARTBEAT_DB, "10.231.0.11", 0).await?;
    let beats = sqlx::query(
        "SELECT task_type, host_ip, TIMESTAMPDIFF(SECOND, gmt_modified, NOW()) AS age
         FROM oms_cm_heartbeat_0.heart_beat WHERE task_name = 'supervisor' ORDER BY host_ip",
    )
    .fetch_all(db.pool())
    .await?;
    assert_eq!(beats.len(), 2, "the second upsert must update, not insert");
    assert_eq!(beats[0].try_get::<String, _>("task_type")?, "supervisor");
    assert_eq!(beats[0].try_get::<String, _>("host_ip")?, "10.231.0.10");
    let age: i64 = beats[0].try_get("age")?;
    assert!((120..=122).contains(&age), "heartbeat age {age}");
    assert!(beats[1].try_get::<i64, _>("age")? <= 2);

    assert_eq!(db.delete_heartbeat(HEARTBEAT_DB, "10.231.0.11").await?, 1);
    assert_eq!(db.delete_host(CM_DB, "10.231.0.11").await?, 1);
    assert_eq!(db.delete_host(CM_DB, "10.231.0.99").await?, 0);
    assert!(
        db.create_cm_db("oms_cm`; DROP DATABASE mysql; --")
            .await
            .is_err()
    );

    let password = "s3cret 'quoted' \\ pass";
    db.create_user("oms_meta", password).await?;
    let user_options = MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(db.port())
        .username("oms_meta")
        .password(password)
        .ssl_mode(MySqlSslMode::Disabled);
    let mut as_user = MySqlConnection::connect_with(&user_options).await?;
    let hosts_seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oms_cm.host")
        .fetch_one(&mut as_user)
        .await?;
    assert_eq!(hosts_seen, 1);
    as_user.close().await?;

    db.stop().await?;
    let failed_at = Instant::now();
    let after_stop = sqlx::query("SELECT 1").execute(db.pool()).await;
    assert!(
        after_stop.is_err(),
        "a query must fail once the server is stopped"
    );
    eprintln!("a query failed {:?} after stop", failed_at.elapsed());
    assert!(MySqlConnection::connect_with(&user_options).await.is_err());

    db.restart().await?;
    assert_eq!(
        db.exec("INSERT INTO oms_cm.host (ip) VALUES ('10.231.0.12')")
            .await?,
        1
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oms_cm.host")
        .fetch_one(db.pool())
        .await?;
    assert_eq!(count, 2, "data survives the restart");
    Ok(())
}

#[tokio::test]
async fn mariadbs_start_side_by_side_and_drop_cleans_up() -> anyhow::Result<()> {
    let started = Instant::now();
    let (first, second) = tokio::join!(MariaDb::start(), MariaDb::start());
    let (first, second) = (first?, second?);
    eprintln!(
        "two MariaDb::start in parallel took {:?}",
        started.elapsed()
    );
    assert_ne!(first.port(), second.port());
    first.exec("CREATE DATABASE only_in_first").await?;
    let in_second: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'only_in_first'",
    )
    .fetch_one(second.pool())
    .await?;
    assert_eq!(in_second, 0);

    let dir = first
        .socket_path()
        .parent()
        .context("socket has a dir")?
        .to_path_buf();
    let pid: u32 = std::fs::read_to_string(dir.join("mariadbd.pid"))?
        .trim()
        .parse()?;
    let port = first.port();
    drop(first);
    assert!(!alive(pid), "mariadbd {pid} still runs after drop");
    assert!(!dir.exists(), "{} still exists after drop", dir.display());
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    );
    Ok(())
}

#[tokio::test]
async fn testnet_nodes_have_their_own_hostname_ip_and_reach_the_bridge() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut net = TestNet::new(2)?;
    eprintln!("TestNet::new(2) took {:?}", started.elapsed());
    assert_eq!(net.nodes().len(), 2);
    for (index, node) in net.nodes().iter().enumerate() {
        assert_eq!(node.hostname, format!("oms-node-{index}"));
        let ip = stdout_of(node.command("hostname").arg("-i")).await?;
        assert_eq!(ip.trim(), node.ip.to_string());
        let name = stdout_of(&mut node.command("hostname")).await?;
        assert_eq!(name.trim(), node.hostname);
        let octets = node.ip.octets();
        assert_eq!(octets[..3], net.bridge_ip().octets()[..3]);
        assert!((231..=239).contains(&octets[1]));
    }

    let node = net.node(0)?.clone();
    let echoed = stdout_of(
        node.command("printf")
            .args(["<%s>", "a b", "c  d", "$HOME", "'q'"]),
    )
    .await?;
    assert_eq!(echoed, "<a b><c  d><$HOME><'q'>");

    let listener = TcpListener::bind((net.bridge_ip(), 0)).await?;
    let port = listener.local_addr()?.port();
    let script = format!("echo hello-from-ns > /dev/tcp/{}/{port}", net.bridge_ip());
    let mut connect = node.command("bash");
    connect.args(["-c", &script]);
    let (accepted, connected) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(listener.accept(), stdout_of(&mut connect))
    })
    .await?;
    connected?;
    let (mut stream, peer) = accepted?;
    assert_eq!(peer.ip(), node.ip);
    let mut received = String::new();
    stream.read_to_string(&mut received).await?;
    assert_eq!(received, "hello-from-ns\n");

    let elsewhere = Ipv4Addr::new(10, 239, 255, 254);
    net.set_hosts_ip(1, elsewhere)?;
    let ip = stdout_of(net.node(1)?.command("hostname").arg("-i")).await?;
    assert_eq!(ip.trim(), elsewhere.to_string());
    net.set_hostname(1, "oms-renamed")?;
    let node1 = net.node(1)?;
    assert_eq!(
        stdout_of(&mut node1.command("hostname")).await?.trim(),
        "oms-renamed"
    );
    let ip = stdout_of(node1.command("hostname").arg("-i")).await?;
    assert_eq!(ip.trim(), node1.ip.to_string());
    assert!(net.node(2).is_err());
    Ok(())
}

#[tokio::test]
async fn testnet_drop_removes_namespaces_links_and_hosts_files() -> anyhow::Result<()> {
    let net = TestNet::new(2)?;
    let namespaces: Vec<String> = net.nodes().iter().map(|node| node.ns.clone()).collect();
    let bridge = net.bridge();
    let ip = require_program("ip", "iproute2")?;
    let listed = stdout_of(tokio::process::Command::new(&ip).args(["netns", "list"])).await?;
    assert!(namespaces.iter().all(|ns| listed.contains(ns.as_str())));
    drop(net);

    let listed = stdout_of(tokio::process::Command::new(&ip).args(["netns", "list"])).await?;
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for ns in &namespaces {
        assert!(
            !names.contains(&ns.as_str()),
            "{ns} left in `ip netns list`:\n{listed}"
        );
        assert!(
            !Path::new("/etc/netns").join(ns).exists(),
            "/etc/netns/{ns} left"
        );
    }
    let bridge_gone = tokio::process::Command::new(&ip)
        .args(["link", "show", &bridge])
        .output()
        .await?;
    assert!(!bridge_gone.status.success(), "bridge {bridge} left");
    Ok(())
}

#[tokio::test]
async fn two_testnets_at_once_get_different_subnets() -> anyhow::Result<()> {
    let first = TestNet::new(1)?;
    let second = TestNet::new(1)?;
    assert_ne!(first.bridge_ip(), second.bridge_ip());
    assert_ne!(first.bridge(), second.bridge());
    assert_ne!(first.nodes()[0].ns, second.nodes()[0].ns);
    assert_ne!(
        first.nodes()[0].ip.octets()[..3],
        second.nodes()[0].ip.octets()[..3]
    );
    Ok(())
}

#[tokio::test]
async fn supervisord_reports_running_stopped_and_fatal() -> anyhow::Result<()> {
    let mut programs = oms_programs();
    programs.push(ProgramSpec::failing("oms_broken"));
    programs.push(ProgramSpec {
        autostart: false,
        ..ProgramSpec::sleeper("oms_idle")
    });
    let started = Instant::now();
    let supervisord = Supervisord::start(&programs, None).await?;
    eprintln!("Supervisord::start took {:?}", started.elapsed());
    assert!(supervisord.conf_path().is_file());
    assert!(supervisord.socket_path().exists());
    let conf_d = supervisord.conf_path().with_file_name("conf.d");
    assert!(conf_d.join("oms_console.ini").is_file());

    let status = supervisord.status().await?;
    for name in ["nginx", "oms_console", "oms_drc_cm", "oms_drc_supervisor"] {
        assert_eq!(
            supervisord.program_state(name).await?,
            "RUNNING",
            "{status}"
        );
    }
    assert_eq!(
        supervisord.program_state("oms_broken").await?,
        "FATAL",
        "{status}"
    );
    assert_eq!(
        supervisord.program_state("oms_idle").await?,
        "STOPPED",
        "{status}"
    );

    supervisord.stop_program("oms_console").await?;
    assert_eq!(supervisord.program_state("oms_console").await?, "STOPPED");
    supervisord.start_program("oms_console").await?;
    assert_eq!(supervisord.program_state("oms_console").await?, "RUNNING");
    assert!(supervisord.start_program("oms_broken").await.is_err());

    let mut pids = vec![supervisord.pid().context("supervisord pid")?];
    for name in ["nginx", "oms_console", "oms_drc_cm", "oms_drc_supervisor"] {
        pids.push(supervisord.program_pid(name).await?);
    }
    let dir = supervisord
        .conf_path()
        .parent()
        .context("conf dir")?
        .to_path_buf();
    drop(supervisord);
    for pid in pids {
        assert!(
            gone(pid),
            "pid {pid} still runs or is an unreaped zombie after drop"
        );
    }
    assert!(!dir.exists(), "{} still exists", dir.display());
    Ok(())
}

#[tokio::test]
async fn supervisord_kill_makes_it_unreachable_without_orphans() -> anyhow::Result<()> {
    let mut supervisord = Supervisord::start(&oms_programs(), None).await?;
    let nginx = supervisord.program_pid("nginx").await?;
    supervisord.kill().await?;
    assert!(supervisord.pid().is_none());
    let status = supervisord.status().await;
    assert!(status.is_err(), "status after kill: {status:?}");
    assert!(gone(nginx), "nginx {nginx} orphaned by kill()");
    let refused = std::os::unix::net::UnixStream::connect(supervisord.socket_path())
        .expect_err("nobody listens on the stale socket");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    Ok(())
}

#[tokio::test]
async fn supervisord_without_programs_answers_an_empty_status() -> anyhow::Result<()> {
    let supervisord = Supervisord::start(&[], None).await?;
    assert_eq!(supervisord.status().await?.trim(), "");
    assert!(supervisord.program_state("nginx").await.is_err());
    Ok(())
}

#[tokio::test]
async fn supervisord_runs_its_programs_inside_a_node() -> anyhow::Result<()> {
    let net = TestNet::new(1)?;
    let node = net.node(0)?;
    let out = tempfile::tempdir()?;
    let seen = out.path().join("seen");
    let probe = ProgramSpec {
        command: format!(
            "/bin/sh -c 'hostname -i > {0}.tmp && hostname >> {0}.tmp && mv {0}.tmp {0} && exec sleep 1000000'",
            seen.display()
        ),
        ..ProgramSpec::sleeper("oms_probe")
    };
    let mut programs = oms_programs();
    programs.push(probe);
    let supervisord = Supervisord::start(&programs, Some(node)).await?;
    assert_eq!(supervisord.program_state("oms_probe").await?, "RUNNING");
    let seen = std::fs::read_to_string(&seen)?;
    assert_eq!(seen, format!("{}\n{}\n", node.ip, node.hostname));
    Ok(())
}

#[tokio::test]
async fn bins_are_found_or_explained() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("omswatch-agent"), "")?;
    assert_eq!(
        bins::bin_path_in(dir.path(), "omswatch-agent")?,
        dir.path().join("omswatch-agent")
    );
    let missing = bins::bin_path_in(dir.path(), "omswatch").expect_err("missing binary");
    let message = missing.to_string();
    assert!(
        message.contains("binary omswatch not found in"),
        "{message}"
    );
    assert!(
        message.contains("cargo build --workspace --bins"),
        "{message}"
    );

    let default = bins::default_bin_dir()?;
    assert!(!default.ends_with("deps"), "{}", default.display());
    assert!(default.join("deps").is_dir(), "{}", default.display());
    Ok(())
}

#[tokio::test]
async fn prerequisites_ports_and_locks() -> anyhow::Result<()> {
    require_root()?;
    let missing = require_program("omswatch-no-such-program", "no-such-package")
        .expect_err("a missing program");
    assert!(
        missing
            .to_string()
            .contains("apt-get install -y no-such-package")
    );

    let port = free_port()?;
    assert_ne!(port, 0);
    let _bound = TcpListener::bind(("127.0.0.1", port)).await?;

    let name = format!("harness-self-test-{}", std::process::id());
    let held = HostLock::try_acquire(&name)?.context("a fresh lock")?;
    assert_eq!(held.name(), name);
    assert!(HostLock::try_acquire(&name)?.is_none());
    drop(held);
    assert!(HostLock::try_acquire(&name)?.is_some());
    Ok(())
}

/// Set for the child process that [`a_killed_test_process_leaves_nothing_behind`] kills.
const CRASH_HELPER_ENV: &str = "OMSWATCH_HARNESS_CRASH_HELPER";

/// Not a test on its own: holds a TestNet, a MariaDb and a Supervisord, prints what it holds,
/// then waits to be SIGKILLed by [`a_killed_test_process_leaves_nothing_behind`].
#[tokio::test]
#[ignore = "helper process of a_killed_test_process_leaves_nothing_behind"]
async fn crash_helper_holds_resources() -> anyhow::Result<()> {
    if std::env::var_os(CRASH_HELPER_ENV).is_none() {
        return Ok(());
    }
    let net = TestNet::new(2)?;
    let db = MariaDb::start().await?;
    let supervisord = Supervisord::start(&oms_programs(), Some(net.node(0)?)).await?;
    let mariadbd_pid = std::fs::read_to_string(db.socket_path().with_file_name("mariadbd.pid"))?;
    println!(
        "HELD {} {} {} {} {}",
        net.bridge(),
        net.node(1)?.ns,
        mariadbd_pid.trim(),
        supervisord.pid().context("supervisord pid")?,
        supervisord.program_pid("nginx").await?,
    );
    tokio::time::sleep(Duration::from_secs(120)).await;
    Ok(())
}

#[tokio::test]
async fn a_killed_test_process_leaves_nothing_behind() -> anyhow::Result<()> {
    use tokio::io::AsyncBufReadExt;

    let mut helper = TrackedChild::spawn(
        tokio::process::Command::new(std::env::current_exe()?)
            .args([
                "--ignored",
                "--exact",
                "crash_helper_holds_resources",
                "--nocapture",
            ])
            .env(CRASH_HELPER_ENV, "1")
            .stdout(std::process::Stdio::piped()),
    )?;
    let stdout = helper.take_stdout().context("helper stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let held = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix("HELD ") {
                return Ok(rest.to_owned());
            }
        }
        anyhow::bail!("helper ended without reporting what it holds")
    })
    .await??;
    let [bridge, stale_ns, mariadbd, supervisord, nginx]: [&str; 5] = held
        .split(' ')
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|words| anyhow::anyhow!("bad HELD line: {words:?}"))?;
    helper.kill(); // SIGKILL: no Drop runs in the helper

    // mariadbd and supervisord die with it (setpriv --pdeathsig).
    for pid in [mariadbd, supervisord] {
        let pid: u32 = pid.parse()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive(pid), "pid {pid} survived its killed test process");
    }
    // Its supervisord's orphaned programs are swept by the next Supervisord::start.
    let nginx: u32 = nginx.parse()?;
    drop(Supervisord::start(&[], None).await?);
    assert!(!alive(nginx), "orphaned program {nginx} was not swept");

    // Its slot is reclaimed: the next owner finds no stale namespace of it. Other tests may
    // take the slot first, so keep claiming (holding the others) until we get it.
    let ip = require_program("ip", "iproute2")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut held_nets = Vec::new();
        while held_nets.len() < 16 {
            let net = TestNet::new(1)?;
            if net.bridge() == bridge {
                let listed =
                    stdout_of(tokio::process::Command::new(&ip).args(["netns", "list"])).await?;
                assert!(
                    !listed.split_whitespace().any(|name| name == stale_ns),
                    "stale namespace {stale_ns} survived the reclaim of {bridge}:\n{listed}"
                );
                return Ok(());
            }
            held_nets.push(net);
        }
        drop(held_nets);
        assert!(Instant::now() < deadline, "never got slot {bridge} back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
