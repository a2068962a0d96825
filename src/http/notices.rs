//! In-app notices: what is new for a member since they last marked their notices seen —
//! proposals opened, votes closing within 24 hours, the council's response to their petition,
//! replies to their comments, and changes of the owners' committee. The "last seen" marker is
//! kept per account and community.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::extract::{SignedIn, require_role};
use super::{ApiError, AppState};
use crate::clock;
use crate::domain::lifecycle::ProposalState;
use crate::store::decode;
use crate::store::deliberation::{CommentRecord, PetitionRecord};
use crate::store::records::{CommitteeRecord, ProposalRecord, Role};
use crate::store::tables::*;

type ApiResult<T> = Result<T, ApiError>;
type Json = axum::Json<Value>;

/// A vote is "closing soon" within this many hours of its deadline.
pub const CLOSING_SOON_HOURS: i64 = 24;
/// At most this many notices are listed (newest first).
pub const MAX_NOTICES: usize = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/communities/{community}/notices", get(notices))
        .route("/communities/{community}/notices/seen", post(mark_seen))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(notices, mark_seen))]
pub struct NoticesApi;

fn parse(text: &str) -> Timestamp {
    text.parse().unwrap_or(Timestamp::MIN)
}

#[utoipa::path(get, path = "/communities/{community}/notices",
    params(("community" = String, Path, description = "Community id")),
    responses((status = 200, description = "What is new since `last_seen` (kinds `opened`, `closing_soon`, `petition_response`, `reply`, `committee_constituted`, `committee_vacancy`, `committee_reelection_due`), newest first"),
              (status = 404)))]
async fn notices(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
) -> ApiResult<Json> {
    let member = require_role(
        &state,
        &caller,
        &community,
        &[Role::Officer, Role::Voter, Role::Observer],
        false,
    )
    .await?;
    let officer = member.is_some_and(|m| m.role == Role::Officer);
    let me = caller.account.id.clone();
    let now = clock::now();
    let view = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let c = community.as_str();
                let last_seen = tx
                    .open_table(LAST_SEEN)?
                    .get((me.as_str(), c))?
                    .map(|v| v.value().to_owned());
                let since = last_seen.as_deref().map_or(Timestamp::MIN, parse);
                let mut out: Vec<(Timestamp, Value)> = Vec::new();

                // Proposals opened since, and votes closing soon.
                let proposals = tx.open_table(PROPOSALS)?;
                for row in tx.open_table(COMMUNITY_PROPOSALS)?.range((c, "")..=(c, "\u{10ffff}"))? {
                    let (k, _) = row?;
                    let Some(v) = proposals.get(k.value().1)? else { continue };
                    let p: ProposalRecord = decode("proposals", v.value())?;
                    if p.state == ProposalState::Draft && !officer {
                        continue;
                    }
                    if let Some(opened) = p.opened_at.as_deref().map(parse)
                        && opened > since
                    {
                        out.push((opened, json!({"kind": "opened", "proposal": p.id, "title": p.title, "at": p.opened_at})));
                    }
                    let closes = parse(&p.closes_at);
                    if p.state == ProposalState::Voting
                        && closes > now
                        && closes <= now + SignedDuration::from_hours(CLOSING_SOON_HOURS)
                    {
                        out.push((now, json!({"kind": "closing_soon", "proposal": p.id, "title": p.title, "at": p.closes_at})));
                    }
                }

                // The council's response to the caller's own petitions.
                let petitions = tx.open_table(PETITIONS)?;
                for row in tx.open_table(COMMUNITY_PETITIONS)?.range((c, "")..=(c, "\u{10ffff}"))? {
                    let (k, _) = row?;
                    let Some(v) = petitions.get(k.value().1)? else { continue };
                    let p: PetitionRecord = decode("petitions", v.value())?;
                    if p.raised_by != me {
                        continue;
                    }
                    if let Some(r) = &p.response
                        && parse(&r.at) > since
                    {
                        out.push((parse(&r.at), json!({"kind": "petition_response", "petition": p.id,
                            "title": p.title, "proposal": r.proposal, "at": r.at})));
                    }
                }

                // Replies to the caller's comments in this community (officers' replies marked).
                let comments = tx.open_table(COMMENTS)?;
                let mut mine = BTreeSet::new();
                let mut subjects = BTreeSet::new();
                for row in tx.open_table(ACCOUNT_COMMENTS)?.range((me.as_str(), i64::MIN)..=(me.as_str(), i64::MAX))? {
                    let (_, id) = row?;
                    if let Some(v) = comments.get(id.value())? {
                        let comment: CommentRecord = decode("comments", v.value())?;
                        if comment.community == community {
                            mine.insert(comment.id.clone());
                            subjects.insert(comment.subject.clone());
                        }
                    }
                }
                let index = tx.open_table(SUBJECT_COMMENTS)?;
                let mut titles: BTreeMap<String, String> = BTreeMap::new();
                for subject in &subjects {
                    for row in index.range((subject.as_str(), "")..=(subject.as_str(), "\u{10ffff}"))? {
                        let (k, at) = row?;
                        if parse(at.value()) <= since {
                            continue;
                        }
                        let Some(v) = comments.get(k.value().1)? else { continue };
                        let reply: CommentRecord = decode("comments", v.value())?;
                        if reply.author == me || reply.hidden.is_some() || !reply.parent.as_ref().is_some_and(|p| mine.contains(p)) {
                            continue;
                        }
                        let title = titles.entry(subject.clone()).or_insert_with(|| {
                            subject_title(tx, subject).unwrap_or_default()
                        });
                        out.push((parse(&reply.created_at), json!({"kind": "reply", "subject": reply.subject,
                            "title": title, "comment": reply.id, "author": reply.author_login,
                            "official": reply.author_role == Role::Officer, "at": reply.created_at})));
                    }
                }
                // Changes of the owners' committee: seated, a vacancy and who moved up, and a
                // new election falling due (DESIGN §4: every succession is published).
                let committee: Option<CommitteeRecord> =
                    crate::store::get(tx, COMMITTEES, c)?;
                if let Some(committee) = committee {
                    out.extend(committee_notices(&committee, since));
                }

                out.sort_by_key(|n| std::cmp::Reverse(n.0));
                out.truncate(MAX_NOTICES);
                Ok(json!({"last_seen": last_seen, "notices": out.into_iter().map(|(_, v)| v).collect::<Vec<_>>()}))
            })
        })
        .await?;
    Ok(axum::Json(view))
}

