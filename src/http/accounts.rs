//! Accounts and sessions: signing in and out, "who am I", residents joining with an activation
//! code, and accounts created by a platform admin. Password hashes run through the bounded
//! hasher in `auth`, so a flood of sign-ins is answered 429 instead of slowing voting.

use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{MaybeSignedIn, SignedIn, check_same_origin};
use super::ops::ClientAddr;
use super::{ApiError, ApiJson, AppState};
use crate::auth::activation::{code_key, normalize};
use crate::auth::limit::Refused;
use crate::auth::password::HashError;
use crate::auth::session::{self, COOKIE};
use crate::auth::{CredentialError, Login, PASSWORD_CHARS, Password, insert_account};
use crate::clock;
use crate::store::records::{
    AccountRecord, ActivationRecord, CommunityRecord, MembershipRecord, Role, RollRecord,
};
use crate::store::tables::*;
use crate::store::{audit, get as get_record, get_w, put};

type ApiResult<T> = Result<T, ApiError>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session", post(login).delete(logout).get(session_state))
        .route("/me", get(me))
        .route("/activate", post(activate))
        .route("/accounts", post(create_account))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(login, logout, session_state, me, activate, create_account),
    components(schemas(
        LoginInput, SessionView, SessionStateView, AccountView, MeView, MembershipView, ActivateInput,
        ActivatedView, AccountInput, Role
    )),
    tags((name = "accounts", description = "Sign-in, sessions, activation codes, accounts"))
)]
pub struct AccountsApi;

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => ApiError::TooManyRequests(e.to_string()),
            HashError::Failed(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(e: Refused) -> Self {
        ApiError::TooManyRequests(e.to_string())
    }
}

impl From<CredentialError> for ApiError {
    fn from(e: CredentialError) -> Self {
        let code = match e {
            CredentialError::BadLogin => "bad_login",
            CredentialError::BadPassword => "bad_password",
        };
        ApiError::invalid(code, e.to_string())
    }
}

/// Signing in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub login: String,
    pub password: String,
}

/// An account as its owner and admins see it (never the password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub login: String,
    pub is_admin: bool,
    pub created_at: String,
}

impl From<&AccountRecord> for AccountView {
    fn from(a: &AccountRecord) -> Self {
        Self {
            id: a.id.clone(),
            login: a.login.clone(),
            is_admin: a.is_admin,
            created_at: a.created_at.clone(),
        }
    }
}

/// A new session. Browsers use the `yishi_session` cookie set alongside; other clients send
/// `Authorization: Bearer <token>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
    pub account: AccountView,
}

/// One community the caller belongs to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembershipView {
    pub community: String,
    pub community_name: String,
    pub role: Role,
    /// The roll key the caller votes as (voters only).
    pub voter: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub account: AccountView,
    pub is_admin: bool,
    pub memberships: Vec<MembershipView>,
}

/// Joining with a printed activation code, choosing one's own login and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateInput {
    /// As printed (`K7QM-4XPA-9T`); case, spaces and dashes do not matter.
    pub code: String,
    pub login: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivatedView {
    pub token: String,
    pub expires_at: String,
    pub account: AccountView,
    pub membership: MembershipView,
}

/// An account created by a platform admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    pub login: String,
    pub password: String,
    #[serde(default)]
    pub is_admin: bool,
}

/// Refuses a sign-in or activation sent from another site's page. Requests without `Origin` or
/// `Sec-Fetch-Site` (API clients, curl) pass: without a session there is nothing to ride on.
fn check_origin_if_any(parts: &Parts, state: &AppState) -> ApiResult<()> {
    if parts.headers.contains_key(header::ORIGIN) || parts.headers.contains_key("sec-fetch-site") {
        check_same_origin(parts, &state.config.server.public_origin)?;
    }
    Ok(())
}

/// The `Set-Cookie` value for a session token; an empty token with `max_age` 0 clears it.
fn session_cookie(state: &AppState, token: &str, max_age: u64) -> HeaderValue {
    let secure = if state.config.auth.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).expect("session tokens are hex")
}

