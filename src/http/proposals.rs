//! Proposals: create and revise (officers), the lifecycle (open, close, extend, withdraw),
//! ballots online, by proxy and assisted, the tally with its visibility rules, turnout, the
//! ledger and receipt look-up.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use jiff::Timestamp;
use redb::ReadableTable;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::{check_len, check_text};
use super::extract::{MaybeSignedIn, SignedIn, membership, require_role};
use super::{ApiError, ApiJson, AppState};
use crate::clock;
use crate::domain::cost::{Split, share};
use crate::domain::ledger::{Channel, Entry};
use crate::domain::lifecycle::ProposalState;
use crate::domain::quantity::Decimal;
use crate::domain::roll::Roll;
use crate::domain::rule::{Rule, RuleSpec};
use crate::domain::tally::Choice;
use crate::store::deliberation::record_revision;
use crate::store::records::{
    BallotRecord, CostRecord, CostSplit, MembershipRecord, ProposalRecord, ProxyRecord, Role,
    RollRecord, Secrecy, Visibility,
};
use crate::store::tables::*;
use crate::store::{audit, decode, get as get_record, put as put_record};
use crate::vote::{CastRequest, Change, Receipt, VoteError};

/// Longest idempotency key, note, reason or authorisation text.
const MAX_KEY_CHARS: usize = 128;
const MAX_NOTE_CHARS: usize = 2000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/communities/{community}/proposals",
            post(create_proposal).get(list_proposals),
        )
        .route(
            "/proposals/{proposal}",
            get(read_proposal).patch(revise_proposal),
        )
        .route("/proposals/{proposal}/deliberate", post(deliberate))
        .route("/proposals/{proposal}/open", post(open))
        .route("/proposals/{proposal}/close", post(close))
        .route("/proposals/{proposal}/extend", post(extend))
        .route("/proposals/{proposal}/withdraw", post(withdraw))
        .route(
            "/proposals/{proposal}/ballot",
            put(cast_ballot).get(my_ballot),
        )
        .route(
            "/proposals/{proposal}/assisted-ballots",
            post(assisted_ballot),
        )
        .route("/proposals/{proposal}/proxies", post(record_proxy))
        .route("/proposals/{proposal}/tally", get(tally))
        .route("/proposals/{proposal}/turnout", get(turnout))
        .route("/proposals/{proposal}/ledger", get(ledger))
        .route("/receipts/{receipt}", get(receipt))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        create_proposal,
        list_proposals,
        read_proposal,
        revise_proposal,
        deliberate,
        open,
        close,
        extend,
        withdraw,
        cast_ballot,
        my_ballot,
        assisted_ballot,
        record_proxy,
        tally,
        turnout,
        ledger,
        receipt
    ),
    components(schemas(
        ProposalInput,
        ProposalRevision,
        CostRecord,
        CostSplit,
        Secrecy,
        Visibility,
        ProposalState,
        BallotInput,
        AssistedBallotInput,
        ProxyInput,
        ExtendInput,
        ReasonInput,
        Receipt,
        Choice,
        Channel
    ))
)]
pub struct ProposalsApi;

/// A new proposal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalInput {
    pub title: String,
    /// Markdown.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub cost: Option<CostRecord>,
    /// `{"preset":"cn-278-major","also":["approval headcount of roll more_than 1/2"]}` or
    /// `{"levels":[…]}`.
    #[schema(value_type = Object)]
    pub rule: RuleSpec,
    /// Roll tags; empty means the whole roll.
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default = "default_secrecy")]
    pub secrecy: Secrecy,
    #[serde(default = "default_visibility")]
    pub visibility: Visibility,
    #[serde(default)]
    pub allow_change: bool,
    /// When voting opens by itself (from deliberation); RFC 3339.
    #[serde(default)]
    pub opens_at: Option<String>,
    /// When voting closes by itself; RFC 3339.
    pub closes_at: String,
}

fn default_secrecy() -> Secrecy {
    Secrecy::Open
}

fn default_visibility() -> Visibility {
    Visibility::Live
}

