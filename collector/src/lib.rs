//! The omswatch collector (the `omswatch-collector` server; the `omswatch` CLI is
//! the `omswatch-cli` crate).
//!
//! Data flow, in the order to read it (see docs/ARCHITECTURE.md):
//! agents ─gRPC→ [`ingest`] (checks each report against
//! [`omswatch_common::limits`]) ─channel→ [`state`] (one aggregator task, owns the
//! latest reports, configs and MetaDB rows) ←channel─ [`poll`] (every tick: each
//! config.yaml and the MetaDB through [`omswatch_metadb`], the state file through
//! [`persist`]); [`query`] asks [`state`] for a
//! [`omswatch_common::snapshot::Snapshot`], runs the pure diagnosis and answers
//! through [`omswatch_common::wire`]; [`bundle`] answers `GetBundle` from the same snapshot.
//! [`server`] only wires these tasks together and stops them.
//!
//! Trust: [`transport`] sets up mutual TLS (or `--insecure` plain text), [`auth`] decides per
//! request who may report and query, [`tokens`] holds the operators' bearer tokens, and
//! [`rate`] with the report limits bounds what a peer may send. [`settings`] merges
//! defaults < file < environment < flags.
pub mod auth;
pub mod bundle;
pub mod ingest;
pub mod persist;
pub mod poll;
pub mod query;
pub mod rate;
pub mod server;
pub mod settings;
pub mod state;
pub mod tokens;
pub mod transport;

/// This build's version, reported in status answers and bundles.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
