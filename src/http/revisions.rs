//! Proposal revisions: every version of the text, cost and rule kept with its author and time,
//! and a readable diff between any two. The last revision before opening is the text put to the
//! vote; its hash is the opening record's (and the certificate's) `text_hash`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::SignedIn;
use super::{ApiError, AppState};
use crate::domain::deliberation::line_diff;
use crate::domain::ledger::text_hash;
use crate::store::decode;
use crate::store::deliberation::RevisionRecord;
use crate::store::records::ProposalRecord;
use crate::store::tables::REVISIONS;

type ApiResult<T> = Result<T, ApiError>;
type Json = axum::Json<Value>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/proposals/{proposal}/revisions", get(list_revisions))
        .route("/proposals/{proposal}/revisions/{number}/diff", get(diff))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_revisions, diff))]
pub struct RevisionsApi;

/// The stored revisions of a proposal, oldest first. A proposal made before revisions were
/// kept has one: its current text.
async fn revisions(state: &AppState, record: &ProposalRecord) -> ApiResult<Vec<RevisionRecord>> {
    let id = record.id.clone();
    let mut revisions: Vec<RevisionRecord> = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let table = tx.open_table(REVISIONS)?;
                let mut out = Vec::new();
                for row in table.range((id.as_str(), 0)..=(id.as_str(), u64::MAX))? {
                    out.push(decode("revisions", row?.1.value())?);
                }
                Ok(out)
            })
        })
        .await?;
    if revisions.is_empty() {
        revisions.push(RevisionRecord {
            number: 1,
            title: record.title.clone(),
            body: record.body.clone(),
            cost: record.cost.clone(),
            rule: record.rule.clone(),
            text_hash: text_hash(&record.body),
            author: record.created_by.clone(),
            author_login: String::new(),
            at: record.created_at.clone(),
            note: String::new(),
        });
    }
    Ok(revisions)
}

/// The number of the revision put to the vote: the last one, once the proposal has opened (its
/// hash is the opening record's text hash), else none.
fn frozen(record: &ProposalRecord, revisions: &[RevisionRecord]) -> Option<u64> {
    let hash = record.text_hash.as_deref()?;
    revisions
        .iter()
        .rev()
        .find(|r| r.text_hash == hash)
        .map(|r| r.number)
}

#[utoipa::path(get, path = "/proposals/{proposal}/revisions",
    params(("proposal" = String, Path, description = "Proposal id")),
    responses((status = 200, description = "Every revision, oldest first, with author, time and text hash; `frozen` names the revision put to the vote"),
              (status = 404)))]
async fn list_revisions(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let (record, _) = super::proposals::load(&state, Some(&caller), &id).await?;
    let revisions = revisions(&state, &record).await?;
    let frozen = frozen(&record, &revisions);
    Ok(axum::Json(json!({
        "proposal": record.id,
        "state": record.state,
        "frozen": frozen,
        "text_hash": record.text_hash,
        "revisions": revisions.iter().map(|r| json!({
            "number": r.number, "title": r.title, "body": r.body, "cost": r.cost,
            "rule": r.rule, "text_hash": r.text_hash, "author": r.author_login, "at": r.at,
            "frozen": Some(r.number) == frozen,
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    /// The older revision to compare with; the one before `number` when absent.
    against: Option<u64>,
}

#[utoipa::path(get, path = "/proposals/{proposal}/revisions/{number}/diff",
    params(("proposal" = String, Path, description = "Proposal id"),
           ("number" = u64, Path, description = "The newer revision"),
           ("against" = Option<u64>, Query, description = "The older revision (default: the previous one)")),
    responses((status = 200, description = "What changed: the body line by line (`equal`, `insert`, `delete`), and title, cost and rule before and after when they changed"),
              (status = 404, description = "No such proposal or revision")))]
async fn diff(
    State(state): State<AppState>,
    caller: SignedIn,
    Path((id, number)): Path<(String, u64)>,
    Query(query): Query<DiffQuery>,
) -> ApiResult<Json> {
    let (record, _) = super::proposals::load(&state, Some(&caller), &id).await?;
    let revisions = revisions(&state, &record).await?;
    let find = |n: u64| revisions.iter().find(|r| r.number == n);
    let new = find(number).ok_or(ApiError::NotFound("revision"))?;
    let old = match query.against {
        Some(n) => find(n).ok_or(ApiError::NotFound("revision"))?,
        None => find(number.saturating_sub(1)).unwrap_or(new),
    };
    let changed = |a: Value, b: Value| {
        if a == b {
            Value::Null
        } else {
            json!({"old": a, "new": b})
        }
    };
    Ok(axum::Json(json!({
        "from": old.number,
        "to": new.number,
        "author": new.author_login,
        "at": new.at,
        "title": changed(json!(old.title), json!(new.title)),
        "cost": changed(json!(old.cost), json!(new.cost)),
        "rule": changed(json!(old.rule), json!(new.rule)),
        "body": line_diff(&old.body, &new.body),
    })))
}
