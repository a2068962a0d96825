//! Owners' committee elections (DESIGN §4): creating an election, its candidates and
//! self-nominations, the result with its ranking, and the tie-break an officer records — the
//! committee's decision, or a lot drawn from a seed published before the draw.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use jiff::Timestamp;
use redb::{ReadableTable, WriteTransaction};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::{check_len, check_text};
use super::extract::{MaybeSignedIn, SignedIn, require_role};
use super::proposals::{check_scope, get_w_roll, load, load_as_officer, parse_time, proposal_view};
use super::{ApiError, ApiJson, AppState};
use crate::clock;
use crate::domain::certificate::{self, ElectoratePart, TieBreak};
use crate::domain::election::{Election, MAX_CANDIDATES, draw_lot};
use crate::domain::ledger::Entry;
use crate::domain::lifecycle::ProposalState;
use crate::domain::report;
use crate::domain::rule::{Rule, RuleSpec};
use crate::store::records::{
    CandidateRecord, ElectionRecord, LotSeedRecord, NominationRecord, NominationStatus,
    ProposalRecord, Role, RollRecord, Secrecy, Visibility,
};
use crate::store::tables::*;
use crate::store::{StoreError, StoreResult, audit, decode, get_w, put};

/// Most seats an election may fill, and most alternates it may rank.
pub const MAX_SEATS: usize = 50;
pub const MAX_ALTERNATES: usize = 50;
/// Longest term of office, in years (the default is 5).
pub const MAX_TERM_YEARS: u32 = 10;
pub const DEFAULT_TERM_YEARS: u32 = 5;
/// The rule applied to each candidate unless the officer names another.
pub const DEFAULT_RULE: &str = "cn-278";
/// Longest candidate name, statement, note or seed.
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_STATEMENT_CHARS: usize = 1000;
pub const MAX_NOTE_CHARS: usize = 2000;
pub const MAX_SEED_CHARS: usize = 200;
/// Most nominations one election keeps (accepted, declined and pending together).
pub const MAX_NOMINATIONS: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/communities/{community}/elections", post(create_election))
        .route("/proposals/{proposal}/election", get(read_election))
        .route("/proposals/{proposal}/candidates", post(add_candidate))
        .route(
            "/proposals/{proposal}/candidates/{candidate}",
            delete(remove_candidate),
        )
        .route("/proposals/{proposal}/nominations", post(nominate))
        .route(
            "/proposals/{proposal}/nominations/{nomination}/accept",
            post(accept_nomination),
        )
        .route(
            "/proposals/{proposal}/nominations/{nomination}/decline",
            post(decline_nomination),
        )
        .route("/proposals/{proposal}/lot-seed", post(publish_lot_seed))
        .route("/proposals/{proposal}/lot", post(draw))
        .route("/proposals/{proposal}/tie-break", post(record_decision))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        create_election,
        read_election,
        add_candidate,
        remove_candidate,
        nominate,
        accept_nomination,
        decline_nomination,
        publish_lot_seed,
        draw,
        record_decision
    ),
    components(schemas(
        ElectionInput,
        CandidateInput,
        NominationInput,
        DecisionInput,
        LotSeedInput,
        DeclineInput,
        NominationStatus,
        TieBreak
    ))
)]
pub struct ElectionsApi;

type ApiResult<T> = Result<T, ApiError>;
type Json = axum::Json<Value>;

/// A new election (a proposal whose question is `election`), created as a draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ElectionInput {
    pub title: String,
    /// Markdown: what the committee does, how to stand.
    #[serde(default)]
    pub body: String,
    /// Seats to fill (1 to 50).
    pub seats: usize,
    /// Runners-up ranked as alternates, in the order they move up (0 to 50).
    #[serde(default)]
    pub alternates: usize,
    /// Term of office in years (1 to 10; default 5).
    #[serde(default)]
    pub term_years: Option<u32>,
    /// Applied to each candidate; default `{"preset":"cn-278"}`.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub rule: Option<RuleSpec>,
    /// Candidates entered by the officer, in ballot order.
    #[serde(default)]
    pub candidates: Vec<CandidateInput>,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default = "default_secrecy")]
    pub secrecy: Secrecy,
    #[serde(default = "default_visibility")]
    pub visibility: Visibility,
    #[serde(default)]
    pub allow_change: bool,
    #[serde(default)]
    pub opens_at: Option<String>,
    pub closes_at: String,
}

fn default_secrecy() -> Secrecy {
    Secrecy::Open
}

