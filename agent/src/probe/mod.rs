//! Probes: how the agent looks at its OMS container. Each takes its sources as
//! arguments and never fails: what cannot be probed is reported as such.
pub mod health;
pub mod identity;
pub mod node_config;
pub mod resources;
pub mod stamp;
pub mod supervisor;
