//! Operations: Prometheus metrics at `/metrics`, readiness at `/readyz`, one request id and one
//! log line per request, the client address as seen through trusted reverse proxies, and the
//! limits on live WebSocket connections.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tracing::Instrument;

use super::{ApiError, AppState};
use crate::config::Config;
use crate::store::Fault;
use crate::vote::WriterStats;

/// The header carrying a request's id, in both directions.
pub const REQUEST_ID: &str = "x-request-id";
/// Longest request id taken from a client or proxy (letters, digits, `-`, `_`, `.` only); any
/// other is replaced by a fresh one, so a client cannot put arbitrary text into the logs.
pub const MAX_REQUEST_ID: usize = 64;
/// Error bodies up to this size get the request id added (ours are a few hundred bytes).
const MAX_ERROR_BODY: u64 = 64 * 1024;
/// How long `/readyz` waits for the database before calling the server not ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The id of the request being served (also in its log span and its `x-request-id` header).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the address the
/// proxies forwarded (`server.trusted_proxies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| ClientAddr(c.0.ip()))
            })
            .ok_or_else(|| ApiError::Internal("no client address on the request".into()))
    }
}

/// Addresses and CIDR ranges of the reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses a comma-separated list such as `"127.0.0.1, ::1, 10.0.0.0/8"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (address, bits) = match item.split_once('/') {
                Some((address, bits)) => (address, Some(bits)),
                None => (item, None),
            };
            let address: IpAddr = address
                .parse()
                .map_err(|_| format!("`{item}` is not an IP address or CIDR range"))?;
            let address = canonical(address);
            let max = if address.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(bits) => bits
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("`{item}`: the prefix length must be 0 to {max}"))?,
            };
            ranges.push((address, bits));
        }
        Ok(Self(ranges))
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|&(range, bits)| match (range, address) {
            (IpAddr::V4(r), IpAddr::V4(a)) => same_prefix(&r.octets(), &a.octets(), bits),
            (IpAddr::V6(r), IpAddr::V6(a)) => same_prefix(&r.octets(), &a.octets(), bits),
            _ => false,
        })
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the right-most
    /// `X-Forwarded-For` address that is not a trusted proxy (entries left of it were written
    /// by the client and cannot be believed).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for entry in forwarded.iter().rev() {
            let Some(address) = parse_forwarded(entry) else {
                break;
            };
            client = address;
            if !self.contains(address) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// IPv4 addresses seen through an IPv6 socket (`::ffff:a.b.c.d`) as plain IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn same_prefix(a: &[u8], b: &[u8], bits: u8) -> bool {
    let whole = usize::from(bits / 8);
    let rest = bits % 8;
    a[..whole] == b[..whole] && (rest == 0 || (a[whole] ^ b[whole]) & (0xff << (8 - rest)) == 0)
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

fn request_histogram() -> Histogram {
    // 1 ms … about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Everything `/metrics` shows; one per server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    login_refusals: Family<ReasonLabels, Counter>,
    websockets: Gauge,
    websocket_refusals: Family<ReasonLabels, Counter>,
}

