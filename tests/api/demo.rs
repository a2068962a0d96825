//! `yishi serve --demo`: what a visitor finds after signing in with a printed login — the
//! road-repair vote, the owners' committee election with paper ballots counted, a petition with
//! a co-signature, and discussions with the council's answers — and that seeding is done once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_demo_app};

async fn json_get(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_demo_shows_an_election_a_petition_and_a_discussion_to_a_visitor() {
    let app = spawn_demo_app().await;
    let login = yishi::demo::LOGINS
        .iter()
        .find(|l| l.login == "wang")
        .unwrap();
    let wang = app.login(login.login, login.password).await;
    let communities = json_get(&app, "/communities", &wang).await;
    let community = communities[0]["id"].as_str().unwrap().to_owned();

    // Two votes are open: the road repair and the committee election.
    let listed = json_get(&app, &format!("/communities/{community}/proposals"), &wang).await;
    let proposals = listed["proposals"].as_array().unwrap();
    assert_eq!(proposals.len(), 2, "{listed}");
    assert!(proposals.iter().all(|p| p["state"] == "voting"), "{listed}");
    let by_title = |needle: &str| -> String {
        proposals
            .iter()
            .find(|p| p["title"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no proposal titled {needle}: {listed}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let road = by_title("Repair the compound road");
    let election = by_title("owners' committee");

    // The election: 7 candidates for 5 seats and 2 alternates, the paper ballots counted live.
    let view = json_get(&app, &format!("/proposals/{election}/election"), &wang).await;
    let candidates = view["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 7, "{view}");
    assert_eq!(
        (&view["seats"], &view["alternates"]),
        (&json!(5), &json!(2))
    );
    let tally = json_get(&app, &format!("/proposals/{election}/tally"), &wang).await;
    assert_eq!(tally["turnout"]["headcount"], 38, "{tally}");
    let approvals: Vec<u64> = tally["election"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["approvals"]["headcount"].as_u64().unwrap())
        .collect();
    assert!(approvals.iter().all(|&n| n > 0), "{approvals:?}");
    // And the visitor can vote in it.
    let first = candidates[0]["id"].as_str().unwrap();
    let response = app
        .put_json(
            &format!("/proposals/{election}/ballot"),
            &wang,
            json!({"approve": [first], "idempotency_key": "demo-visitor"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // The petition, raised by one resident and co-signed by another, with the council's answer.
    let petitions = json_get(&app, &format!("/communities/{community}/petitions"), &wang).await;
    let petition = &petitions["petitions"][0];
    assert_eq!(petition["signatures"], 2, "{petitions}");
    let id = petition["id"].as_str().unwrap();
    let thread = json_get(&app, &format!("/petitions/{id}/comments"), &wang).await;
    let official: Vec<bool> = thread["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["official"].as_bool().unwrap())
        .collect();
    assert_eq!(official, [false, true], "{thread}");
    let thread = json_get(&app, &format!("/proposals/{road}/comments"), &wang).await;
    assert_eq!(thread["comments"].as_array().unwrap().len(), 2, "{thread}");
    let revisions = json_get(&app, &format!("/proposals/{road}/revisions"), &wang).await;
    assert_eq!(revisions["revisions"].as_array().unwrap().len(), 1);

    // What's new for the visitor: both votes opened.
    let notices = json_get(&app, &format!("/communities/{community}/notices"), &wang).await;
    let opened = notices["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "opened")
        .count();
    assert_eq!(opened, 2, "{notices}");

    // Seeding again (a restart with --demo) adds nothing.
    yishi::demo::seed(&app.state).await.unwrap();
    let petitions = json_get(&app, &format!("/communities/{community}/petitions"), &wang).await;
    assert_eq!(petitions["petitions"].as_array().unwrap().len(), 1);
}
