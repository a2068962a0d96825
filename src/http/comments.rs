//! Discussion: threaded comments on proposals and petitions. Voters and officers write (an
//! officer's comment is the council's answer), observers read; residents report, officers hide
//! with a recorded reason. Nothing is ever deleted. New comments go out on the community feed.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use redb::ReadableTable;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::{check_len, check_text};
use super::extract::{SignedIn, require_role};
use super::{ApiError, ApiJson, AppState};
use crate::clock;
use crate::domain::deliberation::comment_allowed;
use crate::domain::lifecycle::ProposalState;
use crate::store::deliberation::{CommentRecord, PetitionRecord, ReasonedAct};
use crate::store::records::{MembershipRecord, Role};
use crate::store::tables::*;
use crate::store::{audit, decode, get as get_record, get_w, put as put_record};

type ApiResult<T> = Result<T, ApiError>;
type Json = axum::Json<Value>;

/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// Longest report or hiding reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// At most this many comments per account within [`COMMENT_RATE_WINDOW_SECS`] (then 429).
pub const COMMENT_RATE_MAX: usize = 5;
pub const COMMENT_RATE_WINDOW_SECS: i64 = 60;
/// Replies nest at most this deep (a top-level comment has depth 0).
pub const MAX_REPLY_DEPTH: u8 = 4;
/// At most this many comments on one proposal or petition.
pub const MAX_COMMENTS_PER_SUBJECT: usize = 5000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/proposals/{proposal}/comments",
            get(proposal_comments).post(comment_on_proposal),
        )
        .route(
            "/petitions/{petition}/comments",
            get(petition_comments).post(comment_on_petition),
        )
        .route("/comments/{comment}/report", post(report))
        .route("/comments/{comment}/hide", post(hide))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        proposal_comments,
        comment_on_proposal,
        petition_comments,
        comment_on_petition,
        report,
        hide
    ),
    components(schemas(CommentInput, ReasonInput))
)]
pub struct CommentsApi;

/// A new comment or reply. `body` is a Markdown subset (headings, emphasis, lists, quotes,
/// code and http(s) links), at most 2,000 characters.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    pub body: String,
    /// The comment this replies to.
    #[serde(default)]
    pub parent: Option<String>,
}

/// A reason (for reporting: optional; for hiding: required).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    #[serde(default)]
    pub reason: String,
}

/// What a comment hangs on, as seen by the caller.
pub(crate) struct Subject {
    /// `proposal:ID` or `petition:ID`.
    pub key: String,
    pub community: String,
    pub member: Option<MembershipRecord>,
    /// Whether new comments may be written (and why not).
    pub closed: Option<&'static str>,
    /// Whether events about it may go on the community feed (not for drafts, which only
    /// officers see).
    pub public: bool,
}

async fn proposal_subject(state: &AppState, caller: &SignedIn, id: &str) -> ApiResult<Subject> {
    let (record, member) = super::proposals::load(state, Some(caller), id).await?;
    let closed = match record.state {
        ProposalState::Draft | ProposalState::Deliberation | ProposalState::Voting => None,
        _ => Some("discussion of this proposal has ended"),
    };
    Ok(Subject {
        key: format!("proposal:{}", record.id),
        community: record.community,
        member,
        closed,
        public: record.state != ProposalState::Draft,
    })
}

/// Loads a petition the caller may see: members of its community (any role), platform admins.
pub(crate) async fn load_petition(
    state: &AppState,
    caller: &SignedIn,
    id: &str,
) -> ApiResult<(PetitionRecord, Option<MembershipRecord>)> {
    let key = id.to_owned();
    let record: Option<PetitionRecord> = state
        .store
        .call(move |s| s.read(|tx| get_record(tx, PETITIONS, key.as_str())))
        .await?;
    let record = record.ok_or(ApiError::NotFound("petition"))?;
    let member = require_role(
        state,
        caller,
        &record.community,
        &[Role::Officer, Role::Voter, Role::Observer],
        true,
    )
    .await
    .map_err(|e| match e {
        ApiError::NotFound(_) => ApiError::NotFound("petition"),
        e => e,
    })?;
    Ok((record, member))
}

async fn petition_subject(state: &AppState, caller: &SignedIn, id: &str) -> ApiResult<Subject> {
    let (record, member) = load_petition(state, caller, id).await?;
    Ok(Subject {
        key: format!("petition:{}", record.id),
        community: record.community,
        member,
        closed: None,
        public: true,
    })
}

