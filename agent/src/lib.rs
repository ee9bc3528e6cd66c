//! The omswatch agent: runs in each OMS container, probes what the OMS runbook
//! checks by hand (supervisord's programs and their autostart, `hostname -i`,
//! OMS_HOST_IP, the node's config.yaml, load/memory/disk, OMS's health page and
//! docker_init log) and streams it to the collector.
//!
//! Flow: [`probe`] → [`report`] (build a NodeReport, detect change) → [`run`]
//! (gRPC stream over the [`transport`] the flags allow, reconnect with [`backoff`]), or [`once`]
//! (one report, answered on the spot: the node's runbook answer, or the report as JSON).
//! The node's name comes from its certificate ([`node_name`]). A collector may send a
//! restart command down the stream; [`restart`] checks it against the agent's own
//! switches and runs it through supervisord.
pub mod backoff;
pub mod node_name;
pub mod once;
pub mod probe;
pub mod report;
pub mod restart;
pub mod run;
pub mod transport;
