//! Communities, their members and their roll: created by a platform admin, run by officers who
//! upload, amend and download the roll, print activation codes, and read the audit log. Every
//! officer action is written to the community's hash-chained audit log in the same transaction.

mod sheet;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::{check_len, check_text};
use super::extract::{SignedIn, require_role};
use super::{ApiError, ApiJson, AppState};
use crate::auth::Login;
use crate::auth::activation::{code_key, new_code};
use crate::clock;
use crate::domain::ledger::canonical_hash;
use crate::domain::quantity::{Decimal, MAX_SCALE};
use crate::domain::roll::{Roll, RollRow};
use crate::store::records::{
    AccountRecord, ActivationRecord, AuditRecord, CommunityRecord, MembershipRecord, Role,
    RollRecord,
};
use crate::store::tables::*;
use crate::store::{StoreResult, audit, decode, encode, get as get_record, get_w, put};

type ApiResult<T> = Result<T, ApiError>;

/// Longest community name, in characters.
const MAX_NAME_CHARS: usize = 100;
/// Longest time zone name.
const MAX_TIMEZONE_CHARS: usize = 64;
/// Most activation codes made by one request (print a large roll by building, with `tags`).
pub const MAX_CODES_PER_REQUEST: usize = 5000;
/// Most audit entries returned at once.
const MAX_AUDIT_PAGE: usize = 1000;
/// Most voter keys listed by name in an audit entry; beyond it only counts are kept.
const MAX_KEYS_IN_AUDIT: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/communities", post(create_community).get(list_communities))
        .route("/communities/{community}", get(read_community))
        .route(
            "/communities/{community}/members",
            post(set_member).get(list_members),
        )
        .route(
            "/communities/{community}/roll",
            get(read_roll).put(replace_roll).patch(amend_roll),
        )
        .route(
            "/communities/{community}/activation-codes",
            post(create_activation_codes),
        )
        .route("/communities/{community}/audit", get(read_audit))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        create_community, list_communities, read_community, set_member, list_members,
        replace_roll, amend_roll, read_roll, create_activation_codes, read_audit
    ),
    components(schemas(
        CommunityInput, CommunityView, MemberInput, MemberView, RollInput, RollRowInput,
        RollAmendment, RollChange, RollView, WeightView, VoterView, CodesInput,
        ActivationCodeView, AuditView, AuditEntryView, Role
    )),
    tags((name = "communities", description = "Communities, members, the roll, activation codes, audit"))
)]
pub struct CommunitiesApi;

// ---------------------------------------------------------------------------------------------
// Wire types

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommunityInput {
    pub name: String,
    /// IANA time zone name.
    #[serde(default = "default_timezone")]
    #[schema(default = "Asia/Shanghai")]
    pub timezone: String,
}

fn default_timezone() -> String {
    "Asia/Shanghai".into()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommunityView {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub created_at: String,
    /// The caller's role here, if they are a member.
    pub role: Option<Role>,
    /// When the roll last changed; `null` while there is none (so the web app need not ask
    /// for a roll that is not there). Filled by `GET /communities/{community}` only.
    pub roll_updated_at: Option<String>,
}

impl CommunityView {
    fn new(record: &CommunityRecord, role: Option<Role>) -> Self {
        Self {
            id: record.id.clone(),
            name: record.name.clone(),
            timezone: record.timezone.clone(),
            created_at: record.created_at.clone(),
            role,
            roll_updated_at: None,
        }
    }
}

/// Gives an account a role in the community (replacing any role it had).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub login: String,
    pub role: Role,
    /// For `voter`: the roll key this account votes as (required).
    #[serde(default)]
    pub voter: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub account: String,
    pub login: String,
    pub role: Role,
    pub voter: Option<String>,
    pub since: String,
}

/// A roll as JSON: the weight column names, then one row per unit (rows with the same `voter`
/// are one voter, their weights added). Errors name rows as "line N", counting rows from 1.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollInput {
    /// e.g. `["area"]`.
    pub weights: Vec<String>,
    pub rows: Vec<RollRowInput>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollRowInput {
    pub voter: String,
    pub unit: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Exact decimals as strings, e.g. `{"area": "89.57"}`; one for every roll weight.
    #[serde(default)]
    pub weights: BTreeMap<String, String>,
}

/// Changes to the current roll: `rows` replace all the units of the voters they name (or add
/// new voters); `remove` takes voters off the roll.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollAmendment {
    #[serde(default)]
    pub rows: Vec<RollRowInput>,
    #[serde(default)]
    pub remove: Vec<String>,
}

