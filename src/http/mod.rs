//! The HTTP API under `/api/v1`: one router per resource, merged here, with the limits every
//! request passes through (body size, timeout, connection count) and the OpenAPI document.

pub mod accounts;
pub mod communities;
pub mod error;
pub mod extract;
pub mod live;
pub mod openapi;
pub mod proposals;
pub mod results;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
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
        .merge(results::router());
    let limits = &state.config.server;
    Router::new()
        .nest("/api/v1", api)
        .merge(results::pages())
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { ApiError::NotFound("page") })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_secs),
        ))
        .with_state(state)
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