fn default_visibility() -> Visibility {
    Visibility::Live
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateInput {
    pub name: String,
    /// A short statement shown on the ballot.
    #[serde(default)]
    pub statement: String,
}

/// A voter standing for election.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NominationInput {
    /// A short statement (required).
    pub statement: String,
    /// The name on the ballot; default the voter's name on the roll.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineInput {
    #[serde(default)]
    pub reason: String,
}

/// The committee's decision on tied candidates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// Candidate ids, first the one ranked higher; must name every candidate of every tie.
    pub order: Vec<String>,
    /// Where and how the committee decided (required).
    pub note: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotSeedInput {
    /// A value fixed in public beforehand (e.g. announced at a meeting), accepted only before
    /// voting closes; default (and, once the count is known, the only choice) 128 random bits
    /// from the server, as hex.
    #[serde(default)]
    pub seed: Option<String>,
    #[serde(default)]
    pub note: String,
}

fn check_candidate(input: &CandidateInput) -> ApiResult<()> {
    check_text("name", &input.name, MAX_NAME_CHARS)?;
    check_len("statement", &input.statement, MAX_STATEMENT_CHARS)
}

/// Refuses a candidate whose name (ignoring case and surrounding spaces) already stands: the
/// ballot could not tell them apart (add a unit or building to the name).
fn check_name_free(part: &ElectionRecord, name: &str) -> ApiResult<()> {
    let key = name.trim().to_lowercase();
    if part
        .candidates
        .iter()
        .any(|c| c.name.trim().to_lowercase() == key)
    {
        return Err(ApiError::conflict(
            "duplicate_candidate",
            format!(
                "a candidate named `{}` already stands; add what tells them apart (e.g. the unit)",
                name.trim()
            ),
        ));
    }
    Ok(())
}

fn new_candidate(
    part: &mut ElectionRecord,
    name: String,
    statement: String,
    voter: Option<String>,
    at: &str,
) -> CandidateRecord {
    part.next_candidate += 1;
    CandidateRecord {
        id: format!("c{}", part.next_candidate),
        name,
        statement,
        voter,
        added_at: at.to_owned(),
    }
}

#[utoipa::path(post, path = "/communities/{community}/elections", request_body = ElectionInput,
    responses((status = 201, description = "Election created as a draft"), (status = 403), (status = 409, description = "`duplicate_candidate`"), (status = 422)))]
