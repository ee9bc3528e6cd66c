//! `omswatch certs`: mints the files of mutual TLS with
//! [`omswatch_common::identity::mint`] and says what to do with them. Every file
//! is written 0600 into `--dir` and never overwritten; every certificate but the
//! CA's is signed by `DIR/ca.pem`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use omswatch_common::identity::mint::{CA_CERT, Ca, CertError, Validity, write_pair};
use omswatch_common::identity::{self, Role};

/// What to mint.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CertsCommand {
    /// Create the certificate authority: DIR/ca.pem and DIR/ca-key.pem.
    ///
    /// Example: omswatch certs ca --dir /etc/omswatch/pki --name prod
    #[command(verbatim_doc_comment)]
    Ca {
        /// Where the files go (created 0700 if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// A name for the CA, shown in its subject.
        #[arg(long, default_value = "omswatch")]
        name: String,
        /// Days the CA is valid.
        #[arg(long, default_value_t = 3650, value_parser = clap::value_parser!(u32).range(1..=36500))]
        days: u32,
    },
    /// Issue the collector's server certificate: DIR/collector-NAME.pem and -key.pem.
    /// It must list every address agents and operators dial (--ip, --dns);
    /// 127.0.0.1 and localhost are always added, for `omswatch status` on the collector's host.
    ///
    /// Example: omswatch certs collector --dir /etc/omswatch/pki --name oms-watch --ip 10.0.0.5 --dns omswatch.example.com
    #[command(verbatim_doc_comment)]
    Collector {
        /// Where ca.pem and ca-key.pem are, and the new files go.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The collector's name (letters, digits, '.', '-', '_').
        #[arg(long)]
        name: String,
        /// An IP address agents dial; repeat for several.
        #[arg(long = "ip", value_name = "IP", required_unless_present = "dns")]
        ips: Vec<IpAddr>,
        /// A DNS name agents dial; repeat for several.
        #[arg(long = "dns", value_name = "NAME")]
        dns: Vec<String>,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = 825, value_parser = clap::value_parser!(u32).range(1..=36500))]
        days: u32,
    },
    /// Issue a node's certificate: DIR/node-NODE.pem and -key.pem. The agent
    /// presenting it may report only as node NODE.
    ///
    /// Example: omswatch certs node --dir /etc/omswatch/pki --name oms-node-1
    #[command(verbatim_doc_comment)]
    Node {
        /// Where ca.pem and ca-key.pem are, and the new files go.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The node's name, as the status shows it (letters, digits, '.', '-', '_').
        #[arg(long, value_name = "NODE")]
        name: String,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = 825, value_parser = clap::value_parser!(u32).range(1..=36500))]
        days: u32,
    },
    /// Issue an operator's certificate: DIR/operator-NAME.pem and -key.pem, for
    /// `omswatch status` and `omswatch bundle`.
    ///
    /// Example: omswatch certs operator --dir /etc/omswatch/pki --name alice
    #[command(verbatim_doc_comment)]
    Operator {
        /// Where ca.pem and ca-key.pem are, and the new files go.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The operator's name (letters, digits, '.', '-', '_').
        #[arg(long)]
        name: String,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = 825, value_parser = clap::value_parser!(u32).range(1..=36500))]
        days: u32,
    },
}

