//! `yishi serve --demo`: seeds, once, a compound of 100 households in 105 units with realistic floor areas,
//! an officer, an observer and three residents, the road-repair vote open with some paper
//! ballots already entered, an owners' committee election in voting, a residents' petition with
//! a co-signature and a discussion — so a newcomer sees Yishi working in one command.

use std::fmt::Write as _;

use axum::body::Body;
use axum::http::{Method, Request, header};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::auth::password::{hash_blocking, params};
use crate::auth::{Login, Password, insert_account, session};
use crate::clock;
use crate::domain::ledger::Channel;
use crate::domain::roll::Roll;
use crate::domain::rule::RuleSpec;
use crate::domain::tally::Choice;
use crate::http::AppState;
use crate::store::records::{
    CommunityRecord, CostRecord, CostSplit, MembershipRecord, ProposalRecord, Role, RollRecord,
    Secrecy, Visibility,
};
use crate::store::tables::*;
use crate::store::{StoreError, audit, put};
use crate::vote::{CastRequest, Change};

/// The demo's fixed name; seeding is skipped when it exists.
pub const COMMUNITY_NAME: &str = "阳光花园小区 Sunny Garden Compound";
const DEMO_KEY: &str = "demo_community";

/// A printed demo login.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub login: &'static str,
    pub password: &'static str,
    pub who: &'static str,
}

pub const LOGINS: [DemoLogin; 6] = [
    DemoLogin {
        login: "admin",
        password: "demo-admin-2026",
        who: "platform admin",
    },
    DemoLogin {
        login: "officer",
        password: "demo-officer-2026",
        who: "council officer (居委会)",
    },
    DemoLogin {
        login: "observer",
        password: "demo-observer-2026",
        who: "observer (street office)",
    },
    DemoLogin {
        login: "wang",
        password: "demo-resident-2026",
        who: "resident, building 1, has not voted",
    },
    DemoLogin {
        login: "lijianguo",
        password: "demo-resident-2026",
        who: "resident, building 2, has not voted; raised the e-bike shed petition",
    },
    DemoLogin {
        login: "zhang",
        password: "demo-resident-2026",
        who: "resident owning three units, has not voted",
    },
];

/// The demo roll: 105 units in five buildings, 100 voters. Zhang owns three units; the developer's four
/// unsold units count as one voter.
pub fn roll_csv() -> String {
    let mut csv = String::from("voter,unit,name,phone,tags,area\n");
    let mut voter = 0;
    for building in 1..=5 {
        for floor in 1..=7 {
            for door in 1..=3 {
                let unit = format!("{building}-{floor}{door:02}");
                // Areas between 58 and 143 m², with hundredths, spread deterministically.
                let area = 5800 + ((building * 7919 + floor * 104_729 + door * 1_299_709) % 8500);
                let tag = format!("building-{building}");
                let (key, name) = match (building, floor, door) {
                    (1, 1, 1) => ("wang".to_owned(), "王秀英".to_owned()),
                    (2, 3, 2) => ("lijianguo".to_owned(), "李建国".to_owned()),
                    (3, 2, 1) | (3, 2, 2) | (4, 5, 3) => ("zhang".to_owned(), "张伟".to_owned()),
                    (5, 7, _) | (5, 6, 3) => ("developer".to_owned(), "开发商（未售）".to_owned()),
                    _ => {
                        voter += 1;
                        (format!("h{voter:03}"), format!("住户{voter:03}"))
                    }
                };
                let _ = writeln!(
                    csv,
                    "{key},{unit},{name},,{tag},{}.{:02}",
                    area / 100,
                    area % 100
                );
            }
        }
    }
    csv
}

