//! The `omswatch` CLI: an operator's view of the cluster through the collector's
//! Query service. The binary (`src/main.rs`) only parses and dispatches; here:
//! - [`connect`]: how the CLI reaches the collector (TLS or plain text, operator
//!   certificate or bearer token), [`failover`]: each collector of a pair in turn,
//!   and [`failure`]: what it says when that fails;
//! - [`views`]: a `ClusterStatus` as a table for people, JSON for scripts, and the
//!   exit code both share;
//! - [`bundle_archive`]: a `GetBundle` answer packed into the support bundle's
//!   `.tar.gz`;
//! - [`certs`]: `omswatch certs`, minting with [`omswatch_common::identity::mint`];
//! - [`history`]: `omswatch history`, the timeline kept in the collector's store.
//! - [`restart`]: `omswatch restart`, a program restarted through its node's agent.
//! - [`check`]: `omswatch check`, no collector: config.yaml files and the MetaDB
//!   read once and diagnosed without agents, shown by the same views.
pub mod bundle_archive;
pub mod certs;
pub mod check;
pub mod connect;
pub mod failover;
pub mod failure;
pub mod history;
pub mod restart;
pub mod views;

/// This build's version, written into support bundles.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