/// Why nothing (or not everything) was written.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// A file to write is already there.
    #[error(
        "{} already exists: omswatch certs never overwrites a certificate or key (a replaced CA key \
         would orphan every certificate it signed). To issue it again, remove {} and {} first, or \
         choose another --name or --dir",
        path.display(), cert.display(), key.display()
    )]
    Exists {
        /// The file found.
        path: PathBuf,
        /// The certificate that would be written.
        cert: PathBuf,
        /// The key that would be written.
        key: PathBuf,
    },
    /// No CA in `--dir`.
    #[error("no usable CA in {}: {source}; create it first: omswatch certs ca --dir {}", dir.display(), dir.display())]
    NoCa {
        /// The `--dir`.
        dir: PathBuf,
        /// Why it could not be loaded.
        source: CertError,
    },
    /// The directory could not be created.
    #[error("cannot create {}: {source}", dir.display())]
    Dir {
        /// The `--dir`.
        dir: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// Minting or writing failed.
    #[error(transparent)]
    Cert(#[from] CertError),
}

/// Mints what `command` asks for; returns what to print: the files written and the next step.
pub fn run(command: &CertsCommand) -> Result<String, CertsError> {
    match command {
        CertsCommand::Ca { dir, name, days } => {
            let (cert, key) = paths(dir, "ca");
            prepare(dir, &cert, &key)?;
            let ca = Ca::create(name, Validity::days(*days))?;
            write_pair(dir, "ca", ca.pem())?;
            Ok(format!(
                "wrote {cert}  the CA certificate: the collector, agents and operators trust it (--client-ca, --ca)\n\
                 wrote {key}  the CA key: it signs every certificate; keep it safe and off the OMS servers\n\
                 next: omswatch certs collector --dir {dir} --name NAME --ip COLLECTOR_IP\n",
                cert = cert.display(),
                key = key.display(),
                dir = dir.display()
            ))
        }
        CertsCommand::Collector {
            dir,
            name,
            ips,
            dns,
            days,
        } => {
            let mut ips = ips.clone();
            let mut dns = dns.clone();
            push_new(&mut ips, IpAddr::V4(Ipv4Addr::LOCALHOST));
            push_new(&mut dns, "localhost".to_string());
            let (cert, key) = issue(dir, Role::Collector, name, &ips, &dns, *days)?;
            let names: Vec<String> = ips.iter().map(IpAddr::to_string).chain(dns).collect();
            Ok(format!(
                "wrote {cert}  the collector's certificate, for {names}\n\
                 wrote {key}  its key\n\
                 next: omswatch-collector --tls-cert {cert} --tls-key {key} --client-ca {ca} ...\n\
                 then, per node: omswatch certs node --dir {dir} --name NODE\n",
                cert = cert.display(),
                key = key.display(),
                names = names.join(", "),
                ca = dir.join(CA_CERT).display(),
                dir = dir.display()
            ))
        }
        CertsCommand::Node { dir, name, days } => {
            let (cert, key) = issue(dir, Role::Node, name, &[], &[], *days)?;
            Ok(format!(
                "wrote {cert}  node {name}'s certificate: its agent may report only as {name}\n\
                 wrote {key}  its key\n\
                 next: copy {ca}, {cert} and {key} to node {name} (keep the key 0600), then run\n  \
                 omswatch-agent --collector https://COLLECTOR:9470 --ca ca.pem --cert {cert_file} --key {key_file}\n\
                 (the agent takes its node name from the certificate)\n",
                cert = cert.display(),
                key = key.display(),
                ca = dir.join(CA_CERT).display(),
                cert_file = file_name(&cert),
                key_file = file_name(&key)
            ))
        }
        CertsCommand::Operator { dir, name, days } => {
            let (cert, key) = issue(dir, Role::Operator, name, &[], &[], *days)?;
            Ok(format!(
                "wrote {cert}  operator {name}'s certificate: it may query the status and bundles\n\
                 wrote {key}  its key\n\
                 next: export OMSWATCH_CA={ca} OMSWATCH_CERT={cert} OMSWATCH_KEY={key}\n  \
                 omswatch status --collector https://COLLECTOR:9470\n",
                cert = cert.display(),
                key = key.display(),
                ca = dir.join(CA_CERT).display()
            ))
        }
    }
}

/// Issues `role`/`name` signed by the CA in `dir`; returns the files written.
fn issue(
    dir: &Path,
    role: Role,
    name: &str,
    ips: &[IpAddr],
    dns: &[String],
    days: u32,
) -> Result<(PathBuf, PathBuf), CertsError> {
    identity::validate_name(name).map_err(CertError::Name)?;
    let stem = format!("{role}-{name}");
    let (cert, key) = paths(dir, &stem);
    let ca = Ca::load(dir).map_err(|source| CertsError::NoCa {
        dir: dir.to_path_buf(),
        source,
    })?;
    prepare(dir, &cert, &key)?;
    let pem = ca.issue(role, name, ips, dns, Validity::days(days))?;
    Ok(write_pair(dir, &stem, &pem)?)
}

/// `DIR/<stem>.pem` and `DIR/<stem>-key.pem`, as [`write_pair`] names them.
fn paths(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{stem}.pem")),
        dir.join(format!("{stem}-key.pem")),
    )
}

/// Creates `dir` (0700) if missing; refuses when either file exists, before any is written.
fn prepare(dir: &Path, cert: &Path, key: &Path) -> Result<(), CertsError> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| CertsError::Dir {
                dir: dir.to_path_buf(),
                source,
            })?;
    }
    match [cert, key]
        .into_iter()
        .find(|p| p.symlink_metadata().is_ok())
    {
        Some(path) => Err(CertsError::Exists {
            path: path.to_path_buf(),
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        }),
        None => Ok(()),
    }
}

fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
