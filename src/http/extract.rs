//! Who is calling, as extractors: a handler that takes `SignedIn` cannot forget to check the
//! session, and cookie-authenticated state changes must come from our own origin (CSRF).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};

use super::{ApiError, AppState};
use crate::auth::session::{self, COOKIE};
use crate::clock;
use crate::store::records::{AccountRecord, CommunityRecord, MembershipRecord, Role};
use crate::store::tables::{COMMUNITIES, MEMBERS};
use crate::store::{Store, get};

/// A caller with a live session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: AccountRecord,
    /// The raw token (to end the session on logout).
    pub token: String,
}

/// A caller who may or may not be signed in.
#[derive(Debug, Clone)]
pub struct MaybeSignedIn(pub Option<SignedIn>);

/// The session token from `Authorization: Bearer …` or the session cookie, and which it was.
fn token(parts: &Parts) -> Option<(String, bool)> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION)
        && let Ok(text) = value.to_str()
        && let Some(token) = text.strip_prefix("Bearer ")
    {
        return Some((token.trim().to_owned(), false));
    }
    for value in parts.headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=')
                && name == COOKIE
            {
                return Some((value.to_owned(), true));
            }
        }
    }
    None
}

/// Refuses a cookie-authenticated state change that does not come from our own pages.
pub fn check_same_origin(parts: &Parts, public_origin: &str) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let headers = &parts.headers;
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return if site == "same-origin" || site == "none" {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "cross-site request refused: state changes must come from Yishi's own pages".into(),
            ))
        };
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let Some(origin) = origin else {
        return Err(ApiError::Forbidden(
            "a state change with a session cookie needs an `Origin` header".into(),
        ));
    };
    if origin_matches(origin, parts, public_origin) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "cross-site request from `{origin}` refused"
        )))
    }
}

/// Whether `origin` is this server: the configured public origin, or the request's own host.
pub fn origin_matches(origin: &str, parts: &Parts, public_origin: &str) -> bool {
    if !public_origin.is_empty() {
        return origin.trim_end_matches('/') == public_origin.trim_end_matches('/');
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bare = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    !host.is_empty() && bare == host
}

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some((token, via_cookie)) = token(parts) else {
            return Ok(Self(None));
        };
        let store = state.store.clone();
        let lookup = token.clone();
        let account = store
            .call(move |s| session::lookup(s, &lookup, clock::now()))
            .await?;
        let Some(account) = account else {
            return Ok(Self(None));
        };
        if via_cookie {
            check_same_origin(parts, &state.config.server.public_origin)?;
        }
        Ok(Self(Some(SignedIn { account, token })))
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        MaybeSignedIn::from_request_parts(parts, state)
            .await?
            .0
            .ok_or(ApiError::Unauthenticated)
    }
}

/// The caller's membership in a community, if any.
pub async fn membership(
    store: &Store,
    community: &str,
    account: &str,
) -> Result<Option<MembershipRecord>, ApiError> {
    let (community, account) = (community.to_owned(), account.to_owned());
    Ok(store
        .call(move |s| s.read(|tx| get(tx, MEMBERS, (community.as_str(), account.as_str()))))
        .await?)
}

/// Requires one of `roles` in `community`. Someone with no membership learns nothing about the
/// community (404); a member with the wrong role is told so (403). Platform admins pass when
/// `admin_ok`; otherwise, since they see every community anyway, they are told 403 (404 only
/// when there is no such community).
pub async fn require_role(
    state: &AppState,
    caller: &SignedIn,
    community: &str,
    roles: &[Role],
    admin_ok: bool,
) -> Result<Option<MembershipRecord>, ApiError> {
    let member = membership(&state.store, community, &caller.account.id).await?;
    if caller.account.is_admin {
        if admin_ok {
            return Ok(member);
        }
        if member.is_none() {
            let id = community.to_owned();
            let exists = state
                .store
                .call(move |s| {
                    s.read(|tx| {
                        Ok(get::<&str, CommunityRecord>(tx, COMMUNITIES, id.as_str())?.is_some())
                    })
                })
                .await?;
            return Err(if exists {
                ApiError::Forbidden(
                    "only the community's officers may do this; a platform admin is not one of them"
                        .into(),
                )
            } else {
                ApiError::NotFound("community")
            });
        }
    }
    match member {
        None => Err(ApiError::NotFound("community")),
        Some(m) if roles.contains(&m.role) => Ok(Some(m)),
        Some(m) => Err(ApiError::Forbidden(format!(
            "a {} of this community may not do this",
            m.role.as_str()
        ))),
    }
}
