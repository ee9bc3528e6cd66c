//! The omswatch agent: runs in each OMS container, probes what the OMS runbook
//! checks by hand (supervisord's programs and their autostart, `hostname -i`,
//! OMS_HOST_IP, the node's config.yaml, load/memory/disk, OMS's health page and
//! docker_init log) and streams it to the collector.
//!
//! Flow: [`probe`] → [`report`] (build a NodeReport, detect change) → [`run`]
//! (gRPC stream, reconnect with [`backoff`]).
pub mod backoff;
pub mod probe;
pub mod report;
pub mod run;
