//! The HTTP API under `/api/v1`: one router per resource, merged here, with the limits every
//! request passes through (body size, timeout, connection count) and the OpenAPI document, plus
//! `/healthz` and the vote writer's counters at `/metrics`.

pub mod accounts;
pub mod backup;
pub mod communities;
pub mod error;
pub mod extract;
pub mod live;
pub mod openapi;
pub mod proposals;
pub mod results;
pub mod web;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
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
        // Reliability (issue 9): backups.
        .merge(backup::router());
    let limits = &state.config.server;
    Router::new()
        .nest("/api/v1", api)
        .merge(results::pages())
        .merge(web::router())
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::NotFound("page") })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_secs),
        ))
        // Outermost, so that answers made by the layers above also get our error shape.
        .layer(axum::middleware::map_response(json_errors))
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

/// The vote writer's counters in the Prometheus text format (a later issue adds more).
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let stats = &state.votes.stats;
    let counter = |name: &str, help: &str, value: String| {
        format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n")
    };
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let body = [
        counter(
            "yishi_ballots_committed_total",
            "Ballots made durable by the vote writer.",
            load(&stats.ballots_committed).to_string(),
        ),
        counter(
            "yishi_vote_batches_total",
            "Write transactions committed by the vote writer (group commits).",
            load(&stats.batches_committed).to_string(),
        ),
        counter(
            "yishi_commit_failures_total",
            "Vote writer batches whose commit failed (nothing acknowledged).",
            load(&stats.commit_failures).to_string(),
        ),
        counter(
            "yishi_commit_seconds_total",
            "Time the vote writer spent staging and committing batches.",
            format!("{:.6}", load(&stats.commit_micros_total) as f64 / 1e6),
        ),
    ]
    .concat();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

/// Serves on `listener` until `shutdown` completes, then lets in-flight requests finish.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