/// Changes to a proposal still in draft or deliberation; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalRevision {
    pub title: Option<String>,
    pub body: Option<String>,
    pub cost: Option<CostRecord>,
    #[schema(value_type = Option<Object>)]
    pub rule: Option<RuleSpec>,
    pub scope: Option<Vec<String>>,
    pub secrecy: Option<Secrecy>,
    pub visibility: Option<Visibility>,
    pub allow_change: Option<bool>,
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BallotInput {
    /// A motion's choice.
    #[serde(default)]
    pub choice: Option<Choice>,
    /// An election's approved candidate ids (at most `seats`; none is a valid, empty ballot).
    #[serde(default)]
    pub approve: Option<Vec<String>>,
    /// Any unique string per intended ballot; a retry with the same key is answered with the
    /// same receipt and never counted twice.
    pub idempotency_key: String,
    /// For a proxy holder: the roll key of the voter they vote for.
    #[serde(default)]
    pub voter: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistedBallotInput {
    pub voter: String,
    /// A motion's choice.
    #[serde(default)]
    pub choice: Option<Choice>,
    /// An election's marked candidate ids. On a `paper` ballot, more marks than seats record
    /// the ballot as `invalid` (participation only); other methods refuse it like the app.
    #[serde(default)]
    pub approve: Option<Vec<String>>,
    pub idempotency_key: String,
    /// How it was taken: `in_person`, `phone` or `paper`.
    pub method: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyInput {
    /// The voter who authorises.
    pub voter: String,
    /// The login of the account that will vote for them.
    pub holder_login: String,
    /// The text of the written authorisation.
    pub authorisation: String,
    /// RFC 3339.
    pub expires_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendInput {
    /// The new deadline, RFC 3339.
    pub closes_at: String,
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    #[serde(default)]
    pub reason: String,
}

type ApiResult<T> = Result<T, ApiError>;

pub(super) fn parse_time(field: &'static str, text: &str) -> ApiResult<Timestamp> {
    text.parse().map_err(|_| {
        ApiError::invalid(
            "invalid_time",
            format!("`{field}` must be an RFC 3339 time such as 2026-12-01T18:00:00+08:00"),
        )
    })
}

fn parse_rule(spec: RuleSpec) -> ApiResult<Rule> {
    Rule::try_from(spec).map_err(|e| ApiError::invalid("bad_rule", e.to_string()))
}

fn check_cost(cost: &Option<CostRecord>) -> ApiResult<()> {
    let Some(cost) = cost else { return Ok(()) };
    let amount = Decimal::parse(&cost.amount)
        .map_err(|e| ApiError::invalid("bad_cost", format!("cost amount: {e}")))?;
    if amount.rescale(2).is_none() {
        return Err(ApiError::invalid(
            "bad_cost",
            "cost amount has more than 2 decimals",
        ));
    }
    check_text("cost.currency", &cost.currency, 8)?;
    if cost.split == CostSplit::ByWeight && cost.weight.as_deref().unwrap_or("").is_empty() {
        return Err(ApiError::invalid(
            "bad_cost",
            "a cost split by weight must name the weight (e.g. \"area\")",
        ));
    }
    Ok(())
}

/// Loads a proposal and the caller's membership of its community; non-members (and everyone
/// but officers, for drafts) are told it does not exist.
pub(crate) async fn load(
    state: &AppState,
    caller: Option<&SignedIn>,
    id: &str,
) -> ApiResult<(ProposalRecord, Option<MembershipRecord>)> {
    let key = id.to_owned();
    let record: Option<ProposalRecord> = state
        .store
        .call(move |s| s.read(|tx| get_record(tx, PROPOSALS, key.as_str())))
        .await?;
    let record = record.ok_or(ApiError::NotFound("proposal"))?;
    let Some(caller) = caller else {
        return Err(ApiError::Unauthenticated);
    };
    let member = membership(&state.store, &record.community, &caller.account.id).await?;
    if !visible_to(record.state, member.as_ref(), caller) {
        return Err(ApiError::NotFound("proposal"));
    }
    Ok((record, member))
}

/// Whether a proposal in `state` exists for the caller: drafts only for its officers, the
/// rest for members; a platform admin sees every proposal of a community they are not in.
fn visible_to(state: ProposalState, member: Option<&MembershipRecord>, caller: &SignedIn) -> bool {
    match member {
        Some(m) => state != ProposalState::Draft || m.role == Role::Officer,
        None => caller.account.is_admin,
    }
}

/// The fields of a proposal that casting a ballot needs.
#[derive(Deserialize)]
struct BallotTarget {
    id: String,
    community: String,
    state: ProposalState,
}

/// [`load`] for its hottest caller, the ballot: the proposal and the caller's membership are
/// read in one transaction (one trip to the blocking pool, not two) and only the fields a
/// ballot needs are decoded. Same answers as `load`.
async fn load_ballot_target(
    state: &AppState,
    caller: &SignedIn,
    id: &str,
) -> ApiResult<(BallotTarget, Option<MembershipRecord>)> {
    let (key, account) = (id.to_owned(), caller.account.id.clone());
    let (target, member) = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let Some(target) = get_record::<&str, BallotTarget>(tx, PROPOSALS, key.as_str())?
                else {
                    return Ok((None, None));
                };
                let member: Option<MembershipRecord> =
                    get_record(tx, MEMBERS, (target.community.as_str(), account.as_str()))?;
                Ok((Some(target), member))
            })
        })
        .await?;
    let target = target.ok_or(ApiError::NotFound("proposal"))?;
    if !visible_to(target.state, member.as_ref(), caller) {
        return Err(ApiError::NotFound("proposal"));
    }
    Ok((target, member))
}

/// A proposal for a live watcher, with the watcher's voter key (members only; a session is
/// required).
pub async fn load_for_live(
    state: &AppState,
    caller: Option<&SignedIn>,
    id: &str,
) -> ApiResult<(ProposalRecord, Option<String>)> {
    let (record, member) = load(state, caller, id).await?;
    Ok((record, member.and_then(|m| m.voter)))
}

pub(super) async fn load_as_officer(
    state: &AppState,
    caller: &SignedIn,
    id: &str,
) -> ApiResult<(ProposalRecord, MembershipRecord)> {
    let (record, member) = load(state, Some(caller), id).await?;
    match member {
        Some(m) if m.role == Role::Officer => Ok((record, m)),
        Some(m) => Err(ApiError::Forbidden(format!(
            "only officers may do this; you are a {} of this community",
            m.role.as_str()
        ))),
        None => Err(ApiError::Forbidden(
            "only the community's officers may do this".into(),
        )),
    }
}

/// The proposal as clients see it, with the caller's own cost share and ballot.
pub(super) fn proposal_view(
    record: &ProposalRecord,
    roll: Option<&Roll>,
    voter: Option<&str>,
    ballot: Option<&BallotRecord>,
) -> Value {
    let my_share = match (&record.cost, roll, voter) {
        (Some(cost), Some(roll), Some(voter)) => cost_share(cost, roll, voter),
        _ => Value::Null,
    };
    json!({
        "id": record.id,
        "community": record.community,
        "title": record.title,
        "body": record.body,
        "cost": record.cost,
        "my_cost_share": my_share,
        "question": record.question,
        "rule": record.rule,
        "rule_text": Rule::try_from(record.rule.clone()).ok().map(|r| r.conditions().map(|c| c.to_string()).collect::<Vec<_>>()),
        "scope": record.scope,
        "secrecy": record.secrecy,
        "visibility": record.visibility,
        "allow_change": record.allow_change,
        "state": record.state,
        "created_at": record.created_at,
        "opens_at": record.opens_at,
        "closes_at": record.closes_at,
        "opened_at": record.opened_at,
        "closed_at": record.closed_at,
        "extensions": record.extensions.iter().map(|e| json!({"at": e.at, "from": e.from, "to": e.to, "reason": e.reason})).collect::<Vec<_>>(),
        "withdrawn_reason": record.withdrawn_reason,
        "text_hash": record.text_hash,
        "electorate_hash": record.electorate_hash,
        "opening_hash": record.opening_hash,
        "my_ballot": ballot.map(|b| json!({"choice": b.choice, "receipt": b.receipt, "channel": b.channel, "at": b.at, "seq": b.seq})),
    })
}