async fn create_election(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    ApiJson(input): ApiJson<ElectionInput>,
) -> ApiResult<(StatusCode, Json)> {
    require_role(&state, &caller, &community, &[Role::Officer], false).await?;
    let limits = &state.config.limits;
    check_text("title", &input.title, limits.max_title_chars)?;
    check_len("body", &input.body, limits.max_body_chars)?;
    check_scope(&input.scope)?;
    if !(1..=MAX_SEATS).contains(&input.seats) {
        return Err(ApiError::invalid(
            "bad_election",
            format!("`seats` must be 1 to {MAX_SEATS}"),
        ));
    }
    if input.alternates > MAX_ALTERNATES {
        return Err(ApiError::invalid(
            "bad_election",
            format!("`alternates` must be 0 to {MAX_ALTERNATES}"),
        ));
    }
    let term_years = input.term_years.unwrap_or(DEFAULT_TERM_YEARS);
    if !(1..=MAX_TERM_YEARS).contains(&term_years) {
        return Err(ApiError::invalid(
            "bad_election",
            format!("`term_years` must be 1 to {MAX_TERM_YEARS}"),
        ));
    }
    if input.candidates.len() > MAX_CANDIDATES {
        return Err(ApiError::invalid(
            "bad_election",
            format!("at most {MAX_CANDIDATES} candidates may stand"),
        ));
    }
    for c in &input.candidates {
        check_candidate(c)?;
    }
    let spec = input.rule.unwrap_or(RuleSpec {
        preset: Some(DEFAULT_RULE.into()),
        also: Vec::new(),
        levels: Vec::new(),
    });
    let rule = Rule::try_from(spec).map_err(|e| ApiError::invalid("bad_rule", e.to_string()))?;
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
    let at = now.to_string();
    let mut part = ElectionRecord {
        seats: input.seats,
        alternates: input.alternates,
        term_years,
        candidates: Vec::new(),
        nominations: Vec::new(),
        next_candidate: 0,
        lot_seed: None,
        tie_break: None,
    };
    for c in input.candidates {
        check_name_free(&part, &c.name)?;
        let candidate = new_candidate(&mut part, c.name, c.statement, None, &at);
        part.candidates.push(candidate);
    }
    let record = ProposalRecord {
        id: clock::new_id(),
        community,
        title: input.title,
        body: input.body,
        cost: None,
        question: "election".into(),
        rule: rule.to_spec(),
        scope: input.scope,
        secrecy: input.secrecy,
        visibility: input.visibility,
        allow_change: input.allow_change,
        state: ProposalState::Draft,
        created_by: caller.account.id.clone(),
        created_at: at.clone(),
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
        election: Some(part),
    };
    let max = limits.max_proposals_per_community;
    let actor = caller.account.id.clone();
    let login = caller.account.login.clone();
    let stored = record.clone();
    state
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
                    && let Err(e) = rule.check_against(roll.columns())
                {
                    return Ok(Err(ApiError::invalid("bad_rule", e.to_string())));
                }
                put(tx, PROPOSALS, stored.id.as_str(), &stored)?;
                // Revision 1, so that a later revision keeps the text as created.
                crate::store::deliberation::record_revision(
                    tx,
                    &stored,
                    &actor,
                    &login,
                    &stored.created_at,
                )?;
                tx.open_table(COMMUNITY_PROPOSALS)?.insert(
                    (stored.community.as_str(), stored.id.as_str()),
                    stored.created_at.as_str(),
                )?;
                audit(
                    tx,
                    &stored.community,
                    &actor,
                    "create_election",
                    json!({"proposal": stored.id, "title": stored.title,
                           "seats": input.seats, "alternates": input.alternates}),
                    &stored.created_at,
                )?;
                Ok(Ok(()))
            })
        })
        .await??;
    let mut view = proposal_view(&record, None, None, None);
    view["election"] = election_view(&record, true, None);
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// The election as a caller sees it: candidates always; nominations all for officers, a
/// voter's own otherwise; the final result once voting has closed.
fn election_view(record: &ProposalRecord, officer: bool, voter: Option<&str>) -> Value {
    let Some(part) = &record.election else {
        return Value::Null;
    };
    let nominations: Vec<Value> = part
        .nominations
        .iter()
        .filter(|n| officer || voter == Some(n.voter.as_str()))
        .map(|n| {
            json!({"id": n.id, "voter": n.voter, "name": n.name, "statement": n.statement,
                   "status": n.status, "at": n.at, "decided_at": n.decided_at,
                   "reason": n.reason, "candidate": n.candidate})
        })
        .collect();
    let closed = matches!(
        record.state,
        ProposalState::Closed | ProposalState::Certified
    );
    json!({
        "proposal": record.id,
        "state": record.state,
        "seats": part.seats,
        "alternates": part.alternates,
        "term_years": part.term_years,
        "candidates": part.candidates.iter().map(|c| json!({
            "id": c.id, "name": c.name, "statement": c.statement,
            "self_nominated": c.voter.is_some(),
        })).collect::<Vec<_>>(),
        "nominations": nominations,
        "lot_seed": part.lot_seed.as_ref().map(|s| json!({"seed": s.seed, "published_at": s.published_at})),
        "tie_break": part.tie_break,
        "result": if closed { record.result.clone() } else { None },
    })
}

#[utoipa::path(get, path = "/proposals/{proposal}/election",
    responses((status = 200, description = "Seats, candidates, nominations, lot seed, tie-break and (after close) the ranking"), (status = 404)))]
async fn read_election(
    State(state): State<AppState>,
    MaybeSignedIn(caller): MaybeSignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    // A certified election is public, like its certificate.
    let key = id.clone();
    let stored: ProposalRecord = state
        .store
        .call(move |s| s.read(|tx| crate::store::get(tx, PROPOSALS, key.as_str())))
        .await?
        .ok_or(ApiError::NotFound("proposal"))?;
    let (record, member) = if stored.state == ProposalState::Certified {
        let member = match &caller {
            Some(c) => {
                super::extract::membership(&state.store, &stored.community, &c.account.id).await?
            }
            None => None,
        };
        (stored, member)
    } else {
        load(&state, caller.as_ref(), &id).await?
    };
    if record.election.is_none() {
        return Err(ApiError::NotFound("election"));
    }
    let officer = member.as_ref().is_some_and(|m| m.role == Role::Officer)
        || caller.as_ref().is_some_and(|c| c.account.is_admin);
    let voter = member.and_then(|m| m.voter);
    Ok(axum::Json(election_view(
        &record,
        officer,
        voter.as_deref(),
    )))
}