/// What a roll upload or amendment did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RollChange {
    pub voter_count: usize,
    pub unit_count: usize,
    pub weights: Vec<String>,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WeightView {
    pub name: String,
    /// Decimal places the column is held at.
    pub scale: u8,
    /// Sum over the whole roll, exact.
    pub total: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VoterView {
    pub voter: String,
    pub name: String,
    pub phone: String,
    pub tags: Vec<String>,
    pub units: Vec<String>,
    /// Summed over the voter's units, exact decimals.
    pub weights: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RollView {
    pub updated_at: String,
    pub voter_count: usize,
    pub unit_count: usize,
    pub weights: Vec<WeightView>,
    pub voters: Vec<VoterView>,
}

/// Which voters get codes: the listed ones, or (when absent) every roll voter without an
/// account, optionally only those carrying one of `tags` (e.g. a building).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodesInput {
    #[serde(default)]
    pub voters: Option<Vec<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationCodeView {
    pub voter: String,
    pub name: String,
    pub units: Vec<String>,
    /// Shown once, here; only its hash is stored.
    pub code: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: u64,
    pub actor: String,
    pub actor_login: Option<String>,
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: Value,
    pub at: String,
    /// Hash of the previous entry (of the community id for the first).
    pub prev: String,
    /// This entry's hash: SHA-256 of its JCS form.
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// Entries in the whole log.
    pub length: u64,
    /// Whether the whole chain checks out.
    pub verified: bool,
    /// What is wrong with the chain, if anything.
    pub problem: Option<String>,
    pub entries: Vec<AuditEntryView>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FormatQuery {
    #[serde(default)]
    pub format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// Entries after this sequence number.
    #[serde(default)]
    pub after: u64,
    #[serde(default)]
    pub limit: Option<usize>,
}

// ---------------------------------------------------------------------------------------------
// Helpers

async fn load_community(state: &AppState, id: &str) -> ApiResult<CommunityRecord> {
    let id = id.to_owned();
    state
        .store
        .call(move |s| s.read(|tx| get_record(tx, COMMUNITIES, id.as_str())))
        .await?
        .ok_or(ApiError::NotFound("community"))
}

async fn load_roll(state: &AppState, community: &str) -> ApiResult<Option<RollRecord>> {
    let id = community.to_owned();
    Ok(state
        .store
        .call(move |s| s.read(|tx| get_record(tx, ROLLS, id.as_str())))
        .await?)
}

/// The `updated_at` of the stored roll, read without building its voters.
fn roll_stamp(tx: &WriteTransaction, community: &str) -> StoreResult<Option<String>> {
    #[derive(Deserialize)]
    struct Stamp {
        updated_at: String,
    }
    Ok(get_w::<&str, Stamp>(tx, ROLLS, community)?.map(|s| s.updated_at))
}

fn roll_changed() -> ApiError {
    ApiError::conflict(
        "roll_changed",
        "the roll was changed by someone else meanwhile; reload it and try again",
    )
}

fn bad_roll(message: impl Into<String>) -> ApiError {
    ApiError::invalid("bad_roll", message)
}

fn check_roll_size(state: &AppState, roll: &Roll) -> ApiResult<()> {
    let max = state.config.limits.max_roll_voters;
    if roll.len() > max {
        return Err(ApiError::invalid(
            "roll_too_large",
            format!(
                "the roll has {} voters; this server accepts at most {max}",
                roll.len()
            ),
        ));
    }
    Ok(())
}

/// Rows from JSON, numbered from 1; a weight the roll does not have is refused.
fn json_rows(weights: &[String], rows: Vec<RollRowInput>) -> ApiResult<Vec<RollRow>> {
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            if let Some(unknown) = row.weights.keys().find(|k| !weights.contains(k)) {
                return Err(bad_roll(format!(
                    "line {}: weight `{unknown}` is not one of the roll's weights ({})",
                    i + 1,
                    weights.join(", ")
                )));
            }
            // Trimmed like CSV fields, so both forms of the same roll are the same roll.
            Ok(RollRow {
                line: i + 1,
                voter: row.voter.trim().to_owned(),
                unit: row.unit.trim().to_owned(),
                name: row.name.trim().to_owned(),
                phone: row.phone.trim().to_owned(),
                tags: row
                    .tags
                    .iter()
                    .map(|t| t.trim())
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
                weights: row.weights.into_iter().collect(),
            })
        })
        .collect()
}

/// The rows that rebuild `voter` of `roll`: its first unit carries the summed weights.
fn rows_of(roll: &Roll, at: usize) -> Vec<RollRow> {
    let voter = &roll.voters()[at];
    voter
        .units
        .iter()
        .enumerate()
        .map(|(u, unit)| RollRow {
            line: 0,
            voter: voter.key.clone(),
            unit: unit.clone(),
            name: voter.name.clone(),
            phone: voter.phone.clone(),
            tags: voter.tags.iter().cloned().collect(),
            weights: roll
                .columns()
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let units = if u == 0 { voter.weights[i] } else { 0 };
                    (c.name.clone(), Decimal::new(units, c.scale).to_string())
                })
                .collect(),
        })
        .collect()
}

/// Which voters a new roll added, removed and changed, compared with the old one.
#[derive(Debug, Default)]
struct RollDiff {
    added: Vec<String>,
    removed: Vec<String>,
    changed: Vec<String>,
}

type Fingerprint<'a> = (
    &'a str,
    &'a str,
    &'a BTreeSet<String>,
    &'a [String],
    BTreeMap<&'a str, u128>,
);

fn fingerprint(roll: &Roll, at: usize) -> Fingerprint<'_> {
    let v = &roll.voters()[at];
    let weights = roll
        .columns()
        .iter()
        .zip(&v.weights)
        .map(|(c, w)| {
            // Compare at the finest scale, so 89.5 and 89.50 are the same area.
            let factor = 10u128.pow(u32::from(MAX_SCALE.saturating_sub(c.scale)));
            (c.name.as_str(), w.saturating_mul(factor))
        })
        .collect();
    (&v.name, &v.phone, &v.tags, &v.units, weights)
}

fn diff(old: Option<&Roll>, new: &Roll) -> RollDiff {
    let Some(old) = old else {
        return RollDiff {
            added: new.voters().iter().map(|v| v.key.clone()).collect(),
            ..RollDiff::default()
        };
    };
    let mut d = RollDiff::default();
    for (i, v) in new.voters().iter().enumerate() {
        match old.position(&v.key) {
            None => d.added.push(v.key.clone()),
            Some(j) if fingerprint(old, j) != fingerprint(new, i) => d.changed.push(v.key.clone()),
            Some(_) => {}
        }
    }
    d.removed = old
        .voters()
        .iter()
        .filter(|v| new.position(&v.key).is_none())
        .map(|v| v.key.clone())
        .collect();
    d
}