/// The notices of a committee's changes recorded after `since`: `committee_constituted`
/// (the election's title for the latest seating), `committee_vacancy` (who left, why, who moved
/// up) and `committee_reelection_due` when a change left too few members and no alternate.
fn committee_notices(committee: &CommitteeRecord, since: Timestamp) -> Vec<(Timestamp, Value)> {
    let last_seated = committee
        .history
        .iter()
        .rposition(|h| h.kind == "constituted");
    let mut out = Vec::new();
    let mut due_before = false;
    for (i, change) in committee.history.iter().enumerate() {
        let at = parse(&change.recorded_at);
        let newly_due = change.reelection_due && !due_before;
        due_before = change.reelection_due;
        if at <= since {
            continue;
        }
        let base = json!({"community": committee.community, "date": change.date, "at": change.recorded_at});
        let mut notice = base.clone();
        match change.kind.as_str() {
            "constituted" => {
                notice["kind"] = json!("committee_constituted");
                if Some(i) == last_seated {
                    notice["title"] = json!(committee.title);
                    notice["election"] = json!(committee.election);
                }
            }
            _ => {
                notice["kind"] = json!("committee_vacancy");
                notice["left"] = json!(change.left_name);
                notice["reason"] = json!(change.reason);
                notice["moved_up"] = json!(change.moved_up_name);
            }
        }
        out.push((at, notice));
        if newly_due {
            let mut due = base;
            due["kind"] = json!("committee_reelection_due");
            out.push((at, due));
        }
    }
    out
}

/// The title of a comment's subject, for the notice.
fn subject_title(tx: &redb::ReadTransaction, subject: &str) -> Option<String> {
    match subject.split_once(':')? {
        ("proposal", id) => crate::store::get::<&str, ProposalRecord>(tx, PROPOSALS, id)
            .ok()
            .flatten()
            .map(|p| p.title),
        ("petition", id) => crate::store::get::<&str, PetitionRecord>(tx, PETITIONS, id)
            .ok()
            .flatten()
            .map(|p| p.title),
        _ => None,
    }
}

#[utoipa::path(post, path = "/communities/{community}/notices/seen",
    params(("community" = String, Path, description = "Community id")),
    responses((status = 200, description = "Marked: later notices count from now"), (status = 404)))]
async fn mark_seen(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
) -> ApiResult<Json> {
    require_role(
        &state,
        &caller,
        &community,
        &[Role::Officer, Role::Voter, Role::Observer],
        false,
    )
    .await?;
    let me = caller.account.id.clone();
    let now = clock::now().to_string();
    let at = now.clone();
    state
        .store
        .call(move |s| {
            s.write(|tx| {
                tx.open_table(LAST_SEEN)?
                    .insert((me.as_str(), community.as_str()), at.as_str())?;
                Ok(())
            })
        })
        .await?;
    Ok(axum::Json(json!({"last_seen": now})))
}
