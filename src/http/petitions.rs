//! Residents' petitions (需求): a voter raises a need, other voters co-sign once each until
//! co-signing closes; at the community's share of the headcount (default 1/5) the petition is
//! due, and the council answers it publicly or turns it into a draft proposal linked to it.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use jiff::Timestamp;
use redb::ReadableTable;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::comments::load_petition;
use super::error::{check_len, check_text};
use super::extract::{SignedIn, require_role};
use super::{ApiError, ApiJson, AppState};
use crate::clock;
use crate::domain::deliberation::{
    DEFAULT_PETITION_THRESHOLD, PetitionStatus, Response, petition_status, signatures_needed,
    signing_open, threshold_reached,
};
use crate::domain::quantity::Fraction;
use crate::store::deliberation::{
    CosignRecord, PetitionRecord, PetitionResponseRecord, PetitionSettingsRecord,
};
use crate::store::records::{ProposalRecord, Role, RollRecord};
use crate::store::tables::*;
use crate::store::{audit, decode, get as get_record, get_w, put as put_record};

type ApiResult<T> = Result<T, ApiError>;
type Json = axum::Json<Value>;

/// At most this many petitions per community.
pub const MAX_PETITIONS_PER_COMMUNITY: usize = 2000;
/// One voter may have at most this many petitions collecting signatures at once (so that no
/// one household can fill the community's petitions alone).
pub const MAX_COLLECTING_PER_RAISER: usize = 5;
/// Co-signing may stay open at most this many days.
pub const MAX_SIGNING_DAYS: i64 = 366;
/// Longest public answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 5000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/communities/{community}/petitions",
            post(raise).get(list_petitions),
        )
        .route(
            "/communities/{community}/petition-settings",
            get(read_settings).put(write_settings),
        )
        .route("/petitions/{petition}", get(read_petition))
        .route("/petitions/{petition}/cosign", post(cosign))
        .route("/petitions/{petition}/response", post(respond))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        raise,
        list_petitions,
        read_settings,
        write_settings,
        read_petition,
        cosign,
        respond
    ),
    components(schemas(PetitionInput, PetitionSettingsInput, ResponseInput, PetitionStatus))
)]
pub struct PetitionsApi;

/// A new petition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PetitionInput {
    pub title: String,
    /// Markdown subset.
    #[serde(default)]
    pub body: String,
    /// When co-signing closes; RFC 3339, in the future, at most 366 days ahead.
    pub signing_closes: String,
}

/// The community's petition threshold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PetitionSettingsInput {
    /// Share of the roll's headcount whose signatures make a petition due, `p/q` (e.g. "1/5").
    pub threshold: String,
}

/// The council's response: a public answer, or a draft proposal of the same community that the
/// petition became (with an optional answer).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseInput {
    #[serde(default)]
    pub answer: String,
    #[serde(default)]
    pub proposal: Option<String>,
}

fn parse_threshold(text: &str) -> ApiResult<Fraction> {
    Fraction::parse(text)
        .ok()
        .filter(|f| f.numerator() > 0)
        .ok_or_else(|| {
            ApiError::invalid(
                "bad_threshold",
                format!(
                    "`threshold` must be a fraction p/q between 0 and 1, such as 1/5 (got `{text}`)"
                ),
            )
        })
}

fn default_threshold() -> Fraction {
    let (p, q) = DEFAULT_PETITION_THRESHOLD;
    Fraction::new(p, q).expect("the default threshold is a fraction")
}

