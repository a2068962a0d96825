//! Defects found in the review of deliberation (issue 7) and elections (issue 8), each pinned by
//! the behaviour a council would notice.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::proposals::{compound, create, road_repair};
use crate::support::{error, spawn_app};

fn in_a_day() -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24)).to_string()
}

#[tokio::test]
async fn the_outreach_log_of_a_proposal_withdrawn_before_voting_is_a_conflict_not_a_fault() {
    // Arrange: a proposal withdrawn while still in deliberation never had an electorate.
    let app = spawn_app().await;
    let c = compound(&app, "Withdrawn Compound").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    let deliberate = app
        .post_json(&format!("/proposals/{p}/deliberate"), &c.officer, json!({}))
        .await;
    assert_eq!(deliberate.status(), StatusCode::OK);
    let withdrawn = app
        .post_json(
            &format!("/proposals/{p}/withdraw"),
            &c.officer,
            json!({"reason": "superseded"}),
        )
        .await;
    assert_eq!(withdrawn.status(), StatusCode::OK);

    // Act
    let response = app
        .get(&format!("/proposals/{p}/outreach"), &c.officer)
        .await;

    // Assert: the officer is told voting never opened, not "internal error".
    let (status, code, _) = error(response).await;
    assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "not_open"));
}

#[tokio::test]
async fn revising_an_election_keeps_the_text_it_was_created_with() {
    // Arrange: an election created with its first text.
    let app = spawn_app().await;
    let c = compound(&app, "Election Revisions").await;
    let created = app
        .post_json(
            &format!("/communities/{}/elections", c.community),
            &c.officer,
            json!({"title": "Committee 2027", "body": "Stand by 1 March.", "seats": 3,
                   "alternates": 1, "closes_at": in_a_day(),
                   "candidates": [{"name": "A"}, {"name": "B"}]}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let p = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act: the officer revises the body.
    let revised = app
        .patch_json(
            &format!("/proposals/{p}"),
            &c.officer,
            json!({"body": "Stand by 15 March."}),
        )
        .await;
    assert_eq!(revised.status(), StatusCode::OK);

    // Assert: both versions are kept, the first as created, and the diff shows the change.
    let revisions: Value = app
        .get(&format!("/proposals/{p}/revisions"), &c.officer)
        .await
        .json()
        .await
        .unwrap();
    let bodies: Vec<&str> = revisions["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Stand by 1 March.", "Stand by 15 March."]);
    let diff: Value = app
        .get(&format!("/proposals/{p}/revisions/2/diff"), &c.officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        diff["body"],
        json!([{"op": "delete", "text": "Stand by 1 March."},
               {"op": "insert", "text": "Stand by 15 March."}])
    );
}
