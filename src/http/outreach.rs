//! Outreach while a vote is open: officers log each contact attempt (phone, visit, note) with a
//! household that has not voted yet and its outcome; the log and who is left to reach. Whether
//! a household voted is all it shows of a ballot — never a choice.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use redb::ReadableTable;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::check_len;
use super::extract::SignedIn;
use super::{ApiError, ApiJson, AppState};
use crate::clock;
use crate::domain::lifecycle::ProposalState;
use crate::store::deliberation::OutreachRecord;
use crate::store::records::{ProposalRecord, Role, RollRecord};
use crate::store::tables::*;
use crate::store::{StoreError, audit, decode, get as get_record};

type ApiResult<T> = Result<T, ApiError>;
type Json = axum::Json<Value>;

/// How a contact was made.
pub const METHODS: [&str; 3] = ["phone", "visit", "note"];
/// What came of it.
pub const OUTCOMES: [&str; 5] = [
    "will_vote",
    "not_home",
    "needs_paper_ballot",
    "refused",
    "other",
];
/// Longest note, in characters; most attempts kept per proposal.
pub const MAX_OUTREACH_NOTE_CHARS: usize = 1000;
pub const MAX_OUTREACH_PER_PROPOSAL: u64 = 100_000;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/proposals/{proposal}/outreach",
        get(read_outreach).post(log_contact),
    )
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(read_outreach, log_contact), components(schemas(ContactInput)))]
pub struct OutreachApi;

/// One contact attempt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// Roll key of a household that has not voted.
    pub voter: String,
    /// `phone`, `visit` or `note`.
    pub method: String,
    /// `will_vote`, `not_home`, `needs_paper_ballot`, `refused` or `other`.
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

async fn load_open_as_officer(
    state: &AppState,
    caller: &SignedIn,
    id: &str,
) -> ApiResult<ProposalRecord> {
    let (record, member) = super::proposals::load(state, Some(caller), id).await?;
    if !member.is_some_and(|m| m.role == Role::Officer) {
        return Err(ApiError::Forbidden(
            "only the community's officers keep the outreach log".into(),
        ));
    }
    // A proposal withdrawn before voting never had an electorate: nothing to show.
    if matches!(
        record.state,
        ProposalState::Draft | ProposalState::Deliberation
    ) || record.opened_at.is_none()
    {
        return Err(ApiError::conflict("not_open", "voting has not opened yet"));
    }
    Ok(record)
}

fn entry_view(e: &OutreachRecord, names: &BTreeMap<String, String>) -> Value {
    json!({
        "seq": e.seq, "voter": e.voter, "name": names.get(&e.voter).cloned().unwrap_or_default(),
        "method": e.method, "outcome": e.outcome, "note": e.note, "by": e.by_login, "at": e.at,
    })
}

#[utoipa::path(get, path = "/proposals/{proposal}/outreach",
    params(("proposal" = String, Path, description = "Proposal id")),
    responses((status = 200, description = "The contact log (newest first) and the households left to reach, each with its attempts and latest outcome; no ballot choice appears"),
              (status = 403, description = "Officers only"), (status = 404), (status = 409, description = "`not_open`")))]
async fn read_outreach(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let record = load_open_as_officer(&state, &caller, &id).await?;
    let view = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let electorate: RollRecord = get_record(tx, ELECTORATES, record.id.as_str())?
                    .ok_or_else(|| StoreError::Corrupt {
                        table: "electorates".into(),
                        message: "missing".into(),
                    })?;
                let ballots = tx.open_table(BALLOTS)?;
                let p = record.id.as_str();
                let mut log = Vec::new();
                for row in tx.open_table(OUTREACH)?.range((p, 0)..=(p, u64::MAX))? {
                    log.push(decode::<OutreachRecord>("outreach", row?.1.value())?);
                }
                let names: BTreeMap<String, String> = electorate
                    .voters
                    .iter()
                    .map(|v| (v.key.clone(), v.name.clone()))
                    .collect();
                let mut remaining = Vec::new();
                for v in &electorate.voters {
                    // Only whether a ballot exists is read, never what it says.
                    if ballots.get((p, v.key.as_str()))?.is_some() {
                        continue;
                    }
                    let attempts: Vec<&OutreachRecord> =
                        log.iter().filter(|e| e.voter == v.key).collect();
                    remaining.push(json!({
                        "voter": v.key, "name": v.name, "phone": v.phone, "units": v.units,
                        "attempts": attempts.len(),
                        "last_outcome": attempts.last().map(|e| e.outcome.clone()),
                        "last_at": attempts.last().map(|e| e.at.clone()),
                    }));
                }
                let contacted = remaining
                    .iter()
                    .filter(|r| r["attempts"].as_u64().unwrap_or(0) > 0)
                    .count();
                Ok(json!({
                    "proposal": record.id,
                    "log": log.iter().rev().map(|e| entry_view(e, &names)).collect::<Vec<_>>(),
                    "remaining": remaining,
                    "remaining_count": remaining.len(),
                    "never_contacted": remaining.len() - contacted,
                }))
            })
        })
        .await?;
    Ok(axum::Json(view))
}

