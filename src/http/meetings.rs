//! Council meetings: officers schedule one (date, place, agenda of proposals and petitions),
//! record who attended, enter a show of hands as assisted ballots of the attendees (the same
//! write path as any assisted ballot), and close it only with minutes and the attendee count.
//! Members read meetings; minutes are published with the closed meeting.

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use jiff::Timestamp;
use redb::ReadableTable;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::check_text;
use super::extract::{SignedIn, require_role};
use super::proposals::cast_or_replay;
use super::{ApiError, ApiJson, AppState};
use crate::clock;
use crate::domain::ledger::Channel;
use crate::domain::lifecycle::ProposalState;
use crate::domain::tally::Choice;
use crate::store::deliberation::{
    AgendaItem, AttendeeRecord, MeetingRecord, PetitionRecord, ShowOfHandsRecord,
};
use crate::store::records::{MembershipRecord, ProposalRecord, Role, RollRecord, Secrecy};
use crate::store::tables::*;
use crate::store::{audit, decode, get as get_record, get_w, put as put_record};
use crate::vote::CastRequest;

type ApiResult<T> = Result<T, ApiError>;
type Json = axum::Json<Value>;

/// At most this many agenda items, attendees, and meetings per community.
pub const MAX_AGENDA_ITEMS: usize = 30;
pub const MAX_ATTENDEES: usize = 5000;
pub const MAX_MEETINGS_PER_COMMUNITY: usize = 2000;
/// Most people a closed meeting may count as present (named or not).
pub const MAX_ATTENDEE_COUNT: u64 = 1_000_000;
/// Longest minutes, in characters.
pub const MAX_MINUTES_CHARS: usize = 50_000;
/// Longest place or attendee name, in characters.
pub const MAX_PLACE_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/communities/{community}/meetings",
            post(schedule).get(list_meetings),
        )
        .route("/meetings/{meeting}", get(read_meeting))
        .route("/meetings/{meeting}/attendance", put(record_attendance))
        .route("/meetings/{meeting}/show-of-hands", post(show_of_hands))
        .route("/meetings/{meeting}/close", post(close_meeting))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        schedule,
        list_meetings,
        read_meeting,
        record_attendance,
        show_of_hands,
        close_meeting
    ),
    components(schemas(
        MeetingInput,
        AgendaInput,
        AttendanceInput,
        AttendeeRecord,
        AgendaItem,
        ShowOfHandsInput,
        HandInput,
        CloseMeetingInput
    ))
)]
pub struct MeetingsApi;

/// An item to put on the agenda.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgendaInput {
    /// `proposal` or `petition`.
    pub kind: String,
    pub id: String,
}

/// A meeting to schedule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    pub title: String,
    /// RFC 3339.
    pub starts_at: String,
    pub place: String,
    #[serde(default)]
    pub agenda: Vec<AgendaInput>,
}

/// Everyone present (replaces the list recorded so far).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceInput {
    pub attendees: Vec<AttendeeRecord>,
}

/// One attendee's raised hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandInput {
    /// Roll key of an attendee.
    pub voter: String,
    pub choice: Choice,
}

/// A show of hands on a proposal of the agenda that is open for voting.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowOfHandsInput {
    pub proposal: String,
    pub hands: Vec<HandInput>,
}

/// Closing a meeting: the minutes and how many attended (may exceed the named attendees).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseMeetingInput {
    pub minutes: String,
    pub attendee_count: u64,
}

/// The meeting as clients see it. A show of hands on a proposal in `hidden` (whose results the
/// caller may not see yet, see [`hidden_results`]) shows only how many hands were counted.
fn meeting_view(m: &MeetingRecord, hidden: &BTreeSet<String>) -> Value {
    json!({
        "id": m.id,
        "community": m.community,
        "title": m.title,
        "starts_at": m.starts_at,
        "place": m.place,
        "agenda": m.agenda,
        "attendees": m.attendees,
        "attendee_count": m.attendee_count,
        "minutes": m.minutes,
        "closed": m.closed_at.is_some(),
        "closed_at": m.closed_at,
        "show_of_hands": m.show_of_hands.iter().map(|s| {
            let ballots = s.yes + s.no + s.abstain;
            if hidden.contains(&s.proposal) {
                json!({"proposal": s.proposal, "yes": null, "no": null, "abstain": null,
                       "ballots": ballots, "results_visible": false, "at": s.at})
            } else {
                json!({"proposal": s.proposal, "yes": s.yes, "no": s.no, "abstain": s.abstain,
                       "ballots": ballots, "results_visible": true, "at": s.at})
            }
        }).collect::<Vec<_>>(),
    })
}

