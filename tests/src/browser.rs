//! A real browser for end-to-end tests: Debian's `chromium`, headless, driven through
//! `chromedriver` (Debian's `chromium-driver`) over WebDriver with the fantoccini client.
//!
//! - chromedriver is a [`TrackedChild`] on a free loopback port, started through
//!   `setpriv --pdeathsig KILL`; chromium is its child and carries the same tag, so both die
//!   with the test.
//! - This machine has no internet: chromium runs with background networking, component
//!   updates, sync and QUIC off, and a fresh profile (`--user-data-dir`) per browser; its
//!   `$HOME` and `$TMPDIR` are in the browser's own temp dir, removed on drop.
//! - TLS is verified for real: the test CA is added as a trusted authority to an NSS database
//!   (`certutil`, Debian's `libnss3-tools`) in the browser's own `$HOME/.pki/nssdb`, where
//!   Chromium on Linux reads locally trusted certificates. No `--ignore-certificate-errors`.
//! - JavaScript can be switched off (`--blink-settings=scriptEnabled=false`) to see the
//!   server-rendered first paint alone.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use tempfile::TempDir;
use tokio::process::Command;

use crate::host_lock::{HostLock, owned_temp_dir, sweep_temp_dirs};
use crate::process::dying_with_parent;
use crate::{TrackedChild, curl, free_port, require_program};

/// Prefix of the browsers' temp dirs.
pub const DIR_PREFIX: &str = "omswatch-browser-";

/// How a browser is started.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// Run page scripts.
    pub javascript: bool,
    /// A CA certificate (PEM) to trust for TLS.
    pub trust_ca: Option<PathBuf>,
    /// The window's size in CSS pixels.
    pub window: (u32, u32),
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            javascript: true,
            trust_ca: None,
            window: (1280, 1000),
        }
    }
}

/// A running headless chromium and the WebDriver session to drive it.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// chromedriver (and chromium under it); killed on drop, after the session is closed.
    driver: TrackedChild,
    /// Profile, `$HOME` with the NSS database, logs.
    dir: TempDir,
    _dir_lock: HostLock,
}

impl Browser {
    /// Starts chromedriver and a chromium session with `options`.
    pub async fn start(options: &BrowserOptions) -> anyhow::Result<Browser> {
        let chromedriver = require_program("chromedriver", "chromium-driver")?;
        let chromium = require_program("chromium", "chromium")?;
        sweep_temp_dirs(DIR_PREFIX);
        let (dir, dir_lock) = owned_temp_dir(DIR_PREFIX)?;
        let home = dir.path().join("home");
        // chromium's own temp files too, so that a killed browser leaves nothing in /tmp.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&tmp)?;
        if let Some(ca) = &options.trust_ca {
            trust(&home, ca).await?;
        }
        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("chromedriver.log"))?;
        let mut command = dying_with_parent(Command::new, &chromedriver)?;
        command
            .arg(format!("--port={port}"))
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .env_remove("DISPLAY")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let driver = TrackedChild::spawn(&mut command).context("spawning chromedriver")?;
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(&url, dir.path()).await?;
        let capabilities = capabilities(&chromium, dir.path(), options);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .with_context(|| {
                format!(
                    "starting a chromium session through chromedriver; its log:\n{}",
                    crate::process::tail(&dir.path().join("chromedriver.log"), 30)
                )
            })?;
        Ok(Browser {
            client,
            driver,
            dir,
            _dir_lock: dir_lock,
        })
    }

    /// Every live process of it (chromedriver, chromium and its helpers).
    pub fn pids(&self) -> Vec<u32> {
        self.driver.pids()
    }

    /// Ends the WebDriver session (chromium exits) and stops chromedriver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let closed = self.client.clone().close().await;
        self.driver.kill();
        closed.context("closing the WebDriver session")
    }

    /// The browser's profile directory, for failure messages.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The chromium flags: headless, no sandbox (root), nothing that reaches out.
fn capabilities(
    chromium: &Path,
    dir: &Path,
    options: &BrowserOptions,
) -> serde_json::Map<String, serde_json::Value> {
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-dev-shm-usage",
        "--password-store=basic",
        "--hide-scrollbars",
        "--lang=en-US",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--user-data-dir={}", dir.join("profile").display()));
    args.push(format!(
        "--window-size={},{}",
        options.window.0, options.window.1
    ));
    if !options.javascript {
        args.push("--blink-settings=scriptEnabled=false".into());
    }
    let chrome_options = serde_json::json!({
        "binary": chromium.display().to_string(),
        "args": args,
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), "chrome".into());
    capabilities.insert("goog:chromeOptions".into(), chrome_options);
    capabilities
}

/// An NSS database in `home` that trusts `ca` to identify servers.
async fn trust(home: &Path, ca: &Path) -> anyhow::Result<()> {
    let certutil = require_program("certutil", "libnss3-tools")?;
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db)?;
    let db_arg = format!("sql:{}", db.display());
    let runs: [Vec<String>; 2] = [
        vec!["-N".into(), "--empty-password".into()],
        vec![
            "-A".into(),
            "-t".into(),
            "C,,".into(),
            "-n".into(),
            "omswatch test CA".into(),
            "-i".into(),
            ca.display().to_string(),
        ],
    ];
    for args in runs {
        let out = Command::new(&certutil)
            .arg("-d")
            .arg(&db_arg)
            .args(&args)
            .output()
            .await
            .context("running certutil")?;
        if !out.status.success() {
            bail!(
                "certutil {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    Ok(())
}

/// Waits until chromedriver answers `/status` as ready.
async fn wait_ready(url: &str, dir: &Path) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        let answer = curl::get(&format!("{url}/status"), &[]).await?;
        let ready = serde_json::from_str::<serde_json::Value>(&answer.body)
            .is_ok_and(|v| v["value"]["ready"] == true);
        if answer.code == 200 && ready {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "chromedriver not ready after 20 s; its log:\n{}",
        crate::process::tail(&dir.join("chromedriver.log"), 30)
    )
}

/// Where a test writes what a person would look at (screenshots): `target/test-output/<name>/`.
pub fn output_dir(name: &str) -> anyhow::Result<PathBuf> {
    let target = crate::bins::default_bin_dir()?;
    let dir = target
        .parent()
        .unwrap_or(&target)
        .join("test-output")
        .join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
