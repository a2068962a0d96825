//! The owners' committee (DESIGN §4): a public roster per community made from a certified
//! election — members with their term, alternates in the order they move up — and vacancies an
//! officer records, each moving the first alternate up, audited and kept in a public history.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::check_text;
use super::extract::{SignedIn, require_role};
use super::{ApiError, ApiJson, AppState};
use crate::clock;
use crate::domain::election::Committee;
use crate::domain::lifecycle::ProposalState;
use crate::store::records::{
    CommitteeChange, CommitteePerson, CommitteeRecord, CommunityRecord, ProposalRecord, Role,
};
use crate::store::tables::*;
use crate::store::{audit, get as get_record, get_w, put};

/// Longest reason recorded for a vacancy.
pub const MAX_REASON_CHARS: usize = 2000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/communities/{community}/committee",
            get(roster).post(constitute),
        )
        .route(
            "/communities/{community}/committee/vacancies",
            post(record_vacancy),
        )
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(roster, constitute, record_vacancy),
    components(schemas(ConstituteInput, VacancyInput))
)]
pub struct CommitteeApi;

type ApiResult<T> = Result<T, ApiError>;

/// Seats the committee a certified election produced.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConstituteInput {
    /// The certified election (proposal id).
    pub election: String,
    /// First day of the term, `YYYY-MM-DD`; default the day the result was published.
    #[serde(default)]
    pub term_start: Option<String>,
}

/// A seat that fell vacant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VacancyInput {
    /// The member's candidate id (as on the roster).
    pub member: String,
    /// Why the seat fell vacant (resigned, moved away, …).
    pub reason: String,
    /// When it fell vacant, `YYYY-MM-DD`.
    pub date: String,
}

fn parse_date(field: &'static str, text: &str) -> ApiResult<Date> {
    text.parse().map_err(|_| {
        ApiError::invalid(
            "invalid_date",
            format!("`{field}` must be a date such as 2026-12-01"),
        )
    })
}

fn roster_view(record: &CommitteeRecord) -> Value {
    let filled = record.members.len();
    json!({
        "community": record.community,
        "election": record.election,
        "title": record.title,
        "seats": record.seats,
        "filled": filled,
        "term_years": record.term_years,
        "term_start": record.term_start,
        "term_end": record.term_end,
        "members": record.members,
        "alternates": record.alternates,
        "reelection_due": record.reelection_due,
        "history": record.history.iter().map(|h| json!({
            "seq": h.seq, "kind": h.kind, "date": h.date, "recorded_at": h.recorded_at,
            "left": h.left, "left_name": h.left_name, "reason": h.reason,
            "moved_up": h.moved_up, "moved_up_name": h.moved_up_name,
            "reelection_due": h.reelection_due,
        })).collect::<Vec<_>>(),
    })
}

#[utoipa::path(get, path = "/communities/{community}/committee",
    responses((status = 200, description = "The public roster: members and terms, alternates in order, the re-election flag and every change"), (status = 404)))]
async fn roster(
    State(state): State<AppState>,
    Path(community): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let record: Option<CommitteeRecord> = state
        .store
        .call(move |s| s.read(|tx| get_record(tx, COMMITTEES, community.as_str())))
        .await?;
    let record = record.ok_or(ApiError::NotFound("committee"))?;
    Ok(axum::Json(roster_view(&record)))
}

#[utoipa::path(post, path = "/communities/{community}/committee", request_body = ConstituteInput,
    responses((status = 201, description = "The committee the election produced (replacing any earlier one; the history continues)"), (status = 409, description = "`not_certified`, `nobody_elected`, `already_constituted` (the committee already sits from this election)")))]