/// The proposals with a show of hands in `meetings` whose results the caller may not see yet
/// (the proposal's visibility, as for its tally): their counts are withheld like the tally's.
async fn hidden_results(
    state: &AppState,
    member: Option<&MembershipRecord>,
    meetings: &[&MeetingRecord],
) -> ApiResult<BTreeSet<String>> {
    let proposals: BTreeSet<String> = meetings
        .iter()
        .flat_map(|m| m.show_of_hands.iter().map(|s| s.proposal.clone()))
        .collect();
    if proposals.is_empty() {
        return Ok(BTreeSet::new());
    }
    let voter = member.and_then(|m| m.voter.clone());
    Ok(state
        .store
        .call(move |s| {
            s.read(|tx| {
                let ballots = tx.open_table(BALLOTS)?;
                let mut hidden = BTreeSet::new();
                for id in proposals {
                    let Some(p) = get_record::<&str, ProposalRecord>(tx, PROPOSALS, id.as_str())?
                    else {
                        hidden.insert(id);
                        continue;
                    };
                    let voted = match &voter {
                        Some(v) => ballots.get((id.as_str(), v.as_str()))?.is_some(),
                        None => false,
                    };
                    if !super::proposals::results_visible(&p, voted) {
                        hidden.insert(id);
                    }
                }
                Ok(hidden)
            })
        })
        .await?)
}

/// A meeting the caller may see (members of its community), with the caller's membership.
async fn load_meeting(
    state: &AppState,
    caller: &SignedIn,
    id: &str,
) -> ApiResult<(MeetingRecord, Option<MembershipRecord>)> {
    let key = id.to_owned();
    let record: Option<MeetingRecord> = state
        .store
        .call(move |s| s.read(|tx| get_record(tx, MEETINGS, key.as_str())))
        .await?;
    let record = record.ok_or(ApiError::NotFound("meeting"))?;
    let member = require_role(
        state,
        caller,
        &record.community,
        &[Role::Officer, Role::Voter, Role::Observer],
        true,
    )
    .await
    .map_err(|e| match e {
        ApiError::NotFound(_) => ApiError::NotFound("meeting"),
        e => e,
    })?;
    Ok((record, member))
}

async fn load_as_officer(
    state: &AppState,
    caller: &SignedIn,
    id: &str,
) -> ApiResult<MeetingRecord> {
    let (record, member) = load_meeting(state, caller, id).await?;
    if !member.is_some_and(|m| m.role == Role::Officer) {
        return Err(ApiError::Forbidden(
            "only the community's officers run meetings".into(),
        ));
    }
    Ok(record)
}

fn closed_error() -> ApiError {
    ApiError::conflict(
        "meeting_closed",
        "the meeting is closed; its record can no longer change",
    )
}

#[utoipa::path(post, path = "/communities/{community}/meetings", request_body = MeetingInput,
    params(("community" = String, Path, description = "Community id")),
    responses((status = 201, description = "Scheduled"), (status = 403, description = "Only officers schedule"),
              (status = 404), (status = 413), (status = 422, description = "`missing_field`, `invalid_time`, `bad_agenda`")))]
