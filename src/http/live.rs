//! WebSocket feeds: a proposal's live tally (snapshot on connect, coalesced updates, a final
//! message at close) and a community's feed of proposals opened, closed and published. Results a
//! viewer may not see are never sent; slow or silent clients are dropped, never buffered.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until, timeout};

use super::extract::{MaybeSignedIn, SignedIn, origin_matches, require_role};
use super::ops::{ClientAddr, LiveSlot, Ops};
use super::proposals::{
    full_count, load_for_live, results_visible, results_visible_when, tally_view,
};
use super::{ApiError, AppState};
use crate::domain::lifecycle::ProposalState;
use crate::live::Snapshot;
use crate::store::records::{ProposalRecord, Role, Visibility};
use crate::store::tables::{BALLOTS, PROPOSALS};

/// Per-connection buffers, small so that ten thousand watchers fit in little memory. Clients
/// send only pongs and closes (at most `MAX_CLIENT_MESSAGE`), so 1 KiB of read buffer is plenty.
const READ_BUFFER: usize = 1024;
const WRITE_BUFFER: usize = 8 * 1024;
const MAX_WRITE_BUFFER: usize = 256 * 1024;
/// Largest message a client may send (they only send pongs and closes).
const MAX_CLIENT_MESSAGE: usize = 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/proposals/{proposal}/live", get(proposal_live))
        .route("/communities/{community}/live", get(community_live))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(proposal_live, community_live))]
pub struct LiveApi;

/// The handshake must come from our own pages when a browser makes it.
fn check_origin(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    match parts.headers.get(axum::http::header::ORIGIN) {
        None => Ok(()),
        Some(origin) => {
            let origin = origin.to_str().unwrap_or("");
            if origin_matches(origin, parts, &state.config.server.public_origin) {
                Ok(())
            } else {
                Err(ApiError::Forbidden(format!(
                    "WebSocket from `{origin}` refused: connect from Yishi's own pages"
                )))
            }
        }
    }
}

/// Parts of the upgrade request needed before the upgrade.
pub struct Handshake;

impl axum::extract::FromRequestParts<AppState> for Handshake {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        check_origin(parts, state)?;
        Ok(Self)
    }
}

fn sized(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
}

#[utoipa::path(get, path = "/proposals/{proposal}/live",
    responses((status = 101, description = "WebSocket: `snapshot`, then `update`s, then `final`"),
              (status = 401), (status = 403), (status = 404),
              (status = 429, description = "Too many live connections (`[live] max_connections`, `max_connections_per_address`)")))]
async fn proposal_live(
    State(state): State<AppState>,
    _handshake: Handshake,
    MaybeSignedIn(caller): MaybeSignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let (record, voter) = load_for_live(&state, caller.as_ref(), &id).await?;
    let slot = state.ops.admit_live(client)?;
    let Some(updates) = state.hub.subscribe(&record.id) else {
        if full_count(&state, &record).is_none() {
            return Err(ApiError::conflict(
                "not_open",
                "this proposal has not been put to the vote yet",
            ));
        }
        // Closed before this server started: one final message and done.
        let record = Arc::new(record);
        return Ok(sized(upgrade).on_upgrade(move |socket| async move {
            let _slot = slot;
            let mut socket = socket;
            let message = final_message(&state, &record);
            let _ = send(&mut socket, &message, Pace::of(&state)).await;
            let _ = socket.send(Message::Close(None)).await;
        }));
    };
    let record = watched(record);
    Ok(sized(upgrade).on_upgrade(move |socket| async move {
        let _slot: LiveSlot = slot;
        watch_tally(socket, state, record, voter, updates).await;
    }))
}

/// A watcher's copy of its proposal, without the text and the opening record: its messages read
/// only the id, state, deadline and visibility, and ten thousand watchers would otherwise each
/// hold a text that may run to tens of thousands of characters.
fn watched(mut record: ProposalRecord) -> ProposalRecord {
    record.body = String::new();
    record.opening = None;
    record
}

fn final_message(state: &AppState, record: &ProposalRecord) -> Value {
    let count = full_count(state, record).unwrap_or(Value::Null);
    let mut view = tally_view(record, count, true);
    view["type"] = json!("final");
    view
}

/// The timing rules of one connection, from `[live]` in the configuration.
#[derive(Clone, Copy)]
struct Pace {
    gap: Duration,
    ping_every: Duration,
    max_missed: u32,
    write_timeout: Duration,
    max_messages_per_minute: u32,
}

impl Pace {
    fn of(state: &AppState) -> Self {
        let live = &state.config.live;
        Self {
            gap: Duration::from_millis(1000 / u64::from(live.updates_per_second.max(1))),
            ping_every: Duration::from_millis(live.ping_interval_millis.max(1)),
            max_missed: live.max_missed_pongs,
            write_timeout: Duration::from_millis(live.write_timeout_millis.max(1)),
            max_messages_per_minute: live.max_client_messages_per_minute,
        }
    }
}