fn cost_share(cost: &CostRecord, roll: &Roll, voter: &str) -> Value {
    let Some(at) = roll.position(voter) else {
        return Value::Null;
    };
    let Ok(amount) = Decimal::parse(&cost.amount) else {
        return Value::Null;
    };
    let split = match cost.split {
        CostSplit::PerVoter => Split::PerVoter,
        CostSplit::Equally => Split::Equally,
        CostSplit::ByWeight => Split::ByWeight,
    };
    let column = cost.weight.as_deref().and_then(|w| roll.column(w));
    if split == Split::ByWeight && column.is_none() {
        return Value::Null;
    }
    let (weight, total) = column.map_or((0, 0), |i| {
        (
            roll.voters()[at].weights[i],
            roll.voters().iter().map(|v| v.weights[i]).sum(),
        )
    });
    // Weights are in the column's scale; scale cancels in the ratio.
    match share(amount, split, roll.len() as u64, weight, total) {
        Some(s) => json!({
            "amount": Decimal::new(s.cents, 2).to_string(),
            "currency": cost.currency,
            "exact": s.exact,
        }),
        None => Value::Null,
    }
}

#[utoipa::path(post, path = "/communities/{community}/proposals", request_body = ProposalInput,
    responses((status = 201, description = "Draft created"), (status = 403), (status = 422)))]
async fn create_proposal(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    ApiJson(input): ApiJson<ProposalInput>,
) -> ApiResult<(StatusCode, Json)> {
    require_role(&state, &caller, &community, &[Role::Officer], false).await?;
    let limits = &state.config.limits;
    check_text("title", &input.title, limits.max_title_chars)?;
    check_len("body", &input.body, limits.max_body_chars)?;
    check_cost(&input.cost)?;
    check_scope(&input.scope)?;
    let rule = parse_rule(input.rule)?;
    let now = clock::now();
    let closes_at = parse_time("closes_at", &input.closes_at)?;
    if closes_at <= now {
        return Err(ApiError::invalid(
            "invalid_time",
            "`closes_at` must be in the future",
        ));
    }
    let opens_at = input
        .opens_at
        .as_deref()
        .map(|t| parse_time("opens_at", t))
        .transpose()?;
    if opens_at.is_some_and(|o| o >= closes_at) {
        return Err(ApiError::invalid(
            "invalid_time",
            "`opens_at` must be before `closes_at`",
        ));
    }
    let record = ProposalRecord {
        id: clock::new_id(),
        community: community.clone(),
        title: input.title,
        body: input.body,
        cost: input.cost,
        question: "motion".into(),
        rule: rule.to_spec(),
        scope: input.scope,
        secrecy: input.secrecy,
        visibility: input.visibility,
        allow_change: input.allow_change,
        state: ProposalState::Draft,
        created_by: caller.account.id.clone(),
        created_at: now.to_string(),
        opens_at: opens_at.map(|t| t.to_string()),
        closes_at: closes_at.to_string(),
        opened_at: None,
        closed_at: None,
        extensions: Vec::new(),
        withdrawn_reason: None,
        text_hash: None,
        electorate_hash: None,
        opening_hash: None,
        opening: None,
        result: None,
        ledger_len: 0,
        ledger_head: None,
        attestations: Vec::new(),
        election: None,
    };
    let max = limits.max_proposals_per_community;
    let actor = caller.account.id.clone();
    let login = caller.account.login.clone();
    let stored = record.clone();
    let roll_check = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let count = tx
                    .open_table(COMMUNITY_PROPOSALS)?
                    .range(
                        (stored.community.as_str(), "")..=(stored.community.as_str(), "\u{10ffff}"),
                    )?
                    .count();
                if count >= max {
                    return Ok(Err(ApiError::conflict(
                        "too_many_proposals",
                        format!("a community may hold at most {max} proposals"),
                    )));
                }
                if let Some(roll) = get_w_roll(tx, &stored.community)?
                    && let Err(e) = Rule::try_from(stored.rule.clone())
                        .expect("checked above")
                        .check_against(roll.columns())
                {
                    return Ok(Err(ApiError::invalid("bad_rule", e.to_string())));
                }
                put_record(tx, PROPOSALS, stored.id.as_str(), &stored)?;
                record_revision(tx, &stored, &actor, &login, &stored.created_at)?;
                tx.open_table(COMMUNITY_PROPOSALS)?.insert(
                    (stored.community.as_str(), stored.id.as_str()),
                    stored.created_at.as_str(),
                )?;
                audit(
                    tx,
                    &stored.community,
                    &actor,
                    "create_proposal",
                    json!({"proposal": stored.id, "title": stored.title}),
                    &stored.created_at,
                )?;
                Ok(Ok(()))
            })
        })
        .await?;
    roll_check?;
    Ok((
        StatusCode::CREATED,
        axum::Json(proposal_view(&record, None, None, None)),
    ))
}

type Json = axum::Json<Value>;

pub(super) fn get_w_roll(
    tx: &redb::WriteTransaction,
    community: &str,
) -> crate::store::StoreResult<Option<Roll>> {
    Ok(crate::store::get_w::<&str, RollRecord>(tx, ROLLS, community)?.map(|r| r.to_roll()))
}

pub(super) fn check_scope(scope: &[String]) -> ApiResult<()> {
    if scope.len() > 16 {
        return Err(ApiError::invalid("bad_scope", "at most 16 scope tags"));
    }
    for tag in scope {
        check_text("scope", tag, 64)?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/communities/{community}/proposals",
    responses((status = 200, description = "Proposals visible to the caller, newest first")))]
