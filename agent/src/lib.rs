//! The omswatch agent: runs in each OMS container, probes what the OMS runbook
//! checks by hand (supervisord's programs and their autostart, `hostname -i`,
//! OMS_HOST_IP, the node's config.yaml, load/memory/disk, OMS's health page and
//! docker_init log) and streams it to the collector.
//!
//! Flow: [`probe`] → [`report`] (build a NodeReport, detect change) → [`run`]
//! (gRPC stream over the [`transport`] the flags allow, reconnect with [`backoff`]), or [`once`]
//! (print one report).
//! The node's name comes from its certificate ([`node_name`]).
pub mod backoff;
pub mod node_name;
pub mod once;
pub mod probe;
pub mod report;
pub mod run;
pub mod transport;