/// Seeds the demo once; returns the logins to print.
pub async fn seed(state: &AppState) -> Result<&'static [DemoLogin], StoreError> {
    let store = state.store.clone();
    let auth = state.config.auth.clone();
    let seeded = store
        .call(move |s| {
            s.read(|tx| Ok(redb::ReadableTable::get(&tx.open_table(META)?, DEMO_KEY)?.is_some()))
        })
        .await?;
    if seeded {
        return Ok(&LOGINS);
    }
    let (community, accounts, proposal) = store
        .call(move |s| {
            let params = params(&auth).map_err(|message| StoreError::Corrupt {
                table: "config".into(),
                message,
            })?;
            let mut hashes = Vec::new();
            for login in &LOGINS {
                let password = Password::parse(login.password).expect("demo passwords are valid");
                hashes.push(hash_blocking(&params, &password).map_err(|message| {
                    StoreError::Corrupt {
                        table: "accounts".into(),
                        message,
                    }
                })?);
            }
            s.write(|tx| seed_records(tx, hashes))
        })
        .await?;
    let officer = accounts[1].clone();
    // Open through the writer, as an officer would, then enter some paper ballots.
    state
        .votes
        .change(&proposal, Change::Open, &officer)
        .await
        .map_err(|e| StoreError::Corrupt {
            table: "proposals".into(),
            message: e.to_string(),
        })?;
    let roll = Roll::from_csv(&roll_csv()).expect("the demo roll is valid");
    for (i, voter) in roll
        .voters()
        .iter()
        .enumerate()
        .filter(|(_, v)| v.key.starts_with('h'))
        .take(52)
    {
        let choice = match i % 9 {
            0 => Choice::No,
            1 => Choice::Abstain,
            _ => Choice::Yes,
        };
        state
            .votes
            .cast(CastRequest {
                proposal: proposal.clone(),
                voter: voter.key.clone(),
                choice: choice.as_str().to_owned(),
                channel: Channel::Assisted,
                idempotency_key: format!("demo-{}", voter.key),
                cast_by: officer.clone(),
                note: Some("paper: collected at the residents' meeting".into()),
                paper: true,
            })
            .await
            .map_err(|e| StoreError::Corrupt {
                table: "ballots".into(),
                message: e.to_string(),
            })?;
    }
    seed_through_the_api(state, &community, &accounts, &proposal).await?;
    tracing::info!(%community, %proposal, "demo community seeded");
    Ok(&LOGINS)
}

/// The demo's voices: an API call that failed stops the seeding with what the server said.
fn demo_failed(what: &str, message: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "demo".into(),
        message: format!("seeding the demo failed at {what}: {message}"),
    }
}