async fn list_proposals(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
) -> ApiResult<Json> {
    let member = require_role(
        &state,
        &caller,
        &community,
        &[Role::Officer, Role::Voter, Role::Observer],
        true,
    )
    .await?;
    let officer = member.is_some_and(|m| m.role == Role::Officer) || caller.account.is_admin;
    let records: Vec<ProposalRecord> = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let index = tx.open_table(COMMUNITY_PROPOSALS)?;
                let proposals = tx.open_table(PROPOSALS)?;
                let mut out = Vec::new();
                for item in
                    index.range((community.as_str(), "")..=(community.as_str(), "\u{10ffff}"))?
                {
                    let (key, _) = item?;
                    if let Some(value) = ReadableTable::get(&proposals, key.value().1)? {
                        out.push(decode::<ProposalRecord>("proposals", value.value())?);
                    }
                }
                Ok(out)
            })
        })
        .await?;
    let mut visible: Vec<&ProposalRecord> = records
        .iter()
        .filter(|r| officer || r.state != ProposalState::Draft)
        .collect();
    visible.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(axum::Json(json!({
        "proposals": visible.iter().map(|r| json!({
            "id": r.id, "title": r.title, "state": r.state, "closes_at": r.closes_at,
            "opens_at": r.opens_at, "secrecy": r.secrecy, "visibility": r.visibility,
        })).collect::<Vec<_>>()
    })))
}

#[utoipa::path(get, path = "/proposals/{proposal}",
    responses((status = 200, description = "The proposal, with the caller's cost share and ballot"), (status = 404)))]
async fn read_proposal(
    State(state): State<AppState>,
    MaybeSignedIn(caller): MaybeSignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let (record, member) = load(&state, caller.as_ref(), &id).await?;
    let voter = member.as_ref().and_then(|m| m.voter.clone());
    let (roll, ballot) = {
        let record = record.clone();
        let voter = voter.clone();
        state
            .store
            .call(move |s| {
                s.read(|tx| {
                    let roll: Option<RollRecord> = match record.state {
                        ProposalState::Draft | ProposalState::Deliberation => {
                            get_record(tx, ROLLS, record.community.as_str())?
                        }
                        _ => get_record(tx, ELECTORATES, record.id.as_str())?,
                    };
                    let ballot: Option<BallotRecord> = match &voter {
                        Some(v) => get_record(tx, BALLOTS, (record.id.as_str(), v.as_str()))?,
                        None => None,
                    };
                    Ok((roll.map(|r| r.to_roll()), ballot))
                })
            })
            .await?
    };
    Ok(axum::Json(proposal_view(
        &record,
        roll.as_ref(),
        voter.as_deref(),
        ballot.as_ref(),
    )))
}

#[utoipa::path(patch, path = "/proposals/{proposal}", request_body = ProposalRevision,
    responses((status = 200, description = "Revised"), (status = 409, description = "`not_revisable` (no longer revisable), `too_many_revisions` (200 kept)")))]
async fn revise_proposal(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ProposalRevision>,
) -> ApiResult<Json> {
    let (_, _) = load_as_officer(&state, &caller, &id).await?;
    let limits = state.config.limits.clone();
    if let Some(title) = &input.title {
        check_text("title", title, limits.max_title_chars)?;
    }
    if let Some(body) = &input.body {
        check_len("body", body, limits.max_body_chars)?;
    }
    if input.cost.is_some() {
        check_cost(&input.cost)?;
    }
    if let Some(scope) = &input.scope {
        check_scope(scope)?;
    }
    let rule = input.rule.map(parse_rule).transpose()?;
    let closes_at = input
        .closes_at
        .as_deref()
        .map(|t| parse_time("closes_at", t))
        .transpose()?;
    let opens_at = input
        .opens_at
        .as_deref()
        .map(|t| parse_time("opens_at", t))
        .transpose()?;
    let now = clock::now();
    if closes_at.is_some_and(|c| c <= now) {
        return Err(ApiError::invalid(
            "invalid_time",
            "`closes_at` must be in the future",
        ));
    }
    let actor = caller.account.id.clone();
    let login = caller.account.login.clone();
    let revised = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut record) =
                    crate::store::get_w::<&str, ProposalRecord>(tx, PROPOSALS, id.as_str())?
                else {
                    return Ok(Err(ApiError::NotFound("proposal")));
                };
                if !matches!(record.state, ProposalState::Draft | ProposalState::Deliberation) {
                    return Ok(Err(ApiError::conflict(
                        "not_revisable",
                        format!(
                            "a proposal in state `{}` can no longer be revised; the text put to the vote is frozen",
                            record.state.as_str()
                        ),
                    )));
                }
                if let Some(t) = input.title { record.title = t; }
                if let Some(b) = input.body { record.body = b; }
                if input.cost.is_some() { record.cost = input.cost; }
                if let Some(r) = &rule { record.rule = r.to_spec(); }
                if let Some(sc) = input.scope { record.scope = sc; }
                if let Some(x) = input.secrecy { record.secrecy = x; }
                if let Some(v) = input.visibility { record.visibility = v; }
                if let Some(a) = input.allow_change { record.allow_change = a; }
                if let Some(c) = closes_at { record.closes_at = c.to_string(); }
                if let Some(o) = opens_at { record.opens_at = Some(o.to_string()); }
                let closes: Timestamp = record.closes_at.parse().unwrap_or(Timestamp::MAX);
                if record.opens_at.as_deref().and_then(|o| o.parse::<Timestamp>().ok()).is_some_and(|o| o >= closes) {
                    return Ok(Err(ApiError::invalid("invalid_time", "`opens_at` must be before `closes_at`")));
                }
                if let Some(roll) = get_w_roll(tx, &record.community)?
                    && let Err(e) = Rule::try_from(record.rule.clone())
                        .expect("stored rules parse")
                        .check_against(roll.columns())
                {
                    return Ok(Err(ApiError::invalid("bad_rule", e.to_string())));
                }
                if crate::store::deliberation::revisions_full(tx, &record)? {
                    return Ok(Err(ApiError::conflict(
                        "too_many_revisions",
                        format!(
                            "a proposal keeps at most {} revisions",
                            crate::store::deliberation::MAX_REVISIONS
                        ),
                    )));
                }
                put_record(tx, PROPOSALS, record.id.as_str(), &record)?;
                let revision = record_revision(tx, &record, &actor, &login, &clock::now().to_string())?;
                audit(tx, &record.community, &actor, "revise_proposal",
                    json!({"proposal": record.id, "revision": revision}), &clock::now().to_string())?;
                Ok(Ok(record))
            })
        })
        .await??;
    schedule_if_needed(&state, &revised).await;
    Ok(axum::Json(proposal_view(&revised, None, None, None)))
}

