//! The MetaDB reader, shared by the collector (every tick) and `omswatch check`
//! (once): the same connections, queries and failure texts, so both see the
//! MetaDB alike.
//!
//! - [`reader`]: [`MetaDbReader`] turns one region's `host` and `heart_beat`
//!   tables and the database's clock into a
//!   [`omswatch_common::snapshot::MetaDbView`] (three queries per region,
//!   whatever the number of nodes; ages by the database's own `NOW()`);
//! - [`tls`]: how connections to the MetaDB are secured ([`MetaDbTls`]: the
//!   MySQL client's `--ssl-mode` words and a CA).
//!
//! It is an I/O shell around the pure diagnosis: nothing here decides a finding.
pub mod reader;
pub mod tls;

pub use reader::{MetaDbReader, unanswered};
pub use tls::{CaWithoutVerification, MetaDbTls, MetaDbTlsMode, UnknownTlsMode};