/// Starts a session and answers with it: the cookie for browsers, the token in the body.
async fn start_session<T: Serialize>(
    state: &AppState,
    account: &str,
    status: StatusCode,
    body: impl FnOnce(String, String) -> T,
) -> ApiResult<Response> {
    let hours = state.config.auth.session_hours;
    let now = clock::now();
    let id = account.to_owned();
    let token = state
        .store
        .call(move |s| session::create(s, &id, now, hours))
        .await?;
    let expires_at = now
        .checked_add(jiff::SignedDuration::from_hours(
            i64::try_from(hours).unwrap_or(i64::MAX / 3600),
        ))
        .unwrap_or(jiff::Timestamp::MAX)
        .to_string();
    let cookie = session_cookie(state, &token, hours.saturating_mul(3600));
    let mut response = (status, ApiJson(body(token, expires_at))).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

async fn account_by_login(state: &AppState, login: &Login) -> ApiResult<Option<AccountRecord>> {
    let login = login.as_str().to_owned();
    Ok(state
        .store
        .call(move |s| {
            s.read(|tx| {
                let logins = tx.open_table(LOGINS)?;
                let Some(id) = logins.get(login.as_str())? else {
                    return Ok(None);
                };
                get_record(tx, ACCOUNTS, id.value())
            })
        })
        .await?)
}

#[utoipa::path(post, path = "/session", tag = "accounts", request_body = LoginInput,
    responses(
        (status = 200, body = SessionView, description = "Signed in; sets the `yishi_session` cookie"),
        (status = 401, description = "`bad_credentials`: wrong login or password"),
        (status = 403, description = "Sent from another site's page"),
        (status = 429, description = "Too many attempts for this account or address, or the server is busy hashing"),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    parts: Parts,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    check_origin_if_any(&parts, &state)?;
    let login = Login::parse(&input.login).ok();
    state
        .auth
        .limiter
        .attempt(login.as_ref().map(Login::as_str), client, Instant::now())?;
    // No account has a malformed login or an over-long password: refuse without hashing.
    let hashable = input.password.chars().count() <= PASSWORD_CHARS.1;
    let Some(login) = login.filter(|_| hashable) else {
        return Err(ApiError::BadCredentials);
    };
    let account = account_by_login(&state, &login).await?;
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let matches = state.auth.passwords.verify(input.password, stored).await?;
    let account = match account {
        Some(account) if matches => account,
        _ => return Err(ApiError::BadCredentials),
    };
    let view = AccountView::from(&account);
    start_session(&state, &account.id, StatusCode::OK, |token, expires_at| {
        SessionView {
            token,
            expires_at,
            account: view,
        }
    })
    .await
}

#[utoipa::path(delete, path = "/session", tag = "accounts",
    responses((status = 204, description = "Signed out; the cookie is cleared"), (status = 401)))]
async fn logout(State(state): State<AppState>, caller: SignedIn) -> ApiResult<Response> {
    let token = caller.token.clone();
    state.store.call(move |s| session::end(s, &token)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}

/// The communities an account belongs to, with names and roles.
pub(crate) async fn memberships_of(
    state: &AppState,
    account: &str,
) -> ApiResult<Vec<MembershipView>> {
    let account = account.to_owned();
    Ok(state
        .store
        .call(move |s| {
            s.read(|tx| {
                let index = tx.open_table(MEMBERSHIPS)?;
                let mut views = Vec::new();
                for item in index.range((account.as_str(), "")..)? {
                    let (key, _) = item?;
                    let (holder, community) = key.value();
                    if holder != account {
                        break;
                    }
                    let member: Option<MembershipRecord> =
                        get_record(tx, MEMBERS, (community, account.as_str()))?;
                    let record: Option<CommunityRecord> = get_record(tx, COMMUNITIES, community)?;
                    if let (Some(member), Some(record)) = (member, record) {
                        views.push(MembershipView {
                            community: record.id,
                            community_name: record.name,
                            role: member.role,
                            voter: member.voter,
                        });
                    }
                }
                Ok(views)
            })
        })
        .await?)
}

/// Whether the caller is signed in; never 401, so the web app can ask on every start.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionStateView {
    pub signed_in: bool,
    /// The caller, when signed in (as `GET /me`).
    pub me: Option<MeView>,
}

#[utoipa::path(get, path = "/session", tag = "accounts",
    responses((status = 200, body = SessionStateView, description = "Signed in or not, and who")))]
