//! The residents' web app: plain HTML, CSS and ES modules from `web/`, embedded in the binary and
//! served with ETags and a strict Content-Security-Policy (no inline script or style, no other
//! host). Every app path (`/`, `/activate`, `/p/{id}`, `/officer/…`) answers with the app shell;
//! the script then draws the screen for that path.

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};

/// Only our own origin, for everything; WebSockets (`ws:` to the same host) are `'self'` too.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
    script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; \
    manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// One embedded file under `web/`.
struct Asset {
    /// The URL path it is served at (its path under `web/`).
    path: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $mime:expr) => {
        Asset {
            path: $path,
            mime: $mime,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the app. `web/sw.js` lists the same paths to cache them (a test keeps the two
/// lists in step).
const ASSETS: &[Asset] = &[
    asset!("/index.html", "text/html; charset=utf-8"),
    asset!("/app.css", "text/css; charset=utf-8"),
    asset!("/app.js", JS),
    asset!("/api.js", JS),
    asset!("/dom.js", JS),
    asset!("/errors.js", JS),
    asset!("/i18n.js", JS),
    asset!("/strings.js", JS),
    asset!("/markdown.js", JS),
    asset!("/rules.js", JS),
    asset!("/tally.js", JS),
    asset!("/live.js", JS),
    asset!("/views/common.js", JS),
    asset!("/views/resident.js", JS),
    asset!("/views/officer.js", JS),
    asset!("/views/result.js", JS),
    asset!("/views/projector.js", JS),
    // Elections and the committee (issue 8).
    asset!("/views/election.js", JS),
    // deliberation
    asset!("/feed.js", JS),
    asset!("/views/discussion.js", JS),
    asset!("/views/petitions.js", JS),
    asset!("/views/meetings.js", JS),
    asset!("/views/outreach.js", JS),
    asset!("/views/notices.js", JS),
    asset!("/manifest.webmanifest", "application/manifest+json"),
    asset!("/icon.svg", "image/svg+xml"),
    asset!("/sw.js", JS),
];

/// The marker in `web/sw.js` replaced by a hash of every asset, so that any change to the app
/// makes a new service worker that fetches the new files.
const VERSION_MARKER: &str = "__YISHI_ASSETS_VERSION__";

/// An asset ready to serve: its bytes (the service worker's with its version filled in) and
/// their ETag.
struct Prepared {
    path: &'static str,
    mime: &'static str,
    body: Vec<u8>,
    etag: HeaderValue,
}

static PREPARED: LazyLock<Vec<Prepared>> = LazyLock::new(|| {
    let mut all = Sha256::new();
    for asset in ASSETS {
        all.update(asset.path.as_bytes());
        all.update(asset.body);
    }
    let version = hex::encode(&all.finalize()[..8]);
    ASSETS
        .iter()
        .map(|asset| {
            let body = if asset.path == "/sw.js" {
                String::from_utf8_lossy(asset.body)
                    .replace(VERSION_MARKER, &version)
                    .into_bytes()
            } else {
                asset.body.to_vec()
            };
            let digest = hex::encode(&Sha256::digest(&body)[..12]);
            Prepared {
                path: asset.path,
                mime: asset.mime,
                body,
                etag: HeaderValue::from_str(&format!("\"{digest}\"")).expect("hex is a header"),
            }
        })
        .collect()
});

fn find(path: &str) -> Option<&'static Prepared> {
    PREPARED.iter().find(|p| p.path == path)
}

/// The app's routes: the shell at every app path, and the static files.
pub fn router() -> Router<AppState> {
    let mut router = Router::new()
        .route("/", get(shell))
        .route("/signin", get(shell))
        .route("/activate", get(shell))
        .route("/p/{proposal}", get(shell))
        .route("/result/{proposal}", get(shell))
        .route("/projector/{proposal}", get(shell))
        .route("/officer/{*rest}", get(shell));
    for asset in ASSETS.iter().filter(|a| a.path != "/index.html") {
        let path = asset.path;
        router = router.route(path, get(move |headers: HeaderMap| file(path, headers)));
    }
    router
}

/// The app shell, for any app path (the script reads the path).
async fn shell(headers: HeaderMap) -> Response {
    file("/index.html", headers).await
}

/// Whether `If-None-Match` already names this ETag.
fn fresh(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/").as_bytes() == etag.as_bytes()
        })
}

async fn file(path: &'static str, headers: HeaderMap) -> Response {
    let Some(asset) = find(path) else {
        return ApiError::NotFound("page").into_response();
    };
    let mut response = if fresh(&headers, &asset.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime))],
            asset.body.clone(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, asset.etag.clone());
    // Always revalidate (a 304 is cheap); the service worker keeps a copy for bad connections.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if path == "/index.html" {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            "permissions-policy",
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_worker_caches_every_asset_and_nothing_else() {
        let sw = String::from_utf8_lossy(find("/sw.js").unwrap().body.as_slice()).into_owned();
        assert!(!sw.contains(VERSION_MARKER), "the version is filled in");
        let start = sw.find("const SHELL = [").expect("sw.js lists its files");
        let list = &sw[start..sw[start..].find("];").unwrap() + start];
        let listed: Vec<&str> = list
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| s.starts_with('/'))
            .collect();
        let mut expected: Vec<&str> = ASSETS
            .iter()
            .map(|a| a.path)
            .filter(|p| *p != "/sw.js" && *p != "/index.html")
            .collect();
        expected.push("/");
        let (mut listed, mut expected) = (listed, expected);
        listed.sort_unstable();
        expected.sort_unstable();
        assert_eq!(listed, expected);
    }

    #[test]
    fn an_etag_match_is_recognised_weak_or_strong() {
        let etag = HeaderValue::from_static("\"abc\"");
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("W/\"abc\""));
        assert!(fresh(&headers, &etag));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", \"y\""),
        );
        assert!(!fresh(&headers, &etag));
    }
}
