//! Certified results: community signing keys, attestations, publishing the signed certificate,
//! and the public pages anyone can read without an account (`/r/{p}`, the certificate JSON, the
//! ledger and receipts).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use ed25519_dalek::SigningKey;
use redb::{ReadableTable, WriteTransaction};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::{check_len, check_text};
use super::extract::{SignedIn, require_role};
use super::{ApiError, ApiJson, AppState};
use crate::clock;
use crate::domain::certificate::{
    self, Attestation, Certificate, CommunityPart, ElectoratePart, Extension, LedgerPart,
    ProposalPart, Times, fingerprint,
};
use crate::domain::ledger::{Entry, OpeningRecord};
use crate::domain::lifecycle::ProposalState;
use crate::domain::rule::Rule;
use crate::store::records::{CommunityRecord, KeyRecord, ProposalRecord, Role, Secrecy};
use crate::store::tables::*;
use crate::store::{StoreError, StoreResult, audit, decode, get as get_record, get_w, put};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/communities/{community}/keys", get(keys))
        .route("/communities/{community}/keys/rotate", post(rotate_key))
        .route("/proposals/{proposal}/attestations", post(attest))
        .route("/proposals/{proposal}/publish", post(publish))
        .route("/proposals/{proposal}/certificate", get(certificate_json))
}

/// Routes outside `/api/v1`: the printable public result page.
pub fn pages() -> Router<AppState> {
    Router::new().route("/r/{proposal}", get(result_page))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(keys, rotate_key, attest, publish, certificate_json),
    components(schemas(AttestationInput, PublishInput))
)]
pub struct ResultsApi;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationInput {
    /// Who checked the count.
    pub name: String,
    /// Their role, e.g. "resident representative", "street office".
    pub role: String,
    pub statement: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    /// A short statement of the outcome in the council's own words.
    #[serde(default)]
    pub outcome_statement: String,
}

type ApiResult<T> = Result<T, ApiError>;

/// When a key was made (RFC 3339 strings do not sort by time when their fractions differ).
fn created(key: &KeyRecord) -> jiff::Timestamp {
    key.created_at.parse().unwrap_or(jiff::Timestamp::MIN)
}

/// The community's active signing key, created on first use.
pub fn active_key(tx: &WriteTransaction, community: &str) -> StoreResult<KeyRecord> {
    let existing = {
        let table = tx.open_table(COMMUNITY_KEYS)?;
        let mut newest: Option<KeyRecord> = None;
        for item in table.range((community, "")..=(community, "\u{10ffff}"))? {
            let (_, value) = item?;
            let key: KeyRecord = decode("community_keys", value.value())?;
            if key.retired_at.is_none()
                && newest.as_ref().is_none_or(|n| created(&key) > created(n))
            {
                newest = Some(key);
            }
        }
        newest
    };
    match existing {
        Some(key) => Ok(key),
        None => new_key(tx, community),
    }
}

/// Creates a new signing key for a community (the caller retires the old one).
pub fn new_key(tx: &WriteTransaction, community: &str) -> StoreResult<KeyRecord> {
    let secret = clock::random_bytes::<32>();
    let key = SigningKey::from_bytes(&secret);
    let public = key.verifying_key().to_bytes();
    let record = KeyRecord {
        fingerprint: fingerprint(&public),
        public_key: hex::encode(public),
        secret_key: hex::encode(secret),
        created_at: clock::now().to_string(),
        retired_at: None,
    };
    put(
        tx,
        COMMUNITY_KEYS,
        (community, record.fingerprint.as_str()),
        &record,
    )?;
    Ok(record)
}

fn signing_key(record: &KeyRecord) -> StoreResult<SigningKey> {
    let bytes: [u8; 32] = hex::decode(&record.secret_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt {
            table: "community_keys".into(),
            message: format!("key {} unreadable", record.fingerprint),
        })?;
    Ok(SigningKey::from_bytes(&bytes))
}

#[utoipa::path(get, path = "/communities/{community}/keys",
    responses((status = 200, description = "Public keys, active and retired (public)")))]
