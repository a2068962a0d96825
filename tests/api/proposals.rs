//! Proposals end to end: the road-repair vote, every lifecycle transition and refusal,
//! idempotent retries, changing a ballot, proxies and assisted ballots, the deadline, visibility.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, error, spawn_app};

/// A community with an officer and every `ROLL_CSV` voter signed up through activation codes.
pub struct Compound {
    pub community: String,
    pub officer: String,
    /// Voter key → bearer token.
    pub voters: HashMap<String, String>,
}

pub async fn compound(app: &TestApp, name: &str) -> Compound {
    let admin = app.admin().await;
    let (community, officer) = app.community_with_roll(&admin, name).await;
    let response = app
        .post_json(
            &format!("/communities/{community}/activation-codes"),
            &officer,
            json!({}),
        )
        .await;
    assert!(
        response.status().is_success(),
        "codes: {}",
        response.status()
    );
    let codes: Vec<Value> = response.json().await.unwrap();
    let mut voters = HashMap::new();
    for card in codes {
        let voter = card["voter"].as_str().unwrap().to_owned();
        let login = format!("{voter}-{}", &community[..6]);
        let response = app
            .api()
            .post(app.url("/activate"))
            .json(&json!({"code": card["code"], "login": login, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "activate {voter}");
        let body: Value = response.json().await.unwrap();
        voters.insert(voter, body["token"].as_str().unwrap().to_owned());
    }
    assert_eq!(voters.len(), 4);
    Compound {
        community,
        officer,
        voters,
    }
}

fn in_seconds(seconds: i64) -> String {
    jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap()
        .to_string()
}

/// The road repair: Art. 278 items 6–8 plus more than half of all households.
pub fn road_repair(extra: Value) -> Value {
    let mut body = json!({
        "title": "Repair the compound road",
        "body": "Each owner pays **1,000 yuan**.",
        "cost": {"amount": "1000.00", "currency": "CNY", "split": "per_voter"},
        "rule": {"preset": "cn-278-major", "also": ["approval headcount of roll more_than 1/2"]},
        "closes_at": in_seconds(3600),
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    body
}

pub async fn create(app: &TestApp, c: &Compound, body: Value) -> String {
    let response = app
        .post_json(
            &format!("/communities/{}/proposals", c.community),
            &c.officer,
            body,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

pub async fn open(app: &TestApp, c: &Compound, proposal: &str) {
    let response = app
        .post_json(
            &format!("/proposals/{proposal}/open"),
            &c.officer,
            json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "open");
}

pub async fn vote(
    app: &TestApp,
    token: &str,
    proposal: &str,
    choice: &str,
    key: &str,
) -> reqwest::Response {
    app.put_json(
        &format!("/proposals/{proposal}/ballot"),
        token,
        json!({"choice": choice, "idempotency_key": key}),
    )
    .await
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_road_repair_passes_on_both_measures_and_all_households() {
    // Arrange: wang 179.67 m² (two units), li 75.00, zhao 120.00, sun 60.50: 435.17 m² in all.
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;

    // Act: three yes, one no.
    for (voter, choice) in [
        ("wang", "yes"),
        ("li", "yes"),
        ("zhao", "yes"),
        ("sun", "no"),
    ] {
        let response = vote(&app, &c.voters[voter], &p, choice, &format!("k-{voter}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{voter} votes");
        let receipt = json_of(response).await;
        assert_eq!(receipt["receipt"].as_str().unwrap().len(), 64);
    }
    let live = json_of(app.get(&format!("/proposals/{p}/tally"), &c.officer).await).await;
    let closed = json_of(
        app.post_json(&format!("/proposals/{p}/close"), &c.officer, json!({}))
            .await,
    )
    .await;
    let tally = json_of(
        app.get(&format!("/proposals/{p}/tally"), &c.voters["sun"])
            .await,
    )
    .await;

    // Assert: participation 4 of 4 and 435.17 of 435.17 m²; yes 3 of 4 (at least 3/4 holds)
    // and 374.67 of 435.17 m² (374.67 × 4 = 1498.68 ≥ 435.17 × 3 = 1305.51); 3 of all 4 > 1/2.
    assert_eq!(live["outcome"], "passed");
    assert_eq!(closed["state"], "closed");
    assert_eq!(tally["state"], "closed");
    assert_eq!(tally["final"], true);
    assert_eq!(tally["outcome"], "passed");
    assert_eq!(tally["tally"]["yes"]["weights"]["area"], "374.67");
    assert_eq!(tally["turnout"]["headcount"], 4);
    let conditions = tally["conditions"].as_array().unwrap();
    assert_eq!(conditions.len(), 5);
    assert!(conditions.iter().all(|c| c["holds"] == true));
    assert_eq!(
        conditions[4]["text"],
        "approval headcount of roll more_than 1/2"
    );
    assert_eq!(conditions[4]["numerator"], 3);
    assert_eq!(conditions[4]["base"], 4);
}

#[tokio::test]
async fn the_road_repair_fails_without_more_than_half_of_all_households() {
    // Two yes and nobody else: 2 of 4 participants approve (3/4 fails), and 2 of all 4
    // households is not more than half.
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    vote(&app, &c.voters["wang"], &p, "yes", "a").await;
    vote(&app, &c.voters["zhao"], &p, "yes", "b").await;
    app.post_json(&format!("/proposals/{p}/close"), &c.officer, json!({}))
        .await;
    let tally = json_of(app.get(&format!("/proposals/{p}/tally"), &c.officer).await).await;
    // Participation 2 of 4 households: the headcount quorum (2/3) fails → no quorum.
    assert_eq!(tally["outcome"], "no_quorum");
    let roll_majority = &tally["conditions"][4];
    assert_eq!(roll_majority["holds"], false);
    assert_eq!(roll_majority["numerator"], 2);
    assert_eq!(roll_majority["needed"], 1);
}

#[tokio::test]
async fn lifecycle_transitions_are_checked_by_the_server() {
    let app = spawn_app().await;
    let c = compound(&app, "Lifecycle").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    let post = |path: &'static str| {
        let app = &app;
        let c = &c;
        let p = p.clone();
        async move {
            app.post_json(
                &format!("/proposals/{p}/{path}"),
                &c.officer,
                match path {
                    "extend" => json!({"reason": "few voted", "closes_at": in_seconds(7200)}),
                    "withdraw" => json!({"reason": "superseded"}),
                    _ => json!({}),
                },
            )
            .await
        }
    };
    // Draft: cannot close; residents neither see it nor vote on it.
    assert_eq!(error(post("close").await).await.1, "wrong_state");
    assert_eq!(
        error(vote(&app, &c.voters["li"], &p, "yes", "x").await)
            .await
            .1,
        "not_found"
    );
    assert_eq!(
        app.get(&format!("/proposals/{p}"), &c.voters["li"])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Deliberation: residents read it; it can still be revised.
    assert_eq!(post("deliberate").await.status(), StatusCode::OK);
    let read = json_of(app.get(&format!("/proposals/{p}"), &c.voters["li"]).await).await;
    assert_eq!(read["state"], "deliberation");
    assert_eq!(read["my_cost_share"]["amount"], "1000.00");
    let revised = app
        .patch_json(
            &format!("/proposals/{p}"),
            &c.officer,
            json!({"title": "Repair the road (revised)"}),
        )
        .await;
    assert_eq!(revised.status(), StatusCode::OK);
    assert_eq!(error(post("deliberate").await).await.1, "wrong_state");
    // Voting: frozen text, no second opening.
    assert_eq!(post("open").await.status(), StatusCode::OK);
    assert_eq!(error(post("open").await).await.1, "wrong_state");
    let frozen = app
        .patch_json(
            &format!("/proposals/{p}"),
            &c.officer,
            json!({"title": "changed"}),
        )
        .await;
    assert_eq!(error(frozen).await.1, "not_revisable");
    // Extending while the quorum is not met is allowed and recorded.
    let extended = json_of(post("extend").await).await;
    assert_eq!(extended["extensions"].as_array().unwrap().len(), 1);
    // Closed: no ballots, no withdrawal.
    assert_eq!(post("close").await.status(), StatusCode::OK);
    assert_eq!(
        error(vote(&app, &c.voters["li"], &p, "yes", "y").await)
            .await
            .1,
        "not_open"
    );
    assert_eq!(error(post("withdraw").await).await.1, "wrong_state");
    assert_eq!(error(post("close").await).await.1, "wrong_state");
}

#[tokio::test]
async fn extension_is_refused_once_the_quorum_is_met() {
    let app = spawn_app().await;
    let c = compound(&app, "Quorum").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    for voter in ["wang", "li", "zhao"] {
        vote(&app, &c.voters[voter], &p, "yes", voter).await;
    }
    // 3 of 4 households and 374.67 of 435.17 m² took part: both quorums (2/3) hold.
    let response = app
        .post_json(
            &format!("/proposals/{p}/extend"),
            &c.officer,
            json!({"closes_at": in_seconds(7200), "reason": "more time"}),
        )
        .await;
    let (status, code, message) = error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "wrong_state")
    );
    assert!(message.contains("quorum is met"), "{message}");
}

#[tokio::test]
async fn a_retry_with_the_same_key_is_counted_once_and_a_second_ballot_is_refused() {
    let app = spawn_app().await;
    let c = compound(&app, "Retry").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    let first = json_of(vote(&app, &c.voters["li"], &p, "yes", "key-1").await).await;
    let retry = json_of(vote(&app, &c.voters["li"], &p, "yes", "key-1").await).await;
    assert_eq!(first["receipt"], retry["receipt"]);
    assert_eq!(first["replayed"], false);
    assert_eq!(retry["replayed"], true);
    let (status, code, _) = error(vote(&app, &c.voters["li"], &p, "no", "key-1").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "idempotency_key_reused")
    );
    let (status, code, message) = error(vote(&app, &c.voters["li"], &p, "no", "key-2").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "already_voted")
    );
    assert!(message.contains("online"), "{message}");
    let tally = json_of(app.get(&format!("/proposals/{p}/tally"), &c.officer).await).await;
    assert_eq!(tally["ledger_len"], 1);
    assert_eq!(tally["tally"]["yes"]["headcount"], 1);
    assert_eq!(tally["tally"]["no"]["headcount"], 0);
}

#[tokio::test]
async fn changing_a_ballot_replaces_it_when_the_proposal_allows() {
    let app = spawn_app().await;
    let c = compound(&app, "Change").await;
    let p = create(&app, &c, road_repair(json!({"allow_change": true}))).await;
    open(&app, &c, &p).await;
    vote(&app, &c.voters["zhao"], &p, "yes", "one").await;
    let second = vote(&app, &c.voters["zhao"], &p, "no", "two").await;
    assert_eq!(second.status(), StatusCode::OK);
    let tally = json_of(app.get(&format!("/proposals/{p}/tally"), &c.officer).await).await;
    assert_eq!(tally["ledger_len"], 2, "both ballots are in the ledger");
    assert_eq!(
        tally["tally"]["yes"]["headcount"], 0,
        "only the latest counts"
    );
    assert_eq!(tally["tally"]["no"]["headcount"], 1);
    assert_eq!(
        tally["certainty"], "open",
        "changeable ballots make nothing certain"
    );
    let mine = json_of(
        app.get(&format!("/proposals/{p}/ballot"), &c.voters["zhao"])
            .await,
    )
    .await;
    assert_eq!(mine["choice"], "no");
}

#[tokio::test]
async fn proxy_and_assisted_ballots_share_the_ledger_and_one_voter_has_one_ballot() {
    let app = spawn_app().await;
    let c = compound(&app, "Channels").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    // The officer records li's written authorisation for wang's account.
    let wang_login = format!("wang-{}", &c.community[..6]);
    let recorded = app
        .post_json(
            &format!("/proposals/{p}/proxies"),
            &c.officer,
            json!({"voter": "li", "holder_login": wang_login, "authorisation": "I, Li Na, authorise Wang Wei to vote for me on the road repair.", "expires_at": in_seconds(86400)}),
        )
        .await;
    assert_eq!(recorded.status(), StatusCode::CREATED);
    // Wang votes for Li, and for himself.
    let proxy = app
        .put_json(
            &format!("/proposals/{p}/ballot"),
            &c.voters["wang"],
            json!({"choice": "yes", "idempotency_key": "for-li", "voter": "li"}),
        )
        .await;
    assert_eq!(proxy.status(), StatusCode::OK);
    assert_eq!(json_of(proxy).await["channel"], "proxy");
    assert_eq!(
        vote(&app, &c.voters["wang"], &p, "yes", "own")
            .await
            .status(),
        StatusCode::OK
    );
    // Sun holds no proxy for zhao.
    let refused = app
        .put_json(
            &format!("/proposals/{p}/ballot"),
            &c.voters["sun"],
            json!({"choice": "no", "idempotency_key": "x", "voter": "zhao"}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Li herself now tries online: refused, naming the first channel.
    let (status, _, message) = error(vote(&app, &c.voters["li"], &p, "no", "li-own").await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message.contains("proxy"), "{message}");
    // Zhao votes on paper through the officer, then tries online.
    let assisted = app
        .post_json(
            &format!("/proposals/{p}/assisted-ballots"),
            &c.officer,
            json!({"voter": "zhao", "choice": "abstain", "idempotency_key": "paper-7", "method": "paper", "note": "ballot box 2"}),
        )
        .await;
    assert_eq!(assisted.status(), StatusCode::OK);
    let (status, _, message) = error(vote(&app, &c.voters["zhao"], &p, "yes", "z").await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message.contains("assisted"), "{message}");
    // The turnout view lists who has voted and how, never what.
    let turnout = json_of(
        app.get(&format!("/proposals/{p}/turnout"), &c.officer)
            .await,
    )
    .await;
    assert_eq!(turnout["voted_count"], 3);
    assert_eq!(turnout["not_voted"][0]["voter"], "sun");
    assert!(!turnout.to_string().contains("abstain"));
    // A resident may not enter assisted ballots.
    let forbidden = app
        .post_json(
            &format!("/proposals/{p}/assisted-ballots"),
            &c.voters["sun"],
            json!({"voter": "sun", "choice": "yes", "idempotency_key": "s", "method": "paper"}),
        )
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_deadline_closes_a_proposal_by_itself() {
    let app = spawn_app().await;
    let c = compound(&app, "Deadline").await;
    let p = create(&app, &c, road_repair(json!({"closes_at": in_seconds(2)}))).await;
    open(&app, &c, &p).await;
    let receipt = json_of(vote(&app, &c.voters["wang"], &p, "yes", "w").await).await;
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let read = json_of(app.get(&format!("/proposals/{p}"), &c.officer).await).await;
    assert_eq!(read["state"], "closed");
    let (status, code, _) = error(vote(&app, &c.voters["li"], &p, "yes", "late").await).await;
    assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "not_open"));
    // Wang's answer was lost, say: his retry after the deadline still gets his receipt.
    let retry = json_of(vote(&app, &c.voters["wang"], &p, "yes", "w").await).await;
    assert_eq!(retry["receipt"], receipt["receipt"]);
    assert_eq!(retry["replayed"], true);
    let changed = vote(&app, &c.voters["wang"], &p, "no", "w").await;
    assert_eq!(changed.status(), StatusCode::CONFLICT);
    let tally = json_of(
        app.get(&format!("/proposals/{p}/tally"), &c.voters["li"])
            .await,
    )
    .await;
    assert_eq!(tally["outcome"], "no_quorum");
    assert_eq!(tally["tally"]["yes"]["headcount"], 1);
}

#[tokio::test]
async fn hidden_results_show_turnout_and_quorums_only() {
    let app = spawn_app().await;
    let c = compound(&app, "Hidden").await;
    let p = create(
        &app,
        &c,
        road_repair(json!({"visibility": "after_close", "secrecy": "secret"})),
    )
    .await;
    open(&app, &c, &p).await;
    vote(&app, &c.voters["wang"], &p, "no", "w").await;
    for who in [&c.officer, &c.voters["wang"], &c.voters["li"]] {
        let tally = json_of(app.get(&format!("/proposals/{p}/tally"), who).await).await;
        assert_eq!(tally["results_visible"], false);
        assert_eq!(tally["turnout"]["headcount"], 1);
        assert!(tally.get("tally").is_none() && tally.get("outcome").is_none());
        let kinds: Vec<&str> = tally["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["quorum", "quorum"]);
    }
    // The ledger of a secret ballot is not published during voting.
    assert_eq!(
        app.get(&format!("/proposals/{p}/ledger"), &c.officer)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_electorate_is_frozen_when_voting_opens() {
    let app = spawn_app().await;
    let c = compound(&app, "Frozen").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    let before = json_of(app.get(&format!("/proposals/{p}/tally"), &c.officer).await).await;
    let replaced = app
        .put_csv(
            &format!("/communities/{}/roll", c.community),
            &c.officer,
            "voter,unit,area\nnew,9-901,100\n",
        )
        .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let after = json_of(app.get(&format!("/proposals/{p}/tally"), &c.officer).await).await;
    assert_eq!(before["electorate"], after["electorate"]);
    assert_eq!(after["electorate"]["headcount"], 4);
    assert_eq!(
        vote(&app, &c.voters["sun"], &p, "yes", "s").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_stable_codes_and_changes_nothing() {
    let app = spawn_app().await;
    let c = compound(&app, "Bad input").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    let path = format!("/communities/{}/proposals", c.community);
    let raw = |body: &'static str| {
        app.api()
            .post(app.url(&path))
            .bearer_auth(&c.officer)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(reqwest::Response, StatusCode, &str)> = vec![
        (raw("{not json").await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json"),
        (raw(r#"{"title": 5}"#).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (
            app.post_json(&path, &c.officer, road_repair(json!({"title": "x".repeat(201)}))).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            app.post_json(&path, &c.officer, road_repair(json!({"rule": {"preset": "majority"}}))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_rule",
        ),
        (
            app.post_json(&path, &c.officer, road_repair(json!({"rule": {"preset": "de-weg-21"}}))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_rule",
        ),
        (
            app.post_json(&path, &c.officer, road_repair(json!({"closes_at": "2020-01-01T00:00:00Z"}))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_time",
        ),
        (
            app.post_json(&path, &c.officer, road_repair(json!({"closes_at": "next tuesday"}))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_time",
        ),
        (
            app.post_json(&path, &c.officer, road_repair(json!({"cost": {"amount": "-5", "currency": "CNY", "split": "per_voter"}}))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_cost",
        ),
        (
            app.post_json(&path, &c.officer, json!({"title": "t", "body": "x".repeat(5 * 1024 * 1024), "rule": {"preset": "cn-278"}, "closes_at": in_seconds(60)})).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            vote(&app, &c.voters["li"], "0123456789abcdef0123456789abcdef", "yes", "k").await,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            app.put_json(&format!("/proposals/{p}/ballot"), &c.voters["li"], json!({"choice": "maybe", "idempotency_key": "k"})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
    ];
    for (i, (response, status, code)) in cases.into_iter().enumerate() {
        let (got_status, got_code, message) = error(response).await;
        assert_eq!(
            (got_status, got_code.as_str()),
            (status, code),
            "case {i}: {message}"
        );
        assert!(!message.is_empty());
    }
    // Nothing was stored by any of them: still exactly one proposal.
    let list = json_of(app.get(&path, &c.officer).await).await;
    assert_eq!(list["proposals"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_request_that_stalls_is_cut_off_with_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::support::spawn_app_with(|config| config.server.request_timeout_secs = 1).await;
    // A client announces a body and never sends it.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/session HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server answered within 5 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""code":"timeout""#), "{text}");
}