async fn constitute(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    ApiJson(input): ApiJson<ConstituteInput>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    check_text("election", &input.election, 64)?;
    let term_start = input
        .term_start
        .as_deref()
        .map(|d| parse_date("term_start", d))
        .transpose()?;
    require_role(&state, &caller, &community, &[Role::Officer], false).await?;
    let actor = caller.account.id.clone();
    let record = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let proposal: Option<ProposalRecord> =
                    get_w(tx, PROPOSALS, input.election.as_str())?;
                let Some(proposal) = proposal.filter(|p| p.community == community) else {
                    return Ok(Err(ApiError::NotFound("election")));
                };
                let Some((election, result)) = super::elections::elected(&proposal) else {
                    return Ok(Err(ApiError::NotFound("election")));
                };
                if proposal.state != ProposalState::Certified {
                    return Ok(Err(ApiError::conflict(
                        "not_certified",
                        "a committee is seated from a certified (published) election",
                    )));
                }
                let community_record: Option<CommunityRecord> =
                    get_w(tx, COMMUNITIES, community.as_str())?;
                let timezone = community_record
                    .map(|c| c.timezone)
                    .unwrap_or_else(|| "Asia/Shanghai".into());
                let published: jiff::Timestamp = get_w::<
                    &str,
                    crate::domain::certificate::Certificate,
                >(
                    tx, CERTIFICATES, proposal.id.as_str()
                )?
                .and_then(|c| c.times.published_at.parse().ok())
                .unwrap_or_else(clock::now);
                let start = term_start.unwrap_or_else(|| {
                    let zone =
                        jiff::tz::TimeZone::get(&timezone).unwrap_or(jiff::tz::TimeZone::UTC);
                    published.to_zoned_datetime(zone).date()
                });
                let term_years = proposal.election.as_ref().map_or(5, |e| e.term_years);
                let Ok(end) = start.checked_add(jiff::Span::new().years(i64::from(term_years)))
                else {
                    return Ok(Err(ApiError::invalid(
                        "invalid_date",
                        "the term ends out of range",
                    )));
                };
                let ids = |key: &str| -> Vec<String> {
                    result[key]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                };
                let person = |id: String| CommitteePerson {
                    name: election
                        .position(&id)
                        .map(|p| election.candidates()[p].name.clone())
                        .unwrap_or_default(),
                    candidate: id,
                    since: start.to_string(),
                };
                let now = clock::now().to_string();
                let earlier: Option<CommitteeRecord> = get_w(tx, COMMITTEES, community.as_str())?;
                // Seating the same election again would undo every succession recorded since.
                if earlier.as_ref().is_some_and(|c| c.election == proposal.id) {
                    return Ok(Err(ApiError::conflict(
                        "already_constituted",
                        "the committee already sits from this election; record vacancies instead",
                    )));
                }
                let mut history = earlier.map(|c| c.history).unwrap_or_default();
                let elected = ids("elected");
                if elected.is_empty() {
                    return Ok(Err(ApiError::conflict(
                        "nobody_elected",
                        "this election elected nobody; a committee needs at least one member",
                    )));
                }
                let members: Vec<CommitteePerson> = elected.into_iter().map(person).collect();
                let alternates: Vec<CommitteePerson> =
                    ids("alternates_in_order").into_iter().map(person).collect();
                let seats = election.seats();
                let domain = Committee {
                    seats,
                    members: members.iter().map(|m| m.candidate.clone()).collect(),
                    alternates: alternates.iter().map(|m| m.candidate.clone()).collect(),
                };
                let reelection_due = domain.reelection_due();
                history.push(CommitteeChange {
                    seq: history.len() as u64 + 1,
                    kind: "constituted".into(),
                    date: start.to_string(),
                    recorded_at: now.clone(),
                    recorded_by: actor.clone(),
                    left: None,
                    reason: Some(format!("elected in “{}”", proposal.title)),
                    moved_up: None,
                    reelection_due,
                    left_name: None,
                    moved_up_name: None,
                });
                let record = CommitteeRecord {
                    community: community.clone(),
                    election: proposal.id.clone(),
                    title: proposal.title.clone(),
                    seats,
                    term_years,
                    term_start: start.to_string(),
                    term_end: end.to_string(),
                    members,
                    alternates,
                    reelection_due,
                    history,
                };
                put(tx, COMMITTEES, community.as_str(), &record)?;
                audit(
                    tx,
                    &community,
                    &actor,
                    "committee_constituted",
                    json!({"election": proposal.id, "members": domain.members,
                           "alternates": domain.alternates, "term_start": record.term_start,
                           "term_end": record.term_end}),
                    &now,
                )?;
                Ok(Ok(record))
            })
        })
        .await??;
    state.hub.announce(
        &record.community,
        json!({"type": "committee_constituted", "community": record.community, "election": record.election}),
    );
    Ok((StatusCode::CREATED, axum::Json(roster_view(&record))))
}