async fn schedule_if_needed(state: &AppState, record: &ProposalRecord) {
    if record.state == ProposalState::Deliberation
        && let Some(opens_at) = record.opens_at.as_deref().and_then(|t| t.parse().ok())
    {
        state.votes.schedule(&record.id, opens_at).await;
    }
}

#[utoipa::path(post, path = "/proposals/{proposal}/deliberate",
    responses((status = 200, description = "Published for deliberation"), (status = 409)))]
async fn deliberate(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    load_as_officer(&state, &caller, &id).await?;
    let actor = caller.account.id.clone();
    let record = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut record) =
                    crate::store::get_w::<&str, ProposalRecord>(tx, PROPOSALS, id.as_str())?
                else {
                    return Ok(Err(ApiError::NotFound("proposal")));
                };
                let now = clock::now();
                let closes = record.closes_at.parse().unwrap_or(Timestamp::MAX);
                match crate::domain::lifecycle::transition(
                    record.state,
                    crate::domain::lifecycle::Transition::Deliberate,
                    now,
                    closes,
                    false,
                ) {
                    Ok(next) => record.state = next,
                    Err(e) => return Ok(Err(ApiError::conflict("wrong_state", e.to_string()))),
                }
                put_record(tx, PROPOSALS, record.id.as_str(), &record)?;
                audit(
                    tx,
                    &record.community,
                    &actor,
                    "deliberate",
                    json!({"proposal": record.id}),
                    &now.to_string(),
                )?;
                Ok(Ok(record))
            })
        })
        .await??;
    schedule_if_needed(&state, &record).await;
    Ok(axum::Json(proposal_view(&record, None, None, None)))
}

pub(crate) fn vote_error(e: VoteError) -> ApiError {
    match e {
        VoteError::NotOpen => ApiError::conflict("not_open", e.to_string()),
        VoteError::Closed => ApiError::conflict("voting_closed", e.to_string()),
        VoteError::NotInElectorate(_) => ApiError::Forbidden(e.to_string()),
        VoteError::AlreadyVoted { .. } => ApiError::conflict("already_voted", e.to_string()),
        VoteError::OtherChannel { .. } => ApiError::conflict("other_channel", e.to_string()),
        VoteError::KeyReused => ApiError::conflict("idempotency_key_reused", e.to_string()),
        VoteError::Lifecycle(m) => ApiError::conflict("wrong_state", m),
        VoteError::Invalid(m) => ApiError::invalid("cannot_open", m),
        VoteError::Ballot { code, message } => ApiError::invalid(code, message),
        VoteError::UnknownProposal => ApiError::NotFound("proposal"),
        VoteError::Retry => ApiError::Retry,
        VoteError::Storage(fault) => ApiError::from_fault(fault),
    }
}

async fn lifecycle(
    state: &AppState,
    caller: &SignedIn,
    id: &str,
    change: Change,
) -> ApiResult<Json> {
    load_as_officer(state, caller, id).await?;
    let record = state
        .votes
        .change(id, change, &caller.account.id)
        .await
        .map_err(vote_error)?;
    Ok(axum::Json(proposal_view(&record, None, None, None)))
}

#[utoipa::path(post, path = "/proposals/{proposal}/open",
    responses((status = 200, description = "Voting open; electorate frozen"), (status = 409), (status = 422)))]
async fn open(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    lifecycle(&state, &caller, &id, Change::Open).await
}

#[utoipa::path(post, path = "/proposals/{proposal}/close",
    responses((status = 200, description = "Voting closed; outcome computed"), (status = 409)))]
async fn close(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    lifecycle(&state, &caller, &id, Change::Close).await
}

#[utoipa::path(post, path = "/proposals/{proposal}/extend", request_body = ExtendInput,
    responses((status = 200, description = "Deadline moved (quorum not met)"), (status = 409)))]
async fn extend(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ExtendInput>,
) -> ApiResult<Json> {
    check_text("reason", &input.reason, MAX_NOTE_CHARS)?;
    let to = parse_time("closes_at", &input.closes_at)?;
    lifecycle(
        &state,
        &caller,
        &id,
        Change::Extend {
            to,
            reason: input.reason,
        },
    )
    .await
}

#[utoipa::path(post, path = "/proposals/{proposal}/withdraw", request_body = ReasonInput,
    responses((status = 200, description = "Withdrawn"), (status = 409)))]