/// The petition as clients see it, with its status at `now`.
fn petition_view(p: &PetitionRecord, signed_by_me: Option<bool>, now: Timestamp) -> Value {
    let threshold = Fraction::parse(&p.threshold).unwrap_or_else(|_| default_threshold());
    let closes: Timestamp = p.signing_closes.parse().unwrap_or(Timestamp::MIN);
    let response = p.response.as_ref().map(|r| {
        if r.proposal.is_some() {
            Response::Proposed
        } else {
            Response::Answered
        }
    });
    json!({
        "id": p.id,
        "community": p.community,
        "title": p.title,
        "body": p.body,
        "raised_by": p.raised_by_login,
        "raised_at": p.raised_at,
        "signing_closes": p.signing_closes,
        "signing_open": signing_open(closes, now) && p.response.is_none(),
        "threshold": p.threshold,
        "headcount": p.headcount,
        "needed": signatures_needed(p.headcount, threshold),
        "signatures": p.signatures,
        "reached_at": p.reached_at,
        "status": petition_status(p.reached_at.is_some(), response, closes, now),
        "response": p.response.as_ref().map(|r| json!({
            "answer": r.answer, "proposal": r.proposal, "at": r.at,
        })),
        "signed_by_me": signed_by_me,
    })
}

fn read_threshold(
    tx: &redb::WriteTransaction,
    community: &str,
) -> crate::store::StoreResult<Fraction> {
    let settings: Option<PetitionSettingsRecord> = get_w(tx, PETITION_SETTINGS, community)?;
    Ok(settings
        .and_then(|s| Fraction::parse(&s.threshold).ok())
        .unwrap_or_else(default_threshold))
}

#[utoipa::path(post, path = "/communities/{community}/petitions", request_body = PetitionInput,
    params(("community" = String, Path, description = "Community id")),
    responses((status = 201, description = "Raised; the raiser's own signature is the first"),
              (status = 403, description = "Only voters raise petitions"), (status = 404),
              (status = 409, description = "`no_roll`, `too_many_petitions`"),
              (status = 413), (status = 422, description = "`missing_field`, `invalid_time`")))]
async fn raise(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    ApiJson(input): ApiJson<PetitionInput>,
) -> ApiResult<(StatusCode, Json)> {
    let member = require_role(&state, &caller, &community, &[Role::Voter], false).await?;
    let voter = member.and_then(|m| m.voter).ok_or_else(|| {
        ApiError::Forbidden("your account holds no voting right on the roll".into())
    })?;
    let limits = &state.config.limits;
    check_text("title", &input.title, limits.max_title_chars)?;
    check_len("body", &input.body, limits.max_body_chars)?;
    let now = clock::now();
    let closes: Timestamp = input.signing_closes.parse().map_err(|_| {
        ApiError::invalid(
            "invalid_time",
            "`signing_closes` must be an RFC 3339 time such as 2026-12-01T18:00:00+08:00",
        )
    })?;
    if closes <= now || closes > now + jiff::SignedDuration::from_hours(24 * MAX_SIGNING_DAYS) {
        return Err(ApiError::invalid(
            "invalid_time",
            format!(
                "`signing_closes` must be in the future and at most {MAX_SIGNING_DAYS} days ahead"
            ),
        ));
    }
    let mut record = PetitionRecord {
        id: clock::new_id(),
        community: community.clone(),
        title: input.title,
        body: input.body,
        raised_by: caller.account.id.clone(),
        raised_by_login: caller.account.login.clone(),
        raised_at: now.to_string(),
        signing_closes: closes.to_string(),
        threshold: String::new(),
        headcount: 0,
        signatures: 1,
        reached_at: None,
        response: None,
    };
    let stored = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let roll: Option<RollRecord> = get_w(tx, ROLLS, record.community.as_str())?;
                let Some(roll) = roll else {
                    return Ok(Err(ApiError::conflict(
                        "no_roll",
                        "the community has no roll yet",
                    )));
                };
                let c = record.community.as_str();
                let mut index = tx.open_table(COMMUNITY_PETITIONS)?;
                if index.range((c, "")..=(c, "\u{10ffff}"))?.count() >= MAX_PETITIONS_PER_COMMUNITY
                {
                    return Ok(Err(ApiError::conflict(
                        "too_many_petitions",
                        format!(
                            "a community may hold at most {MAX_PETITIONS_PER_COMMUNITY} petitions"
                        ),
                    )));
                }
                let petitions = tx.open_table(PETITIONS)?;
                let mut collecting = 0;
                for row in index.range((c, "")..=(c, "\u{10ffff}"))? {
                    let (k, _) = row?;
                    let Some(v) = petitions.get(k.value().1)? else { continue };
                    let p: PetitionRecord = decode("petitions", v.value())?;
                    let closes: Timestamp = p.signing_closes.parse().unwrap_or(Timestamp::MIN);
                    if p.raised_by == record.raised_by
                        && p.response.is_none()
                        && signing_open(closes, now)
                    {
                        collecting += 1;
                    }
                }
                drop(petitions);
                if collecting >= MAX_COLLECTING_PER_RAISER {
                    return Ok(Err(ApiError::conflict(
                        "too_many_petitions",
                        format!(
                            "you already have {MAX_COLLECTING_PER_RAISER} petitions collecting signatures; wait until one closes or is answered"
                        ),
                    )));
                }
                let threshold = read_threshold(tx, c)?;
                record.threshold = threshold.to_string();
                record.headcount = roll.voters.len() as u64;
                if threshold_reached(record.signatures, record.headcount, threshold) {
                    record.reached_at = Some(record.raised_at.clone());
                }
                index.insert((c, record.id.as_str()), record.raised_at.as_str())?;
                drop(index);
                put_record(tx, PETITIONS, record.id.as_str(), &record)?;
                tx.open_table(COSIGNATURES)?.insert(
                    (record.id.as_str(), voter.as_str()),
                    crate::store::encode(&CosignRecord {
                        account: record.raised_by.clone(),
                        at: record.raised_at.clone(),
                    })
                    .as_slice(),
                )?;
                Ok(Ok(record))
            })
        })
        .await??;
    state.hub.announce(
        &community,
        json!({"type": "petition", "petition": stored.id, "title": stored.title}),
    );
    Ok((
        StatusCode::CREATED,
        axum::Json(petition_view(&stored, Some(true), now)),
    ))
}

