//! The omswatch collector (the `omswatch-collector` server; the `omswatch` CLI is
//! the `omswatch-cli` crate).
//!
//! Data flow, in the order to read it (see docs/ARCHITECTURE.md):
//! agents ─gRPC→ [`ingest`] (checks each report against
//! [`omswatch_common::limits`]) ─channel→ [`state`] (one aggregator task, owns the
//! latest reports, configs and MetaDB rows) ←channel─ [`poll`] (every tick: each
//! changed config.yaml through [`configs`], the MetaDB through [`omswatch_metadb`], then the
//! diagnosis to the timeline); [`store`] keeps what survives a restart (every node's
//! last report, written by its writer off the ingest path; the timeline; [`persist`]
//! is the old state file, imported once); [`query`] asks [`state`] for a
//! [`omswatch_common::snapshot::Snapshot`], runs the pure diagnosis and answers
//! through [`convert`] (history from the store); [`bundle`] answers `GetBundle` from
//! the same snapshot; [`remediation`] restarts a program through its node's agent
//! (down the node's report stream), audited in the timeline. [`http`] serves the same
//! snapshot → diagnosis as Prometheus metrics ([`metrics`]) and as the status JSON, with
//! health endpoints, and [`page`] as the Servers page operators open in a browser.
//! [`notify`] pushes the findings to Alertmanager and POSTs every timeline event to
//! webhooks (through the store's outbox, at least once).
//! [`server`] only wires these tasks together and stops them.
//!
//! Trust: [`transport`] sets up mutual TLS (or `--insecure` plain text),
//! [`listener`] accepts, caps and times out connections, [`auth`] decides per
//! request who may report and query (and marks the connection authorised),
//! [`tokens`] holds the operators' bearer tokens, [`health`] answers health
//! checks and reflection, and [`rate`] with the report limits bounds what a peer
//! may send. [`settings`] merges defaults < file < environment < flags.
pub mod auth;
pub mod bundle;
pub mod configs;
pub mod convert;
pub mod health;
pub mod http;
pub mod ingest;
pub mod listener;
pub mod metrics;
pub mod notify;
pub mod page;
pub mod persist;
pub mod poll;
pub mod query;
pub mod rate;
pub mod remediation;
pub mod server;
pub mod settings;
pub mod state;
pub mod store;
pub mod tokens;
pub mod transport;

/// This build's version, reported in status answers and bundles.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