impl Metrics {
    fn new(writer: Arc<WriterStats>) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "yishi_http_requests",
            "HTTP requests answered, by method, route and status class",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                request_histogram,
            );
        registry.register(
            "yishi_http_request_seconds",
            "Time from a request's arrival to its answer, by route",
            request_seconds.clone(),
        );
        registry.register(
            "yishi_vote_batch_ballots",
            "Ballots per batch committed by the vote writer (group commit)",
            writer.batch_sizes.clone(),
        );
        registry.register(
            "yishi_vote_commit_seconds",
            "Time from a vote batch's start to its durable commit",
            writer.commit_seconds.clone(),
        );
        registry.register_collector(Box::new(WriterCounters(writer)));
        let login_refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "yishi_login_refusals",
            "Sign-ins and activations refused: `too_many` (429: a per-account or per-address limit, or every hashing slot busy) or `bad_credentials` (401)",
            login_refusals.clone(),
        );
        let websockets = Gauge::default();
        registry.register(
            "yishi_websocket_connections",
            "Live WebSocket connections open now",
            websockets.clone(),
        );
        let websocket_refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "yishi_websocket_refusals",
            "Live WebSocket connections refused (`total` or `per_address` limit) or closed for flooding (`messages`)",
            websocket_refusals.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            login_refusals,
            websockets,
            websocket_refusals,
        }
    }

    fn record(&self, method: &Method, route: &str, status: StatusCode, took: Duration) {
        let method = match *method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            Method::HEAD => "HEAD",
            Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        let class = match status.as_u16() {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status: class,
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
        let sign_in = method == "POST" && matches!(route, "/api/v1/session" | "/api/v1/activate");
        let reason = match status {
            StatusCode::TOO_MANY_REQUESTS => "too_many",
            StatusCode::UNAUTHORIZED => "bad_credentials",
            _ => return,
        };
        if sign_in {
            self.login_refusals
                .get_or_create(&ReasonLabels { reason })
                .inc();
        }
    }

    /// The exposition text (OpenMetrics, which Prometheus reads).
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// The vote writer's plain counters, read at each scrape (the writer keeps them as atomics).
#[derive(Debug)]
struct WriterCounters(Arc<WriterStats>);

impl Collector for WriterCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = &self.0;
        for (name, help, value) in [
            (
                "yishi_ballots_committed",
                "Ballots made durable by the vote writer",
                &stats.ballots_committed,
            ),
            (
                "yishi_vote_batches",
                "Write transactions committed by the vote writer (group commits)",
                &stats.batches_committed,
            ),
            (
                "yishi_commit_failures",
                "Vote writer batches whose commit failed (nothing acknowledged)",
                &stats.commit_failures,
            ),
        ] {
            let counter = ConstCounter::new(value.load(Ordering::Relaxed));
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        let seconds =
            ConstCounter::new(stats.commit_micros_total.load(Ordering::Relaxed) as f64 / 1e6);
        let metric = encoder.encode_descriptor(
            "yishi_commit_seconds",
            "Time the vote writer spent staging and committing batches",
            None,
            seconds.metric_type(),
        )?;
        seconds.encode(metric)
    }
}

/// The server's operations state: metrics, trusted proxies and live-connection counts.
pub struct Ops {
    pub metrics: Metrics,
    pub trusted: TrustedProxies,
    live: Mutex<LiveCounts>,
    live_limits: (usize, usize),
}

#[derive(Default)]
struct LiveCounts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Ops {
    pub fn new(config: &Config, writer: Arc<WriterStats>) -> Self {
        Self {
            metrics: Metrics::new(writer),
            trusted: TrustedProxies::parse(&config.server.trusted_proxies).unwrap_or_default(),
            live: Mutex::default(),
            live_limits: (
                config.live.max_connections,
                config.live.max_connections_per_address,
            ),
        }
    }

    /// Admits one more live WebSocket from `client`, or refuses it (429) when the server or
    /// that address already holds its `[live]` maximum. The slot is given back when dropped.
    pub fn admit_live(self: &Arc<Self>, client: IpAddr) -> Result<LiveSlot, ApiError> {
        let (max_total, max_per_address) = self.live_limits;
        // A std mutex: held only to count, never across an `.await`.
        let mut counts = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let refused = if counts.total >= max_total {
            Some("total")
        } else if counts.by_address.get(&client).copied().unwrap_or(0) >= max_per_address {
            Some("per_address")
        } else {
            None
        };
        if let Some(reason) = refused {
            self.live_refused(reason);
            return Err(ApiError::TooManyRequests(if reason == "total" {
                "the server has as many live connections as it takes; try again later".into()
            } else {
                "too many live connections from your address; close some and try again".into()
            }));
        }
        counts.total += 1;
        *counts.by_address.entry(client).or_default() += 1;
        self.metrics.websockets.inc();
        Ok(LiveSlot {
            ops: self.clone(),
            client,
        })
    }

    /// Counts a refused or flooding live connection.
    pub fn live_refused(&self, reason: &'static str) {
        self.metrics
            .websocket_refusals
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }
}

/// One admitted live connection; dropping it frees its place.
pub struct LiveSlot {
    ops: Arc<Ops>,
    client: IpAddr,
}

impl Drop for LiveSlot {
    fn drop(&mut self) {
        let mut counts = self.ops.live.lock().unwrap_or_else(|e| e.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_address.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                counts.by_address.remove(&self.client);
            }
        }
        self.ops.metrics.websockets.dec();
    }
}