/// Voter keys for an audit entry: listed when few, counted always.
fn keys_for_audit(keys: &[String]) -> Value {
    if keys.len() <= MAX_KEYS_IN_AUDIT {
        json!(keys)
    } else {
        json!({"count": keys.len(), "first": &keys[..MAX_KEYS_IN_AUDIT]})
    }
}

/// A new roll ready to store: what it replaces, and what to audit.
struct RollUpdate {
    action: &'static str,
    /// The `updated_at` of the roll it was made from (`None`: there was none).
    expected: Option<String>,
    roll: Roll,
    diff: RollDiff,
    detail: serde_json::Map<String, Value>,
}

/// Stores the new roll if the stored one is still the one it was made from, with an audit
/// entry in the same transaction; answers what changed.
async fn store_roll(
    state: &AppState,
    community: &str,
    actor: &str,
    update: RollUpdate,
) -> ApiResult<RollChange> {
    let RollUpdate {
        action,
        expected,
        roll,
        diff,
        mut detail,
    } = update;
    let stamp = clock::now().to_string();
    let record = RollRecord::from_roll(&roll, stamp.clone());
    let change = RollChange {
        voter_count: roll.len(),
        unit_count: roll.voters().iter().map(|v| v.units.len()).sum(),
        weights: roll.columns().iter().map(|c| c.name.clone()).collect(),
        added: diff.added.len(),
        removed: diff.removed.len(),
        changed: diff.changed.len(),
        updated_at: stamp.clone(),
    };
    detail.insert("voters".into(), json!(change.voter_count));
    detail.insert("units".into(), json!(change.unit_count));
    detail.insert("weights".into(), json!(change.weights));
    detail.insert("added".into(), keys_for_audit(&diff.added));
    detail.insert("removed".into(), keys_for_audit(&diff.removed));
    detail.insert("changed".into(), keys_for_audit(&diff.changed));
    let (community, actor) = (community.to_owned(), actor.to_owned());
    state
        .store
        .call(move |s| {
            // Encoded before the write transaction, which other writers (ballots) wait for.
            let bytes = encode(&record);
            s.write(|tx| {
                if roll_stamp(tx, &community)? != expected {
                    return Ok(Err(roll_changed()));
                }
                tx.open_table(ROLLS)?
                    .insert(community.as_str(), bytes.as_slice())?;
                audit(
                    tx,
                    &community,
                    &actor,
                    action,
                    Value::Object(detail),
                    &stamp,
                )?;
                Ok(Ok(()))
            })
        })
        .await??;
    Ok(change)
}

fn body_bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge("the request body is larger than this server accepts".into())
        } else {
            ApiError::bad_request("bad_body", rejection.body_text())
        }
    })
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::invalid("invalid_field", e.to_string()),
        _ => ApiError::bad_request("malformed_json", e.to_string()),
    })
}

/// Runs CPU-heavy roll work off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Communities and members

#[utoipa::path(post, path = "/communities", tag = "communities", request_body = CommunityInput,
    responses(
        (status = 201, body = CommunityView, description = "Created"),
        (status = 403, description = "Only platform admins create communities"),
        (status = 422, description = "`missing_field` or `bad_timezone`"),
    ))]
async fn create_community(
    State(state): State<AppState>,
    caller: SignedIn,
    ApiJson(input): ApiJson<CommunityInput>,
) -> ApiResult<(StatusCode, ApiJson<CommunityView>)> {
    if !caller.account.is_admin {
        return Err(ApiError::Forbidden(
            "only platform admins may create communities".into(),
        ));
    }
    check_text("name", &input.name, MAX_NAME_CHARS)?;
    check_text("timezone", &input.timezone, MAX_TIMEZONE_CHARS)?;
    if jiff::tz::TimeZone::get(&input.timezone).is_err() {
        return Err(ApiError::invalid(
            "bad_timezone",
            format!(
                "`{}` is not a time zone this server knows; use an IANA name such as Asia/Shanghai",
                input.timezone
            ),
        ));
    }
    let now = clock::now().to_string();
    let record = CommunityRecord {
        id: clock::new_id(),
        name: input.name.trim().to_owned(),
        timezone: input.timezone,
        secret: hex::encode(clock::random_bytes::<32>()),
        created_at: now.clone(),
    };
    let view = CommunityView::new(&record, None);
    let actor = caller.account.id.clone();
    state
        .store
        .call(move |s| {
            s.write(|tx| {
                put(tx, COMMUNITIES, record.id.as_str(), &record)?;
                // Every community signs its results with its own Ed25519 key from the start.
                super::results::new_key(tx, &record.id)?;
                audit(
                    tx,
                    &record.id,
                    &actor,
                    "community.create",
                    json!({"name": record.name, "timezone": record.timezone}),
                    &now,
                )?;
                Ok(())
            })
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

#[utoipa::path(get, path = "/communities", tag = "communities",
    responses((status = 200, body = [CommunityView], description = "The caller's communities (every community for a platform admin)")))]
async fn list_communities(
    State(state): State<AppState>,
    caller: SignedIn,
) -> ApiResult<ApiJson<Vec<CommunityView>>> {
    let account = caller.account.id.clone();
    let all = caller.account.is_admin;
    let views = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let index = tx.open_table(MEMBERSHIPS)?;
                let mut roles: BTreeMap<String, Role> = BTreeMap::new();
                for item in index.range((account.as_str(), "")..)? {
                    let (key, role) = item?;
                    let (holder, community) = key.value();
                    if holder != account {
                        break;
                    }
                    if let Some(role) = Role::parse(role.value()) {
                        roles.insert(community.to_owned(), role);
                    }
                }
                let mut views = Vec::new();
                if all {
                    for item in tx.open_table(COMMUNITIES)?.iter()? {
                        let (_, value) = item?;
                        let record: CommunityRecord = decode("communities", value.value())?;
                        let role = roles.get(&record.id).copied();
                        views.push(CommunityView::new(&record, role));
                    }
                } else {
                    for (id, role) in &roles {
                        if let Some(record) =
                            get_record::<&str, CommunityRecord>(tx, COMMUNITIES, id.as_str())?
                        {
                            views.push(CommunityView::new(&record, Some(*role)));
                        }
                    }
                }
                views.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
                Ok(views)
            })
        })
        .await?;
    Ok(ApiJson(views))
}

