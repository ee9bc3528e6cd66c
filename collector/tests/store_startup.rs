//! Store failures at start-up, with the real binary: each names the store, the
//! cause and the fix, and the collector exits non-zero without printing a
//! password. A second collector on one SQLite file is refused.
#![allow(missing_docs)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use omswatch_tests::MariaDb;

const BIN: &str = env!("CARGO_BIN_EXE_omswatch-collector");

/// A collector that is killed and reaped however the test ends (a failed
/// assertion must not leave it running: the test command's leak check fails).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the collector (plain text on loopback) with `store_args`; (success, stderr).
fn collector(store_args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(BIN)
        .args([
            "--insecure",
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "off",
            "--oms-config",
            "/x/config.yaml",
        ])
        .args(store_args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run omswatch-collector");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn refused(store_args: &[&str], env: &[(&str, &str)], expected: &[&str]) -> String {
    let (ok, stderr) = collector(store_args, env);
    assert!(!ok, "{store_args:?} should be refused: {stderr}");
    for text in expected {
        assert!(
            stderr.contains(text),
            "{store_args:?}: expected {text:?} in {stderr}"
        );
    }
    stderr
}

#[test]
fn a_second_collector_on_the_same_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("omswatch.db");
    let db_arg = db.display().to_string();
    let first = Running(
        Command::new(BIN)
            .args([
                "--insecure",
                "--listen",
                "127.0.0.1:0",
                "--http-listen",
                "off",
                "--oms-config",
                "/x/config.yaml",
            ])
            .args(["--store", &db_arg])
            .env_clear()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("first collector"),
    );
    let lock = dir.path().join("omswatch.db.lock");
    let pid = first.0.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&lock).unwrap_or_default() != pid && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stderr = refused(
        &["--store", &db_arg],
        &[],
        &[
            &db_arg,
            "in use by another omswatch-collector",
            &format!("pid {pid}"),
            "mysql://",
        ],
    );
    drop(first);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Once the first is gone, the file is free again.
    let mut again = Running(
        Command::new(BIN)
            .args([
                "--insecure",
                "--listen",
                "127.0.0.1:0",
                "--http-listen",
                "off",
                "--oms-config",
                "/x/config.yaml",
            ])
            .args(["--store", &db_arg])
            .env_clear()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("again"),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        again.0.try_wait().expect("wait").is_none(),
        "the file is free after the first exits"
    );
    drop(again);
}

#[test]
fn bad_store_urls_and_paths_say_what_to_do() {
    let stderr = refused(
        &["--store", "mysql://omswatch:hunter2@db:3306/omswatch"],
        &[],
        &["--store-password-file", "OMSWATCH_STORE_PASSWORD"],
    );
    assert!(
        !stderr.contains("hunter2"),
        "the password is never repeated: {stderr}"
    );
    refused(
        &["--store", "postgres://u@db/x"],
        &[],
        &["unknown scheme", "mysql://USER@HOST:PORT/DB"],
    );
    refused(
        &["--store", "/proc/omswatch-none/omswatch.db"],
        &[],
        &[
            "/proc/omswatch-none/omswatch.db",
            "cannot create its directory",
            "writable",
        ],
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("mysql://omswatch@127.0.0.1:{port}/omswatch");
    refused(
        &["--store", &url],
        &[],
        &[&url, "refused", "Check the host and port"],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pw");
    std::fs::write(&file, "from-file\n").expect("pw");
    refused(
        &[
            "--store",
            &url,
            "--store-password-file",
            &file.display().to_string(),
        ],
        &[("OMSWATCH_STORE_PASSWORD", "from-env")],
        &["given twice"],
    );
}

#[tokio::test]
async fn a_wrong_store_password_names_the_login_and_where_the_password_goes() {
    let db = MariaDb::start().await.expect("mariadbd");
    db.create_store_db("omswatch_store", "omswatch", "right-password-1")
        .await
        .expect("store db");
    let url = format!("mysql://omswatch@127.0.0.1:{}/omswatch_store", db.port());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pw");
    std::fs::write(&file, "wrong-password-2\n").expect("pw");
    let file_arg = file.display().to_string();
    let stderr = tokio::task::spawn_blocking(move || {
        let args = [
            "--store",
            url.as_str(),
            "--store-password-file",
            file_arg.as_str(),
        ];
        refused(
            &args,
            &[],
            &["Access denied", "omswatch", "--store-password-file"],
        )
    })
    .await
    .expect("join");
    assert!(!stderr.contains("wrong-password-2"), "{stderr}");
    assert!(!stderr.contains("right-password-1"), "{stderr}");
}