/// A comment as `viewer` sees it: hidden bodies only for officers, reports counted for them.
pub(crate) fn comment_view(c: &CommentRecord, viewer: &str, officer: bool) -> Value {
    let mut view = json!({
        "id": c.id,
        "subject": c.subject,
        "parent": c.parent,
        "depth": c.depth,
        "author": c.author_login,
        "official": c.author_role == Role::Officer,
        "mine": c.author == viewer,
        "created_at": c.created_at,
        "body": if c.hidden.is_some() { Value::Null } else { json!(c.body) },
        "hidden": c.hidden.as_ref().map(|h| json!({"reason": h.reason, "at": h.at})),
        "reported_by_me": c.reports.iter().any(|r| r.by == viewer),
    });
    if officer {
        view["reports"] = json!(
            c.reports
                .iter()
                .map(|r| json!({"reason": r.reason, "at": r.at}))
                .collect::<Vec<_>>()
        );
        if c.hidden.is_some() {
            view["hidden_body"] = json!(c.body);
        }
    }
    view
}

async fn thread(state: &AppState, caller: &SignedIn, subject: Subject) -> ApiResult<Json> {
    let officer = subject
        .member
        .as_ref()
        .is_some_and(|m| m.role == Role::Officer);
    let key = subject.key.clone();
    let mut comments: Vec<CommentRecord> = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let index = tx.open_table(SUBJECT_COMMENTS)?;
                let table = tx.open_table(COMMENTS)?;
                let mut out = Vec::new();
                for row in index.range((key.as_str(), "")..=(key.as_str(), "\u{10ffff}"))? {
                    let (k, _) = row?;
                    if let Some(v) = table.get(k.value().1)? {
                        out.push(decode::<CommentRecord>("comments", v.value())?);
                    }
                }
                Ok(out)
            })
        })
        .await?;
    comments.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    let me = &caller.account.id;
    Ok(axum::Json(json!({
        "subject": subject.key,
        "open": subject.closed.is_none(),
        "may_moderate": officer,
        "may_comment": subject.closed.is_none()
            && subject.member.as_ref().is_some_and(|m| matches!(m.role, Role::Voter | Role::Officer)),
        "limits": {"max_chars": MAX_COMMENT_CHARS, "per_window": COMMENT_RATE_MAX,
                   "window_secs": COMMENT_RATE_WINDOW_SECS, "max_depth": MAX_REPLY_DEPTH},
        "comments": comments.iter().map(|c| comment_view(c, me, officer)).collect::<Vec<_>>(),
    })))
}