#[utoipa::path(post, path = "/proposals/{proposal}/outreach", request_body = ContactInput,
    params(("proposal" = String, Path, description = "Proposal id")),
    responses((status = 201, description = "Logged"), (status = 403, description = "Officers only"), (status = 404),
              (status = 409, description = "`not_open`, `voting_closed`, `already_voted` (nobody is chased after voting)"),
              (status = 413), (status = 422, description = "`bad_method`, `bad_outcome`, `unknown_voter`")))]
async fn log_contact(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ContactInput>,
) -> ApiResult<(StatusCode, Json)> {
    let record = load_open_as_officer(&state, &caller, &id).await?;
    if record.state != ProposalState::Voting {
        return Err(ApiError::conflict("voting_closed", "voting has closed"));
    }
    if !METHODS.contains(&input.method.as_str()) {
        return Err(ApiError::invalid(
            "bad_method",
            "`method` must be phone, visit or note",
        ));
    }
    if !OUTCOMES.contains(&input.outcome.as_str()) {
        return Err(ApiError::invalid(
            "bad_outcome",
            "`outcome` must be will_vote, not_home, needs_paper_ballot, refused or other",
        ));
    }
    check_len("note", &input.note, MAX_OUTREACH_NOTE_CHARS)?;
    let (by, by_login) = (caller.account.id.clone(), caller.account.login.clone());
    let stored = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let p = record.id.as_str();
                let electorate: Option<RollRecord> = crate::store::get_w(tx, ELECTORATES, p)?;
                let Some(voter) = electorate
                    .and_then(|e| e.voters.into_iter().find(|v| v.key == input.voter))
                else {
                    return Ok(Err(ApiError::invalid(
                        "unknown_voter",
                        format!("household `{}` is not in this vote's electorate", input.voter),
                    )));
                };
                if tx.open_table(BALLOTS)?.get((p, voter.key.as_str()))?.is_some() {
                    return Ok(Err(ApiError::conflict(
                        "already_voted",
                        "this household has voted; there is nobody to remind",
                    )));
                }
                let mut table = tx.open_table(OUTREACH)?;
                let seq = table
                    .range((p, 0)..=(p, u64::MAX))?
                    .next_back()
                    .transpose()?
                    .map_or(1, |(k, _)| k.value().1 + 1);
                if seq > MAX_OUTREACH_PER_PROPOSAL {
                    return Ok(Err(ApiError::conflict(
                        "too_many_contacts",
                        "the outreach log of this proposal is full",
                    )));
                }
                let entry = OutreachRecord {
                    seq,
                    voter: voter.key.clone(),
                    method: input.method,
                    outcome: input.outcome,
                    note: input.note,
                    by: by.clone(),
                    by_login,
                    at: clock::now().to_string(),
                };
                table.insert((p, seq), crate::store::encode(&entry).as_slice())?;
                drop(table);
                audit(tx, &record.community, &by, "outreach",
                    json!({"proposal": p, "voter": entry.voter, "method": entry.method, "outcome": entry.outcome}),
                    &entry.at)?;
                let names = BTreeMap::from([(voter.key, voter.name)]);
                Ok(Ok(entry_view(&entry, &names)))
            })
        })
        .await??;
    Ok((StatusCode::CREATED, axum::Json(stored)))
}
