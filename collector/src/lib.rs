//! The omswatch collector and the `omswatch` CLI's client side.
//!
//! Data flow (see docs/ARCHITECTURE.md):
//! agents ─gRPC→ [`ingest`] ─channel→ [`state`] (one aggregator task, owns the latest
//! reports, configs and MetaDB rows) ←channel─ [`metadb`] poller (reads config.yaml and
//! the MetaDB every tick); [`query`] asks [`state`] for a [`omswatch_common::snapshot::Snapshot`],
//! runs the pure diagnosis and answers; [`views`] renders the answer for people and scripts.
//!
//! Trust: [`transport`] sets up mutual TLS (or `--insecure` plain text), [`auth`] decides per
//! request who may report and query, [`limits`] and [`rate`] bound what a peer may send.
pub mod auth;
pub mod bundle;
pub mod bundle_archive;
pub mod certs;
pub mod cli;
pub mod convert;
pub mod ingest;
pub mod limits;
pub mod metadb;
pub mod persist;
pub mod query;
pub mod rate;
pub mod server;
pub mod settings;
pub mod state;
pub mod tokens;
pub mod transport;
pub mod views;

/// This build's version, reported in status answers and bundles.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