/// Changes an election inside one write transaction: the record is read again there, `change`
/// edits it (and audits), and it is stored when `change` succeeds.
async fn change_election<T: Send + 'static>(
    state: &AppState,
    id: String,
    change: impl FnOnce(&WriteTransaction, &mut ProposalRecord) -> StoreResult<Result<T, ApiError>>
    + Send
    + 'static,
) -> ApiResult<(ProposalRecord, T)> {
    state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut record) = get_w::<&str, ProposalRecord>(tx, PROPOSALS, id.as_str())?
                else {
                    return Ok(Err(ApiError::NotFound("proposal")));
                };
                if record.election.is_none() {
                    return Ok(Err(ApiError::NotFound("election")));
                }
                match change(tx, &mut record)? {
                    Ok(value) => {
                        put(tx, PROPOSALS, record.id.as_str(), &record)?;
                        Ok(Ok((record, value)))
                    }
                    Err(e) => Ok(Err(e)),
                }
            })
        })
        .await?
}

fn part(record: &mut ProposalRecord) -> &mut ElectionRecord {
    record
        .election
        .as_mut()
        .expect("checked by change_election")
}

fn before_voting(record: &ProposalRecord) -> Result<(), ApiError> {
    if matches!(
        record.state,
        ProposalState::Draft | ProposalState::Deliberation
    ) {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "candidates_frozen",
            format!(
                "the candidates are frozen once voting opens; this election is `{}`",
                record.state.as_str()
            ),
        ))
    }
}

#[utoipa::path(post, path = "/proposals/{proposal}/candidates", request_body = CandidateInput,
    responses((status = 201, description = "Candidate added (draft or deliberation)"), (status = 409, description = "`candidates_frozen`, `too_many_candidates`, `duplicate_candidate`"), (status = 422)))]
async fn add_candidate(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CandidateInput>,
) -> ApiResult<(StatusCode, Json)> {
    check_candidate(&input)?;
    load_as_officer(&state, &caller, &id).await?;
    let actor = caller.account.id.clone();
    let (_, candidate) = change_election(&state, id, move |tx, record| {
        if let Err(e) = before_voting(record) {
            return Ok(Err(e));
        }
        let at = clock::now().to_string();
        let part = part(record);
        if part.candidates.len() >= MAX_CANDIDATES {
            return Ok(Err(ApiError::conflict(
                "too_many_candidates",
                format!("at most {MAX_CANDIDATES} candidates may stand"),
            )));
        }
        if let Err(e) = check_name_free(part, &input.name) {
            return Ok(Err(e));
        }
        let candidate = new_candidate(part, input.name, input.statement, None, &at);
        part.candidates.push(candidate.clone());
        audit(
            tx,
            &record.community,
            &actor,
            "add_candidate",
            json!({"proposal": record.id, "candidate": candidate.id, "name": candidate.name}),
            &at,
        )?;
        Ok(Ok(candidate))
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(
            json!({"id": candidate.id, "name": candidate.name, "statement": candidate.statement}),
        ),
    ))
}

#[utoipa::path(delete, path = "/proposals/{proposal}/candidates/{candidate}",
    responses((status = 200, description = "Candidate removed (draft or deliberation)"), (status = 404), (status = 409)))]
async fn remove_candidate(
    State(state): State<AppState>,
    caller: SignedIn,
    Path((id, candidate)): Path<(String, String)>,
) -> ApiResult<Json> {
    load_as_officer(&state, &caller, &id).await?;
    let actor = caller.account.id.clone();
    let (record, ()) = change_election(&state, id, move |tx, record| {
        if let Err(e) = before_voting(record) {
            return Ok(Err(e));
        }
        let part = part(record);
        let Some(at) = part.candidates.iter().position(|c| c.id == candidate) else {
            return Ok(Err(ApiError::NotFound("candidate")));
        };
        let removed = part.candidates.remove(at);
        audit(
            tx,
            &record.community,
            &actor,
            "remove_candidate",
            json!({"proposal": record.id, "candidate": removed.id, "name": removed.name}),
            &clock::now().to_string(),
        )?;
        Ok(Ok(()))
    })
    .await?;
    Ok(axum::Json(election_view(&record, true, None)))
}

#[utoipa::path(post, path = "/proposals/{proposal}/nominations", request_body = NominationInput,
    responses((status = 201, description = "Nomination waiting for an officer (deliberation only)"), (status = 403), (status = 409)))]