async fn keys(
    State(state): State<AppState>,
    Path(community): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let list = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let exists = get_record::<&str, CommunityRecord>(tx, COMMUNITIES, community.as_str())?.is_some();
                let mut keys = Vec::new();
                for item in tx.open_table(COMMUNITY_KEYS)?.range((community.as_str(), "")..=(community.as_str(), "\u{10ffff}"))? {
                    let (_, value) = item?;
                    let key: KeyRecord = decode("community_keys", value.value())?;
                    keys.push(json!({"fingerprint": key.fingerprint, "public_key": key.public_key,
                        "algorithm": "ed25519", "created_at": key.created_at, "retired_at": key.retired_at}));
                }
                Ok(exists.then_some(keys))
            })
        })
        .await?
        .ok_or(ApiError::NotFound("community"))?;
    Ok(axum::Json(json!({"keys": list})))
}

#[utoipa::path(post, path = "/communities/{community}/keys/rotate",
    responses((status = 200, description = "A new active key; the old one stays for checking old certificates")))]
async fn rotate_key(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(community): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    require_role(&state, &caller, &community, &[Role::Officer], true).await?;
    let actor = caller.account.id.clone();
    let key = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let now = clock::now().to_string();
                let mut old = active_key(tx, &community)?;
                old.retired_at = Some(now.clone());
                put(
                    tx,
                    COMMUNITY_KEYS,
                    (community.as_str(), old.fingerprint.as_str()),
                    &old,
                )?;
                let new = new_key(tx, &community)?;
                audit(
                    tx,
                    &community,
                    &actor,
                    "rotate_key",
                    json!({"retired": old.fingerprint, "active": new.fingerprint}),
                    &now,
                )?;
                Ok(new)
            })
        })
        .await?;
    Ok(axum::Json(
        json!({"fingerprint": key.fingerprint, "public_key": key.public_key}),
    ))
}

async fn officer_proposal(
    state: &AppState,
    caller: &SignedIn,
    id: &str,
) -> ApiResult<ProposalRecord> {
    let key = id.to_owned();
    let record: ProposalRecord = state
        .store
        .call(move |s| s.read(|tx| get_record(tx, PROPOSALS, key.as_str())))
        .await?
        .ok_or(ApiError::NotFound("proposal"))?;
    require_role(state, caller, &record.community, &[Role::Officer], false).await?;
    Ok(record)
}

#[utoipa::path(post, path = "/proposals/{proposal}/attestations", request_body = AttestationInput,
    responses((status = 201, description = "Attestation recorded"), (status = 409, description = "Not closed, or already published")))]
async fn attest(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AttestationInput>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    check_text("name", &input.name, 100)?;
    check_text("role", &input.role, 100)?;
    check_text("statement", &input.statement, 1000)?;
    officer_proposal(&state, &caller, &id).await?;
    let actor = caller.account.id.clone();
    let attestations = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut record) = get_w::<&str, ProposalRecord>(tx, PROPOSALS, id.as_str())? else {
                    return Ok(Err(ApiError::NotFound("proposal")));
                };
                if record.state != ProposalState::Closed {
                    return Ok(Err(ApiError::conflict("wrong_state",
                        "attestations are added after voting closes and before the result is published")));
                }
                if record.attestations.len() >= 20 {
                    return Ok(Err(ApiError::conflict("too_many", "at most 20 attestations")));
                }
                let now = clock::now().to_string();
                record.attestations.push(Attestation { name: input.name, role: input.role, statement: input.statement, at: now.clone() });
                put(tx, PROPOSALS, record.id.as_str(), &record)?;
                audit(tx, &record.community, &actor, "attest", json!({"proposal": record.id, "count": record.attestations.len()}), &now)?;
                Ok(Ok(record.attestations))
            })
        })
        .await??;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"attestations": attestations})),
    ))
}