const ANY_ROLE: &[Role] = &[Role::Officer, Role::Voter, Role::Observer];

#[utoipa::path(get, path = "/communities/{community}", tag = "communities",
    params(("community" = String, Path, description = "Community id")),
    responses((status = 200, body = CommunityView), (status = 404, description = "No such community, or the caller is not a member")))]
async fn read_community(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
) -> ApiResult<ApiJson<CommunityView>> {
    let member = require_role(&state, &caller, &community, ANY_ROLE, true).await?;
    let record = load_community(&state, &community).await?;
    let mut view = CommunityView::new(&record, member.map(|m| m.role));
    view.roll_updated_at = state
        .store
        .call(move |s| {
            #[derive(Deserialize)]
            struct Stamp {
                updated_at: String,
            }
            s.read(|tx| get_record::<&str, Stamp>(tx, ROLLS, community.as_str()))
        })
        .await?
        .map(|stamp| stamp.updated_at);
    Ok(ApiJson(view))
}

#[utoipa::path(post, path = "/communities/{community}/members", tag = "communities",
    params(("community" = String, Path, description = "Community id")),
    request_body = MemberInput,
    responses(
        (status = 200, body = MemberView, description = "The account's role here, set"),
        (status = 403, description = "Only officers and platform admins"),
        (status = 409, description = "`voter_taken`: another account holds this voter"),
        (status = 422, description = "`unknown_login`, `voter_required`, `voter_not_allowed` or `not_on_roll`"),
    ))]
async fn set_member(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    ApiJson(input): ApiJson<MemberInput>,
) -> ApiResult<ApiJson<MemberView>> {
    require_role(&state, &caller, &community, &[Role::Officer], true).await?;
    load_community(&state, &community).await?;
    let login = Login::parse(&input.login).map_err(|_| unknown_login(&input.login))?;
    let voter = match (input.role, input.voter) {
        (Role::Voter, Some(voter)) => {
            check_text("voter", &voter, 64)?;
            Some(voter)
        }
        (Role::Voter, None) => {
            return Err(ApiError::invalid(
                "voter_required",
                "a voter membership needs `voter`: the roll key this account votes as",
            ));
        }
        (_, Some(_)) => {
            return Err(ApiError::invalid(
                "voter_not_allowed",
                "only a voter membership carries a roll key; leave out `voter`",
            ));
        }
        (_, None) => None,
    };
    if let Some(voter) = &voter {
        let roll = load_roll(&state, &community).await?;
        if !roll.is_some_and(|r| r.voters.iter().any(|v| &v.key == voter)) {
            return Err(not_on_roll(voter));
        }
    }
    let role = input.role;
    let actor = caller.account.id.clone();
    let view = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(account) = tx
                    .open_table(LOGINS)?
                    .get(login.as_str())?
                    .map(|id| id.value().to_owned())
                else {
                    return Ok(Err(unknown_login(login.as_str())));
                };
                let key = (community.as_str(), account.as_str());
                let before: Option<MembershipRecord> = get_w(tx, MEMBERS, key)?;
                let mut holders = tx.open_table(VOTER_ACCOUNTS)?;
                if let Some(voter) = &voter
                    && let Some(holder) = holders.get((community.as_str(), voter.as_str()))?
                    && holder.value() != account
                {
                    return Ok(Err(voter_taken(voter)));
                }
                if let Some(old) = before.as_ref().and_then(|m| m.voter.as_deref())
                    && voter.as_deref() != Some(old)
                {
                    let held_by_this = holders
                        .get((community.as_str(), old))?
                        .is_some_and(|h| h.value() == account);
                    if held_by_this {
                        holders.remove((community.as_str(), old))?;
                    }
                }
                if let Some(voter) = &voter {
                    holders.insert((community.as_str(), voter.as_str()), account.as_str())?;
                }
                drop(holders);
                let now = clock::now().to_string();
                let record = MembershipRecord {
                    community: community.clone(),
                    account: account.clone(),
                    role,
                    voter: voter.clone(),
                    since: before
                        .as_ref()
                        .filter(|b| b.role == role)
                        .map_or_else(|| now.clone(), |b| b.since.clone()),
                };
                put(tx, MEMBERS, key, &record)?;
                tx.open_table(MEMBERSHIPS)?
                    .insert((account.as_str(), community.as_str()), role.as_str())?;
                audit(
                    tx,
                    &community,
                    &actor,
                    "member.set",
                    json!({
                        "account": account,
                        "login": login.as_str(),
                        "role": role,
                        "voter": voter,
                        "previous_role": before.as_ref().map(|b| b.role),
                        "previous_voter": before.as_ref().and_then(|b| b.voter.clone()),
                    }),
                    &now,
                )?;
                Ok(Ok(MemberView {
                    account: record.account,
                    login: login.as_str().to_owned(),
                    role,
                    voter: record.voter,
                    since: record.since,
                }))
            })
        })
        .await??;
    Ok(ApiJson(view))
}

fn unknown_login(login: &str) -> ApiError {
    ApiError::invalid(
        "unknown_login",
        format!("there is no account with the login `{login}`"),
    )
}