async fn nominate(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NominationInput>,
) -> ApiResult<(StatusCode, Json)> {
    check_text("statement", &input.statement, MAX_STATEMENT_CHARS)?;
    if let Some(name) = &input.name {
        check_text("name", name, MAX_NAME_CHARS)?;
    }
    let (_, member) = load(&state, Some(&caller), &id).await?;
    let voter = member
        .filter(|m| m.role == Role::Voter)
        .and_then(|m| m.voter)
        .ok_or_else(|| ApiError::Forbidden("only voters of this community may stand".into()))?;
    let actor = caller.account.id.clone();
    let (_, nomination) = change_election(&state, id, move |tx, record| {
        if record.state != ProposalState::Deliberation {
            return Ok(Err(ApiError::conflict(
                "not_deliberation",
                "voters may stand while the election is in deliberation",
            )));
        }
        let roll_name =
            crate::store::get_w::<&str, RollRecord>(tx, ROLLS, record.community.as_str())?
                .and_then(|r| r.voters.into_iter().find(|v| v.key == voter))
                .map(|v| if v.name.is_empty() { v.key } else { v.name });
        let Some(roll_name) = roll_name else {
            return Ok(Err(ApiError::Forbidden(format!(
                "voter `{voter}` is not on the roll"
            ))));
        };
        let at = clock::now().to_string();
        let part = part(record);
        if part.nominations.len() >= MAX_NOMINATIONS {
            return Ok(Err(ApiError::conflict(
                "too_many_nominations",
                format!("an election keeps at most {MAX_NOMINATIONS} nominations"),
            )));
        }
        if part
            .nominations
            .iter()
            .any(|n| n.voter == voter && n.status != NominationStatus::Declined)
        {
            return Ok(Err(ApiError::conflict(
                "already_nominated",
                "you already stand (or wait for an officer's answer) in this election",
            )));
        }
        let nomination = NominationRecord {
            id: format!("n{}", part.nominations.len() + 1),
            voter: voter.clone(),
            name: input.name.unwrap_or(roll_name),
            statement: input.statement,
            status: NominationStatus::Pending,
            at: at.clone(),
            decided_at: None,
            reason: None,
            candidate: None,
        };
        part.nominations.push(nomination.clone());
        audit(
            tx,
            &record.community,
            &actor,
            "nominate",
            json!({"proposal": record.id, "nomination": nomination.id, "voter": voter}),
            &at,
        )?;
        Ok(Ok(nomination))
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"id": nomination.id, "name": nomination.name,
            "statement": nomination.statement, "status": nomination.status})),
    ))
}

/// Accepts or declines a pending nomination.
async fn decide(
    state: &AppState,
    caller: &SignedIn,
    id: String,
    nomination: String,
    accept: bool,
    reason: String,
) -> ApiResult<Json> {
    load_as_officer(state, caller, &id).await?;
    let actor = caller.account.id.clone();
    let (record, ()) = change_election(state, id, move |tx, record| {
        if let Err(e) = before_voting(record) {
            return Ok(Err(e));
        }
        let at = clock::now().to_string();
        let (proposal, community) = (record.id.clone(), record.community.clone());
        let part = part(record);
        let Some(n) = part.nominations.iter().position(|n| n.id == nomination) else {
            return Ok(Err(ApiError::NotFound("nomination")));
        };
        if part.nominations[n].status != NominationStatus::Pending {
            return Ok(Err(ApiError::conflict(
                "already_decided",
                "this nomination was already answered",
            )));
        }
        if accept && let Err(e) = check_name_free(part, &part.nominations[n].name) {
            return Ok(Err(e));
        }
        if accept && part.candidates.len() >= MAX_CANDIDATES {
            return Ok(Err(ApiError::conflict(
                "too_many_candidates",
                format!("at most {MAX_CANDIDATES} candidates may stand"),
            )));
        }
        let candidate = accept.then(|| {
            let (name, statement, voter) = {
                let n = &part.nominations[n];
                (n.name.clone(), n.statement.clone(), n.voter.clone())
            };
            new_candidate(part, name, statement, Some(voter), &at)
        });
        let entry = &mut part.nominations[n];
        entry.status = if accept {
            NominationStatus::Accepted
        } else {
            NominationStatus::Declined
        };
        entry.decided_at = Some(at.clone());
        entry.reason = (!reason.is_empty()).then_some(reason);
        entry.candidate = candidate.as_ref().map(|c| c.id.clone());
        let detail = json!({"proposal": proposal, "nomination": nomination,
            "candidate": entry.candidate, "reason": entry.reason});
        if let Some(c) = candidate {
            part.candidates.push(c);
        }
        audit(
            tx,
            &community,
            &actor,
            if accept {
                "accept_nomination"
            } else {
                "decline_nomination"
            },
            detail,
            &at,
        )?;
        Ok(Ok(()))
    })
    .await?;
    Ok(axum::Json(election_view(&record, true, None)))
}

