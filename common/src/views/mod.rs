//! Views of the diagnosis that more than one program renders byte for byte the same:
//! [`status_json`], printed by `omswatch status --format json` and served by the
//! collector's `GET /api/v1/status`.

pub mod status_json;