fn not_on_roll(voter: &str) -> ApiError {
    ApiError::invalid(
        "not_on_roll",
        format!("`{voter}` is not a voter on this community's roll"),
    )
}

fn voter_taken(voter: &str) -> ApiError {
    ApiError::conflict(
        "voter_taken",
        format!("voter `{voter}` is already held by another account"),
    )
}

#[utoipa::path(get, path = "/communities/{community}/members", tag = "communities",
    params(("community" = String, Path, description = "Community id")),
    responses((status = 200, body = [MemberView]), (status = 403), (status = 404)))]
async fn list_members(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
) -> ApiResult<ApiJson<Vec<MemberView>>> {
    require_role(&state, &caller, &community, &[Role::Officer], true).await?;
    load_community(&state, &community).await?;
    let members = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let members = tx.open_table(MEMBERS)?;
                let mut views = Vec::new();
                for item in members.range((community.as_str(), "")..)? {
                    let (key, value) = item?;
                    if key.value().0 != community {
                        break;
                    }
                    let m: MembershipRecord = decode("members", value.value())?;
                    let login =
                        get_record::<&str, AccountRecord>(tx, ACCOUNTS, m.account.as_str())?
                            .map(|a| a.login)
                            .unwrap_or_default();
                    views.push(MemberView {
                        account: m.account,
                        login,
                        role: m.role,
                        voter: m.voter,
                        since: m.since,
                    });
                }
                views.sort_by(|a, b| a.login.cmp(&b.login));
                Ok(views)
            })
        })
        .await?;
    Ok(ApiJson(members))
}

// ---------------------------------------------------------------------------------------------
// The roll

#[utoipa::path(put, path = "/communities/{community}/roll", tag = "communities",
    params(("community" = String, Path, description = "Community id")),
    request_body(
        description = "The whole roll: `text/csv` in the counting core's format (`voter`, `unit`, optional `name`, `phone`, `tags` separated by `;`, every other column a weight), or JSON",
        content(
            (String = "text/csv"),
            (RollInput = "application/json"),
        )
    ),
    responses(
        (status = 200, body = RollChange, description = "Roll replaced (audited)"),
        (status = 403, description = "Only officers"),
        (status = 409, description = "`roll_changed`: another change landed meanwhile; retry"),
        (status = 413, description = "Body too large"),
        (status = 415, description = "Neither `text/csv` nor `application/json`"),
        (status = 422, description = "`bad_roll` (the message names the line and column) or `roll_too_large`"),
    ))]
async fn replace_roll(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<ApiJson<RollChange>> {
    require_role(&state, &caller, &community, &[Role::Officer], false).await?;
    let body = body_bytes(body)?;
    let (roll, format) = match content_type(&headers).as_str() {
        "text/csv" => {
            let text = String::from_utf8(body.to_vec()).map_err(|_| {
                bad_roll("the CSV is not UTF-8 text; in a spreadsheet, save it as \"CSV UTF-8\"")
            })?;
            (blocking(move || Roll::from_csv(&text)).await?, "csv")
        }
        "application/json" => {
            let input: RollInput = json_body(&body)?;
            let rows = json_rows(&input.weights, input.rows)?;
            let names = input.weights;
            (
                blocking(move || Roll::from_rows(&names, rows)).await?,
                "json",
            )
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "send the roll as `Content-Type: text/csv` or `application/json`".into(),
            ));
        }
    };
    let roll = roll.map_err(|e| bad_roll(e.to_string()))?;
    check_roll_size(&state, &roll)?;
    let old = load_roll(&state, &community).await?;
    let expected = old.as_ref().map(|r| r.updated_at.clone());
    let (roll, changes) = blocking(move || {
        let old = old.map(|r| r.to_roll());
        let changes = diff(old.as_ref(), &roll);
        (roll, changes)
    })
    .await?;
    let mut detail = serde_json::Map::new();
    detail.insert("format".into(), json!(format));
    let update = RollUpdate {
        action: "roll.replace",
        expected,
        roll,
        diff: changes,
        detail,
    };
    let change = store_roll(&state, &community, &caller.account.id, update).await?;
    Ok(ApiJson(change))
}

#[utoipa::path(patch, path = "/communities/{community}/roll", tag = "communities",
    params(("community" = String, Path, description = "Community id")),
    request_body = RollAmendment,
    responses(
        (status = 200, body = RollChange, description = "Roll amended (audited)"),
        (status = 403, description = "Only officers"),
        (status = 404, description = "No roll yet: upload one with PUT"),
        (status = 409, description = "`roll_changed`: another change landed meanwhile; retry"),
        (status = 422, description = "`bad_roll`, `not_on_roll`, `empty_amendment` or `roll_too_large`"),
    ))]
async fn amend_roll(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    ApiJson(input): ApiJson<RollAmendment>,
) -> ApiResult<ApiJson<RollChange>> {
    require_role(&state, &caller, &community, &[Role::Officer], false).await?;
    if input.rows.is_empty() && input.remove.is_empty() {
        return Err(ApiError::invalid(
            "empty_amendment",
            "give `rows` to add or replace voters, or `remove` to take voters off the roll",
        ));
    }
    let stored = load_roll(&state, &community)
        .await?
        .ok_or(ApiError::NotFound("roll"))?;
    let expected = Some(stored.updated_at.clone());
    let (roll, changes) = blocking(move || amend(stored.to_roll(), input)).await??;
    check_roll_size(&state, &roll)?;
    let update = RollUpdate {
        action: "roll.amend",
        expected,
        roll,
        diff: changes,
        detail: serde_json::Map::new(),
    };
    let change = store_roll(&state, &community, &caller.account.id, update).await?;
    Ok(ApiJson(change))
}