#[utoipa::path(post, path = "/proposals/{proposal}/nominations/{nomination}/accept",
    responses((status = 200, description = "The nominee stands as a candidate"), (status = 404), (status = 409, description = "`already_decided`, `too_many_candidates`, `duplicate_candidate`")))]
async fn accept_nomination(
    State(state): State<AppState>,
    caller: SignedIn,
    Path((id, nomination)): Path<(String, String)>,
) -> ApiResult<Json> {
    decide(&state, &caller, id, nomination, true, String::new()).await
}

#[utoipa::path(post, path = "/proposals/{proposal}/nominations/{nomination}/decline", request_body = DeclineInput,
    responses((status = 200, description = "Nomination declined, with the reason"), (status = 404), (status = 409)))]
async fn decline_nomination(
    State(state): State<AppState>,
    caller: SignedIn,
    Path((id, nomination)): Path<(String, String)>,
    ApiJson(input): ApiJson<DeclineInput>,
) -> ApiResult<Json> {
    check_len("reason", &input.reason, MAX_NOTE_CHARS)?;
    decide(&state, &caller, id, nomination, false, input.reason).await
}

/// Recounts a closed election from its ledger with a tie-break: the count JSON
/// (`report::election_count_json`), as the certificate will carry it.
pub fn recount_stored(
    tx: &WriteTransaction,
    record: &ProposalRecord,
    tie_break: Option<&TieBreak>,
) -> StoreResult<Result<Value, ApiError>> {
    let corrupt = |message: String| StoreError::Corrupt {
        table: "proposals".into(),
        message,
    };
    let part = record
        .election
        .as_ref()
        .ok_or_else(|| corrupt("not an election".into()))?;
    let election = part.election().map_err(|e| corrupt(e.to_string()))?;
    let result = record
        .result
        .as_ref()
        .ok_or_else(|| corrupt("closed without a result".into()))?;
    let electorate = electorate_part(record, result);
    let entries = ledger_entries(tx, &record.id)?;
    let rule = Rule::try_from(record.rule.clone()).map_err(|e| corrupt(e.to_string()))?;
    let (columns, count) = match certificate::recount_election(
        &electorate,
        record.allow_change,
        &entries,
        &election,
    ) {
        Ok(counted) => counted,
        Err(e) => {
            return Ok(Err(ApiError::Internal(format!(
                "ledger recount failed: {e}"
            ))));
        }
    };
    let positions = match tie_break {
        None => Vec::new(),
        Some(tb) => match certificate::tie_break_positions(&election, tb) {
            Ok(p) => p,
            Err(e) => return Ok(Err(ApiError::invalid("bad_tie_break", e.to_string()))),
        },
    };
    Ok(Ok(report::election_count_json(
        &election, &rule, &columns, &count, &positions,
    )))
}

/// The electorate part of a certificate, from the stored count.
pub fn electorate_part(record: &ProposalRecord, result: &Value) -> ElectoratePart {
    ElectoratePart {
        hash: record.electorate_hash.clone().unwrap_or_default(),
        headcount: result["electorate"]["headcount"].as_u64().unwrap_or(0),
        weights: serde_json::from_value(result["electorate"]["weights"].clone())
            .unwrap_or_default(),
    }
}

/// A proposal's ledger in sequence order.
pub fn ledger_entries(tx: &WriteTransaction, proposal: &str) -> StoreResult<Vec<Entry>> {
    let mut entries = Vec::new();
    for item in tx
        .open_table(LEDGER)?
        .range((proposal, 1)..=(proposal, u64::MAX))?
    {
        let (_, value) = item?;
        entries.push(decode::<Entry>("ledger", value.value())?);
    }
    Ok(entries)
}

