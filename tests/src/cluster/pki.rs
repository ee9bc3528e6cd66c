//! The test cluster's certificates, minted with the same library as
//! `omswatch certs`: a CA, the collector's server certificate for the bridge
//! address, one certificate per node, an operator certificate and a token.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use omswatch_common::identity::Role;
use omswatch_common::identity::mint::{self, Ca, Validity};

/// A certificate and key on disk.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// Its key (PEM, 0600).
    pub key: PathBuf,
}

/// The cluster's TLS material.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Where everything is written.
    pub dir: PathBuf,
    /// The CA certificate every party trusts.
    pub ca: PathBuf,
    /// The collector's server certificate.
    pub collector: CertFiles,
    /// An operator certificate for `omswatch status`/`bundle`.
    pub operator: CertFiles,
    /// One node certificate per node name, in node order.
    pub nodes: Vec<(String, CertFiles)>,
    /// A file holding the operators' bearer token (the collector's --token-file).
    pub token_file: PathBuf,
    /// The token itself: tests search outputs for it.
    pub token: String,
}

/// The bearer token the test collector accepts.
pub const TOKEN: &str = "omswatch-test-token-5d1c0a9e";

impl Pki {
    /// Mints everything for a collector at `collector_ip` and `nodes`.
    pub fn create(dir: &Path, collector_ip: IpAddr, nodes: &[String]) -> anyhow::Result<Pki> {
        let ca = Ca::create("test", Validity::days(2))?;
        let (ca_path, _) = mint::write_pair(dir, "ca", ca.pem())?;
        let issue = |role, name: &str, ips: &[IpAddr]| -> anyhow::Result<CertFiles> {
            let pem = ca.issue(role, name, ips, &[], Validity::days(2))?;
            let (cert, key) = mint::write_pair(dir, &format!("{role}-{name}"), &pem)?;
            Ok(CertFiles { cert, key })
        };
        let collector = issue(Role::Collector, "collector", &[collector_ip])?;
        let operator = issue(Role::Operator, "tester", &[])?;
        let nodes = nodes
            .iter()
            .map(|n| Ok((n.clone(), issue(Role::Node, n, &[])?)))
            .collect::<anyhow::Result<_>>()?;
        let token_file = dir.join("tokens");
        std::fs::write(
            &token_file,
            format!("# operators' bearer tokens\n{TOKEN}\n"),
        )?;
        Ok(Pki {
            dir: dir.to_path_buf(),
            ca: ca_path,
            collector,
            operator,
            nodes,
            token_file,
            token: TOKEN.into(),
        })
    }

    /// The certificate of node `name`.
    pub fn node(&self, name: &str) -> Option<&CertFiles> {
        self.nodes.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// The collector's TLS flags.
    pub fn collector_args(&self) -> Vec<String> {
        let path = |p: &Path| p.display().to_string();
        vec![
            "--tls-cert".into(),
            path(&self.collector.cert),
            "--tls-key".into(),
            path(&self.collector.key),
            "--client-ca".into(),
            path(&self.ca),
            "--token-file".into(),
            path(&self.token_file),
        ]
    }

    /// TLS flags of a client presenting `files`.
    pub fn client_args(&self, files: &CertFiles) -> Vec<String> {
        let path = |p: &Path| p.display().to_string();
        vec![
            "--ca".into(),
            path(&self.ca),
            "--cert".into(),
            path(&files.cert),
            "--key".into(),
            path(&files.key),
        ]
    }
}