/// Applies an amendment to a roll: the result is checked exactly like an upload.
fn amend(old: Roll, input: RollAmendment) -> ApiResult<(Roll, RollDiff)> {
    let names: Vec<String> = old.columns().iter().map(|c| c.name.clone()).collect();
    let remove: HashSet<&str> = input.remove.iter().map(String::as_str).collect();
    if let Some(missing) = input.remove.iter().find(|k| old.position(k).is_none()) {
        return Err(not_on_roll(missing));
    }
    let new_rows = json_rows(&names, input.rows)?;
    let mut replaced: HashMap<&str, Vec<&RollRow>> = HashMap::new();
    for row in &new_rows {
        if remove.contains(row.voter.as_str()) {
            return Err(bad_roll(format!(
                "line {}: voter `{}` is both amended and removed",
                row.line, row.voter
            )));
        }
        replaced.entry(row.voter.as_str()).or_default().push(row);
    }
    // A unit may move only between voters that are being replaced.
    let mut kept_units: HashMap<&str, &str> = HashMap::new();
    for v in old.voters() {
        if !replaced.contains_key(v.key.as_str()) && !remove.contains(v.key.as_str()) {
            for unit in &v.units {
                kept_units.insert(unit.as_str(), v.key.as_str());
            }
        }
    }
    for row in &new_rows {
        if let Some(holder) = kept_units.get(row.unit.as_str()) {
            return Err(bad_roll(format!(
                "line {}, column `unit`: unit `{}` already belongs to voter `{holder}`",
                row.line, row.unit
            )));
        }
    }
    let mut rows = Vec::new();
    let mut placed: HashSet<&str> = HashSet::new();
    for (at, v) in old.voters().iter().enumerate() {
        if remove.contains(v.key.as_str()) {
            continue;
        }
        match replaced.get(v.key.as_str()) {
            Some(new) => {
                rows.extend(new.iter().map(|r| (*r).clone()));
                placed.insert(v.key.as_str());
            }
            None => rows.extend(rows_of(&old, at)),
        }
    }
    for row in &new_rows {
        if !placed.contains(row.voter.as_str()) && old.position(&row.voter).is_none() {
            rows.push(row.clone());
        }
    }
    let roll = Roll::from_rows(&names, rows).map_err(|e| bad_roll(e.to_string()))?;
    let changes = diff(Some(&old), &roll);
    Ok((roll, changes))
}

/// Whether the caller asked for the `other` format rather than JSON: `?format=other`, or an
/// `Accept` header naming `mime` when given.
fn wants(
    query: &FormatQuery,
    headers: &HeaderMap,
    other: &'static str,
    mime: Option<&str>,
) -> ApiResult<bool> {
    match query.format.as_deref() {
        Some("json") => Ok(false),
        Some(f) if f == other => Ok(true),
        Some(f) => Err(ApiError::bad_request(
            "bad_query",
            format!("`format` must be `json` or `{other}`, not `{f}`"),
        )),
        None => Ok(mime.is_some_and(|mime| {
            headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.to_ascii_lowercase().contains(mime))
        })),
    }
}

#[utoipa::path(get, path = "/communities/{community}/roll", tag = "communities",
    params(
        ("community" = String, Path, description = "Community id"),
        ("format" = Option<String>, Query, description = "`csv` or `json` (default: by `Accept`)"),
    ),
    responses(
        (status = 200, description = "The roll (CSV with `Accept: text/csv` or `?format=csv`)",
            content((RollView = "application/json"), (String = "text/csv"))),
        (status = 403, description = "Only officers read the roll"),
        (status = 404, description = "No roll yet"),
    ))]
async fn read_roll(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    query: Result<Query<FormatQuery>, QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Query(query) = query?;
    require_role(&state, &caller, &community, &[Role::Officer], false).await?;
    let csv = wants(&query, &headers, "csv", Some("text/csv"))?;
    let record = load_roll(&state, &community)
        .await?
        .ok_or(ApiError::NotFound("roll"))?;
    blocking(move || {
        let roll = record.to_roll();
        if csv {
            let body = format!("\u{feff}{}", roll.to_csv());
            return (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"roll.csv\"",
                    ),
                ],
                body,
            )
                .into_response();
        }
        let decimal = |i: usize, units: u128| roll.decimal(i, units).to_string();
        let view = RollView {
            updated_at: record.updated_at.clone(),
            voter_count: roll.len(),
            unit_count: roll.voters().iter().map(|v| v.units.len()).sum(),
            weights: roll
                .columns()
                .iter()
                .enumerate()
                .map(|(i, c)| WeightView {
                    name: c.name.clone(),
                    scale: c.scale,
                    total: decimal(i, roll.voters().iter().map(|v| v.weights[i]).sum()),
                })
                .collect(),
            voters: roll
                .voters()
                .iter()
                .map(|v| VoterView {
                    voter: v.key.clone(),
                    name: v.name.clone(),
                    phone: v.phone.clone(),
                    tags: v.tags.iter().cloned().collect(),
                    units: v.units.clone(),
                    weights: roll
                        .columns()
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.name.clone(), decimal(i, v.weights[i])))
                        .collect(),
                })
                .collect(),
        };
        ApiJson(view).into_response()
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Activation codes

/// Where residents sign up: the configured public origin, else this request's own host.
fn sign_up_address(state: &AppState, headers: &HeaderMap) -> String {
    let origin = &state.config.server.public_origin;
    if !origin.is_empty() {
        return format!("{}/activate", origin.trim_end_matches('/'));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.config.auth.cookie_secure {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}/activate")
}

#[utoipa::path(post, path = "/communities/{community}/activation-codes", tag = "communities",
    params(
        ("community" = String, Path, description = "Community id"),
        ("format" = Option<String>, Query, description = "`html` for a printable A4 sheet of cut-out cards; JSON otherwise"),
    ),
    request_body = CodesInput,
    responses(
        (status = 201, description = "New single-use codes, shown only now (or the printable sheet)",
            content((Vec<ActivationCodeView> = "application/json"), (String = "text/html"))),
        (status = 403, description = "Only officers"),
        (status = 404, description = "No roll yet"),
        (status = 409, description = "`voter_taken`: a listed voter already has an account"),
        (status = 422, description = "`not_on_roll` or `too_many_codes`"),
    ))]