#[utoipa::path(get, path = "/communities/{community}/petitions",
    params(("community" = String, Path, description = "Community id")),
    responses((status = 200, description = "The community's petitions, newest first, with status and signatures"),
              (status = 404)))]
async fn list_petitions(
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
    let voter = member.and_then(|m| m.voter);
    let (petitions, threshold) = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let index = tx.open_table(COMMUNITY_PETITIONS)?;
                let table = tx.open_table(PETITIONS)?;
                let signatures = tx.open_table(COSIGNATURES)?;
                let c = community.as_str();
                let mut out = Vec::new();
                for row in index.range((c, "")..=(c, "\u{10ffff}"))? {
                    let (k, _) = row?;
                    let id = k.value().1;
                    if let Some(v) = table.get(id)? {
                        let p: PetitionRecord = decode("petitions", v.value())?;
                        let signed = match &voter {
                            Some(v) => Some(signatures.get((id, v.as_str()))?.is_some()),
                            None => None,
                        };
                        out.push((p, signed));
                    }
                }
                let settings: Option<PetitionSettingsRecord> =
                    get_record(tx, PETITION_SETTINGS, c)?;
                Ok((out, settings.map(|s| s.threshold)))
            })
        })
        .await?;
    let now = clock::now();
    let mut petitions = petitions;
    petitions.sort_by(|a, b| b.0.raised_at.cmp(&a.0.raised_at));
    Ok(axum::Json(json!({
        "threshold": threshold.unwrap_or_else(|| default_threshold().to_string()),
        "petitions": petitions.iter().map(|(p, s)| petition_view(p, *s, now)).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(get, path = "/petitions/{petition}",
    params(("petition" = String, Path, description = "Petition id")),
    responses((status = 200, description = "The petition with its status and whether the caller signed"),
              (status = 404)))]
async fn read_petition(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let (record, member) = load_petition(&state, &caller, &id).await?;
    let signed = match member.and_then(|m| m.voter) {
        Some(voter) => {
            let id = record.id.clone();
            Some(
                state
                    .store
                    .call(move |s| {
                        s.read(|tx| {
                            Ok(tx
                                .open_table(COSIGNATURES)?
                                .get((id.as_str(), voter.as_str()))?
                                .is_some())
                        })
                    })
                    .await?,
            )
        }
        None => None,
    };
    Ok(axum::Json(petition_view(&record, signed, clock::now())))
}

#[utoipa::path(post, path = "/petitions/{petition}/cosign",
    params(("petition" = String, Path, description = "Petition id")),
    responses((status = 200, description = "Signed; `status` is `due` once the threshold is reached"),
              (status = 403, description = "Only voters co-sign"), (status = 404),
              (status = 409, description = "`already_signed`, `signing_closed`")))]
async fn cosign(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let (record, member) = load_petition(&state, &caller, &id).await?;
    let voter = match member {
        Some(m) if m.role == Role::Voter => m.voter.ok_or_else(|| {
            ApiError::Forbidden("your account holds no voting right on the roll".into())
        })?,
        Some(m) => {
            return Err(ApiError::Forbidden(format!(
                "only voters co-sign petitions; you are a {} of this community",
                m.role.as_str()
            )));
        }
        None => {
            return Err(ApiError::Forbidden(
                "only the community's voters co-sign petitions".into(),
            ));
        }
    };
    let account = caller.account.id.clone();
    let (updated, became_due) = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut p) = get_w::<&str, PetitionRecord>(tx, PETITIONS, record.id.as_str())?
                else {
                    return Ok(Err(ApiError::NotFound("petition")));
                };
                let now = clock::now();
                let closes: Timestamp = p.signing_closes.parse().unwrap_or(Timestamp::MIN);
                if !signing_open(closes, now) || p.response.is_some() {
                    return Ok(Err(ApiError::conflict(
                        "signing_closed",
                        format!("co-signing closed at {}", p.signing_closes),
                    )));
                }
                let mut signatures = tx.open_table(COSIGNATURES)?;
                if signatures.get((p.id.as_str(), voter.as_str()))?.is_some() {
                    return Ok(Err(ApiError::conflict(
                        "already_signed",
                        "your household has already signed this petition",
                    )));
                }
                signatures.insert(
                    (p.id.as_str(), voter.as_str()),
                    crate::store::encode(&CosignRecord {
                        account,
                        at: now.to_string(),
                    })
                    .as_slice(),
                )?;
                drop(signatures);
                p.signatures += 1;
                let threshold =
                    Fraction::parse(&p.threshold).unwrap_or_else(|_| default_threshold());
                let became_due = p.reached_at.is_none()
                    && threshold_reached(p.signatures, p.headcount, threshold);
                if became_due {
                    p.reached_at = Some(now.to_string());
                }
                put_record(tx, PETITIONS, p.id.as_str(), &p)?;
                Ok(Ok((p, became_due)))
            })
        })
        .await??;
    if became_due {
        state.hub.announce(
            &updated.community,
            json!({"type": "petition_due", "petition": updated.id, "title": updated.title}),
        );
    }
    Ok(axum::Json(petition_view(
        &updated,
        Some(true),
        clock::now(),
    )))
}