async fn withdraw(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json> {
    check_text("reason", &input.reason, MAX_NOTE_CHARS)?;
    lifecycle(
        &state,
        &caller,
        &id,
        Change::Withdraw {
            reason: input.reason,
        },
    )
    .await
}

/// Most candidate ids one ballot may name (marks beyond `seats` are refused or spoil a paper
/// ballot; this bounds the request itself).
const MAX_APPROVALS: usize = crate::domain::election::MAX_CANDIDATES;

/// The choice as the ledger spells it: a motion's `yes`/`no`/`abstain`, or an election's ids
/// joined by `;` (the writer checks them against the candidates and puts them in ballot order).
fn ballot_choice(choice: Option<Choice>, approve: Option<Vec<String>>) -> ApiResult<String> {
    match (choice, approve) {
        (Some(choice), None) => Ok(choice.as_str().to_owned()),
        (None, Some(ids)) => {
            if ids.len() > MAX_APPROVALS {
                return Err(ApiError::invalid(
                    "over_voted",
                    format!("a ballot names at most {MAX_APPROVALS} candidates"),
                ));
            }
            if let Some(bad) = ids.iter().find(|id| {
                id.is_empty()
                    || id.contains(';')
                    || *id == crate::domain::election::INVALID_CHOICE
                    || id.chars().count() > 64
            }) {
                return Err(ApiError::invalid(
                    "unknown_candidate",
                    format!("unknown candidate `{bad}`"),
                ));
            }
            Ok(ids.join(";"))
        }
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "invalid_field",
            "give either `choice` (a motion) or `approve` (an election), not both",
        )),
        (None, None) => Err(ApiError::invalid(
            "invalid_field",
            "missing field `choice` (a motion: yes, no or abstain) or `approve` (an election: candidate ids)",
        )),
    }
}

/// Whether a stored ballot answers a retried request (election ids in any order).
fn same_choice(stored: &str, requested: &str, paper: bool) -> bool {
    fn set(text: &str) -> Vec<&str> {
        let mut ids: Vec<&str> = text.split(';').filter(|s| !s.is_empty()).collect();
        ids.sort_unstable();
        ids
    }
    stored == requested
        || (stored.contains(';') || requested.contains(';')) && set(stored) == set(requested)
        || paper && stored == crate::domain::election::INVALID_CHOICE
}

fn check_key(key: &str) -> ApiResult<()> {
    check_text("idempotency_key", key, MAX_KEY_CHARS)
}

#[utoipa::path(put, path = "/proposals/{proposal}/ballot", request_body = BallotInput,
    responses((status = 200, body = Receipt, description = "Recorded durably"),
              (status = 409, description = "Already voted, closed, or key reused"),
              (status = 503, description = "Not recorded; retry with the same key")))]
async fn cast_ballot(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<BallotInput>,
) -> ApiResult<axum::Json<Receipt>> {
    check_key(&input.idempotency_key)?;
    let choice = ballot_choice(input.choice, input.approve)?;
    let (record, member) = load_ballot_target(&state, &caller, &id).await?;
    let (voter, channel) = match input.voter {
        None => {
            let voter = member
                .filter(|m| m.role == Role::Voter)
                .and_then(|m| m.voter)
                .ok_or_else(|| {
                    ApiError::Forbidden("only voters of this community may vote".into())
                })?;
            (voter, Channel::Online)
        }
        Some(voter) => {
            check_text("voter", &voter, 64)?;
            let (proposal, key) = (record.id.clone(), voter.clone());
            let proxy: Option<ProxyRecord> = state
                .store
                .call(move |s| {
                    s.read(|tx| get_record(tx, PROXIES, (proposal.as_str(), key.as_str())))
                })
                .await?;
            let valid = proxy.is_some_and(|p| {
                p.holder == caller.account.id
                    && p.expires_at
                        .parse::<Timestamp>()
                        .is_ok_and(|e| clock::now() < e)
            });
            if !valid {
                return Err(ApiError::Forbidden(format!(
                    "you hold no valid proxy for voter `{voter}` on this proposal"
                )));
            }
            (voter, Channel::Proxy)
        }
    };
    let receipt = cast_or_replay(
        &state,
        CastRequest {
            proposal: record.id,
            voter,
            choice,
            channel,
            idempotency_key: input.idempotency_key,
            cast_by: caller.account.id,
            note: None,
            paper: false,
        },
    )
    .await?;
    Ok(axum::Json(receipt))
}

/// Casts through the writer. When voting has ended meanwhile, a retry of a ballot that was
/// recorded (same idempotency key, same choice and channel) still gets its receipt back, so a
/// voter whose answer was lost near the deadline learns that the vote arrived.
pub(crate) async fn cast_or_replay(state: &AppState, request: CastRequest) -> ApiResult<Receipt> {
    let refused = match state.votes.cast(request.clone()).await {
        Ok(receipt) => return Ok(receipt),
        Err(e @ (VoteError::NotOpen | VoteError::Closed)) => e,
        Err(e) => return Err(vote_error(e)),
    };
    let (proposal, voter) = (request.proposal.clone(), request.voter.clone());
    let stored: Option<BallotRecord> = state
        .store
        .call(move |s| s.read(|tx| get_record(tx, BALLOTS, (proposal.as_str(), voter.as_str()))))
        .await?;
    match stored {
        Some(b)
            if b.idempotency_key == request.idempotency_key
                && same_choice(&b.choice, &request.choice, request.paper)
                && b.channel == request.channel =>
        {
            Ok(Receipt {
                receipt: b.receipt,
                seq: b.seq,
                choice: b.choice,
                channel: b.channel,
                at: b.at,
                replayed: true,
            })
        }
        _ => Err(vote_error(refused)),
    }
}

#[utoipa::path(get, path = "/proposals/{proposal}/ballot",
    responses((status = 200, description = "The caller's own ballot and receipt, or null")))]
async fn my_ballot(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let (record, member) = load(&state, Some(&caller), &id).await?;
    let Some(voter) = member.and_then(|m| m.voter) else {
        return Ok(axum::Json(Value::Null));
    };
    let ballot: Option<BallotRecord> = state
        .store
        .call(move |s| s.read(|tx| get_record(tx, BALLOTS, (record.id.as_str(), voter.as_str()))))
        .await?;
    Ok(axum::Json(match ballot {
        Some(b) => {
            json!({"choice": b.choice, "receipt": b.receipt, "channel": b.channel, "at": b.at, "seq": b.seq})
        }
        None => Value::Null,
    }))
}

