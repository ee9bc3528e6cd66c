//! Shared pieces of omswatch.
//!
//! The data flow is probe → report → ingest → snapshot → diagnose → findings → views.
//! This crate owns the parts every other crate needs and that do no I/O:
//! - [`proto`]: the wire protocol (generated from `proto/`),
//! - [`oms_config`]: OMS `config.yaml` parsing with file/key/line errors,
//! - [`snapshot`]: everything the collector knows at one instant,
//! - [`diagnose`]: the pure function from a snapshot to findings and node states,
//! - [`findings`]: the one catalogue of finding codes every view renders,
//! - [`views`]: the views two programs share (the status JSON of the CLI and the HTTP API).
//! - [`wire`]: a diagnosis as the proto `ClusterStatus` every view renders.
//! - [`restart`]: what the collector and the agent agree on about restarting a program.
pub mod collectors;
pub mod diagnose;
pub mod findings;
pub mod identity;
pub mod ip;
pub mod limits;
pub mod oms_config;
pub mod proto;
pub mod restart;
pub mod secret;
pub mod snapshot;
pub mod telemetry;
pub mod tls;
pub mod views;
pub mod wire;