async fn schedule(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    ApiJson(input): ApiJson<MeetingInput>,
) -> ApiResult<(StatusCode, Json)> {
    require_role(&state, &caller, &community, &[Role::Officer], false).await?;
    check_text("title", &input.title, state.config.limits.max_title_chars)?;
    check_text("place", &input.place, MAX_PLACE_CHARS)?;
    let starts: Timestamp = input.starts_at.parse().map_err(|_| {
        ApiError::invalid(
            "invalid_time",
            "`starts_at` must be an RFC 3339 time such as 2026-12-01T19:00:00+08:00",
        )
    })?;
    if input.agenda.len() > MAX_AGENDA_ITEMS {
        return Err(ApiError::invalid(
            "bad_agenda",
            format!("an agenda has at most {MAX_AGENDA_ITEMS} items"),
        ));
    }
    let now = clock::now().to_string();
    let mut record = MeetingRecord {
        id: clock::new_id(),
        community: community.clone(),
        title: input.title,
        starts_at: starts.to_string(),
        place: input.place,
        agenda: Vec::new(),
        attendees: Vec::new(),
        attendee_count: None,
        minutes: None,
        closed_at: None,
        show_of_hands: Vec::new(),
        created_by: caller.account.id.clone(),
        created_at: now.clone(),
    };
    let agenda = input.agenda;
    let stored = state
        .store
        .call(move |s| {
            s.write(|tx| {
                for item in agenda {
                    let title = match item.kind.as_str() {
                        "proposal" => {
                            get_w::<&str, ProposalRecord>(tx, PROPOSALS, item.id.as_str())?
                                .filter(|p| p.community == record.community)
                                .map(|p| p.title)
                        }
                        "petition" => {
                            get_w::<&str, PetitionRecord>(tx, PETITIONS, item.id.as_str())?
                                .filter(|p| p.community == record.community)
                                .map(|p| p.title)
                        }
                        _ => None,
                    };
                    let Some(title) = title else {
                        return Ok(Err(ApiError::invalid(
                            "bad_agenda",
                            format!("no {} `{}` in this community", item.kind, item.id),
                        )));
                    };
                    record.agenda.push(AgendaItem {
                        kind: item.kind,
                        id: item.id,
                        title,
                    });
                }
                let c = record.community.as_str();
                let mut index = tx.open_table(COMMUNITY_MEETINGS)?;
                if index.range((c, "")..=(c, "\u{10ffff}"))?.count() >= MAX_MEETINGS_PER_COMMUNITY {
                    return Ok(Err(ApiError::conflict(
                        "too_many_meetings",
                        format!(
                            "a community may hold at most {MAX_MEETINGS_PER_COMMUNITY} meetings"
                        ),
                    )));
                }
                index.insert((c, record.id.as_str()), record.starts_at.as_str())?;
                drop(index);
                put_record(tx, MEETINGS, record.id.as_str(), &record)?;
                audit(
                    tx,
                    c,
                    &record.created_by,
                    "schedule_meeting",
                    json!({"meeting": record.id, "starts_at": record.starts_at}),
                    &now,
                )?;
                Ok(Ok(record))
            })
        })
        .await??;
    Ok((
        StatusCode::CREATED,
        axum::Json(meeting_view(&stored, &BTreeSet::new())),
    ))
}

#[utoipa::path(get, path = "/communities/{community}/meetings",
    params(("community" = String, Path, description = "Community id")),
    responses((status = 200, description = "The community's meetings, latest first, with minutes once closed"), (status = 404)))]