/// Builds, signs and self-checks the certificate of a closed proposal.
fn build_certificate(
    tx: &WriteTransaction,
    record: &ProposalRecord,
    outcome_statement: String,
    now: &str,
) -> StoreResult<Result<Certificate, ApiError>> {
    let corrupt = |message: &str| StoreError::Corrupt {
        table: "proposals".into(),
        message: message.to_owned(),
    };
    let community: CommunityRecord = get_w(tx, COMMUNITIES, record.community.as_str())?
        .ok_or_else(|| corrupt("community missing"))?;
    let result = record
        .result
        .clone()
        .ok_or_else(|| corrupt("closed without a result"))?;
    let opening: OpeningRecord = record
        .opening
        .clone()
        .and_then(|o| serde_json::from_value(o).ok())
        .ok_or_else(|| corrupt("opening record missing"))?;
    let mut entries = Vec::new();
    for item in tx
        .open_table(LEDGER)?
        .range((record.id.as_str(), 1)..=(record.id.as_str(), u64::MAX))?
    {
        let (_, value) = item?;
        entries.push(decode::<Entry>("ledger", value.value())?);
    }
    let electorate: ElectoratePart = ElectoratePart {
        hash: record.electorate_hash.clone().unwrap_or_default(),
        headcount: result["electorate"]["headcount"].as_u64().unwrap_or(0),
        weights: serde_json::from_value(result["electorate"]["weights"].clone())
            .unwrap_or_default(),
    };
    let rule = Rule::try_from(record.rule.clone()).map_err(|e| corrupt(&e.to_string()))?;
    // An election's count, ranking and notice come from its own recount (issue 8).
    let (tally_json, conditions, outcome, level, election, summary) = if record.election.is_some() {
        let (count, part, summary) = match super::elections::certificate_parts(tx, record)? {
            Ok(parts) => parts,
            Err(e) => return Ok(Err(e)),
        };
        let outcome = count["outcome"]
            .as_str()
            .unwrap_or("none_elected")
            .to_owned();
        (
            count["tally"].clone(),
            count["conditions"].clone(),
            outcome,
            None,
            Some(part),
            summary,
        )
    } else {
        let (columns, tally) =
            match certificate::recount(&electorate, record.allow_change, &entries) {
                Ok(counted) => counted,
                Err(e) => {
                    return Ok(Err(ApiError::Internal(format!(
                        "ledger recount failed: {e}"
                    ))));
                }
            };
        let outcome = result["outcome"].as_str().unwrap_or("rejected").to_owned();
        (
            result["tally"].clone(),
            result["conditions"].clone(),
            outcome.clone(),
            result["level"].as_str().map(str::to_owned),
            None,
            certificate::summary(&rule, &columns, &tally, &outcome),
        )
    };
    let mut cert = Certificate {
        format: certificate::FORMAT.into(),
        community: CommunityPart {
            id: community.id,
            name: community.name,
            timezone: community.timezone,
        },
        proposal: ProposalPart {
            id: record.id.clone(),
            title: record.title.clone(),
            text_hash: record.text_hash.clone().unwrap_or_default(),
            question: record.question.clone(),
            secrecy: match record.secrecy {
                Secrecy::Open => "open",
                Secrecy::Secret => "secret",
            }
            .into(),
            allow_change: record.allow_change,
        },
        rule: serde_json::to_value(rule.to_spec()).expect("serialises"),
        electorate,
        tally: tally_json,
        conditions,
        level,
        election,
        summary,
        outcome,
        ledger: LedgerPart {
            opening_hash: record.opening_hash.clone().unwrap_or_default(),
            opening,
            head: record.ledger_head.clone().unwrap_or_default(),
            length: record.ledger_len,
        },
        times: Times {
            opened_at: record.opened_at.clone().unwrap_or_default(),
            extensions: record
                .extensions
                .iter()
                .map(|e| Extension {
                    at: e.at.clone(),
                    from: e.from.clone(),
                    to: e.to.clone(),
                    reason: e.reason.clone(),
                })
                .collect(),
            closed_at: record.closed_at.clone().unwrap_or_default(),
            published_at: now.to_owned(),
        },
        attestations: record.attestations.clone(),
        outcome_statement,
        key: certificate::KeyPart {
            algorithm: String::new(),
            public_key: String::new(),
            fingerprint: String::new(),
        },
        signature: String::new(),
    };
    let key = active_key(tx, &record.community)?;
    cert.sign(&signing_key(&key)?);
    // Never publish what the verifier would refuse.
    if let Err(e) = certificate::verify(&cert, &entries, Some(&key.public_key)) {
        return Ok(Err(ApiError::Internal(format!(
            "certificate self-check failed: {e}"
        ))));
    }
    Ok(Ok(cert))
}

#[utoipa::path(post, path = "/proposals/{proposal}/publish", request_body = PublishInput,
    responses((status = 200, description = "The signed certificate"), (status = 409, description = "Not closed")))]
