//! The resources probe against fake /proc trees in temporary directories.

use super::*;

/// A /proc-like directory with the given files.
fn fake_proc(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

const MEMINFO: &str = "MemTotal:       16333780 kB\nMemFree:         1234567 kB\n\
                       MemAvailable:    8000000 kB\nHugePages_Total:       0\n";
const CPUINFO: &str = "processor\t: 0\nmodel name\t: Intel\n\nprocessor\t: 1\nmodel name\t: Intel\n\n\
                       processor\t: 2\n\nprocessor\t: 3\n";

#[test]
fn loadavg_as_the_kernel_writes_it() {
    assert_eq!(
        parse_loadavg("0.52 1.58 12.00 3/1234 5678\n").unwrap(),
        [0.52, 1.58, 12.0]
    );
    assert_eq!(parse_loadavg("0 0 0").unwrap(), [0.0; 3]);
}

#[test]
fn loadavg_garbage_is_an_error() {
    for bad in [
        "",
        "\n",
        "0.5 0.6",
        "a b c",
        "0.5 NaN 1",
        "1 inf 1",
        "-1 0 0",
        "\u{0}\u{ff}",
    ] {
        let err = parse_loadavg(bad).unwrap_err();
        assert!(err.contains("load"), "{bad:?}: {err}");
    }
}

#[test]
fn meminfo_in_bytes() {
    assert_eq!(
        parse_meminfo(MEMINFO).unwrap(),
        (16_333_780 * 1024, 8_000_000 * 1024)
    );
}

#[test]
fn meminfo_garbage_is_an_error() {
    let cases = [
        ("", "no MemTotal"),
        ("MemTotal: 10 kB\n", "no MemAvailable"),
        (
            "MemTotal: ten kB\nMemAvailable: 1 kB\n",
            "MemTotal is not an amount",
        ),
        (
            "MemTotal: 1 MB\nMemAvailable: 1 kB\n",
            "MemTotal is not an amount",
        ),
        (
            "MemTotal: 1 kB extra\nMemAvailable: 1 kB\n",
            "MemTotal is not an amount",
        ),
        (
            "MemTotal: 18446744073709551615 kB\nMemAvailable: 1 kB\n",
            "not an amount",
        ),
        ("MemTotal:\nMemAvailable: 1 kB\n", "not an amount"),
    ];
    for (text, expected) in cases {
        let err = parse_meminfo(text).unwrap_err();
        assert!(err.contains(expected), "{text:?}: {err}");
    }
}

#[test]
fn processors_counted_from_cpuinfo() {
    assert_eq!(count_processors(CPUINFO), 4);
    assert_eq!(count_processors("garbage\n:\n"), 0);
}

#[test]
fn a_full_fake_proc() {
    let proc_root = fake_proc(&[
        ("loadavg", "0.10 0.20 0.30 1/100 42\n"),
        ("meminfo", MEMINFO),
        ("cpuinfo", CPUINFO),
    ]);
    let disk = tempfile::tempdir().unwrap();
    let missing = disk.path().join("no-such-dir");
    let resources = read(&ResourceSources {
        proc_root: proc_root.path().to_owned(),
        disk_paths: vec![disk.path().to_owned(), missing.clone()],
    });
    assert_eq!(resources.error, "");
    assert_eq!(resources.cpus, 4);
    assert_eq!(
        (resources.load1, resources.load5, resources.load15),
        (0.1, 0.2, 0.3)
    );
    assert_eq!(resources.mem_total_bytes, 16_333_780 * 1024);
    assert_eq!(resources.mem_available_bytes, 8_000_000 * 1024);
    assert!(resources.clock_unix_ms > 1_600_000_000_000);

    let [present, absent] = resources.disks.as_slice() else {
        panic!("{:?}", resources.disks);
    };
    assert_eq!(present.path, disk.path().display().to_string());
    assert_eq!(present.error, "");
    assert!(present.total_bytes > 0);
    assert!(present.available_bytes <= present.total_bytes);
    assert_eq!(absent.path, missing.display().to_string());
    assert_eq!(absent.error, "does not exist");
    assert_eq!((absent.total_bytes, absent.available_bytes), (0, 0));
}

#[test]
fn unreadable_or_garbage_proc_is_reported_with_the_rest_best_effort() {
    // No loadavg, garbage meminfo, no cpuinfo: the error names both files, memory stays 0,
    // and the CPU count falls back to what the agent may run on.
    let proc_root = fake_proc(&[("meminfo", "\u{0}\u{1}garbage")]);
    let resources = read(&ResourceSources {
        proc_root: proc_root.path().to_owned(),
        disk_paths: Vec::new(),
    });
    let loadavg = proc_root.path().join("loadavg").display().to_string();
    let meminfo = proc_root.path().join("meminfo").display().to_string();
    assert!(
        resources
            .error
            .contains(&format!("cannot read {loadavg}: ")),
        "{}",
        resources.error
    );
    assert!(
        resources
            .error
            .contains(&format!("cannot parse {meminfo}: no MemTotal")),
        "{}",
        resources.error
    );
    assert_eq!(resources.mem_total_bytes, 0);
    assert!(resources.cpus >= 1);
    assert!(resources.disks.is_empty());
}

#[tokio::test]
async fn async_probe_reads_the_same() {
    let proc_root = fake_proc(&[("loadavg", "1 2 3 1/1 1\n"), ("meminfo", MEMINFO)]);
    let probe = ResourceProbe::new(ResourceSources {
        proc_root: proc_root.path().to_owned(),
        disk_paths: vec![PathBuf::from("/")],
    });
    for load in ["3", "4"] {
        std::fs::write(
            proc_root.path().join("loadavg"),
            format!("1 2 {load} 1/1 1\n"),
        )
        .unwrap();
        let resources = probe.probe().await;
        assert_eq!(resources.error, "");
        assert_eq!(resources.load15.to_string(), load, "read at every probe");
        assert_eq!(resources.disks.len(), 1);
        assert_eq!(resources.disks[0].error, "");
        assert!(resources.cpus >= 1 && resources.clock_unix_ms > 0);
    }
}

#[test]
fn defaults_are_the_oms_paths() {
    let sources = ResourceSources::default();
    assert_eq!(sources.proc_root, PathBuf::from("/proc"));
    assert_eq!(
        sources.disk_paths,
        ["/home/admin/logs", "/home/ds/store", "/home/ds/run"].map(PathBuf::from)
    );
}