async fn write_comment(
    state: &AppState,
    caller: &SignedIn,
    subject: Subject,
    input: CommentInput,
) -> ApiResult<(StatusCode, Json)> {
    let role = match &subject.member {
        Some(m) if matches!(m.role, Role::Voter | Role::Officer) => m.role,
        Some(m) => {
            return Err(ApiError::Forbidden(format!(
                "a {} of this community may read the discussion but not write in it",
                m.role.as_str()
            )));
        }
        None => {
            return Err(ApiError::Forbidden(
                "only the community's voters and officers may comment".into(),
            ));
        }
    };
    if let Some(why) = subject.closed {
        return Err(ApiError::conflict("discussion_closed", why));
    }
    check_text("body", &input.body, MAX_COMMENT_CHARS)?;
    let now = clock::now();
    let record = CommentRecord {
        id: clock::new_id(),
        community: subject.community.clone(),
        subject: subject.key.clone(),
        parent: input.parent,
        depth: 0,
        author: caller.account.id.clone(),
        author_login: caller.account.login.clone(),
        author_role: role,
        body: input.body,
        created_at: now.to_string(),
        hidden: None,
        reports: Vec::new(),
    };
    let stored = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let mut record = record;
                if let Some(parent) = &record.parent {
                    let parent: Option<CommentRecord> = get_w(tx, COMMENTS, parent.as_str())?;
                    let Some(parent) = parent.filter(|p| p.subject == record.subject) else {
                        return Ok(Err(ApiError::invalid(
                            "unknown_parent",
                            "the comment replied to is not in this discussion",
                        )));
                    };
                    if parent.depth >= MAX_REPLY_DEPTH {
                        return Ok(Err(ApiError::invalid(
                            "too_deep",
                            format!(
                                "replies nest at most {MAX_REPLY_DEPTH} deep; reply higher up the thread"
                            ),
                        )));
                    }
                    record.depth = parent.depth + 1;
                }
                let mut index = tx.open_table(SUBJECT_COMMENTS)?;
                let subject = record.subject.as_str();
                if index.range((subject, "")..=(subject, "\u{10ffff}"))?.count()
                    >= MAX_COMMENTS_PER_SUBJECT
                {
                    return Ok(Err(ApiError::conflict(
                        "too_many_comments",
                        format!("a discussion holds at most {MAX_COMMENTS_PER_SUBJECT} comments"),
                    )));
                }
                let mut by_account = tx.open_table(ACCOUNT_COMMENTS)?;
                let author = record.author.as_str();
                let now_ms = now.as_millisecond();
                let since = now_ms - COMMENT_RATE_WINDOW_SECS * 1000;
                let mut recent = Vec::new();
                for row in by_account.range((author, since)..=(author, i64::MAX))? {
                    let (k, _) = row?;
                    if let Ok(t) = jiff::Timestamp::from_millisecond(k.value().1) {
                        recent.push(t);
                    }
                }
                if !comment_allowed(&recent, now, COMMENT_RATE_WINDOW_SECS, COMMENT_RATE_MAX) {
                    return Ok(Err(ApiError::TooManyRequests(format!(
                        "at most {COMMENT_RATE_MAX} comments a minute; please wait a moment"
                    ))));
                }
                let mut slot = now_ms;
                while by_account.get((author, slot))?.is_some() {
                    slot += 1;
                }
                by_account.insert((author, slot), record.id.as_str())?;
                index.insert((subject, record.id.as_str()), record.created_at.as_str())?;
                drop((index, by_account));
                put_record(tx, COMMENTS, record.id.as_str(), &record)?;
                Ok(Ok(record))
            })
        })
        .await??;
    let view = comment_view(&stored, &caller.account.id, false);
    if subject.public {
        let mut public = view.clone();
        public["mine"] = json!(false);
        public["reported_by_me"] = json!(false);
        state.hub.announce(
            &subject.community,
            json!({"type": "comment", "subject": subject.key, "comment": public}),
        );
    }
    let mut view = view;
    view["mine"] = json!(true);
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/proposals/{proposal}/comments",
    params(("proposal" = String, Path, description = "Proposal id")),
    responses((status = 200, description = "The discussion, oldest first; hidden comments keep their place with the council's reason"),
              (status = 404, description = "No such proposal, or not visible to the caller")))]
async fn proposal_comments(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let subject = proposal_subject(&state, &caller, &id).await?;
    thread(&state, &caller, subject).await
}

#[utoipa::path(post, path = "/proposals/{proposal}/comments", request_body = CommentInput,
    params(("proposal" = String, Path, description = "Proposal id")),
    responses((status = 201, description = "Comment stored and announced on the community feed"),
              (status = 403, description = "Observers read only"), (status = 404),
              (status = 409, description = "`discussion_closed`"), (status = 413, description = "`too_large`: over 2,000 characters"),
              (status = 422, description = "`missing_field`, `unknown_parent`, `too_deep`"),
              (status = 429, description = "`too_many_requests`: over 5 comments a minute")))]
async fn comment_on_proposal(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CommentInput>,
) -> ApiResult<(StatusCode, Json)> {
    let subject = proposal_subject(&state, &caller, &id).await?;
    write_comment(&state, &caller, subject, input).await
}

#[utoipa::path(get, path = "/petitions/{petition}/comments",
    params(("petition" = String, Path, description = "Petition id")),
    responses((status = 200, description = "The discussion, oldest first"), (status = 404)))]
async fn petition_comments(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let subject = petition_subject(&state, &caller, &id).await?;
    thread(&state, &caller, subject).await
}

#[utoipa::path(post, path = "/petitions/{petition}/comments", request_body = CommentInput,
    params(("petition" = String, Path, description = "Petition id")),
    responses((status = 201, description = "Comment stored"), (status = 403), (status = 404),
              (status = 413), (status = 422), (status = 429)))]
async fn comment_on_petition(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CommentInput>,
) -> ApiResult<(StatusCode, Json)> {
    let subject = petition_subject(&state, &caller, &id).await?;
    write_comment(&state, &caller, subject, input).await
}

