//! The `omswatch` CLI's pieces beside the views: how it reaches the collector
//! ([`connect`]), what it says when that fails ([`failure`]), and
//! `omswatch certs` ([`certs`]). The binary (`src/bin/omswatch.rs`) only parses
//! and dispatches.
pub mod certs;
pub mod connect;
pub mod failure;

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod tests;