async fn session_state(
    State(state): State<AppState>,
    MaybeSignedIn(caller): MaybeSignedIn,
) -> ApiResult<ApiJson<SessionStateView>> {
    let Some(caller) = caller else {
        return Ok(ApiJson(SessionStateView {
            signed_in: false,
            me: None,
        }));
    };
    let memberships = memberships_of(&state, &caller.account.id).await?;
    Ok(ApiJson(SessionStateView {
        signed_in: true,
        me: Some(MeView {
            account: AccountView::from(&caller.account),
            is_admin: caller.account.is_admin,
            memberships,
        }),
    }))
}

#[utoipa::path(get, path = "/me", tag = "accounts",
    responses((status = 200, body = MeView), (status = 401)))]
async fn me(State(state): State<AppState>, caller: SignedIn) -> ApiResult<ApiJson<MeView>> {
    let memberships = memberships_of(&state, &caller.account.id).await?;
    Ok(ApiJson(MeView {
        account: AccountView::from(&caller.account),
        is_admin: caller.account.is_admin,
        memberships,
    }))
}

/// What a code says about whether it can be used now.
fn check_activation(record: Option<&ActivationRecord>, now: jiff::Timestamp) -> ApiResult<()> {
    let Some(record) = record else {
        return Err(bad_code());
    };
    if record.used_by.is_some() {
        return Err(ApiError::conflict(
            "activation_code_used",
            "this activation code has already been used; ask an officer for a new one if it was not you",
        ));
    }
    let live = record
        .expires_at
        .parse::<jiff::Timestamp>()
        .is_ok_and(|expires| now < expires);
    if !live {
        return Err(ApiError::invalid(
            "activation_code_expired",
            "this activation code has expired; ask an officer for a new one",
        ));
    }
    Ok(())
}

fn bad_code() -> ApiError {
    ApiError::invalid(
        "bad_activation_code",
        "this is not a valid activation code; check it against the printed card",
    )
}

fn login_taken(login: &Login) -> ApiError {
    ApiError::conflict(
        "login_taken",
        format!("the login `{login}` is taken; choose another"),
    )
}

fn voter_taken() -> ApiError {
    ApiError::conflict(
        "voter_taken",
        "this voter already has an account; sign in with it, or ask an officer",
    )
}

#[utoipa::path(post, path = "/activate", tag = "accounts", request_body = ActivateInput,
    responses(
        (status = 201, body = ActivatedView, description = "Account created and signed in; sets the session cookie"),
        (status = 409, description = "`activation_code_used`, `login_taken` or `voter_taken`"),
        (status = 422, description = "`bad_activation_code`, `activation_code_expired`, `not_on_roll`, `bad_login` or `bad_password`"),
        (status = 429, description = "Too many attempts from this address, or the server is busy"),
    ))]
