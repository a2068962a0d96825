//! Owners' committee elections (issue 8) through the API: a full election with ties at the seat
//! boundary and at the alternate boundary and their recorded resolution (the committee's decision,
//! and a lot drawn from a seed published first), over-voting refused online and spoiling a paper
//! ballot, a candidate with many votes but too little area, the live per-candidate tally, the
//! committee with two successions and the re-election flag, and `yishi verify` on the result.
//!
//! The roll (14 households, 760 m²) and ballots were chosen so that every candidate of the full
//! election gets 8 of 14 approvals (more than half by headcount) and more than half the area, and
//! the area alone orders them: A 480 > B 460 > C 440 > D = E 430 > F = G 400 m². Households pair up
//! with equal areas and mirrored ballots (D↔E, F↔G), which is what makes the two ties exact.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{PASSWORD, TestApp, error, spawn_app};

const ROLL: &str = "\
voter,unit,name,area
v01,1-101,钱一,20
v02,1-102,孙二,20
v03,1-201,李三,30
v04,1-202,周四,30
v05,2-101,吴五,70
v06,2-102,郑六,70
v07,2-201,王七,70
v08,2-202,冯八,70
v09,3-101,陈九,70
v10,3-102,褚十,70
v11,3-201,卫十一,70
v12,3-202,蒋十二,70
v13,4-101,沈十三,50
v14,4-102,韩十四,50
";

/// The full election's ballots, by candidate name.
const FULL_BALLOTS: [(&str, [&str; 4]); 14] = [
    ("v01", ["B", "D", "F", "G"]),
    ("v02", ["B", "E", "F", "G"]),
    ("v03", ["A", "C", "E", "F"]),
    ("v04", ["A", "C", "D", "G"]),
    ("v05", ["A", "B", "E", "F"]),
    ("v06", ["A", "B", "D", "G"]),
    ("v07", ["B", "C", "D", "F"]),
    ("v08", ["B", "C", "E", "G"]),
    ("v09", ["A", "B", "E", "G"]),
    ("v10", ["A", "B", "D", "F"]),
    ("v11", ["A", "C", "D", "F"]),
    ("v12", ["A", "C", "E", "G"]),
    ("v13", ["C", "D", "E", "F"]),
    ("v14", ["C", "D", "E", "G"]),
];

struct Owners {
    community: String,
    officer: String,
    /// Voter key → bearer token, for the households that activated an account.
    voters: HashMap<String, String>,
}