/// What an election's certificate adds: the count JSON (tally, quorum conditions, outcome), the
/// `election` part and the bilingual notice. Refuses while a tie waits for its tie-break.
pub fn certificate_parts(
    tx: &WriteTransaction,
    record: &ProposalRecord,
) -> StoreResult<Result<(Value, certificate::ElectionPart, certificate::Summary), ApiError>> {
    let corrupt = |message: String| StoreError::Corrupt {
        table: "proposals".into(),
        message,
    };
    let part = record
        .election
        .as_ref()
        .ok_or_else(|| corrupt("not an election".into()))?;
    let count = match recount_stored(tx, record, part.tie_break.as_ref())? {
        Ok(count) => count,
        Err(e) => return Ok(Err(e)),
    };
    if count["election"]["ties"]
        .as_array()
        .is_some_and(|t| !t.is_empty())
    {
        return Ok(Err(ApiError::conflict(
            "unresolved_tie",
            "a tie the ranking cannot break decides a seat or an alternate's place: record the committee's decision or draw a lot first",
        )));
    }
    let election = part.election().map_err(|e| corrupt(e.to_string()))?;
    let rule = Rule::try_from(record.rule.clone()).map_err(|e| corrupt(e.to_string()))?;
    let result = record.result.clone().unwrap_or(Value::Null);
    let electorate = electorate_part(record, &result);
    let entries = ledger_entries(tx, &record.id)?;
    let (columns, tally) = match certificate::recount_election(
        &electorate,
        record.allow_change,
        &entries,
        &election,
    ) {
        Ok(counted) => counted,
        Err(e) => {
            return Ok(Err(ApiError::Internal(format!(
                "ledger recount failed: {e}"
            ))));
        }
    };
    let summary =
        certificate::election_summary(&rule, &election, &columns, &tally, &count["election"]);
    let election_part = certificate::ElectionPart {
        seats: part.seats,
        alternates: part.alternates,
        term_years: part.term_years,
        candidates: election.candidates().to_vec(),
        tie_break: part.tie_break.clone(),
        result: count["election"].clone(),
    };
    Ok(Ok((count, election_part, summary)))
}

/// The ties of a closed election as stored; refuses when there is nothing to break.
fn open_ties(record: &ProposalRecord) -> Result<Vec<Vec<String>>, ApiError> {
    if record.state != ProposalState::Closed {
        return Err(ApiError::conflict(
            "wrong_state",
            "a tie-break is recorded after voting closes and before the result is published",
        ));
    }
    if record
        .election
        .as_ref()
        .is_some_and(|e| e.tie_break.is_some())
    {
        return Err(ApiError::conflict(
            "tie_break_recorded",
            "a tie-break is already recorded for this election",
        ));
    }
    let ties: Vec<Vec<String>> = record
        .result
        .as_ref()
        .and_then(|r| r["election"]["ties"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|t| {
            t["candidates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .collect();
    if ties.is_empty() {
        return Err(ApiError::conflict(
            "no_tie",
            "the ranking has no tie that decides a seat or an alternate's place",
        ));
    }
    Ok(ties)
}

/// Stores a tie-break and the ranking it gives.
fn apply_tie_break(
    tx: &WriteTransaction,
    record: &mut ProposalRecord,
    tie_break: TieBreak,
    actor: &str,
) -> StoreResult<Result<(), ApiError>> {
    let count = match recount_stored(tx, record, Some(&tie_break))? {
        Ok(count) => count,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(left) = count["election"]["ties"].as_array().and_then(|t| t.first()) {
        return Ok(Err(ApiError::invalid(
            "tie_break_incomplete",
            format!(
                "the order must name every tied candidate; still tied: {}",
                left["candidates"]
            ),
        )));
    }
    let detail = json!({"proposal": record.id, "method": tie_break.method,
        "order": tie_break.order, "seed": tie_break.seed, "note": tie_break.note,
        "elected": count["election"]["elected"], "alternates": count["election"]["alternates_in_order"]});
    let at = tie_break.recorded_at.clone();
    let mut result = count;
    result["ledger_len"] = json!(record.ledger_len);
    record.result = Some(result);
    part(record).tie_break = Some(tie_break);
    audit(tx, &record.community, actor, "tie_break", detail, &at)?;
    Ok(Ok(()))
}

#[utoipa::path(post, path = "/proposals/{proposal}/tie-break", request_body = DecisionInput,
    responses((status = 200, description = "The committee's decision recorded; the ranking it gives"), (status = 409), (status = 422)))]
async fn record_decision(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> ApiResult<Json> {
    check_text("note", &input.note, MAX_NOTE_CHARS)?;
    if input.order.len() > MAX_CANDIDATES {
        return Err(ApiError::invalid(
            "bad_tie_break",
            "the order names too many candidates",
        ));
    }
    load_as_officer(&state, &caller, &id).await?;
    let actor = caller.account.id.clone();
    let (record, ()) = change_election(&state, id, move |tx, record| {
        if let Err(e) = open_ties(record) {
            return Ok(Err(e));
        }
        for (i, c) in input.order.iter().enumerate() {
            if input.order[..i].contains(c) {
                return Ok(Err(ApiError::invalid(
                    "bad_tie_break",
                    format!("candidate `{c}` is named twice"),
                )));
            }
        }
        let tie_break = TieBreak {
            method: "decision".into(),
            order: input.order,
            note: input.note,
            seed: None,
            seed_published_at: None,
            recorded_at: clock::now().to_string(),
        };
        apply_tie_break(tx, record, tie_break, &actor)
    })
    .await?;
    Ok(axum::Json(election_view(&record, true, None)))
}

#[utoipa::path(post, path = "/proposals/{proposal}/lot-seed", request_body = LotSeedInput,
    responses((status = 201, description = "The seed is published (stored, audited, shown with the election) before any draw"), (status = 409, description = "A seed is already published, no tie to break, or a typed seed after voting closed (`seed_too_late`)")))]
async fn publish_lot_seed(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<LotSeedInput>,
) -> ApiResult<(StatusCode, Json)> {
    if let Some(seed) = &input.seed {
        check_text("seed", seed, MAX_SEED_CHARS)?;
    }
    check_len("note", &input.note, MAX_NOTE_CHARS)?;
    load_as_officer(&state, &caller, &id).await?;
    let actor = caller.account.id.clone();
    let typed = input.seed.is_some();
    let seed = input
        .seed
        .unwrap_or_else(|| hex::encode(clock::random_bytes::<16>()));
    let (record, ()) = change_election(&state, id, move |tx, record| {
        match record.state {
            // Before the count nobody knows which seed favours whom: any seed may be fixed.
            ProposalState::Draft | ProposalState::Deliberation | ProposalState::Voting => {}
            // Once the tie is known, a typed seed could have been tried offline for the order
            // it gives; only the server's random seed is taken then.
            ProposalState::Closed if typed => {
                return Ok(Err(ApiError::conflict(
                    "seed_too_late",
                    "a seed of your own must be published before voting closes; now that the \
                     tie is known only the server's random seed is used (send no `seed`)",
                )));
            }
            _ => {
                if let Err(e) = open_ties(record) {
                    return Ok(Err(e));
                }
            }
        }
        if part(record).lot_seed.is_some() {
            return Ok(Err(ApiError::conflict(
                "seed_published",
                "a seed is already published for this election; the lot is drawn from it",
            )));
        }
        let at = clock::now().to_string();
        part(record).lot_seed = Some(LotSeedRecord {
            seed: seed.clone(),
            published_at: at.clone(),
            published_by: actor.clone(),
        });
        audit(
            tx,
            &record.community,
            &actor,
            "publish_lot_seed",
            json!({"proposal": record.id, "seed": seed, "note": input.note}),
            &at,
        )?;
        Ok(Ok(()))
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(election_view(&record, true, None)),
    ))
}

#[utoipa::path(post, path = "/proposals/{proposal}/lot",
    responses((status = 200, description = "The lot drawn from the published seed and the ranking it gives"), (status = 409, description = "No seed published, or nothing to break")))]
