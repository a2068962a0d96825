//! The HTTP API under `/api/v1`: one router per resource, merged here, with the limits every
//! request passes through (body size, timeout, connection count) and the OpenAPI document, plus
//! `/healthz`, `/readyz` and `/metrics` (see `ops`).

pub mod accounts;
pub mod backup;
pub mod comments;
pub mod committee;
pub mod communities;
pub mod elections;
pub mod error;
pub mod extract;
pub mod live;
pub mod meetings;
pub mod notices;
pub mod openapi;
pub mod ops;
pub mod outreach;
pub mod petitions;
pub mod proposals;
pub mod results;
pub mod revisions;
pub mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

use crate::auth::Auth;
use crate::config::Config;
use crate::live::Hub;
use crate::store::Store;
use crate::vote::Votes;

pub use error::{ApiError, ApiJson};

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub votes: Votes,
    pub hub: Hub,
    pub auth: Arc<Auth>,
    pub ops: Arc<ops::Ops>,
}

impl AppState {
    /// Opens the database, recovers open proposals, and starts the vote writer.
    pub fn start(config: Config) -> Result<Self, crate::store::StoreError> {
        let store = Store::open(&config.database_path(), config.store.cache_mib << 20)?;
        let hub = Hub::default();
        let votes = Votes::start(
            store.clone(),
            hub.clone(),
            config.vote.max_batch,
            Duration::from_millis(config.vote.deadline_tick_millis.max(10)),
        )?;
        let auth = Arc::new(Auth::new(&config.auth));
        let ops = Arc::new(ops::Ops::new(&config, votes.stats.clone()));
        if !store.is_read_only() {
            backup::ensure_token(&config.store.data_dir);
        }
        // Expired sessions are swept hourly so the table does not grow without bound.
        let sweeper = store.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(3600));
            loop {
                every.tick().await;
                let now = crate::clock::now();
                if let Err(error) = sweeper
                    .call(move |s| crate::auth::session::prune_expired(s, now))
                    .await
                {
                    tracing::warn!(%error, "could not sweep expired sessions");
                }
            }
        });
        Ok(Self {
            config: Arc::new(config),
            store,
            votes,
            hub,
            auth,
            ops,
        })
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(accounts::router())
        .merge(communities::router())
        .merge(proposals::router())
        .merge(live::router())
        .merge(results::router())
        // Elections and the committee (issue 8).
        .merge(elections::router())
        .merge(committee::router())
        // deliberation: discussion, revisions, petitions, meetings, outreach, notices
        .merge(comments::router())
        .merge(revisions::router())
        .merge(petitions::router())
        .merge(meetings::router())
        .merge(outreach::router())
        .merge(notices::router())
        // Reliability (issue 9): backups.
        .merge(backup::router());
    let limits = &state.config.server;
    Router::new()
        .nest("/api/v1", api)
        .merge(results::pages())
        .merge(web::router())
        .route("/api/openapi.json", get(openapi::document))
        // operations (see `ops`)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { ApiError::NotFound("page") })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_secs),
        ))
        // Outermost, so that answers made by the layers above also get our error shape.
        .layer(axum::middleware::map_response(json_errors))
        // Outside everything: request id, log line and metrics see the final answer.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::observe,
        ))
        .with_state(state)
}

/// Errors produced outside our handlers (timeouts, body limits on raw bodies, wrong methods,
/// failed WebSocket upgrades) get the same `{"error": {code, message}}` shape as ours.
async fn json_errors(response: axum::response::Response) -> axum::response::Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (code, message) = match status {
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long and was stopped"),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "the request body is larger than this server accepts",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this address does not accept that method",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "this body type is not accepted here",
        ),
        StatusCode::UPGRADE_REQUIRED => ("upgrade_required", "this address speaks WebSocket only"),
        s if s.is_server_error() => ("internal", "internal error"),
        _ => ("bad_request", "the request cannot be read"),
    };
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// Serves on `listener` until `shutdown` completes, then lets in-flight requests finish.
///
/// HTTP/1.1 (a TLS reverse proxy in front speaks HTTP/2 to browsers if wanted), with a deadline
/// for each request's headers (`server.header_timeout_secs`, against clients that send them a
/// byte at a time) and at most `server.max_connections` connections at once.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt;

    let server = state.config.server.clone();
    let header_timeout = Duration::from_secs(server.header_timeout_secs);
    let slots = Arc::new(tokio::sync::Semaphore::new(server.max_connections));
    let app = router(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Over `server.max_connections`: closed at once.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request.map(axum::body::Body::new)
            },
        );
        let service = hyper_util::service::TowerToHyperService::new(service);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new()).http1_only();
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let _ = watcher.watch(connection).await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