/// Gives each request an id (the caller's `x-request-id` when it is short and plain), the
/// client address, a log span holding both, one log line when answered (method, route, path,
/// status, time; never headers, query strings or bodies, which may carry passwords, tokens,
/// cookies or activation codes), its metrics, and the id in the answer's header and error body.
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| plain_id(v))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned);
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let client = state.ops.trusted.client(peer, request.headers());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(ClientAddr(client));
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, %client);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    let took = started.elapsed();
    state.ops.metrics.record(&method, &route, status, took);
    let millis = took.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::error!(parent: &span, %method, %route, %path, status = status.as_u16(), millis, "answered");
    } else {
        tracing::info!(parent: &span, %method, %route, %path, status = status.as_u16(), millis, "answered");
    }
    let mut response = with_id_in_error(response, &id).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Adds `"request_id"` to a JSON error body (`{"error": {…}}`), so a user's report of an error
/// can be matched with the server's log line.
async fn with_id_in_error(response: Response, id: &str) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= MAX_ERROR_BODY);
    if !(response.status().is_client_error() || response.status().is_server_error())
        || !is_json
        || !small
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY as usize).await else {
        return (
            parts.status,
            ApiError::Internal("error body unreadable".into()),
        )
            .into_response();
    };
    let mut value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    if let Some(error) = value.get_mut("error").and_then(|e| e.as_object_mut()) {
        error.insert("request_id".into(), id.into());
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(value.to_string()))
}

/// `GET /metrics`: the metrics, to whoever `ops.metrics` allows.
pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let ops = &state.config.ops;
    let allowed = match ops.metrics.as_str() {
        "public" => true,
        "token" => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|token| constant_time_eq(token.as_bytes(), ops.metrics_token.as_bytes())),
        // "loopback": from this machine, and not relayed by a proxy on it.
        _ => {
            canonical(peer.ip()).is_loopback()
                && !headers.contains_key("x-forwarded-for")
                && !headers.contains_key(header::FORWARDED)
        }
    };
    if !allowed {
        return ApiError::Forbidden(
            "the metrics are not readable from here (see `ops.metrics` in the configuration)"
                .into(),
        )
        .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.ops.metrics.render(),
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /readyz`: 200 when the database answers a read and the vote writer is running, 503
/// (naming what is wrong) otherwise, so that a proxy or orchestrator sends no votes here.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = tokio::time::timeout(READY_TIMEOUT, state.store.call(|s| s.read(|_| Ok(()))))
        .await
        .map_or(Err("the database did not answer in time".to_owned()), |r| {
            r.map_err(|e| e.to_string())
        });
    // A store that reads but cannot write (full disk, read-only file system, a failed commit
    // not yet repaired) is not ready either: votes sent here would be refused.
    let store = store.and_then(|()| match state.store.degraded() {
        Some(Fault::Full) => Err("storage_full".to_owned()),
        Some(Fault::ReadOnly) => Err("read_only".to_owned()),
        Some(Fault::Failed) => Err("retry".to_owned()),
        None if state.store.is_read_only() => Err("read_only".to_owned()),
        None => Ok(()),
    });
    let writer = state.votes.is_running();
    let body = serde_json::json!({
        "store": store.as_ref().map_or_else(|e| e.as_str(), |_| "ok"),
        "writer": if writer { "ok" } else { "stopped" },
    });
    let status = if store.is_ok() && writer {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        // A client may write anything left of the proxy's entry; the proxy's entry counts.
        let h = headers("203.0.113.7, 198.51.100.4");
        assert_eq!(
            trusted.client(proxy, &h),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        // Chained trusted proxies are skipped.
        let h = headers("198.51.100.4, 10.9.9.9");
        assert_eq!(
            trusted.client(proxy, &h),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        // From anyone else the header is ignored.
        assert_eq!(trusted.client(stranger, &h), stranger);
        // No header: the proxy itself.
        assert_eq!(trusted.client(proxy, &HeaderMap::new()), proxy);
        assert!(trusted.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!trusted.contains("11.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_proxy_lists_are_refused() {
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        let v6 = TrustedProxies::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
    }

    #[test]
    fn only_plain_request_ids_are_taken_from_clients() {
        assert!(plain_id("abc-123_x.y"));
        assert!(!plain_id(""));
        assert!(!plain_id("a b"));
        assert!(!plain_id("x\"}, {\"forged\": 1"));
        assert!(!plain_id(&"a".repeat(MAX_REQUEST_ID + 1)));
    }
}
