//! The load generator behind `omswatch-loadgen` and `scripts/bench-scale.sh`: simulated agents
//! ([`agents`]) with realistic reports ([`report`]), the bare tonic server they are compared
//! with ([`bare`]), the server processes ([`server`]), and what is measured ([`stats`]).

pub mod agents;
pub mod bare;
pub mod report;
pub mod server;
pub mod stats;