async fn publish(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PublishInput>,
) -> ApiResult<axum::Json<Certificate>> {
    check_len("outcome_statement", &input.outcome_statement, 2000)?;
    officer_proposal(&state, &caller, &id).await?;
    let actor = caller.account.id.clone();
    let (cert, community) = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let Some(mut record) = get_w::<&str, ProposalRecord>(tx, PROPOSALS, id.as_str())? else {
                    return Ok(Err(ApiError::NotFound("proposal")));
                };
                let now = clock::now();
                let closes = record.closes_at.parse().unwrap_or(jiff::Timestamp::MAX);
                if let Err(e) = crate::domain::lifecycle::transition(record.state, crate::domain::lifecycle::Transition::Certify, now, closes, false) {
                    return Ok(Err(ApiError::conflict("wrong_state", e.to_string())));
                }
                let at = now.to_string();
                let cert = match build_certificate(tx, &record, input.outcome_statement, &at)? {
                    Ok(cert) => cert,
                    Err(e) => return Ok(Err(e)),
                };
                record.state = ProposalState::Certified;
                put(tx, PROPOSALS, record.id.as_str(), &record)?;
                put(tx, CERTIFICATES, record.id.as_str(), &cert)?;
                audit(tx, &record.community, &actor, "publish",
                    json!({"proposal": record.id, "outcome": cert.outcome, "key": cert.key.fingerprint}), &at)?;
                Ok(Ok((cert, record.community)))
            })
        })
        .await??;
    state.hub.announce(&community, json!({"type": "certified", "proposal": cert.proposal.id, "title": cert.proposal.title, "outcome": cert.outcome}));
    Ok(axum::Json(cert))
}

async fn stored_certificate(state: &AppState, id: String) -> ApiResult<Certificate> {
    state
        .store
        .call(move |s| s.read(|tx| get_record(tx, CERTIFICATES, id.as_str())))
        .await?
        .ok_or(ApiError::NotFound("certificate"))
}

#[utoipa::path(get, path = "/proposals/{proposal}/certificate",
    responses((status = 200, description = "The signed certificate (public once published)"), (status = 404)))]