#[utoipa::path(post, path = "/petitions/{petition}/response", request_body = ResponseInput,
    params(("petition" = String, Path, description = "Petition id")),
    responses((status = 200, description = "Answered publicly, or linked to the draft proposal it became"),
              (status = 403, description = "Only officers respond"), (status = 404, description = "No such petition, or the proposal is not of this community"),
              (status = 409, description = "`already_answered`"), (status = 413),
              (status = 422, description = "`missing_field`: an answer or a proposal is needed")))]
async fn respond(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ResponseInput>,
) -> ApiResult<Json> {
    let (record, member) = load_petition(&state, &caller, &id).await?;
    if !member.as_ref().is_some_and(|m| m.role == Role::Officer) {
        return Err(ApiError::Forbidden(
            "only the community's officers respond to petitions".into(),
        ));
    }
    check_len("answer", &input.answer, MAX_ANSWER_CHARS)?;
    if input.answer.trim().is_empty() && input.proposal.is_none() {
        return Err(ApiError::invalid(
            "missing_field",
            "give a public `answer`, or the `proposal` the petition became",
        ));
    }
    let actor = caller.account.id.clone();
    let updated = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut p) = get_w::<&str, PetitionRecord>(tx, PETITIONS, record.id.as_str())?
                else {
                    return Ok(Err(ApiError::NotFound("petition")));
                };
                if p.response.is_some() {
                    return Ok(Err(ApiError::conflict(
                        "already_answered",
                        "the council has already responded to this petition",
                    )));
                }
                if let Some(proposal) = &input.proposal {
                    let found: Option<ProposalRecord> = get_w(tx, PROPOSALS, proposal.as_str())?;
                    if found.is_none_or(|f| f.community != p.community) {
                        return Ok(Err(ApiError::NotFound("proposal")));
                    }
                }
                let at = clock::now().to_string();
                p.response = Some(PetitionResponseRecord {
                    answer: input.answer,
                    proposal: input.proposal,
                    by: actor.clone(),
                    at: at.clone(),
                });
                put_record(tx, PETITIONS, p.id.as_str(), &p)?;
                audit(
                    tx,
                    &p.community,
                    &actor,
                    "respond_petition",
                    json!({"petition": p.id, "proposal": p.response.as_ref().and_then(|r| r.proposal.clone())}),
                    &at,
                )?;
                Ok(Ok(p))
            })
        })
        .await??;
    state.hub.announce(
        &updated.community,
        json!({"type": "petition_answered", "petition": updated.id, "title": updated.title}),
    );
    Ok(axum::Json(petition_view(&updated, None, clock::now())))
}