/// Loads a comment and the caller's view of its subject (the same visibility as the subject).
async fn load_comment(
    state: &AppState,
    caller: &SignedIn,
    id: &str,
) -> ApiResult<(CommentRecord, Subject)> {
    let key = id.to_owned();
    let comment: Option<CommentRecord> = state
        .store
        .call(move |s| s.read(|tx| get_record(tx, COMMENTS, key.as_str())))
        .await?;
    let comment = comment.ok_or(ApiError::NotFound("comment"))?;
    let subject = match comment.subject.split_once(':') {
        Some(("proposal", p)) => proposal_subject(state, caller, p).await,
        Some(("petition", p)) => petition_subject(state, caller, p).await,
        _ => Err(ApiError::NotFound("comment")),
    }
    .map_err(|e| match e {
        ApiError::NotFound(_) => ApiError::NotFound("comment"),
        e => e,
    })?;
    Ok((comment, subject))
}

#[utoipa::path(post, path = "/comments/{comment}/report", request_body = ReasonInput,
    params(("comment" = String, Path, description = "Comment id")),
    responses((status = 200, description = "Reported to the officers (once per account)"),
              (status = 403, description = "Observers do not report"), (status = 404),
              (status = 409, description = "`already_reported`")))]
async fn report(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json> {
    let (_, subject) = load_comment(&state, &caller, &id).await?;
    if !subject
        .member
        .as_ref()
        .is_some_and(|m| matches!(m.role, Role::Voter | Role::Officer))
    {
        return Err(ApiError::Forbidden(
            "only the community's voters and officers may report a comment".into(),
        ));
    }
    check_len("reason", &input.reason, MAX_REASON_CHARS)?;
    let me = caller.account.id.clone();
    let updated = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut comment) = get_w::<&str, CommentRecord>(tx, COMMENTS, id.as_str())?
                else {
                    return Ok(Err(ApiError::NotFound("comment")));
                };
                if comment.reports.iter().any(|r| r.by == me) {
                    return Ok(Err(ApiError::conflict(
                        "already_reported",
                        "you have already reported this comment",
                    )));
                }
                comment.reports.push(ReasonedAct {
                    by: me,
                    at: clock::now().to_string(),
                    reason: input.reason,
                });
                put_record(tx, COMMENTS, comment.id.as_str(), &comment)?;
                Ok(Ok(comment))
            })
        })
        .await??;
    let officer = subject
        .member
        .as_ref()
        .is_some_and(|m| m.role == Role::Officer);
    Ok(axum::Json(comment_view(
        &updated,
        &caller.account.id,
        officer,
    )))
}

#[utoipa::path(post, path = "/comments/{comment}/hide", request_body = ReasonInput,
    params(("comment" = String, Path, description = "Comment id")),
    responses((status = 200, description = "Hidden with the reason; the note stays in the thread and the audit log"),
              (status = 403, description = "Only officers hide"), (status = 404),
              (status = 409, description = "`already_hidden`"), (status = 422, description = "`missing_field`: a reason is required")))]
async fn hide(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json> {
    let (_, subject) = load_comment(&state, &caller, &id).await?;
    if !subject
        .member
        .as_ref()
        .is_some_and(|m| m.role == Role::Officer)
    {
        return Err(ApiError::Forbidden(
            "only the community's officers may hide a comment".into(),
        ));
    }
    check_text("reason", &input.reason, MAX_REASON_CHARS)?;
    let me = caller.account.id.clone();
    let updated = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut comment) = get_w::<&str, CommentRecord>(tx, COMMENTS, id.as_str())?
                else {
                    return Ok(Err(ApiError::NotFound("comment")));
                };
                if comment.hidden.is_some() {
                    return Ok(Err(ApiError::conflict(
                        "already_hidden",
                        "this comment is already hidden",
                    )));
                }
                let at = clock::now().to_string();
                comment.hidden = Some(ReasonedAct {
                    by: me.clone(),
                    at: at.clone(),
                    reason: input.reason.clone(),
                });
                put_record(tx, COMMENTS, comment.id.as_str(), &comment)?;
                audit(
                    tx,
                    &comment.community,
                    &me,
                    "hide_comment",
                    json!({"comment": comment.id, "subject": comment.subject, "reason": input.reason}),
                    &at,
                )?;
                Ok(Ok(comment))
            })
        })
        .await??;
    if subject.public {
        state.hub.announce(
            &subject.community,
            json!({"type": "comment_hidden", "subject": subject.key, "comment": updated.id,
                   "reason": updated.hidden.as_ref().map(|h| h.reason.clone())}),
        );
    }
    Ok(axum::Json(comment_view(&updated, &caller.account.id, true)))
}