#[utoipa::path(post, path = "/communities/{community}/committee/vacancies", request_body = VacancyInput,
    responses((status = 200, description = "Recorded: the first alternate moved up; the roster with its history and re-election flag"), (status = 404), (status = 422, description = "`not_a_member`, `invalid_date` (unreadable, or before the member took the seat)")))]
async fn record_vacancy(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    ApiJson(input): ApiJson<VacancyInput>,
) -> ApiResult<axum::Json<Value>> {
    check_text("member", &input.member, 64)?;
    check_text("reason", &input.reason, MAX_REASON_CHARS)?;
    let date = parse_date("date", &input.date)?;
    require_role(&state, &caller, &community, &[Role::Officer], false).await?;
    let actor = caller.account.id.clone();
    let (record, change) = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut record) =
                    get_w::<&str, CommitteeRecord>(tx, COMMITTEES, community.as_str())?
                else {
                    return Ok(Err(ApiError::NotFound("committee")));
                };
                let mut domain = Committee {
                    seats: record.seats,
                    members: record.members.iter().map(|m| m.candidate.clone()).collect(),
                    alternates: record
                        .alternates
                        .iter()
                        .map(|m| m.candidate.clone())
                        .collect(),
                };
                let succession = match domain.vacate(&input.member) {
                    Ok(s) => s,
                    Err(e) => return Ok(Err(ApiError::invalid("not_a_member", e.to_string()))),
                };
                let at = record
                    .members
                    .iter()
                    .position(|m| m.candidate == input.member)
                    .expect("vacate found the member");
                // A seat cannot fall vacant before its holder took it.
                if let Ok(since) = record.members[at].since.parse::<Date>()
                    && date < since
                {
                    return Ok(Err(ApiError::invalid(
                        "invalid_date",
                        format!(
                            "`date` {date} is before {} took the seat on {since}",
                            record.members[at].name
                        ),
                    )));
                }
                let left_name = record.members.remove(at).name;
                let mut moved_up_name = None;
                if succession.moved_up.is_some() {
                    let mut next = record.alternates.remove(0);
                    next.since = date.to_string();
                    moved_up_name = Some(next.name.clone());
                    record.members.insert(at, next);
                }
                record.reelection_due = succession.reelection_due;
                let now = clock::now().to_string();
                let change = CommitteeChange {
                    seq: record.history.len() as u64 + 1,
                    kind: "vacancy".into(),
                    date: date.to_string(),
                    recorded_at: now.clone(),
                    recorded_by: actor.clone(),
                    left: Some(succession.left.clone()),
                    reason: Some(input.reason.clone()),
                    moved_up: succession.moved_up.clone(),
                    reelection_due: succession.reelection_due,
                    left_name: Some(left_name),
                    moved_up_name,
                };
                record.history.push(change.clone());
                put(tx, COMMITTEES, community.as_str(), &record)?;
                audit(
                    tx,
                    &community,
                    &actor,
                    "committee_vacancy",
                    json!({"left": succession.left, "moved_up": succession.moved_up,
                           "reason": input.reason, "date": change.date,
                           "reelection_due": succession.reelection_due}),
                    &now,
                )?;
                Ok(Ok((record, change)))
            })
        })
        .await??;
    state.hub.announce(
        &record.community,
        json!({"type": "committee_vacancy", "community": record.community,
               "left": change.left, "moved_up": change.moved_up, "date": change.date,
               "reason": change.reason, "reelection_due": change.reelection_due}),
    );
    Ok(axum::Json(roster_view(&record)))
}