#[utoipa::path(get, path = "/communities/{community}/petition-settings",
    params(("community" = String, Path, description = "Community id")),
    responses((status = 200, description = "The threshold (default 1/5 of the headcount)"), (status = 404)))]
async fn read_settings(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
) -> ApiResult<Json> {
    require_role(
        &state,
        &caller,
        &community,
        &[Role::Officer, Role::Voter, Role::Observer],
        true,
    )
    .await?;
    let settings: Option<PetitionSettingsRecord> = state
        .store
        .call(move |s| s.read(|tx| get_record(tx, PETITION_SETTINGS, community.as_str())))
        .await?;
    Ok(axum::Json(json!({
        "threshold": settings.map_or_else(|| default_threshold().to_string(), |s| s.threshold),
    })))
}

#[utoipa::path(put, path = "/communities/{community}/petition-settings", request_body = PetitionSettingsInput,
    params(("community" = String, Path, description = "Community id")),
    responses((status = 200, description = "Set; petitions raised from now on use it"),
              (status = 403), (status = 404), (status = 422, description = "`bad_threshold`")))]
async fn write_settings(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
    ApiJson(input): ApiJson<PetitionSettingsInput>,
) -> ApiResult<Json> {
    require_role(&state, &caller, &community, &[Role::Officer], false).await?;
    let threshold = parse_threshold(&input.threshold)?;
    let record = PetitionSettingsRecord {
        threshold: threshold.to_string(),
        updated_by: caller.account.id.clone(),
        updated_at: clock::now().to_string(),
    };
    let view = json!({"threshold": record.threshold});
    state
        .store
        .call(move |s| {
            s.write(|tx| {
                put_record(tx, PETITION_SETTINGS, community.as_str(), &record)?;
                audit(
                    tx,
                    &community,
                    &record.updated_by,
                    "petition_threshold",
                    json!({"threshold": record.threshold}),
                    &record.updated_at,
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(axum::Json(view))
}