async fn list_meetings(
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
    let mut meetings: Vec<MeetingRecord> = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let index = tx.open_table(COMMUNITY_MEETINGS)?;
                let table = tx.open_table(MEETINGS)?;
                let c = community.as_str();
                let mut out = Vec::new();
                for row in index.range((c, "")..=(c, "\u{10ffff}"))? {
                    let (k, _) = row?;
                    if let Some(v) = table.get(k.value().1)? {
                        out.push(decode("meetings", v.value())?);
                    }
                }
                Ok(out)
            })
        })
        .await?;
    meetings.sort_by(|a, b| b.starts_at.cmp(&a.starts_at));
    let hidden = hidden_results(
        &state,
        member.as_ref(),
        &meetings.iter().collect::<Vec<_>>(),
    )
    .await?;
    Ok(axum::Json(json!({
        "meetings": meetings.iter().map(|m| meeting_view(m, &hidden)).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(get, path = "/meetings/{meeting}",
    params(("meeting" = String, Path, description = "Meeting id")),
    responses((status = 200, description = "The meeting: agenda, attendees, minutes once closed"), (status = 404)))]
async fn read_meeting(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let (record, member) = load_meeting(&state, &caller, &id).await?;
    let hidden = hidden_results(&state, member.as_ref(), &[&record]).await?;
    Ok(axum::Json(meeting_view(&record, &hidden)))
}

#[utoipa::path(put, path = "/meetings/{meeting}/attendance", request_body = AttendanceInput,
    params(("meeting" = String, Path, description = "Meeting id")),
    responses((status = 200, description = "Attendance recorded"), (status = 403), (status = 404),
              (status = 409, description = "`meeting_closed`"),
              (status = 422, description = "`unknown_voter`, `missing_field`, `duplicate_attendee`, `too_many_attendees`")))]
async fn record_attendance(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AttendanceInput>,
) -> ApiResult<Json> {
    let record = load_as_officer(&state, &caller, &id).await?;
    if input.attendees.len() > MAX_ATTENDEES {
        return Err(ApiError::invalid(
            "too_many_attendees",
            format!("at most {MAX_ATTENDEES} attendees"),
        ));
    }
    let mut seen = BTreeSet::new();
    for a in &input.attendees {
        check_text("name", &a.name, MAX_PLACE_CHARS)?;
        if let Some(v) = &a.voter
            && !seen.insert(v.clone())
        {
            return Err(ApiError::invalid(
                "duplicate_attendee",
                format!("household `{v}` is listed twice"),
            ));
        }
    }
    let actor = caller.account.id.clone();
    let updated = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut m) = get_w::<&str, MeetingRecord>(tx, MEETINGS, record.id.as_str())?
                else {
                    return Ok(Err(ApiError::NotFound("meeting")));
                };
                if m.closed_at.is_some() {
                    return Ok(Err(closed_error()));
                }
                let roll: Option<RollRecord> = get_w(tx, ROLLS, m.community.as_str())?;
                let on_roll: BTreeSet<String> = roll
                    .map(|r| r.voters.into_iter().map(|v| v.key).collect())
                    .unwrap_or_default();
                if let Some(v) = input
                    .attendees
                    .iter()
                    .filter_map(|a| a.voter.as_ref())
                    .find(|v| !on_roll.contains(*v))
                {
                    return Ok(Err(ApiError::invalid(
                        "unknown_voter",
                        format!("household `{v}` is not on the roll"),
                    )));
                }
                m.attendees = input.attendees;
                put_record(tx, MEETINGS, m.id.as_str(), &m)?;
                audit(
                    tx,
                    &m.community,
                    &actor,
                    "meeting_attendance",
                    json!({"meeting": m.id, "attendees": m.attendees.len()}),
                    &clock::now().to_string(),
                )?;
                Ok(Ok(m))
            })
        })
        .await??;
    let hidden = hidden_results(&state, None, &[&updated]).await?;
    Ok(axum::Json(meeting_view(&updated, &hidden)))
}

#[utoipa::path(post, path = "/meetings/{meeting}/show-of-hands", request_body = ShowOfHandsInput,
    params(("meeting" = String, Path, description = "Meeting id")),
    responses((status = 200, description = "Each hand entered as an assisted ballot (`recorded`), or refused with the reason (`refused`, e.g. `already_voted`)"),
              (status = 403), (status = 404), (status = 409, description = "`meeting_closed`, `not_open`, `secret_ballot`, `election_ballot`"),
              (status = 422, description = "`not_on_agenda`, `not_attendee`")))]