/// Calls the API in-process with a bearer token, exactly as a client would, so the demo's
/// election, petition and discussion pass the same handlers and checks as anyone's.
async fn call(
    router: &axum::Router,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> Result<Value, StoreError> {
    let request = Request::builder()
        .method(method)
        .uri(format!("/api/v1{path}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .map_err(|e| demo_failed(path, e))?;
    let response = router
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| demo_failed(path, e))?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .map_err(|e| demo_failed(path, e))?;
    if !status.is_success() {
        return Err(demo_failed(path, String::from_utf8_lossy(&bytes)));
    }
    serde_json::from_slice(&bytes).map_err(|e| demo_failed(path, e))
}

/// The committee election's candidates: name and statement (both languages).
const CANDIDATES: [(&str, &str); 7] = [
    (
        "李建国",
        "退休工程师。修路的账目我会每月公示。Retired engineer: I will post the road accounts every month.",
    ),
    (
        "王秀英",
        "在小区住了二十年，愿意为老人多跑腿。Twenty years here; I will run errands for the elderly.",
    ),
    (
        "陈静",
        "会计师，管好维修资金。Accountant: I will keep the maintenance fund in order.",
    ),
    (
        "刘洋",
        "希望加装电梯和充电棚。I want lifts and an e-bike charging shed.",
    ),
    (
        "赵敏",
        "物业合同到期前重新招标。Re-tender the property contract before it expires.",
    ),
    (
        "孙浩",
        "年轻人也该出力。Younger owners should pitch in too.",
    ),
    (
        "周婷",
        "每月一次业主开放日。An open day for owners every month.",
    ),
];

/// Seeds, as its users would through the API: the owners' committee election (created, opened,
/// with paper ballots entered by the officer), a petition raised by one resident and co-signed
/// by another, and a short discussion with the council's answers.
async fn seed_through_the_api(
    state: &AppState,
    community: &str,
    accounts: &[String],
    road: &str,
) -> Result<(), StoreError> {
    let now = clock::now();
    let mut tokens = Vec::new();
    for account in accounts {
        let account = account.clone();
        tokens.push(
            state
                .store
                .call(move |s| session::create(s, &account, now, 1))
                .await?,
        );
    }
    let [_admin, officer, _observer, wang, lijianguo, zhang] = tokens.as_slice() else {
        return Err(demo_failed("sessions", "six demo accounts expected"));
    };
    let router = crate::http::router(state.clone());
    let later = |days: i64| {
        now.checked_add(SignedDuration::from_hours(days * 24))
            .unwrap_or(Timestamp::MAX)
            .to_string()
    };

    // The owners' committee election, open for voting, with paper ballots from the meeting.
    let election = call(&router, officer, Method::POST, &format!("/communities/{community}/elections"), json!({
        "title": "业主委员会选举 · Elect the owners' committee",
        "body": "选出5名委员和2名候补，任期五年；每人最多选5人。\n\n                 Five members and two alternates for a five-year term; approve up to five.",
        "seats": 5,
        "alternates": 2,
        "candidates": CANDIDATES.iter().map(|(name, statement)| json!({"name": name, "statement": statement})).collect::<Vec<_>>(),
        "closes_at": later(21),
    })).await?;
    let election_id = election["id"].as_str().unwrap_or_default().to_owned();
    let candidate_ids: Vec<String> = election["election"]["candidates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    call(
        &router,
        officer,
        Method::POST,
        &format!("/proposals/{election_id}/open"),
        json!({}),
    )
    .await?;
    let roll = Roll::from_csv(&roll_csv()).expect("the demo roll is valid");
    for (i, voter) in roll
        .voters()
        .iter()
        .filter(|v| v.key.starts_with('h'))
        .skip(20)
        .take(38)
        .enumerate()
    {
        // Each household approves up to five, in a pattern that spreads the support.
        let approve: Vec<&String> = candidate_ids
            .iter()
            .enumerate()
            .filter(|(c, _)| (i * 3 + c * 5) % 7 < 7 - c)
            .map(|(_, id)| id)
            .take(5)
            .collect();
        call(&router, officer, Method::POST, &format!("/proposals/{election_id}/assisted-ballots"), json!({
            "voter": voter.key, "approve": approve, "idempotency_key": format!("demo-election-{}", voter.key),
            "method": "paper", "note": "paper: ballot box at the residents' meeting",
        })).await?;
    }

    // A residents' petition, co-signed by a neighbour, with a discussion.
    let petition = call(&router, lijianguo, Method::POST, &format!("/communities/{community}/petitions"), json!({
        "title": "在3号楼旁加装电动自行车充电棚 · A covered e-bike charging shed by building 3",
        "body": "楼道里充电太危险，去年2号楼差点起火。请议事会在3号楼旁建一个有顶的充电棚。\n\n                 Charging e-bikes in the stairwells is dangerous: building 2 nearly caught fire last                  year. Please build a covered charging shed next to building 3.",
        "signing_closes": later(30),
    })).await?;
    let petition_id = petition["id"].as_str().unwrap_or_default().to_owned();
    call(
        &router,
        zhang,
        Method::POST,
        &format!("/petitions/{petition_id}/cosign"),
        json!({}),
    )
    .await?;
    let question = call(
        &router,
        zhang,
        Method::POST,
        &format!("/petitions/{petition_id}/comments"),
        json!({
            "body": "支持！充电棚的电费怎么分摊？ Agreed! How would the electricity be paid for?",
        }),
    )
    .await?;
    call(&router, officer, Method::POST, &format!("/petitions/{petition_id}/comments"), json!({
        "body": "按**扫码计费**，每度电按居民电价收取。 Pay per use by **QR code**, at the residential rate.",
        "parent": question["id"],
    })).await?;
    let road_question = call(
        &router,
        wang,
        Method::POST,
        &format!("/proposals/{road}/comments"),
        json!({
            "body": "施工期间车辆停在哪里？ Where do we park while the road is being repaired?",
        }),
    )
    .await?;
    call(&router, officer, Method::POST, &format!("/proposals/{road}/comments"), json!({
        "body": "施工分两段进行，另一段照常通行；临时车位在5号楼北侧。 The work is done in two halves;                  the other half stays open, and temporary parking is north of building 5.",
        "parent": road_question["id"],
    })).await?;

    // The demo's sessions end here; each visitor signs in for themselves.
    for token in tokens {
        state.store.call(move |s| session::end(s, &token)).await?;
    }
    Ok(())
}

/// Writes the community, its roll, the accounts and the road-repair proposal; returns the
/// community id, the account ids in the order of `LOGINS`, and the proposal id.
fn seed_records(
    tx: &redb::WriteTransaction,
    hashes: Vec<String>,
) -> Result<(String, Vec<String>, String), StoreError> {
    let now = clock::now();
    let at = now.to_string();
    let community = CommunityRecord {
        id: clock::new_id(),
        name: COMMUNITY_NAME.into(),
        timezone: "Asia/Shanghai".into(),
        secret: hex::encode(clock::random_bytes::<32>()),
        created_at: at.clone(),
    };
    put(tx, COMMUNITIES, community.id.as_str(), &community)?;
    crate::http::results::active_key(tx, &community.id)?;
    let roll = Roll::from_csv(&roll_csv()).expect("the demo roll is valid");
    put(
        tx,
        ROLLS,
        community.id.as_str(),
        &RollRecord::from_roll(&roll, at.clone()),
    )?;
    let mut ids = Vec::new();
    for (login, hash) in LOGINS.iter().zip(hashes) {
        let name = Login::parse(login.login).expect("demo logins are valid");
        let account =
            insert_account(tx, &name, hash, login.login == "admin", &at)?.ok_or_else(|| {
                StoreError::Corrupt {
                    table: "logins".into(),
                    message: format!(
                        "login `{}` is already taken; use a fresh data directory for the demo",
                        login.login
                    ),
                }
            })?;
        let role = match login.login {
            "admin" => None,
            "officer" => Some((Role::Officer, None)),
            "observer" => Some((Role::Observer, None)),
            voter => Some((Role::Voter, Some(voter.to_owned()))),
        };
        if let Some((role, voter)) = role {
            let membership = MembershipRecord {
                community: community.id.clone(),
                account: account.id.clone(),
                role,
                voter: voter.clone(),
                since: at.clone(),
            };
            put(
                tx,
                MEMBERS,
                (community.id.as_str(), account.id.as_str()),
                &membership,
            )?;
            tx.open_table(MEMBERSHIPS)?
                .insert((account.id.as_str(), community.id.as_str()), role.as_str())?;
            if let Some(voter) = &voter {
                tx.open_table(VOTER_ACCOUNTS)?
                    .insert((community.id.as_str(), voter.as_str()), account.id.as_str())?;
            }
        }
        ids.push(account.id);
    }
    let officer = ids[1].clone();
    let closes = now
        .checked_add(SignedDuration::from_hours(14 * 24))
        .unwrap_or(Timestamp::MAX);
    let rule: RuleSpec = serde_json::from_value(json!({
        "preset": "cn-278-major",
        "also": ["approval headcount of roll more_than 1/2"]
    }))
    .expect("the demo rule is valid");
    let rule = crate::domain::rule::Rule::try_from(rule).expect("the demo rule is valid");
    let proposal = ProposalRecord {
        id: clock::new_id(),
        community: community.id.clone(),
        title: "修复小区道路 · Repair the compound road".into(),
        body: "The road between buildings 2 and 4 is broken and floods after every rain. \
               The council proposes that **each owner contributes 1,000 yuan** to repair it \
               (total about 105,000 yuan; quote from two contractors on the notice board).\n\n\
               小区2号楼与4号楼之间的道路破损，每逢下雨积水。居民议事会提议**每户业主出资1000元**\
               修复道路（总额约10.5万元，两家施工单位报价已在公告栏公示）。\n\n\
               Raising maintenance funds is decided under Civil Code Art. 278 items 6–8; the \
               council also requires more than half of all households to approve."
            .into(),
        cost: Some(CostRecord {
            amount: "1000.00".into(),
            currency: "CNY".into(),
            split: CostSplit::PerVoter,
            weight: None,
        }),
        question: "motion".into(),
        rule: rule.to_spec(),
        scope: Vec::new(),
        secrecy: Secrecy::Open,
        visibility: Visibility::Live,
        allow_change: false,
        state: crate::domain::lifecycle::ProposalState::Deliberation,
        created_by: officer.clone(),
        created_at: at.clone(),
        opens_at: None,
        closes_at: closes.to_string(),
        opened_at: None,
        closed_at: None,
        extensions: Vec::new(),
        withdrawn_reason: None,
        text_hash: None,
        electorate_hash: None,
        opening_hash: None,
        opening: None,
        result: None,
        ledger_len: 0,
        ledger_head: None,
        attestations: Vec::new(),
        election: None,
    };
    put(tx, PROPOSALS, proposal.id.as_str(), &proposal)?;
    crate::store::deliberation::record_revision(tx, &proposal, &officer, "officer", &at)?;
    tx.open_table(COMMUNITY_PROPOSALS)?
        .insert((community.id.as_str(), proposal.id.as_str()), at.as_str())?;
    audit(
        tx,
        &community.id,
        &officer,
        "create_proposal",
        json!({"proposal": proposal.id, "title": proposal.title}),
        &at,
    )?;
    tx.open_table(META)?
        .insert(DEMO_KEY, community.id.as_bytes())?;
    Ok((community.id, ids, proposal.id))
}

/// What `serve --demo` prints.
pub fn banner(address: &std::net::SocketAddr, logins: &[DemoLogin]) -> String {
    let mut out = format!(
        "Demo community: {COMMUNITY_NAME} — 100 households in 105 units; the road-repair vote and\n\
         the owners' committee election are open, and a residents' petition collects signatures.\n\
         Open http://{address}/ and sign in as:\n"
    );
    for login in logins {
        let _ = writeln!(
            out,
            "  {:<9} {:<20} {}",
            login.login, login.password, login.who
        );
    }
    out
}