#[utoipa::path(post, path = "/proposals/{proposal}/assisted-ballots", request_body = AssistedBallotInput,
    responses((status = 200, body = Receipt), (status = 409)))]
async fn assisted_ballot(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AssistedBallotInput>,
) -> ApiResult<axum::Json<Receipt>> {
    check_key(&input.idempotency_key)?;
    let choice = ballot_choice(input.choice, input.approve)?;
    check_text("voter", &input.voter, 64)?;
    check_len("note", &input.note, MAX_NOTE_CHARS)?;
    if !["in_person", "phone", "paper"].contains(&input.method.as_str()) {
        return Err(ApiError::invalid(
            "bad_method",
            "`method` must be in_person, phone or paper",
        ));
    }
    let (record, _) = load_as_officer(&state, &caller, &id).await?;
    let receipt = cast_or_replay(
        &state,
        CastRequest {
            proposal: record.id,
            voter: input.voter,
            choice,
            channel: Channel::Assisted,
            idempotency_key: input.idempotency_key,
            cast_by: caller.account.id.clone(),
            paper: input.method == "paper",
            note: Some(format!("{}: {}", input.method, input.note)),
        },
    )
    .await?;
    Ok(axum::Json(receipt))
}

#[utoipa::path(post, path = "/proposals/{proposal}/proxies", request_body = ProxyInput,
    responses((status = 201, description = "Authorisation recorded"), (status = 404), (status = 422)))]
async fn record_proxy(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ProxyInput>,
) -> ApiResult<(StatusCode, Json)> {
    check_text("voter", &input.voter, 64)?;
    check_text("holder_login", &input.holder_login, 64)?;
    check_text("authorisation", &input.authorisation, MAX_NOTE_CHARS)?;
    let expires = parse_time("expires_at", &input.expires_at)?;
    let now = clock::now();
    if expires <= now {
        return Err(ApiError::invalid(
            "invalid_time",
            "`expires_at` must be in the future",
        ));
    }
    let (record, _) = load_as_officer(&state, &caller, &id).await?;
    if matches!(
        record.state,
        ProposalState::Closed | ProposalState::Certified | ProposalState::Withdrawn
    ) {
        return Err(ApiError::conflict(
            "wrong_state",
            "voting on this proposal is over",
        ));
    }
    let actor = caller.account.id.clone();
    let result = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(holder) = ReadableTable::get(&tx.open_table(LOGINS)?, input.holder_login.as_str())?.map(|v| v.value().to_owned()) else {
                    return Ok(Err(ApiError::invalid("unknown_login", format!("no account `{}`", input.holder_login))));
                };
                let roll = match record.state {
                    ProposalState::Voting => crate::store::get_w::<&str, RollRecord>(tx, ELECTORATES, record.id.as_str())?,
                    _ => crate::store::get_w::<&str, RollRecord>(tx, ROLLS, record.community.as_str())?,
                };
                if !roll.is_some_and(|r| r.voters.iter().any(|v| v.key == input.voter)) {
                    return Ok(Err(ApiError::invalid("unknown_voter", format!("voter `{}` is not on the roll", input.voter))));
                }
                let proxy = ProxyRecord {
                    holder,
                    holder_login: input.holder_login.clone(),
                    authorisation: input.authorisation.clone(),
                    expires_at: expires.to_string(),
                    recorded_by: actor.clone(),
                    recorded_at: now.to_string(),
                };
                put_record(tx, PROXIES, (record.id.as_str(), input.voter.as_str()), &proxy)?;
                audit(tx, &record.community, &actor, "record_proxy",
                    json!({"proposal": record.id, "voter": input.voter, "holder": input.holder_login, "expires_at": proxy.expires_at}),
                    &now.to_string())?;
                Ok(Ok(json!({"voter": input.voter, "holder_login": input.holder_login, "expires_at": proxy.expires_at})))
            })
        })
        .await??;
    Ok((StatusCode::CREATED, axum::Json(result)))
}

/// Whether the caller may see the choices now (turnout is always visible).
pub fn results_visible(record: &ProposalRecord, caller_voted: bool) -> bool {
    results_visible_when(record.state, record.visibility, caller_voted)
}

/// [`results_visible`] for a proposal in `state` with `visibility`.
pub fn results_visible_when(
    state: ProposalState,
    visibility: Visibility,
    caller_voted: bool,
) -> bool {
    match state {
        ProposalState::Closed | ProposalState::Certified => true,
        ProposalState::Voting => match visibility {
            Visibility::Live => true,
            Visibility::AfterVote => caller_voted,
            Visibility::AfterClose => false,
        },
        _ => false,
    }
}

/// The tally as a caller may see it. Hidden results keep only turnout and quorum conditions.
pub fn tally_view(record: &ProposalRecord, count: Value, visible: bool) -> Value {
    let mut count = count;
    let conditions: Vec<Value> = count["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| visible || c["kind"] == "quorum")
        .collect();
    let mut view = json!({
        "proposal": record.id,
        "state": record.state,
        "closes_at": record.closes_at,
        "results_visible": visible,
        "electorate": count["electorate"].take(),
        "turnout": count["tally"]["participants"].take(),
        "conditions": conditions,
        "ledger_len": count["ledger_len"].take(),
    });
    if visible {
        view["tally"] = count["tally"].take();
        view["outcome"] = count["outcome"].take();
        view["level"] = count["level"].take();
        view["certainty"] = count["certainty"].take();
        if count.get("election").is_some() {
            view["election"] = count["election"].take();
        }
        view["final"] = json!(matches!(
            record.state,
            ProposalState::Closed | ProposalState::Certified
        ));
    }
    view
}

/// The full count of a proposal (unfiltered): live for voting, stored for closed.
pub fn full_count(state: &AppState, record: &ProposalRecord) -> Option<Value> {
    if record.state == ProposalState::Voting
        && let Some(snapshot) = state.hub.latest(&record.id)
    {
        let mut json = snapshot.count_json();
        if snapshot.allow_change {
            // Ballots can still change: nothing is certain before close.
            json["certainty"] = json!("open");
        }
        json["ledger_len"] = json!(snapshot.ledger_len);
        return Some(json);
    }
    record.result.clone().map(|mut r| {
        r["ledger_len"] = json!(record.ledger_len);
        r
    })
}

#[utoipa::path(get, path = "/proposals/{proposal}/tally",
    responses((status = 200, description = "Turnout always; choices, conditions and outcome when visible"), (status = 404)))]