async fn show_of_hands(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ShowOfHandsInput>,
) -> ApiResult<Json> {
    let record = load_as_officer(&state, &caller, &id).await?;
    if record.closed_at.is_some() {
        return Err(closed_error());
    }
    if !record
        .agenda
        .iter()
        .any(|a| a.kind == "proposal" && a.id == input.proposal)
    {
        return Err(ApiError::invalid(
            "not_on_agenda",
            "a show of hands is taken only on a proposal of the meeting's agenda",
        ));
    }
    let present: BTreeSet<&str> = record
        .attendees
        .iter()
        .filter_map(|a| a.voter.as_deref())
        .collect();
    if let Some(h) = input
        .hands
        .iter()
        .find(|h| !present.contains(h.voter.as_str()))
    {
        return Err(ApiError::invalid(
            "not_attendee",
            format!("household `{}` is not recorded as present", h.voter),
        ));
    }
    let (proposal, _) = super::proposals::load(&state, Some(&caller), &input.proposal).await?;
    if proposal.state != ProposalState::Voting {
        return Err(ApiError::conflict(
            "not_open",
            "voting on this proposal is not open",
        ));
    }
    if proposal.election.is_some() {
        return Err(ApiError::conflict(
            "election_ballot",
            "an election is not decided by a show of hands; enter each attendee's paper ballot",
        ));
    }
    if proposal.secrecy == Secrecy::Secret {
        return Err(ApiError::conflict(
            "secret_ballot",
            "a secret ballot cannot be taken by a show of hands; attendees vote in secret",
        ));
    }
    let mut recorded = Vec::new();
    let mut refused = Vec::new();
    let (mut yes, mut no, mut abstain) = (0u64, 0u64, 0u64);
    for hand in input.hands {
        let request = CastRequest {
            proposal: proposal.id.clone(),
            voter: hand.voter.clone(),
            choice: hand.choice.as_str().to_string(),
            channel: Channel::Assisted,
            // The same hand entered twice replays the first answer instead of counting twice.
            idempotency_key: format!("meeting-{}-{}", record.id, hand.voter),
            cast_by: caller.account.id.clone(),
            note: Some(format!(
                "in_person: show of hands at the meeting `{}`",
                record.title
            )),
            paper: false,
        };
        match cast_or_replay(&state, request).await {
            Ok(receipt) => {
                if !receipt.replayed {
                    match hand.choice {
                        Choice::Yes => yes += 1,
                        Choice::No => no += 1,
                        Choice::Abstain => abstain += 1,
                    }
                }
                recorded.push(json!({"voter": hand.voter, "receipt": receipt.receipt, "replayed": receipt.replayed}));
            }
            Err(e) => refused
                .push(json!({"voter": hand.voter, "code": e.code(), "message": e.to_string()})),
        }
    }
    let actor = caller.account.id.clone();
    let proposal_id = proposal.id.clone();
    state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut m) = get_w::<&str, MeetingRecord>(tx, MEETINGS, record.id.as_str())? else {
                    return Ok(());
                };
                let at = clock::now().to_string();
                m.show_of_hands.push(ShowOfHandsRecord { proposal: proposal_id.clone(), yes, no, abstain, at: at.clone() });
                put_record(tx, MEETINGS, m.id.as_str(), &m)?;
                audit(tx, &m.community, &actor, "show_of_hands",
                    json!({"meeting": m.id, "proposal": proposal_id, "ballots": yes + no + abstain}), &at)?;
                Ok(())
            })
        })
        .await?;
    Ok(axum::Json(
        json!({"recorded": recorded, "refused": refused}),
    ))
}

#[utoipa::path(post, path = "/meetings/{meeting}/close", request_body = CloseMeetingInput,
    params(("meeting" = String, Path, description = "Meeting id")),
    responses((status = 200, description = "Closed; the minutes are published with the meeting"),
              (status = 403), (status = 404), (status = 409, description = "`meeting_closed`"),
              (status = 413), (status = 422, description = "`missing_field` (no minutes), `bad_count`")))]
async fn close_meeting(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CloseMeetingInput>,
) -> ApiResult<Json> {
    let record = load_as_officer(&state, &caller, &id).await?;
    check_text("minutes", &input.minutes, MAX_MINUTES_CHARS)?;
    let actor = caller.account.id.clone();
    let updated = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut m) = get_w::<&str, MeetingRecord>(tx, MEETINGS, record.id.as_str())? else {
                    return Ok(Err(ApiError::NotFound("meeting")));
                };
                if m.closed_at.is_some() {
                    return Ok(Err(closed_error()));
                }
                let named = m.attendees.len() as u64;
                if input.attendee_count == 0
                    || input.attendee_count < named
                    || input.attendee_count > MAX_ATTENDEE_COUNT
                {
                    return Ok(Err(ApiError::invalid(
                        "bad_count",
                        format!("`attendee_count` must be at least 1, at least the {named} attendees recorded by name, and at most {MAX_ATTENDEE_COUNT}"),
                    )));
                }
                let at = clock::now().to_string();
                m.minutes = Some(input.minutes);
                m.attendee_count = Some(input.attendee_count);
                m.closed_at = Some(at.clone());
                put_record(tx, MEETINGS, m.id.as_str(), &m)?;
                audit(tx, &m.community, &actor, "close_meeting",
                    json!({"meeting": m.id, "attendee_count": input.attendee_count}), &at)?;
                Ok(Ok(m))
            })
        })
        .await??;
    state.hub.announce(
        &updated.community,
        json!({"type": "meeting_closed", "meeting": updated.id, "title": updated.title}),
    );
    let hidden = hidden_results(&state, None, &[&updated]).await?;
    Ok(axum::Json(meeting_view(&updated, &hidden)))
}