/// Counts what a client sends besides pongs, in one-minute windows (`[live]
/// max_client_messages_per_minute`).
struct Inbound {
    window_started: Instant,
    messages: u32,
    allowed: u32,
}

impl Inbound {
    fn new(pace: Pace) -> Self {
        Self {
            window_started: Instant::now(),
            messages: 0,
            allowed: pace.max_messages_per_minute,
        }
    }

    /// Counts one message; false once the client has sent more than it may this minute.
    fn allow(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.window_started) >= Duration::from_secs(60) {
            self.window_started = now;
            self.messages = 0;
        }
        self.messages += 1;
        self.messages <= self.allowed
    }
}

/// Closes a flooding client's connection with 1008 (policy violation) and counts it.
async fn close_flooding(socket: &mut WebSocket, ops: &Ops, pace: Pace) {
    ops.live_refused("messages");
    let frame = CloseFrame {
        code: axum::extract::ws::close_code::POLICY,
        reason: "too many messages".into(),
    };
    let _ = timeout(pace.write_timeout, socket.send(Message::Close(Some(frame)))).await;
}

async fn send(socket: &mut WebSocket, value: &Value, pace: Pace) -> Result<(), ()> {
    send_text(socket, value.to_string().into(), pace).await
}

async fn send_text(socket: &mut WebSocket, text: Utf8Bytes, pace: Pace) -> Result<(), ()> {
    match timeout(pace.write_timeout, socket.send(Message::Text(text))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Whether the voter has a ballot on the proposal (for `after_vote` visibility).
async fn has_voted(state: &AppState, proposal: &str, voter: Option<&str>) -> bool {
    let Some(voter) = voter else { return false };
    let (proposal, voter) = (proposal.to_owned(), voter.to_owned());
    state
        .store
        .call(move |s| {
            s.read(|tx| {
                Ok(tx
                    .open_table(BALLOTS)?
                    .get((proposal.as_str(), voter.as_str()))?
                    .is_some())
            })
        })
        .await
        .unwrap_or(false)
}

/// The tally messages of each watched proposal's latest count, rendered once and shared by all
/// its watchers: ten thousand watchers cost one rendering per update, not ten thousand. A
/// message depends only on the count, whether results are visible to the watcher, and its kind.
/// An entry holds only a `Weak` of its count, so it is current exactly while its count is the
/// one being sent (the `Weak` also keeps the address from being reused), and a newer count
/// replaces it. One small entry per proposal ever watched; dead ones are pruned on insertion.
static RENDERED: LazyLock<Mutex<HashMap<String, Rendered>>> = LazyLock::new(Mutex::default);

struct Rendered {
    snapshot: Weak<Snapshot>,
    /// By [results visible][message kind: `snapshot`, `update`].
    texts: [[Option<Utf8Bytes>; 2]; 2],
}

/// The `snapshot` or `update` message for a watcher, from the shared cache when it can be.
fn tally_message(
    record: &ProposalRecord,
    snapshot: &Arc<Snapshot>,
    voted: bool,
    kind: &'static str,
) -> Utf8Bytes {
    let (visible, update) = (
        usize::from(results_visible_when(
            snapshot.state,
            record.visibility,
            voted,
        )),
        usize::from(kind == "update"),
    );
    let current = |r: &Rendered| std::ptr::eq(r.snapshot.as_ptr(), Arc::as_ptr(snapshot));
    {
        // A std mutex: held only to look up or store a text, never across an await.
        let cache = RENDERED.lock().expect("render cache lock");
        if let Some(text) = cache
            .get(&snapshot.proposal)
            .filter(|r| current(r))
            .and_then(|r| r.texts[visible][update].clone())
        {
            return text;
        }
    }
    let mut view = view_of(record, snapshot, voted);
    view["type"] = json!(kind);
    let text = Utf8Bytes::from(view.to_string());
    let mut cache = RENDERED.lock().expect("render cache lock");
    if !cache.contains_key(&snapshot.proposal) {
        cache.retain(|_, r| r.snapshot.strong_count() > 0);
    }
    let entry = cache
        .entry(snapshot.proposal.clone())
        .or_insert_with(|| Rendered {
            snapshot: Weak::new(),
            texts: Default::default(),
        });
    if !current(entry) {
        entry.snapshot = Arc::downgrade(snapshot);
        entry.texts = Default::default();
    }
    entry.texts[visible][update] = Some(text.clone());
    text
}

fn view_of(record: &ProposalRecord, snapshot: &Snapshot, voted: bool) -> Value {
    let mut count = snapshot.count_json();
    if snapshot.allow_change {
        count["certainty"] = json!("open");
    }
    count["ledger_len"] = json!(snapshot.ledger_len);
    let mut live = record.clone();
    live.state = snapshot.state;
    live.closes_at = snapshot.closes_at.clone();
    tally_view(&live, count, results_visible(&live, voted))
}

/// Voting has ended (closed or withdrawn): sends the stored result and closes.
async fn say_goodbye(mut socket: WebSocket, state: &AppState, record: &ProposalRecord, pace: Pace) {
    let id = record.id.clone();
    let stored: Option<ProposalRecord> = state
        .store
        .call(move |s| s.read(|tx| crate::store::get(tx, PROPOSALS, id.as_str())))
        .await
        .ok()
        .flatten();
    let final_record = stored.unwrap_or(record.clone());
    let _ = send(&mut socket, &final_message(state, &final_record), pace).await;
    let _ = socket.send(Message::Close(None)).await;
}

async fn watch_tally(
    mut socket: WebSocket,
    state: AppState,
    record: ProposalRecord,
    voter: Option<String>,
    mut updates: watch::Receiver<Arc<Snapshot>>,
) {
    let pace = Pace::of(&state);
    let mut voted = Box::pin(has_voted(&state, &record.id, voter.as_deref())).await;
    let mut ping = interval(pace.ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ping.tick().await;
    let mut unanswered_pings = 0u32;
    let mut inbound = Inbound::new(pace);
    let mut next_send = Instant::now();
    let mut kind = "snapshot";
    loop {
        let snapshot = updates.borrow_and_update().clone();
        if snapshot.state != ProposalState::Voting {
            // Boxed, like `has_voted` below: each runs rarely, and ten thousand waiting
            // watchers should not each carry room for their state.
            Box::pin(say_goodbye(socket, &state, &record, pace)).await;
            return;
        }
        if !voted && record.visibility == Visibility::AfterVote && voter.is_some() {
            voted = Box::pin(has_voted(&state, &record.id, voter.as_deref())).await;
        }
        let message = tally_message(&record, &snapshot, voted, kind);
        if send_text(&mut socket, message, pace).await.is_err() {
            return;
        }
        kind = "update";
        next_send = next_send.max(Instant::now()) + pace.gap;
        // Wait for a change, answering pings and reading client frames meanwhile.
        let changed = loop {
            tokio::select! {
                changed = updates.changed() => break changed.is_ok(),
                _ = ping.tick() => {
                    unanswered_pings += 1;
                    if unanswered_pings > pace.max_missed {
                        return;
                    }
                    let ping_sent = timeout(pace.write_timeout, socket.send(Message::Ping(Default::default()))).await;
                    if !matches!(ping_sent, Ok(Ok(()))) {
                        return;
                    }
                }
                message = socket.recv() => match message {
                    Some(Ok(Message::Pong(_))) => unanswered_pings = 0,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {
                        if !inbound.allow() {
                            close_flooding(&mut socket, &state.ops, pace).await;
                            return;
                        }
                        unanswered_pings = 0;
                    }
                },
            }
        };
        if !changed {
            return;
        }
        // Coalesce: wait out the rate limit; whatever is latest then is sent.
        sleep_until(next_send).await;
    }
}

#[utoipa::path(get, path = "/communities/{community}/live",
    responses((status = 101, description = "WebSocket: community events (opened, closed, certified, withdrawn)"),
              (status = 401), (status = 404),
              (status = 429, description = "Too many live connections (`[live] max_connections`, `max_connections_per_address`)")))]
async fn community_live(
    State(state): State<AppState>,
    _handshake: Handshake,
    caller: SignedIn,
    ClientAddr(client): ClientAddr,
    Path(community): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    require_role(
        &state,
        &caller,
        &community,
        &[Role::Officer, Role::Voter, Role::Observer],
        true,
    )
    .await?;
    let slot = state.ops.admit_live(client)?;
    let events = state.hub.feed(&community);
    let pace = Pace::of(&state);
    let ops = state.ops.clone();
    Ok(sized(upgrade).on_upgrade(move |socket| async move {
        let _slot: LiveSlot = slot;
        watch_feed(socket, events, pace, &ops).await;
    }))
}

async fn watch_feed(
    mut socket: WebSocket,
    mut events: broadcast::Receiver<crate::live::Event>,
    pace: Pace,
    ops: &Ops,
) {
    if send(&mut socket, &json!({"type": "hello"}), pace)
        .await
        .is_err()
    {
        return;
    }
    let mut ping = interval(pace.ping_every);
    ping.tick().await;
    let mut unanswered_pings = 0u32;
    let mut inbound = Inbound::new(pace);
    loop {
        tokio::select! {
            event = events.recv() => {
                let message = match event {
                    Ok(event) => (*event).clone(),
                    Err(broadcast::error::RecvError::Lagged(_)) => json!({"type": "resync"}),
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if send(&mut socket, &message, pace).await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                unanswered_pings += 1;
                if unanswered_pings > pace.max_missed {
                    return;
                }
                if !matches!(timeout(pace.write_timeout, socket.send(Message::Ping(Default::default()))).await, Ok(Ok(()))) {
                    return;
                }
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(Message::Pong(_))) => unanswered_pings = 0,
                Some(Ok(_)) => {
                    if !inbound.allow() {
                        close_flooding(&mut socket, ops, pace).await;
                        return;
                    }
                    unanswered_pings = 0;
                }
            },
        }
    }
}