async fn draw(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    load_as_officer(&state, &caller, &id).await?;
    let actor = caller.account.id.clone();
    let (record, ()) = change_election(&state, id, move |tx, record| {
        if let Err(e) = open_ties(record) {
            return Ok(Err(e));
        }
        let part = part(record);
        let Some(seed) = part.lot_seed.clone() else {
            return Ok(Err(ApiError::conflict(
                "no_seed",
                "publish the lot's seed first; the draw uses only a seed published before it",
            )));
        };
        let ids: Vec<&str> = part.candidates.iter().map(|c| c.id.as_str()).collect();
        let order = draw_lot(&seed.seed, &ids);
        let recorded_at = clock::now();
        // Strictly after the seed's publication, whatever the clock's resolution.
        let published: Timestamp = seed.published_at.parse().unwrap_or(Timestamp::MIN);
        let recorded_at = if recorded_at <= published {
            published + jiff::SignedDuration::from_micros(1)
        } else {
            recorded_at
        };
        let tie_break = TieBreak {
            method: "lot".into(),
            order,
            note: format!("lot drawn from the seed published at {}", seed.published_at),
            seed: Some(seed.seed),
            seed_published_at: Some(seed.published_at),
            recorded_at: recorded_at.to_string(),
        };
        apply_tie_break(tx, record, tie_break, &actor)
    })
    .await?;
    Ok(axum::Json(election_view(&record, true, None)))
}

/// The election a certified proposal elected, for the committee roster.
pub fn elected(record: &ProposalRecord) -> Option<(Election, Value)> {
    let election = record.election.as_ref()?.election().ok()?;
    Some((election, record.result.as_ref()?["election"].clone()))
}