async fn certificate_json(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Certificate>> {
    Ok(axum::Json(stored_certificate(&state, id).await?))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The public address of a page: the configured origin, or the request's own host.
pub fn public_url(state: &AppState, headers: &HeaderMap, path: &str) -> String {
    let origin = &state.config.server.public_origin;
    if !origin.is_empty() {
        return format!("{}{path}", origin.trim_end_matches('/'));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{path}")
}

async fn result_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let cert = match stored_certificate(&state, id.clone()).await {
        Ok(cert) => cert,
        Err(e) => return e.into_response(),
    };
    let url = public_url(&state, &headers, &format!("/r/{id}"));
    let qr = qrcode::QrCode::new(url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(160, 160)
                .build()
        })
        .unwrap_or_default();
    let verdict = |lang: &str| match (cert.outcome.as_str(), lang) {
        ("passed", "zh") => "通过",
        ("passed", _) => "PASSED",
        ("no_quorum", "zh") => "未达法定人数",
        ("no_quorum", _) => "NO QUORUM",
        ("elected", "zh") => "选举产生",
        ("elected", _) => "ELECTED",
        ("none_elected", "zh") => "无人当选",
        ("none_elected", _) => "NOBODY ELECTED",
        (_, "zh") => "未通过",
        _ => "REJECTED",
    };
    let mut rows = String::new();
    for c in cert.conditions.as_array().into_iter().flatten() {
        let field = |k: &str| match &c[k] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&field("text")),
            escape(&field("numerator")),
            escape(&field("base")),
            escape(&field("fraction")),
            if c["holds"] == json!(true) {
                "✓"
            } else {
                "✗"
            }
        ));
    }
    let ranking = cert.election.as_ref().map_or(String::new(), |e| {
        let mut rows = String::new();
        for c in e.result["candidates"].as_array().into_iter().flatten() {
            let standing = match (c["standing"].as_str(), &c["alternate_order"]) {
                (Some("elected"), _) => "当选 · elected".to_owned(),
                (Some("alternate"), n) => format!("候补第{n}位 · alternate {n}"),
                (Some("not_qualified"), _) => "未达规则 · rule not met".to_owned(),
                _ => "未当选 · not elected".to_owned(),
            };
            let weights: Vec<String> = c["approvals"]["weights"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("")))
                .collect();
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c["rank"].to_string()),
                escape(c["name"].as_str().unwrap_or("")),
                escape(&c["approvals"]["headcount"].to_string()),
                escape(&weights.join(", ")),
                if c["qualifies"] == json!(true) { "✓" } else { "✗" },
                escape(&standing)
            ));
        }
        let tie = e.tie_break.as_ref().map_or(String::new(), |t| {
            format!(
                "<p>平票处理 / Tie-break: {} — {}{}</p>",
                escape(&t.method),
                escape(&t.order.join(" > ")),
                t.seed.as_ref().map_or(String::new(), |s| format!(
                    " (seed <code>{}</code>)",
                    escape(s)
                ))
            )
        });
        format!(
            "<h2>排名 / Ranking</h2><p>应选 {seats} 名，候补 {alt} 名，任期 {term} 年 / {seats} seats, {alt} alternates, term {term} years</p>\n<table><thead><tr><th>#</th><th>candidate</th><th>approvals</th><th>weights</th><th>rule</th><th>standing</th></tr></thead><tbody>{rows}</tbody></table>{tie}",
            seats = e.seats,
            alt = e.alternates,
            term = e.term_years
        )
    });
    let attestations: String = cert
        .attestations
        .iter()
        .map(|a| {
            format!(
                "<li>{} ({}) — {} <small>{}</small></li>",
                escape(&a.name),
                escape(&a.role),
                escape(&a.statement),
                escape(&a.at)
            )
        })
        .collect();
    let page = format!(
        r#"<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — 表决结果 / Result</title>
<style>
body {{ font: 16px/1.5 system-ui, "Noto Sans CJK SC", sans-serif; max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; color: #111; }}
h1 {{ font-size: 1.6rem; margin-bottom: .2rem; }} .verdict {{ font-size: 1.4rem; font-weight: 700; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; }} td, th {{ border: 1px solid #888; padding: .3rem .5rem; text-align: left; }}
code {{ word-break: break-all; font-size: .85rem; }} .qr svg {{ width: 160px; height: 160px; }}
@media print {{ a {{ color: inherit; text-decoration: none; }} }}
</style></head><body>
<header><p>{community}</p><h1>{title}</h1>
<p class="verdict">表决结果：{zh_verdict} · Result: {en_verdict}</p></header>
<section lang="zh-Hans"><h2>公告</h2><p>{zh}</p></section>
<section lang="en"><h2>Notice</h2><p>{en}</p></section>
{statement}
{ranking}
<h2>条件 / Conditions</h2>
<table><thead><tr><th>condition</th><th>numerator</th><th>base</th><th>fraction</th><th>holds</th></tr></thead><tbody>{rows}</tbody></table>
<h2>核验 / Attestations</h2><ul>{attestations}</ul>
<h2>验证 / Verification</h2>
<p>选票账本共 {len} 条，末条哈希 / Ledger of {len} entries, head <code>{head}</code>.<br>
选民名册哈希 / Electorate hash <code>{electorate}</code>; 正文哈希 / text hash <code>{text}</code>.<br>
社区公钥 / Community key ({fp}) <code>{key}</code>.<br>
<a href="/api/v1/proposals/{id}/certificate">certificate.json</a> · <a href="/api/v1/proposals/{id}/ledger">ledger.jsonl</a> —
<code>yishi verify certificate.json ledger.jsonl --key {key}</code></p>
<div class="qr" aria-label="QR code linking to this page">{qr}</div><p><small>{url}</small></p>
</body></html>"#,
        title = escape(&cert.proposal.title),
        community = escape(&cert.community.name),
        zh_verdict = verdict("zh"),
        en_verdict = verdict("en"),
        zh = escape(&cert.summary.zh),
        en = escape(&cert.summary.en),
        statement = if cert.outcome_statement.is_empty() {
            String::new()
        } else {
            format!(
                "<blockquote>{}</blockquote>",
                escape(&cert.outcome_statement)
            )
        },
        len = cert.ledger.length,
        head = escape(&cert.ledger.head),
        electorate = escape(&cert.electorate.hash),
        text = escape(&cert.proposal.text_hash),
        fp = escape(&cert.key.fingerprint),
        key = escape(&cert.key.public_key),
        id = escape(&cert.proposal.id),
        url = escape(&url)
    );
    Html(page).into_response()
}