/// The 14-household compound; `online` households activate accounts.
async fn owners(app: &TestApp, online: &[&str]) -> Owners {
    let admin = app.admin().await;
    let community = app.create_community(&admin, "Osmanthus Court").await;
    let officer_login = format!("officer-{}", &community[..8]);
    app.create_account(&admin, &officer_login).await;
    app.add_member(&admin, &community, &officer_login, "officer", None)
        .await;
    let officer = app.login(&officer_login, PASSWORD).await;
    let response = app
        .put_csv(&format!("/communities/{community}/roll"), &officer, ROLL)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "roll upload");
    let mut voters = HashMap::new();
    if !online.is_empty() {
        let response = app
            .post_json(
                &format!("/communities/{community}/activation-codes"),
                &officer,
                json!({}),
            )
            .await;
        assert!(response.status().is_success());
        let cards: Vec<Value> = response.json().await.unwrap();
        for card in cards {
            let voter = card["voter"].as_str().unwrap().to_owned();
            if !online.contains(&voter.as_str()) {
                continue;
            }
            let response = app
                .api()
                .post(app.url("/activate"))
                .json(&json!({"code": card["code"], "login": format!("{voter}-{}", &community[..6]), "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "activate {voter}");
            let body: Value = response.json().await.unwrap();
            voters.insert(voter, body["token"].as_str().unwrap().to_owned());
        }
    }
    Owners {
        community,
        officer,
        voters,
    }
}

fn in_an_hour() -> String {
    jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(3600))
        .unwrap()
        .to_string()
}

/// Creates an election with candidates named `names`; returns its id and name → candidate id.
async fn create_election(
    app: &TestApp,
    o: &Owners,
    seats: usize,
    alternates: usize,
    names: &[&str],
    extra: Value,
) -> (String, HashMap<String, String>) {
    let mut body = json!({
        "title": "Elect the owners' committee",
        "seats": seats,
        "alternates": alternates,
        "candidates": names.iter().map(|n| json!({"name": n, "statement": format!("{n} will keep the accounts open")})).collect::<Vec<_>>(),
        "closes_at": in_an_hour(),
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    let response = app
        .post_json(
            &format!("/communities/{}/elections", o.community),
            &o.officer,
            body,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "create election");
    let body: Value = response.json().await.unwrap();
    let ids = body["election"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (body["id"].as_str().unwrap().to_owned(), ids)
}

async fn step(app: &TestApp, o: &Owners, p: &str, what: &str) -> Value {
    let response = app
        .post_json(&format!("/proposals/{p}/{what}"), &o.officer, json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{what}");
    response.json().await.unwrap()
}

/// An officer enters a ballot taken in person or on paper.
async fn assisted(
    app: &TestApp,
    o: &Owners,
    p: &str,
    voter: &str,
    approve: &[&str],
    method: &str,
) -> reqwest::Response {
    app.post_json(
        &format!("/proposals/{p}/assisted-ballots"),
        &o.officer,
        json!({"voter": voter, "approve": approve, "idempotency_key": format!("{p}-{voter}"),
               "method": method, "note": "ballot box at the gate"}),
    )
    .await
}

fn ids(names: &HashMap<String, String>, marks: &[&str]) -> Vec<String> {
    marks.iter().map(|m| names[*m].clone()).collect()
}

/// Runs the full election (4 seats, 2 alternates, A–G) and closes it.
async fn full_election(app: &TestApp, o: &Owners) -> (String, HashMap<String, String>) {
    let (p, names) = voted_election(app, o).await;
    step(app, o, &p, "close").await;
    (p, names)
}

/// The full election with every ballot in, still open.
async fn voted_election(app: &TestApp, o: &Owners) -> (String, HashMap<String, String>) {
    let (p, names) = create_election(
        app,
        o,
        4,
        2,
        &["A", "B", "C", "D", "E", "F", "G"],
        json!({}),
    )
    .await;
    step(app, o, &p, "open").await;
    for (voter, marks) in FULL_BALLOTS {
        let approve = ids(&names, &marks);
        let approve: Vec<&str> = approve.iter().map(String::as_str).collect();
        let response = assisted(app, o, &p, voter, &approve, "in_person").await;
        assert_eq!(response.status(), StatusCode::OK, "ballot of {voter}");
    }
    (p, names)
}

async fn election(app: &TestApp, token: &str, p: &str) -> Value {
    let response = app.get(&format!("/proposals/{p}/election"), token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Candidate name → (rank, standing, alternate order) in a result.
fn standings(result: &Value, names: &HashMap<String, String>) -> HashMap<String, Value> {
    let by_id: HashMap<&str, &str> = names
        .iter()
        .map(|(n, id)| (id.as_str(), n.as_str()))
        .collect();
    result["election"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                by_id[c["id"].as_str().unwrap()].to_owned(),
                json!([c["rank"], c["standing"], c["alternate_order"]]),
            )
        })
        .collect()
}

#[tokio::test]
async fn ties_at_the_seat_and_alternate_boundaries_wait_for_the_committees_decision() {
    let app = spawn_app().await;
    let o = owners(&app, &[]).await;
    let (p, names) = full_election(&app, &o).await;

    // Closed: both ties are shown, nobody is silently put ahead.
    let before = election(&app, &o.officer, &p).await;
    let result = &before["result"];
    assert_eq!(result["outcome"], "tied");
    let ties = result["election"]["ties"].as_array().unwrap();
    assert_eq!(ties.len(), 2, "{ties:?}");
    assert_eq!(ties[0]["candidates"], json!(ids(&names, &["D", "E"])));
    assert_eq!(
        (&ties[0]["first_position"], &ties[0]["last_position"]),
        (&json!(4), &json!(5))
    );
    assert_eq!(ties[1]["candidates"], json!(ids(&names, &["F", "G"])));
    assert_eq!(
        (&ties[1]["first_position"], &ties[1]["last_position"]),
        (&json!(6), &json!(7))
    );
    let s = standings(result, &names);
    assert_eq!(s["A"], json!([1, "elected", null]));
    assert_eq!(s["C"], json!([3, "elected", null]));
    assert_eq!(s["D"], json!([4, "tied", null]));
    assert_eq!(s["E"], json!([4, "tied", null]));
    assert_eq!(s["F"], json!([6, "tied", null]));
    // Every candidate's numbers: 8 of 14 households, and the area that orders them.
    let a = &result["election"]["candidates"][0];
    assert_eq!(
        a["approvals"],
        json!({"headcount": 8, "weights": {"area": "480"}})
    );
    assert_eq!(a["qualifies"], true);

    // Publishing waits for the tie-break.
    let response = app
        .post_json(&format!("/proposals/{p}/publish"), &o.officer, json!({}))
        .await;
    assert_eq!(error(response).await.1, "unresolved_tie");

    // A decision that leaves a tie open is refused; naming a stranger too.
    let response = app
        .post_json(
            &format!("/proposals/{p}/tie-break"),
            &o.officer,
            json!({"order": ids(&names, &["E", "D"]), "note": "committee meeting of 30 November"}),
        )
        .await;
    let (status, code, message) = error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "tie_break_incomplete")
    );
    assert!(message.contains(&names["F"]), "{message}");
    let response = app
        .post_json(
            &format!("/proposals/{p}/tie-break"),
            &o.officer,
            json!({"order": ["nobody"], "note": "x"}),
        )
        .await;
    assert_eq!(error(response).await.1, "bad_tie_break");

    // The committee's decision: E before D, G before F.
    let response = app
        .post_json(
            &format!("/proposals/{p}/tie-break"),
            &o.officer,
            json!({"order": ids(&names, &["E", "D", "G", "F"]), "note": "committee meeting of 30 November, minutes item 3"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let after: Value = response.json().await.unwrap();
    assert_eq!(after["tie_break"]["method"], "decision");
    let result = &after["result"];
    assert_eq!(result["outcome"], "elected");
    assert_eq!(result["election"]["ties"], json!([]));
    assert_eq!(
        result["election"]["elected"],
        json!(ids(&names, &["A", "B", "C", "E"]))
    );
    assert_eq!(
        result["election"]["alternates_in_order"],
        json!(ids(&names, &["D", "G"]))
    );
    let s = standings(result, &names);
    assert_eq!(s["E"], json!([4, "elected", null]));
    assert_eq!(s["D"], json!([5, "alternate", 1]));
    assert_eq!(s["G"], json!([6, "alternate", 2]));
    assert_eq!(s["F"], json!([7, "not_elected", null]));

    // Recorded once only.
    let response = app
        .post_json(
            &format!("/proposals/{p}/tie-break"),
            &o.officer,
            json!({"order": ids(&names, &["D", "E", "F", "G"]), "note": "again"}),
        )
        .await;
    assert_eq!(error(response).await.1, "tie_break_recorded");

    // The audit log keeps the decision.
    let response = app
        .get(&format!("/communities/{}/audit", o.community), &o.officer)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let log = response.text().await.unwrap();
    assert!(log.contains("\"tie_break\""), "{log}");
}

#[tokio::test]
async fn a_lot_is_drawn_only_from_a_seed_published_before_and_anyone_can_redraw_it() {
    let app = spawn_app().await;
    let o = owners(&app, &[]).await;
    // The seed is fixed while the count is still unknown.
    let (p, names) = voted_election(&app, &o).await;
    let seed = "welfare lottery 2026-11-29: 03 11 17 22 28 31";
    let response = app
        .post_json(
            &format!("/proposals/{p}/lot-seed"),
            &o.officer,
            json!({"seed": seed, "note": "announced at the gate notice board"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // Published: every member sees it before any draw, and the ranking is still tied.
    let voter_view = election(&app, &o.officer, &p).await;
    assert_eq!(voter_view["lot_seed"]["seed"], seed);
    assert_eq!(voter_view["tie_break"], Value::Null);
    let response = app
        .post_json(
            &format!("/proposals/{p}/lot-seed"),
            &o.officer,
            json!({"seed": "a luckier seed"}),
        )
        .await;
    assert_eq!(error(response).await.1, "seed_published");
    step(&app, &o, &p, "close").await;

    let response = app
        .post_json(&format!("/proposals/{p}/lot"), &o.officer, json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let drawn: Value = response.json().await.unwrap();

    // Redraw by hand: candidates by SHA-256(seed, 0, id).
    let mut expected: Vec<(String, String)> = names
        .values()
        .map(|id| {
            let mut h = Sha256::new();
            h.update(seed.as_bytes());
            h.update([0u8]);
            h.update(id.as_bytes());
            (hex::encode(h.finalize()), id.clone())
        })
        .collect();
    expected.sort();
    let order: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(drawn["tie_break"]["method"], "lot");
    assert_eq!(drawn["tie_break"]["seed"], seed);
    assert_eq!(drawn["tie_break"]["order"], json!(order));
    assert!(
        drawn["tie_break"]["recorded_at"].as_str().unwrap()
            > drawn["lot_seed"]["published_at"].as_str().unwrap()
    );
    // The lot decides only within each tie: whichever of D, E comes first in the order sits.
    let first = |a: &'static str, b: &'static str| -> &'static str {
        let pos = |n: &str| order.iter().position(|id| *id == names[n]).unwrap();
        if pos(a) < pos(b) { a } else { b }
    };
    let seat = first("D", "E");
    let alternate_2 = first("F", "G");
    let result = &drawn["result"]["election"];
    assert_eq!(
        result["elected"],
        json!(ids(&names, &["A", "B", "C", seat]))
    );
    let other = if seat == "D" { "E" } else { "D" };
    assert_eq!(
        result["alternates_in_order"],
        json!(ids(&names, &[other, alternate_2]))
    );
}

#[tokio::test]
async fn once_the_tie_is_known_only_the_servers_random_seed_is_taken() {
    let app = spawn_app().await;
    let o = owners(&app, &[]).await;
    let (p, _) = full_election(&app, &o).await;

    let response = app
        .post_json(&format!("/proposals/{p}/lot"), &o.officer, json!({}))
        .await;
    assert_eq!(error(response).await.1, "no_seed", "no draw before a seed");
    // A seed typed now could have been tried offline for the order it gives.
    let response = app
        .post_json(
            &format!("/proposals/{p}/lot-seed"),
            &o.officer,
            json!({"seed": "a seed chosen after the count"}),
        )
        .await;
    assert_eq!(error(response).await.1, "seed_too_late");
    assert_eq!(
        election(&app, &o.officer, &p).await["lot_seed"],
        Value::Null
    );

    let response = app
        .post_json(&format!("/proposals/{p}/lot-seed"), &o.officer, json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let published: Value = response.json().await.unwrap();
    let seed = published["lot_seed"]["seed"].as_str().unwrap().to_owned();
    assert_eq!(seed.len(), 32, "128 random bits as hex: {seed}");
    assert!(seed.chars().all(|c| c.is_ascii_hexdigit()));
    let response = app
        .post_json(&format!("/proposals/{p}/lot"), &o.officer, json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let drawn: Value = response.json().await.unwrap();
    assert_eq!(drawn["tie_break"]["method"], "lot");
    assert_eq!(drawn["tie_break"]["seed"], seed.as_str());
}

#[tokio::test]
async fn over_voting_is_refused_online_and_spoils_a_paper_ballot_and_area_can_fail_a_popular_candidate()
 {
    let app = spawn_app().await;
    let o = owners(&app, &["v13"]).await;
    let (p, names) = create_election(&app, &o, 2, 1, &["X", "Y", "Z"], json!({})).await;
    step(&app, &o, &p, "deliberate").await;
    step(&app, &o, &p, "open").await;
    let v13 = &o.voters["v13"];

    // Online: three approvals for two seats is refused and records nothing.
    let response = app
        .put_json(
            &format!("/proposals/{p}/ballot"),
            v13,
            json!({"approve": ids(&names, &["X", "Y", "Z"]), "idempotency_key": "v13-1"}),
        )
        .await;
    let (status, code, message) = error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "over_voted")
    );
    assert!(message.contains("at most 2"), "{message}");
    let response = app
        .put_json(
            &format!("/proposals/{p}/ballot"),
            v13,
            json!({"choice": "yes", "idempotency_key": "v13-2"}),
        )
        .await;
    assert_eq!(error(response).await.1, "wrong_ballot");
    let response = app
        .put_json(
            &format!("/proposals/{p}/ballot"),
            v13,
            json!({"approve": ["nobody"], "idempotency_key": "v13-3"}),
        )
        .await;
    assert_eq!(error(response).await.1, "unknown_candidate");
    let response = app
        .put_json(
            &format!("/proposals/{p}/ballot"),
            v13,
            json!({"approve": ids(&names, &["X"]), "idempotency_key": "v13-4"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["choice"], names["X"].as_str());

    // The live tally shows each candidate's approvals as they come in (results are live).
    let tally: Value = app
        .get(&format!("/proposals/{p}/tally"), v13)
        .await
        .json()
        .await
        .unwrap();
    let x = tally["election"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == names["X"].as_str())
        .unwrap()
        .clone();
    assert_eq!(x["approvals"]["headcount"], 1);
    assert_eq!(tally["turnout"]["headcount"], 1);

    // On paper, three marks: the ballot is recorded as invalid and counts as taking part.
    let response = assisted(&app, &o, &p, "v14", &["c1", "c2", "c3"], "paper").await;
    assert_eq!(response.status(), StatusCode::OK);
    let paper: Value = response.json().await.unwrap();
    assert_eq!(paper["choice"], "invalid");
    // The same marks entered as taken in person are refused like the app refuses them.
    let response = assisted(&app, &o, &p, "v12", &["c1", "c2", "c3"], "in_person").await;
    assert_eq!(error(response).await.1, "over_voted");

    // X: 8 of 14 households but only 360 of 760 m²; Y: 8 households, 560 m².
    let marks: [(&str, &[&str]); 12] = [
        ("v01", &["X", "Z"]),
        ("v02", &["X", "Z"]),
        ("v03", &["X"]),
        ("v04", &["X"]),
        ("v05", &["X", "Y"]),
        ("v06", &["X", "Y"]),
        ("v07", &["X", "Y"]),
        ("v08", &["Y"]),
        ("v09", &["Y"]),
        ("v10", &["Y"]),
        ("v11", &["Y"]),
        ("v12", &["Y"]),
    ];
    for (voter, marks) in marks {
        let approve = ids(&names, marks);
        let approve: Vec<&str> = approve.iter().map(String::as_str).collect();
        let response = assisted(&app, &o, &p, voter, &approve, "paper").await;
        assert_eq!(response.status(), StatusCode::OK, "{voter}");
    }
    step(&app, &o, &p, "close").await;
    let result = election(&app, v13, &p).await["result"].clone();
    assert_eq!(result["tally"]["participants"]["headcount"], 14);
    assert_eq!(result["tally"]["invalid"]["headcount"], 1);
    let candidate = |name: &str| {
        result["election"]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == names[name].as_str())
            .unwrap()
            .clone()
    };
    let x = candidate("X");
    assert_eq!(
        x["approvals"],
        json!({"headcount": 8, "weights": {"area": "360"}})
    );
    assert_eq!(x["qualifies"], false);
    assert_eq!(x["standing"], "not_qualified");
    let failed: Vec<&Value> = x["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["holds"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "only the area fails: {failed:?}");
    assert_eq!(failed[0]["measure"], "area");
    let y = candidate("Y");
    assert_eq!(
        y["approvals"],
        json!({"headcount": 8, "weights": {"area": "560"}})
    );
    assert_eq!((&y["rank"], &y["standing"]), (&json!(1), &json!("elected")));
    assert_eq!(result["election"]["elected"], json!([names["Y"]]));

    // The ledger spells the paper ballot `invalid`.
    let ledger = app
        .get(&format!("/proposals/{p}/ledger"), &o.officer)
        .await
        .text()
        .await
        .unwrap();
    assert!(ledger.contains(r#""choice":"invalid""#), "{ledger}");
}

#[tokio::test]
async fn candidates_come_from_officers_and_accepted_self_nominations_until_voting_opens() {
    let app = spawn_app().await;
    let o = owners(&app, &["v05", "v06"]).await;
    let (p, names) = create_election(&app, &o, 3, 0, &["A"], json!({})).await;
    assert_eq!(names.len(), 1);
    // Defaults: 5-year term, Art. 278 applied per candidate.
    let view = election(&app, &o.officer, &p).await;
    assert_eq!(view["term_years"], 5);
    let proposal: Value = app
        .get(&format!("/proposals/{p}"), &o.officer)
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .post_json(
            &format!("/communities/{}/proposals", o.community),
            &o.officer,
            json!({"title": "motion", "rule": {"preset": "cn-278"}, "closes_at": in_an_hour()}),
        )
        .await;
    let motion: Value = response.json().await.unwrap();
    assert_eq!(proposal["rule"], motion["rule"], "Art. 278 by default");
    assert_eq!(proposal["question"], "election");

    // Officers add and remove while in draft.
    let response = app
        .post_json(
            &format!("/proposals/{p}/candidates"),
            &o.officer,
            json!({"name": "B", "statement": "retired accountant"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let b: Value = response.json().await.unwrap();
    let response = app
        .api()
        .delete(app.url(&format!(
            "/proposals/{p}/candidates/{}",
            b["id"].as_str().unwrap()
        )))
        .bearer_auth(&o.officer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Voters stand during deliberation only, with a statement.
    let v05 = &o.voters["v05"];
    let nominate = |token: String, statement: &'static str| {
        let app = &app;
        let p = p.clone();
        async move {
            app.post_json(
                &format!("/proposals/{p}/nominations"),
                &token,
                json!({"statement": statement}),
            )
            .await
        }
    };
    let response = nominate(v05.clone(), "I fixed the lifts in 2024").await;
    assert_eq!(
        error(response).await.0,
        StatusCode::NOT_FOUND,
        "a draft is the officers' alone"
    );
    step(&app, &o, &p, "deliberate").await;
    let response = nominate(v05.clone(), "I fixed the lifts in 2024").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let n5: Value = response.json().await.unwrap();
    assert_eq!(n5["name"], "吴五", "the name on the roll");
    assert_eq!(n5["status"], "pending");
    let response = nominate(v05.clone(), "again").await;
    assert_eq!(error(response).await.1, "already_nominated");
    let response = nominate(o.voters["v06"].clone(), "I have time").await;
    let n6: Value = response.json().await.unwrap();
    // An officer may not stand by this route; a voter may not accept.
    let response = app
        .post_json(
            &format!(
                "/proposals/{p}/nominations/{}/accept",
                n5["id"].as_str().unwrap()
            ),
            v05,
            json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A voter sees their own nomination, not others'.
    let seen = election(&app, v05, &p).await;
    assert_eq!(seen["nominations"].as_array().unwrap().len(), 1);
    assert_eq!(
        election(&app, &o.officer, &p).await["nominations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let response = app
        .post_json(
            &format!(
                "/proposals/{p}/nominations/{}/accept",
                n5["id"].as_str().unwrap()
            ),
            &o.officer,
            json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .post_json(
            &format!(
                "/proposals/{p}/nominations/{}/decline",
                n6["id"].as_str().unwrap()
            ),
            &o.officer,
            json!({"reason": "owes three years of fees"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let view: Value = response.json().await.unwrap();
    let candidates: Vec<&str> = view["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(candidates, ["A", "吴五"]);
    assert_eq!(
        view["candidates"][1]["statement"],
        "I fixed the lifts in 2024"
    );
    assert_eq!(view["nominations"][1]["status"], "declined");
    assert_eq!(view["nominations"][1]["reason"], "owes three years of fees");

    // Frozen once voting opens.
    step(&app, &o, &p, "open").await;
    let response = app
        .post_json(
            &format!("/proposals/{p}/candidates"),
            &o.officer,
            json!({"name": "Late"}),
        )
        .await;
    assert_eq!(error(response).await.1, "candidates_frozen");
    let response = nominate(o.voters["v06"].clone(), "I have time after all").await;
    assert_eq!(error(response).await.1, "not_deliberation");

    // Bad shapes get 4xx with stable codes.
    let response = app
        .post_json(
            &format!("/communities/{}/elections", o.community),
            &o.officer,
            json!({"title": "t", "seats": 0, "closes_at": in_an_hour()}),
        )
        .await;
    assert_eq!(error(response).await.1, "bad_election");
    let response = app
        .post_json(
            &format!("/communities/{}/elections", o.community),
            &o.officer,
            json!({"title": "t", "seats": 1, "term_years": 50, "closes_at": in_an_hour()}),
        )
        .await;
    assert_eq!(error(response).await.1, "bad_election");
}

#[tokio::test]
async fn hidden_election_results_stay_hidden_on_the_live_socket_but_turnout_moves() {
    let app = spawn_app().await;
    let o = owners(&app, &["v01"]).await;
    let (p, names) = create_election(
        &app,
        &o,
        1,
        0,
        &["A", "B"],
        json!({"visibility": "after_close"}),
    )
    .await;
    step(&app, &o, &p, "open").await;
    let url = format!("ws://{}/api/v1/proposals/{p}/live", app.addr);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", o.voters["v01"]).parse().unwrap(),
    );
    let (mut socket, _) = connect_async(request).await.unwrap();
    let mut next = async || loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str::<Value>(&text).unwrap();
        }
    };
    let snapshot = next().await;
    assert_eq!(snapshot["results_visible"], false);
    assert!(snapshot.get("election").is_none(), "{snapshot}");
    let response = assisted(&app, &o, &p, "v02", &[names["A"].as_str()], "in_person").await;
    assert_eq!(response.status(), StatusCode::OK);
    let update = next().await;
    assert_eq!(update["turnout"]["headcount"], 1);
    assert!(update.get("election").is_none(), "{update}");
    let text = update.to_string();
    assert!(
        !text.contains("approvals") && !text.contains("candidates"),
        "{update}"
    );
}

// ---------------------------------------------------------------------------------------------
// Publishing, the committee and `yishi verify`
// ---------------------------------------------------------------------------------------------

fn yishi_verify(certificate: &str, ledger: &str) -> (i32, String) {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("cert.json"), certificate).unwrap();
    std::fs::write(dir.path().join("ledger.jsonl"), ledger).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_yishi"))
        .arg("verify")
        .arg(dir.path().join("cert.json"))
        .arg(dir.path().join("ledger.jsonl"))
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout)
            .unwrap()
            .trim_end()
            .to_owned(),
    )
}

/// Re-signs an edited certificate with another key, as a forger would: only the recount can
/// then tell.
fn forge(certificate: &mut Value) {
    let key = SigningKey::from_bytes(&[9; 32]);
    let public = hex::encode(key.verifying_key().to_bytes());
    certificate["key"] = json!({
        "algorithm": "ed25519",
        "fingerprint": hex::encode(Sha256::digest(key.verifying_key().to_bytes()))[..16].to_owned(),
        "public_key": public,
    });
    let mut unsigned = certificate.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    let bytes = serde_json_canonicalizer::to_vec(&unsigned).unwrap();
    certificate["signature"] = json!(hex::encode(key.sign(&bytes).to_bytes()));
}

async fn vacancy(app: &TestApp, o: &Owners, member: &str, date: &str) -> reqwest::Response {
    app.post_json(
        &format!("/communities/{}/committee/vacancies", o.community),
        &o.officer,
        json!({"member": member, "reason": "moved away", "date": date}),
    )
    .await
}

#[tokio::test]
async fn the_published_election_verifies_seats_a_committee_and_alternates_move_up_in_order() {
    let app = spawn_app().await;
    let o = owners(&app, &[]).await;
    let (p, names) = full_election(&app, &o).await;
    let response = app
        .post_json(
            &format!("/proposals/{p}/tie-break"),
            &o.officer,
            json!({"order": ids(&names, &["E", "D", "G", "F"]), "note": "committee meeting"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // A committee is seated only from a published election.
    let response = app
        .post_json(
            &format!("/communities/{}/committee", o.community),
            &o.officer,
            json!({"election": p}),
        )
        .await;
    assert_eq!(error(response).await.1, "not_certified");
    let response = app
        .post_json(&format!("/proposals/{p}/publish"), &o.officer, json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let published: Value = response.json().await.unwrap();
    assert_eq!(published["outcome"], "elected");
    assert!(
        published["summary"]["zh"]
            .as_str()
            .unwrap()
            .contains("候补（按递补顺序）：D"),
        "{}",
        published["summary"]["zh"]
    );

    // Anyone downloads the certificate and the ledger and checks them offline.
    let certificate = app
        .api()
        .get(app.url(&format!("/proposals/{p}/certificate")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ledger = app
        .api()
        .get(app.url(&format!("/proposals/{p}/ledger")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(yishi_verify(&certificate, &ledger), (0, "VALID".to_owned()));
    // The official page shows the ranking; the election itself is public once certified.
    let page = app
        .api()
        .get(format!("{}/r/{p}", app.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("排名 / Ranking") && page.contains("候补第1位 · alternate 1"),
        "{page}"
    );
    let public = app
        .api()
        .get(app.url(&format!("/proposals/{p}/election")))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::OK);
    let public: Value = public.json().await.unwrap();
    assert_eq!(
        public["nominations"],
        json!([]),
        "nominations are the officers' business"
    );
    assert_eq!(public["result"]["outcome"], "elected");
    let cert: Value = serde_json::from_str(&certificate).unwrap();
    assert_eq!(cert["format"], "yishi-certificate/1");
    assert_eq!(cert["election"]["seats"], 4);
    assert_eq!(cert["election"]["tie_break"]["method"], "decision");
    assert_eq!(cert["election"]["candidates"].as_array().unwrap().len(), 7);

    // Swap who sits and who waits (E and D), re-signed: the recount says where.
    let mut edited = cert.clone();
    let list = edited["election"]["result"]["candidates"]
        .as_array_mut()
        .unwrap();
    list.swap(3, 4);
    let (d_rank, e_rank) = (list[3]["rank"].clone(), list[4]["rank"].clone());
    list[3]["rank"] = e_rank;
    list[4]["rank"] = d_rank;
    let d_standing = list[3]["standing"].clone();
    list[3]["standing"] = list[4]["standing"].clone();
    list[4]["standing"] = d_standing;
    let d_order = list[3]["alternate_order"].clone();
    list[3]["alternate_order"] = list[4]["alternate_order"].clone();
    list[4]["alternate_order"] = d_order;
    let mut unsigned_edit = edited.clone();
    forge(&mut edited);
    let (code, said) = yishi_verify(&edited.to_string(), &ledger);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.starts_with("INVALID: recount: the ranking differs at place 4: the ledger gives `")
            && said.contains(&format!("`{}` rank 4 (elected", names["E"]))
            && said.contains(&format!(
                "certificate says `{}` rank 4 (elected",
                names["D"]
            )),
        "{said}"
    );
    // The same edit without re-signing fails on the signature.
    unsigned_edit["signature"] = cert["signature"].clone();
    let (code, said) = yishi_verify(&unsigned_edit.to_string(), &ledger);
    assert_eq!(
        (code, said.starts_with("INVALID: signature")),
        (1, true),
        "{said}"
    );
    // A tie-break order changed to favour D, re-signed: the ranking no longer follows.
    let mut reordered = cert.clone();
    reordered["election"]["tie_break"]["order"] = json!(ids(&names, &["D", "E", "G", "F"]));
    forge(&mut reordered);
    let (code, said) = yishi_verify(&reordered.to_string(), &ledger);
    assert_eq!(code, 1);
    assert!(said.contains("the ranking differs at place 4"), "{said}");

    // The committee: members A B C E, alternates D then G.
    let response = app
        .post_json(
            &format!("/communities/{}/committee", o.community),
            &o.officer,
            json!({"election": p, "term_start": "2026-12-01"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let roster: Value = response.json().await.unwrap();
    let who = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(who(&roster["members"]), ["A", "B", "C", "E"]);
    assert_eq!(who(&roster["alternates"]), ["D", "G"]);
    assert_eq!(
        (&roster["term_start"], &roster["term_end"]),
        (&json!("2026-12-01"), &json!("2031-12-01"))
    );

    // Two successions, in order: D takes B's seat, then G takes A's.
    let response = vacancy(&app, &o, &names["B"], "2027-03-01").await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = vacancy(&app, &o, &names["A"], "2027-06-15").await;
    let roster: Value = response.json().await.unwrap();
    assert_eq!(who(&roster["members"]), ["G", "D", "C", "E"]);
    assert_eq!(roster["alternates"], json!([]));
    assert_eq!(roster["members"][1]["since"], "2027-03-01");
    assert_eq!(roster["reelection_due"], false);

    // The roster and its history are public.
    let public: Value = app
        .api()
        .get(app.url(&format!("/communities/{}/committee", o.community)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let history = public["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[1]["left"], names["B"].as_str());
    assert_eq!(history[1]["moved_up"], names["D"].as_str());
    assert_eq!(history[2]["moved_up"], names["G"].as_str());

    // Nobody left to move up: at half the seats it holds; below half, a new election is due.
    vacancy(&app, &o, &names["C"], "2027-09-01").await;
    let roster: Value = vacancy(&app, &o, &names["E"], "2027-10-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            roster["filled"].as_u64(),
            roster["reelection_due"].as_bool()
        ),
        (Some(2), Some(false))
    );
    let roster: Value = vacancy(&app, &o, &names["D"], "2027-11-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            roster["filled"].as_u64(),
            roster["reelection_due"].as_bool()
        ),
        (Some(1), Some(true))
    );
    assert_eq!(roster["history"][5]["moved_up"], Value::Null);
    // A vacancy of someone not on the committee is refused.
    let response = vacancy(&app, &o, &names["F"], "2027-11-02").await;
    assert_eq!(error(response).await.1, "not_a_member");
}

#[tokio::test]
async fn an_election_without_quorum_can_be_extended_and_counts_on() {
    let app = spawn_app().await;
    let o = owners(&app, &[]).await;
    let (p, names) = create_election(&app, &o, 1, 0, &["A", "B"], json!({})).await;
    step(&app, &o, &p, "open").await;
    for voter in ["v05", "v06"] {
        let response = assisted(&app, &o, &p, voter, &[names["A"].as_str()], "paper").await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    step(&app, &o, &p, "close").await;
    let result = election(&app, &o.officer, &p).await["result"].clone();
    assert_eq!(result["outcome"], "no_quorum", "2 of 14 households");
    assert_eq!(result["election"]["elected"], json!([]));

    // Reopened with a new deadline: the count goes on from the ledger.
    let response = app
        .post_json(
            &format!("/proposals/{p}/extend"),
            &o.officer,
            json!({"closes_at": in_an_hour(), "reason": "quorum not met; door-to-door this week"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "extend");
    for voter in ["v01", "v02", "v03", "v04", "v07", "v08", "v09", "v10"] {
        let response = assisted(&app, &o, &p, voter, &[names["A"].as_str()], "paper").await;
        assert_eq!(response.status(), StatusCode::OK, "{voter}");
    }
    step(&app, &o, &p, "close").await;
    let result = election(&app, &o.officer, &p).await["result"].clone();
    assert_eq!(result["tally"]["participants"]["headcount"], 10);
    assert_eq!(result["outcome"], "elected");
    assert_eq!(result["election"]["elected"], json!([names["A"]]));
}

#[tokio::test]
async fn an_election_that_elected_nobody_seats_no_committee() {
    let app = spawn_app().await;
    let o = owners(&app, &[]).await;
    let (p, _) = create_election(&app, &o, 2, 1, &["A"], json!({})).await;
    step(&app, &o, &p, "open").await;
    step(&app, &o, &p, "close").await;
    let published = step(&app, &o, &p, "publish").await;
    assert_eq!(published["outcome"], "no_quorum");
    let response = app
        .post_json(
            &format!("/communities/{}/committee", o.community),
            &o.officer,
            json!({"election": p}),
        )
        .await;
    assert_eq!(error(response).await.1, "nobody_elected");
    let response = app
        .api()
        .get(app.url(&format!("/communities/{}/committee", o.community)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// A member's notices of committee changes in one community, newest first.
async fn committee_notices(app: &TestApp, o: &Owners, token: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/communities/{}/notices", o.community), token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let view: Value = response.json().await.unwrap();
    view["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"].as_str().unwrap().starts_with("committee_"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn committee_changes_reach_residents_as_notices_since_their_last_visit() {
    let app = spawn_app().await;
    let o = owners(&app, &["v05"]).await;
    let resident = o.voters["v05"].clone();
    let (p, names) = full_election(&app, &o).await;
    app.post_json(
        &format!("/proposals/{p}/tie-break"),
        &o.officer,
        json!({"order": ids(&names, &["E", "D", "G", "F"]), "note": "committee meeting"}),
    )
    .await;
    let response = app
        .post_json(&format!("/proposals/{p}/publish"), &o.officer, json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = format!("/communities/{}/notices/seen", o.community);
    app.post_json(&seen, &resident, json!({})).await;
    assert_eq!(
        committee_notices(&app, &o, &resident).await,
        Vec::<Value>::new()
    );

    // Seated: the resident hears of it, naming the election.
    let response = app
        .post_json(
            &format!("/communities/{}/committee", o.community),
            &o.officer,
            json!({"election": p, "term_start": "2026-12-01"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let notices = committee_notices(&app, &o, &resident).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["kind"], "committee_constituted");
    assert_eq!(notices[0]["title"], "Elect the owners' committee");
    assert_eq!(notices[0]["date"], "2026-12-01");

    // Two successions: who left, why, and which alternate moved up, newest first.
    vacancy(&app, &o, &names["B"], "2027-03-01").await;
    vacancy(&app, &o, &names["A"], "2027-06-15").await;
    let notices = committee_notices(&app, &o, &resident).await;
    let said: Vec<(&str, &str, &str)> = notices
        .iter()
        .filter(|n| n["kind"] == "committee_vacancy")
        .map(|n| {
            (
                n["left"].as_str().unwrap(),
                n["moved_up"].as_str().unwrap(),
                n["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(said, [("A", "G", "moved away"), ("B", "D", "moved away")]);

    // After the resident's visit only later changes are new; the re-election flag is announced
    // once, with the vacancy that raised it.
    app.post_json(&seen, &resident, json!({})).await;
    vacancy(&app, &o, &names["C"], "2027-09-01").await;
    vacancy(&app, &o, &names["E"], "2027-10-01").await;
    assert!(
        !committee_notices(&app, &o, &resident)
            .await
            .iter()
            .any(|n| n["kind"] == "committee_reelection_due"),
        "two of four seats filled is not yet below half"
    );
    vacancy(&app, &o, &names["D"], "2027-11-01").await;
    let notices = committee_notices(&app, &o, &resident).await;
    let kinds: Vec<&str> = notices
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "committee_vacancy",
            "committee_reelection_due",
            "committee_vacancy",
            "committee_vacancy"
        ]
    );
    assert_eq!(notices[0]["left"], "D");
    assert_eq!(notices[0]["moved_up"], Value::Null);
    assert_eq!(notices[1]["date"], "2027-11-01");
}

#[tokio::test]
async fn an_election_is_never_taken_by_a_show_of_hands() {
    let app = spawn_app().await;
    let o = owners(&app, &[]).await;
    let (p, _) = create_election(&app, &o, 2, 1, &["X", "Y", "Z"], json!({})).await;
    step(&app, &o, &p, "open").await;
    let in_a_minute = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(60))
        .unwrap()
        .to_string();
    let response = app
        .post_json(
            &format!("/communities/{}/meetings", o.community),
            &o.officer,
            json!({"title": "Owners' assembly", "starts_at": in_a_minute, "place": "hall",
                   "agenda": [{"kind": "proposal", "id": p}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let meeting: Value = response.json().await.unwrap();
    let id = meeting["id"].as_str().unwrap();
    let response = app
        .put_json(
            &format!("/meetings/{id}/attendance"),
            &o.officer,
            json!({"attendees": [{"voter": "v01", "name": "钱一"}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let response = app
        .post_json(
            &format!("/meetings/{id}/show-of-hands"),
            &o.officer,
            json!({"proposal": p, "hands": [{"voter": "v01", "choice": "yes"}]}),
        )
        .await;
    let (status, code, message) = error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "election_ballot")
    );
    assert!(message.contains("paper ballot"), "{message}");
    // Nothing was recorded: the household can still cast its paper ballot.
    let tally: Value = app
        .get(&format!("/proposals/{p}/tally"), &o.officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tally["turnout"]["headcount"], 0, "{tally}");
    let response = assisted(&app, &o, &p, "v01", &["c1"], "paper").await;
    assert_eq!(response.status(), StatusCode::OK);
}