async fn create_activation_codes(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    query: Result<Query<FormatQuery>, QueryRejection>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CodesInput>,
) -> ApiResult<Response> {
    let Query(query) = query?;
    require_role(&state, &caller, &community, &[Role::Officer], false).await?;
    let html = wants(&query, &headers, "html", None)?;
    for tag in &input.tags {
        check_len("tags", tag, 64)?;
    }
    if let Some(voters) = &input.voters {
        if voters.len() > MAX_CODES_PER_REQUEST {
            return Err(too_many_codes(voters.len()));
        }
        for voter in voters {
            check_len("voters", voter, 64)?;
        }
    }
    let id = community.clone();
    let (record, roll, held) = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let record: Option<CommunityRecord> = get_record(tx, COMMUNITIES, id.as_str())?;
                let roll: Option<RollRecord> = get_record(tx, ROLLS, id.as_str())?;
                let mut held = HashSet::new();
                for item in tx.open_table(VOTER_ACCOUNTS)?.range((id.as_str(), "")..)? {
                    let (key, _) = item?;
                    let (c, voter) = key.value();
                    if c != id {
                        break;
                    }
                    held.insert(voter.to_owned());
                }
                Ok((record, roll, held))
            })
        })
        .await?;
    let record = record.ok_or(ApiError::NotFound("community"))?;
    let roll = roll.ok_or(ApiError::NotFound("roll"))?;
    let chosen: Vec<usize> = match &input.voters {
        Some(keys) => {
            let index: HashMap<&str, usize> = roll
                .voters
                .iter()
                .enumerate()
                .map(|(i, v)| (v.key.as_str(), i))
                .collect();
            let mut seen = HashSet::new();
            let mut chosen = Vec::new();
            for key in keys {
                let at = *index.get(key.as_str()).ok_or_else(|| not_on_roll(key))?;
                if held.contains(key) {
                    return Err(ApiError::conflict(
                        "voter_taken",
                        format!("voter `{key}` already has an account"),
                    ));
                }
                if seen.insert(at) {
                    chosen.push(at);
                }
            }
            chosen
        }
        None => roll
            .voters
            .iter()
            .enumerate()
            .filter(|(_, v)| !held.contains(&v.key))
            .filter(|(_, v)| input.tags.is_empty() || input.tags.iter().any(|t| v.tags.contains(t)))
            .map(|(i, _)| i)
            .collect(),
    };
    if chosen.len() > MAX_CODES_PER_REQUEST {
        return Err(too_many_codes(chosen.len()));
    }

    let now = clock::now();
    let days = i64::try_from(state.config.auth.activation_days).unwrap_or(i64::MAX / 86_400);
    let expires = now
        .checked_add(jiff::SignedDuration::from_hours(days.saturating_mul(24)))
        .unwrap_or(jiff::Timestamp::MAX);
    let (stamp, expires_at) = (now.to_string(), expires.to_string());
    let codes: Vec<ActivationCodeView> = chosen
        .iter()
        .map(|&i| {
            let v = &roll.voters[i];
            ActivationCodeView {
                voter: v.key.clone(),
                name: v.name.clone(),
                units: v.units.clone(),
                code: new_code(),
                expires_at: expires_at.clone(),
            }
        })
        .collect();
    let stored: Vec<(String, Vec<u8>)> = codes
        .iter()
        .map(|c| {
            let record = ActivationRecord {
                community: community.clone(),
                voter: c.voter.clone(),
                created_at: stamp.clone(),
                expires_at: expires_at.clone(),
                used_by: None,
            };
            let plain = c.code.replace('-', "");
            (code_key(&plain), encode(&record))
        })
        .collect();
    let voters: Vec<String> = codes.iter().map(|c| c.voter.clone()).collect();
    let detail = json!({
        "count": codes.len(),
        "voters": keys_for_audit(&voters),
        "expires_at": expires_at,
    });
    let actor = caller.account.id.clone();
    let id = community.clone();
    state
        .store
        .call(move |s| {
            s.write(|tx| {
                let mut table = tx.open_table(ACTIVATIONS)?;
                for (key, bytes) in &stored {
                    table.insert(key.as_str(), bytes.as_slice())?;
                }
                drop(table);
                audit(tx, &id, &actor, "activation_codes.create", detail, &stamp)?;
                Ok(())
            })
        })
        .await?;

    if !html {
        return Ok((StatusCode::CREATED, ApiJson(codes)).into_response());
    }
    let zone = jiff::tz::TimeZone::get(&record.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let until = expires
        .to_zoned_datetime(zone)
        .strftime("%Y-%m-%d")
        .to_string();
    let cards: Vec<sheet::Card<'_>> = codes
        .iter()
        .map(|c| sheet::Card {
            voter: &c.voter,
            name: &c.name,
            units: &c.units,
            code: &c.code,
            expires: &until,
        })
        .collect();
    let page = sheet::render(&record.name, &sign_up_address(&state, &headers), &cards);
    Ok((
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response())
}

fn too_many_codes(count: usize) -> ApiError {
    ApiError::invalid(
        "too_many_codes",
        format!(
            "{count} codes asked for; at most {MAX_CODES_PER_REQUEST} at once — choose voters, or a building with `tags`"
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Audit log

/// Checks a community's audit chain from its start; `None` when it holds.
fn verify_audit(community: &str, records: &[AuditRecord]) -> Option<String> {
    let mut prev = canonical_hash(&community);
    for (i, record) in records.iter().enumerate() {
        let seq = i as u64 + 1;
        if record.seq != seq {
            return Some(format!("entry {seq} is numbered {}", record.seq));
        }
        if record.community != community {
            return Some(format!("entry {seq} belongs to another community"));
        }
        if record.prev != prev {
            return Some(format!(
                "entry {seq} does not follow from entry {}: the log was altered",
                seq - 1
            ));
        }
        prev = canonical_hash(record);
    }
    None
}

#[utoipa::path(get, path = "/communities/{community}/audit", tag = "communities",
    params(
        ("community" = String, Path, description = "Community id"),
        ("after" = Option<u64>, Query, description = "Only entries after this sequence number"),
        ("limit" = Option<usize>, Query, description = "At most this many entries (default 200, at most 1000)"),
    ),
    responses(
        (status = 200, body = AuditView, description = "The audit log with its hash chain checked"),
        (status = 403, description = "Only officers and platform admins"),
    ))]
async fn read_audit(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<ApiJson<AuditView>> {
    let Query(query) = query?;
    require_role(&state, &caller, &community, &[Role::Officer], true).await?;
    load_community(&state, &community).await?;
    let limit = query.limit.unwrap_or(200).clamp(1, MAX_AUDIT_PAGE);
    let view = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let table = tx.open_table(AUDIT)?;
                let mut records = Vec::new();
                for item in table.range((community.as_str(), 0)..=(community.as_str(), u64::MAX))? {
                    let (_, value) = item?;
                    records.push(decode::<AuditRecord>("audit", value.value())?);
                }
                let problem = verify_audit(&community, &records);
                let mut logins: HashMap<String, Option<String>> = HashMap::new();
                let mut entries = Vec::new();
                for record in records.iter().filter(|r| r.seq > query.after).take(limit) {
                    if !logins.contains_key(&record.actor) {
                        let login =
                            get_record::<&str, AccountRecord>(tx, ACCOUNTS, record.actor.as_str())?
                                .map(|a| a.login);
                        logins.insert(record.actor.clone(), login);
                    }
                    entries.push(AuditEntryView {
                        seq: record.seq,
                        actor: record.actor.clone(),
                        actor_login: logins[&record.actor].clone(),
                        action: record.action.clone(),
                        detail: record.detail.clone(),
                        at: record.at.clone(),
                        prev: record.prev.clone(),
                        hash: canonical_hash(record),
                    });
                }
                Ok(AuditView {
                    length: records.len() as u64,
                    verified: problem.is_none(),
                    problem,
                    entries,
                })
            })
        })
        .await?;
    Ok(ApiJson(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roll(csv: &str) -> Roll {
        Roll::from_csv(csv).unwrap()
    }

    fn row(voter: &str, unit: &str, area: &str) -> RollRowInput {
        RollRowInput {
            voter: voter.into(),
            unit: unit.into(),
            name: String::new(),
            phone: String::new(),
            tags: vec![],
            weights: [("area".to_owned(), area.to_owned())].into(),
        }
    }

    #[test]
    fn an_amendment_replaces_adds_and_removes_whole_voters() {
        let old =
            roll("voter,unit,area\nwang,1-101,89.5\nwang,1-102,10\nli,1-201,75\nzhao,1-301,60\n");
        let (new, d) = amend(
            old,
            RollAmendment {
                rows: vec![row("wang", "1-101", "90.25"), row("sun", "1-401", "50")],
                remove: vec!["zhao".into()],
            },
        )
        .unwrap();
        let keys: Vec<&str> = new.voters().iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys, ["wang", "li", "sun"]);
        assert_eq!(new.voters()[0].units, ["1-101"]);
        assert_eq!(new.voters()[0].weights, [9025]);
        assert_eq!(new.voters()[1].weights, [7500]);
        assert_eq!(
            (d.added, d.removed, d.changed),
            (
                vec!["sun".to_owned()],
                vec!["zhao".to_owned()],
                vec!["wang".to_owned()]
            )
        );
    }

    #[test]
    fn an_amendment_cannot_take_a_unit_from_a_voter_it_keeps() {
        let old = roll("voter,unit,area\nwang,1-101,89.5\nli,1-201,75\n");
        let err = amend(
            old.clone(),
            RollAmendment {
                rows: vec![row("sun", "1-201", "75")],
                remove: vec![],
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), "bad_roll");
        assert!(
            err.to_string()
                .contains("unit `1-201` already belongs to voter `li`"),
            "{err}"
        );
        let err = amend(
            old,
            RollAmendment {
                rows: vec![],
                remove: vec!["nobody".into()],
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), "not_on_roll");
    }

    #[test]
    fn the_same_roll_at_another_scale_is_unchanged() {
        let a = roll("voter,unit,area\nwang,1,89.5\n");
        let b = roll("voter,unit,area\nwang,1,89.50\n");
        assert!(diff(Some(&a), &b).changed.is_empty());
    }

    #[test]
    fn an_altered_audit_entry_breaks_the_chain() {
        let first = AuditRecord {
            seq: 1,
            community: "c".into(),
            actor: "a".into(),
            action: "x".into(),
            detail: json!({}),
            at: "t".into(),
            prev: canonical_hash(&"c"),
        };
        let mut second = first.clone();
        second.seq = 2;
        second.prev = canonical_hash(&first);
        assert_eq!(verify_audit("c", &[first.clone(), second.clone()]), None);
        let mut altered = first;
        altered.action = "y".into();
        assert!(
            verify_audit("c", &[altered, second])
                .unwrap()
                .contains("entry 2")
        );
    }
}
