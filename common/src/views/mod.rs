//! Views of the diagnosis and the timeline that more than one program renders byte for byte
//! the same: [`status_json`], printed by `omswatch status --format json` and served by the
//! collector's `GET /api/v1/status`; [`history_json`], printed by `omswatch history --format
//! json`, served by `GET /api/v1/history` and posted (one event at a time) to webhooks; and
//! [`history_query`], the history filters both sides parse alike.

pub mod history_json;
pub mod history_query;
pub mod status_json;
