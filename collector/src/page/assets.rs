//! The page's stylesheet, script and icon, compiled into the binary from `collector/assets/`
//! and served under names that carry a hash of their content (`omswatch.3f2a…css`), so a
//! browser may keep them for a year and still gets a new file after an upgrade.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Its name in URLs, with the content hash (`omswatch.<hash>.css`).
    pub name: String,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, body: &'static [u8]) -> Self {
        let digest = Sha256::digest(body);
        let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Asset {
            name: format!("{stem}.{hash}.{extension}"),
            content_type,
            body,
        }
    }

    /// Its path relative to the page (`assets/<name>`), for the templates.
    pub fn href(&self) -> String {
        format!("assets/{}", self.name)
    }
}

/// The stylesheet.
pub static CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "omswatch",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/omswatch.css"),
    )
});

/// The script: the live refresh and the copy buttons.
pub static JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "omswatch",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/omswatch.js"),
    )
});

/// The tab's icon.
pub static ICON: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "icon",
        "svg",
        "image/svg+xml",
        include_bytes!("../../assets/icon.svg"),
    )
});

/// `GET /assets/{name}`: the asset of that exact name, cacheable for a year.
pub async fn serve(Path(name): Path<String>) -> Response {
    let found = [&*CSS, &*JS, &*ICON].into_iter().find(|a| a.name == name);
    match found {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            asset.body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "no such asset (the page names its assets with a hash of their content)\n",
        )
            .into_response(),
    }
}