async fn tally(
    State(state): State<AppState>,
    MaybeSignedIn(caller): MaybeSignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let (record, member) = load(&state, caller.as_ref(), &id).await?;
    let voted = match member.and_then(|m| m.voter) {
        Some(voter) => {
            let proposal = record.id.clone();
            state
                .store
                .call(move |s| {
                    s.read(|tx| {
                        Ok(ReadableTable::get(
                            &tx.open_table(BALLOTS)?,
                            (proposal.as_str(), voter.as_str()),
                        )?
                        .is_some())
                    })
                })
                .await?
        }
        None => false,
    };
    let Some(count) = full_count(&state, &record) else {
        return Err(ApiError::conflict(
            "not_open",
            "this proposal has not been put to the vote yet",
        ));
    };
    Ok(axum::Json(tally_view(
        &record,
        count,
        results_visible(&record, voted),
    )))
}

#[utoipa::path(get, path = "/proposals/{proposal}/turnout",
    responses((status = 200, description = "Officers: who has and has not voted (never their choices)")))]
async fn turnout(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let (record, _) = load_as_officer(&state, &caller, &id).await?;
    if matches!(
        record.state,
        ProposalState::Draft | ProposalState::Deliberation
    ) {
        return Err(ApiError::conflict("not_open", "voting has not opened yet"));
    }
    let rows = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let electorate: RollRecord = get_record(tx, ELECTORATES, record.id.as_str())?
                    .ok_or_else(|| crate::store::StoreError::Corrupt {
                        table: "electorates".into(),
                        message: "missing".into(),
                    })?;
                let ballots = tx.open_table(BALLOTS)?;
                let mut voted = Vec::new();
                let mut not_voted = Vec::new();
                for v in &electorate.voters {
                    let ballot = ReadableTable::get(&ballots, (record.id.as_str(), v.key.as_str()))?
                        .map(|b| decode::<BallotRecord>("ballots", b.value()))
                        .transpose()?;
                    let row = json!({"voter": v.key, "name": v.name, "phone": v.phone, "units": v.units, "tags": v.tags});
                    match ballot {
                        Some(b) => voted.push(json!({"voter": v.key, "name": v.name, "units": v.units, "channel": b.channel, "at": b.at})),
                        None => not_voted.push(row),
                    }
                }
                Ok(json!({"voted": voted, "not_voted": not_voted,
                    "voted_count": voted.len(), "not_voted_count": not_voted.len()}))
            })
        })
        .await?;
    Ok(axum::Json(rows))
}

#[utoipa::path(get, path = "/proposals/{proposal}/ledger",
    responses((status = 200, description = "JSON Lines: every entry in sequence order (the opening record is in the certificate); public once the result is certified", content_type = "application/jsonl"),
              (status = 403, description = "Not published yet")))]
async fn ledger(
    State(state): State<AppState>,
    MaybeSignedIn(caller): MaybeSignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    // A certified result is public: its ledger, like its certificate, needs no account.
    let key = id.clone();
    let record: ProposalRecord = state
        .store
        .call(move |s| s.read(|tx| get_record(tx, PROPOSALS, key.as_str())))
        .await?
        .ok_or(ApiError::NotFound("proposal"))?;
    let record = if record.state == ProposalState::Certified {
        record
    } else {
        load(&state, caller.as_ref(), &id).await?.0
    };
    let published = match record.state {
        ProposalState::Closed | ProposalState::Certified => true,
        ProposalState::Voting => {
            record.secrecy == Secrecy::Open && record.visibility == Visibility::Live
        }
        _ => false,
    };
    if !published {
        return Err(ApiError::Forbidden(
            "the ledger is published when voting closes (or during voting for open, live ballots)"
                .into(),
        ));
    }
    let id = record.id.clone();
    let lines = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let table = tx.open_table(LEDGER)?;
                let mut out = String::new();
                for item in
                    ReadableTable::range(&table, (id.as_str(), 1)..=(id.as_str(), u64::MAX))?
                {
                    let (_, value) = item?;
                    let entry: Entry = decode("ledger", value.value())?;
                    out.push_str(&serde_json::to_string(&entry).expect("serialises"));
                    out.push('\n');
                }
                Ok(out)
            })
        })
        .await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        "application/jsonl; charset=utf-8".parse().expect("valid"),
    );
    Ok((headers, lines).into_response())
}

#[utoipa::path(get, path = "/receipts/{receipt}",
    responses((status = 200, description = "Where a receipt stands in its proposal's ledger"), (status = 404)))]
async fn receipt(State(state): State<AppState>, Path(receipt): Path<String>) -> ApiResult<Json> {
    if receipt.len() != 64 || !receipt.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound("receipt"));
    }
    let found = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let receipts = tx.open_table(RECEIPTS)?;
                let Some(place) = ReadableTable::get(&receipts, receipt.as_str())? else {
                    return Ok(None);
                };
                let (proposal, seq) = place.value();
                let record: Option<ProposalRecord> = get_record(tx, PROPOSALS, proposal)?;
                Ok(record.map(|r| (r, seq, receipt.clone())))
            })
        })
        .await?;
    let (record, seq, receipt) = found.ok_or(ApiError::NotFound("receipt"))?;
    Ok(axum::Json(json!({
        "receipt": receipt,
        "proposal": record.id,
        "title": record.title,
        "position": seq,
        "state": record.state,
        "ledger_len": record.ledger_len,
    })))
}