async fn activate(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    parts: Parts,
    ApiJson(input): ApiJson<ActivateInput>,
) -> ApiResult<Response> {
    check_origin_if_any(&parts, &state)?;
    // Guessing codes is a login attempt like any other for the address.
    state.auth.limiter.attempt(None, client, Instant::now())?;
    if input.code.chars().count() > 64 {
        return Err(bad_code());
    }
    let code = normalize(&input.code).ok_or_else(bad_code)?;
    let login = Login::parse(&input.login)?;
    let password = Password::parse(&input.password)?;
    let key = code_key(&code);
    let now = clock::now();

    // Everything that can be refused is checked before the (costly) hash …
    let (found, probe) = (key.clone(), login.clone());
    let activation = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let record: Option<ActivationRecord> = get_record(tx, ACTIVATIONS, found.as_str())?;
                if let Err(e) = check_activation(record.as_ref(), now) {
                    return Ok(Err(e));
                }
                let record = record.expect("checked above");
                if tx.open_table(LOGINS)?.get(probe.as_str())?.is_some() {
                    return Ok(Err(login_taken(&probe)));
                }
                let held = tx
                    .open_table(VOTER_ACCOUNTS)?
                    .get((record.community.as_str(), record.voter.as_str()))?
                    .is_some();
                if held {
                    return Ok(Err(voter_taken()));
                }
                let roll: Option<RollRecord> = get_record(tx, ROLLS, record.community.as_str())?;
                let on_roll = roll.is_some_and(|r| r.voters.iter().any(|v| v.key == record.voter));
                if !on_roll {
                    return Ok(Err(ApiError::invalid(
                        "not_on_roll",
                        "the voter this code was printed for is no longer on the roll; ask an officer",
                    )));
                }
                Ok(Ok(record))
            })
        })
        .await??;
    let password_hash = state.auth.passwords.hash(password).await?;

    // … and again, cheaply, where it counts: in the transaction that uses the code.
    let stamp = clock::now().to_string();
    let created = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let record: Option<ActivationRecord> = get_w(tx, ACTIVATIONS, key.as_str())?;
                if let Err(e) = check_activation(record.as_ref(), now) {
                    return Ok(Err(e));
                }
                let mut record = record.expect("checked above");
                let community = activation.community.clone();
                let voter = activation.voter.clone();
                let mut holders = tx.open_table(VOTER_ACCOUNTS)?;
                if holders.get((community.as_str(), voter.as_str()))?.is_some() {
                    return Ok(Err(voter_taken()));
                }
                let Some(account) = insert_account(tx, &login, password_hash, false, &stamp)?
                else {
                    return Ok(Err(login_taken(&login)));
                };
                holders.insert((community.as_str(), voter.as_str()), account.id.as_str())?;
                drop(holders);
                let member = MembershipRecord {
                    community: community.clone(),
                    account: account.id.clone(),
                    role: Role::Voter,
                    voter: Some(voter.clone()),
                    since: stamp.clone(),
                };
                put(
                    tx,
                    MEMBERS,
                    (community.as_str(), account.id.as_str()),
                    &member,
                )?;
                tx.open_table(MEMBERSHIPS)?.insert(
                    (account.id.as_str(), community.as_str()),
                    Role::Voter.as_str(),
                )?;
                record.used_by = Some(account.id.clone());
                put(tx, ACTIVATIONS, key.as_str(), &record)?;
                audit(
                    tx,
                    &community,
                    &account.id,
                    "account.activate",
                    serde_json::json!({"voter": voter, "login": account.login}),
                    &stamp,
                )?;
                let name = get_w::<&str, CommunityRecord>(tx, COMMUNITIES, community.as_str())?
                    .map(|c| c.name)
                    .unwrap_or_default();
                Ok(Ok((account, member, name)))
            })
        })
        .await??;
    let (account, member, community_name) = created;
    let view = AccountView::from(&account);
    let membership = MembershipView {
        community: member.community,
        community_name,
        role: member.role,
        voter: member.voter,
    };
    start_session(
        &state,
        &account.id,
        StatusCode::CREATED,
        |token, expires_at| ActivatedView {
            token,
            expires_at,
            account: view,
            membership,
        },
    )
    .await
}

#[utoipa::path(post, path = "/accounts", tag = "accounts", request_body = AccountInput,
    responses(
        (status = 201, body = AccountView, description = "Account created"),
        (status = 403, description = "Only platform admins create accounts this way"),
        (status = 409, description = "`login_taken`"),
        (status = 422, description = "`bad_login` or `bad_password`"),
        (status = 429, description = "The server is busy hashing; try again"),
    ))]
async fn create_account(
    State(state): State<AppState>,
    caller: SignedIn,
    ApiJson(input): ApiJson<AccountInput>,
) -> ApiResult<(StatusCode, ApiJson<AccountView>)> {
    if !caller.account.is_admin {
        return Err(ApiError::Forbidden(
            "only platform admins may create accounts; residents join with an activation code"
                .into(),
        ));
    }
    let login = Login::parse(&input.login)?;
    let password = Password::parse(&input.password)?;
    if account_by_login(&state, &login).await?.is_some() {
        return Err(login_taken(&login));
    }
    let password_hash = state.auth.passwords.hash(password).await?;
    let stamp = clock::now().to_string();
    let is_admin = input.is_admin;
    let account = state
        .store
        .call(move |s| {
            s.write(|tx| {
                Ok(insert_account(tx, &login, password_hash, is_admin, &stamp)?
                    .ok_or_else(|| login_taken(&login)))
            })
        })
        .await??;
    Ok((StatusCode::CREATED, ApiJson(AccountView::from(&account))))
}
