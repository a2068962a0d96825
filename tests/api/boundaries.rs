//! Edges of deliberation and elections: limits, states that never had a vote, results that wait
//! for the close, and successions that must not be undone.

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

#[tokio::test]
async fn a_show_of_hands_keeps_the_count_of_a_vote_whose_results_wait_for_the_close() {
    // Arrange: an open ballot whose results are shown only after the close, on a meeting's
    // agenda, with two households present.
    let app = spawn_app().await;
    let c = compound(&app, "Hidden Hands").await;
    let p = create(&app, &c, road_repair(json!({"visibility": "after_close"}))).await;
    crate::proposals::open(&app, &c, &p).await;
    let meeting: Value = app
        .post_json(
            &format!("/communities/{}/meetings", c.community),
            &c.officer,
            json!({"title": "Road", "starts_at": in_a_day(), "place": "Hall",
                   "agenda": [{"kind": "proposal", "id": p}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let m = meeting["id"].as_str().unwrap();
    let present = json!({"attendees": [{"voter": "wang", "name": "王伟"},
                                       {"voter": "li", "name": "李娜"}]});
    let attendance = app
        .put_json(&format!("/meetings/{m}/attendance"), &c.officer, present)
        .await;
    assert_eq!(attendance.status(), StatusCode::OK);

    // Act: both raise their hands for yes.
    let hands = app
        .post_json(
            &format!("/meetings/{m}/show-of-hands"),
            &c.officer,
            json!({"proposal": p, "hands": [{"voter": "wang", "choice": "yes"},
                                             {"voter": "li", "choice": "yes"}]}),
        )
        .await;
    assert_eq!(hands.status(), StatusCode::OK);

    // Assert: the tally hides the results until the close, and so does the meeting record, for
    // a resident who was not there and for the officer alike; only how many took part shows.
    let tally: Value = app
        .get(&format!("/proposals/{p}/tally"), &c.voters["zhao"])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tally["results_visible"], false);
    for token in [&c.voters["zhao"], &c.officer] {
        let read: Value = app
            .get(&format!("/meetings/{m}"), token)
            .await
            .json()
            .await
            .unwrap();
        let listed: Value = app
            .get(&format!("/communities/{}/meetings", c.community), token)
            .await
            .json()
            .await
            .unwrap();
        for hands in [
            &read["show_of_hands"][0],
            &listed["meetings"][0]["show_of_hands"][0],
        ] {
            assert_eq!(hands["yes"], Value::Null, "{hands}");
            assert_eq!(hands["no"], Value::Null, "{hands}");
            assert_eq!(hands["ballots"], 2, "{hands}");
        }
    }

    // Once voting closes, the counts are shown.
    let closed = app
        .post_json(&format!("/proposals/{p}/close"), &c.officer, json!({}))
        .await;
    assert_eq!(closed.status(), StatusCode::OK);
    let read: Value = app
        .get(&format!("/meetings/{m}"), &c.voters["zhao"])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["show_of_hands"][0]["yes"], 2);
}

#[tokio::test]
async fn one_household_cannot_fill_the_communitys_petitions_alone() {
    // Arrange
    let app = spawn_app().await;
    let c = compound(&app, "Petition Flood").await;
    let raise = |title: String| {
        let (app, c) = (&app, &c);
        async move {
            app.post_json(
                &format!("/communities/{}/petitions", c.community),
                &c.voters["wang"],
                json!({"title": title, "signing_closes": in_a_day()}),
            )
            .await
        }
    };
    for n in 0..5 {
        assert_eq!(
            raise(format!("Need {n}")).await.status(),
            StatusCode::CREATED
        );
    }

    // Act: a sixth while the five still collect signatures.
    let (status, code, _) = error(raise("Need 5".into()).await).await;

    // Assert: refused for that household, while a neighbour may still raise one.
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "too_many_petitions")
    );
    let neighbour = app
        .post_json(
            &format!("/communities/{}/petitions", c.community),
            &c.voters["li"],
            json!({"title": "Lights", "signing_closes": in_a_day()}),
        )
        .await;
    assert_eq!(neighbour.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_proposal_keeps_a_bounded_number_of_revisions() {
    // Arrange: a proposal revised up to the limit (revision 1 is the text as created).
    let app = spawn_app().await;
    let c = compound(&app, "Many Revisions").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    let revise = |body: Value| {
        let (app, c, p) = (&app, &c, &p);
        async move {
            app.patch_json(&format!("/proposals/{p}"), &c.officer, body)
                .await
        }
    };
    for n in 2..=200 {
        let response = revise(json!({"body": format!("Version {n}")})).await;
        assert_eq!(response.status(), StatusCode::OK, "revision {n}");
    }

    // Act: one text more.
    let (status, code, _) = error(revise(json!({"body": "Version 201"})).await).await;

    // Assert: refused with a stable code; the revisions kept are untouched, and a change
    // that makes no new revision (the closing time) is still accepted.
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "too_many_revisions")
    );
    let revisions: Value = app
        .get(&format!("/proposals/{p}/revisions"), &c.officer)
        .await
        .json()
        .await
        .unwrap();
    let kept = revisions["revisions"].as_array().unwrap();
    assert_eq!(kept.len(), 200);
    assert_eq!(kept[199]["body"], "Version 200");
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48)).to_string();
    assert_eq!(
        revise(json!({"closes_at": later})).await.status(),
        StatusCode::OK
    );
}

/// A certified election of the test roll: two seats and one alternate; A is approved by three
/// households, B by two, C by one, under a rule every one of them meets.
async fn certified_election(
    app: &crate::support::TestApp,
    c: &crate::proposals::Compound,
) -> String {
    let created = app
        .post_json(
            &format!("/communities/{}/elections", c.community),
            &c.officer,
            json!({"title": "Committee", "seats": 2, "alternates": 1, "closes_at": in_a_day(),
                   "rule": {"levels": [{"label": "elected", "conditions": [{"kind": "approval",
                       "measure": "headcount", "of": "participants", "at_least": "1/4"}]}]},
                   "candidates": [{"name": "A"}, {"name": "B"}, {"name": "C"}]}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let p = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::proposals::open(app, c, &p).await;
    for (voter, approve) in [
        ("wang", json!(["c1", "c2"])),
        ("li", json!(["c1", "c2"])),
        ("zhao", json!(["c1", "c3"])),
    ] {
        let response = app
            .put_json(
                &format!("/proposals/{p}/ballot"),
                &c.voters[voter],
                json!({"approve": approve, "idempotency_key": voter}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{voter} votes");
    }
    for step in ["close", "publish"] {
        let response = app
            .post_json(&format!("/proposals/{p}/{step}"), &c.officer, json!({}))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{step}");
    }
    p
}

#[tokio::test]
async fn seating_the_same_election_twice_does_not_undo_a_succession() {
    // Arrange: the committee seated (A, B; alternate C), then A leaves and C moves up.
    let app = spawn_app().await;
    let c = compound(&app, "Seated Twice").await;
    let p = certified_election(&app, &c).await;
    let committee = format!("/communities/{}/committee", c.community);
    let seated = app
        .post_json(&committee, &c.officer, json!({"election": p}))
        .await;
    assert_eq!(seated.status(), StatusCode::CREATED);
    let vacancy = app
        .post_json(
            &format!("{committee}/vacancies"),
            &c.officer,
            json!({"member": "c1", "reason": "moved away", "date": "2026-12-01"}),
        )
        .await;
    assert_eq!(vacancy.status(), StatusCode::OK);

    // Act: the "seat the committee" button pressed again.
    let (status, code, _) = error(
        app.post_json(&committee, &c.officer, json!({"election": p}))
            .await,
    )
    .await;

    // Assert: refused, and the roster still has C in A's seat and the vacancy in its history.
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "already_constituted")
    );
    let roster: Value = app
        .get(&committee, &c.voters["sun"])
        .await
        .json()
        .await
        .unwrap();
    let members: Vec<&str> = roster["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["C", "B"]);
    assert_eq!(roster["history"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_meeting_cannot_be_closed_with_an_absurd_attendee_count() {
    // Arrange
    let app = spawn_app().await;
    let c = compound(&app, "Crowded Hall").await;
    let meeting: Value = app
        .post_json(
            &format!("/communities/{}/meetings", c.community),
            &c.officer,
            json!({"title": "Road", "starts_at": in_a_day(), "place": "Hall"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let close = format!("/meetings/{}/close", meeting["id"].as_str().unwrap());

    // Act
    let (status, code, _) = error(
        app.post_json(
            &close,
            &c.officer,
            json!({"minutes": "Agreed.", "attendee_count": u64::MAX}),
        )
        .await,
    )
    .await;

    // Assert: refused, nothing recorded; a real count still closes it.
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_count")
    );
    let closed = app
        .post_json(
            &close,
            &c.officer,
            json!({"minutes": "Agreed.", "attendee_count": 40}),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::OK);
    assert_eq!(closed.json::<Value>().await.unwrap()["attendee_count"], 40);
}

#[tokio::test]
async fn two_candidates_the_ballot_cannot_tell_apart_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let c = compound(&app, "Same Names").await;
    let elections = format!("/communities/{}/elections", c.community);
    let election = |candidates: Value| json!({"title": "Committee", "seats": 2, "closes_at": in_a_day(), "candidates": candidates});

    // Act + Assert: the same name twice at creation is refused and nothing is stored…
    let (status, code, _) = error(
        app.post_json(
            &elections,
            &c.officer,
            election(json!([{"name": "王伟"}, {"name": " 王伟 "}])),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "duplicate_candidate")
    );
    let list: Value = app
        .get(
            &format!("/communities/{}/proposals", c.community),
            &c.officer,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(!list.to_string().contains("Committee"), "{list}");

    // …and so is adding one later, or accepting a nomination under a name already standing.
    let created = app
        .post_json(&elections, &c.officer, election(json!([{"name": "王伟"}])))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let p = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, code, _) = error(
        app.post_json(
            &format!("/proposals/{p}/candidates"),
            &c.officer,
            json!({"name": "王伟"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "duplicate_candidate")
    );
    let deliberate = app
        .post_json(&format!("/proposals/{p}/deliberate"), &c.officer, json!({}))
        .await;
    assert_eq!(deliberate.status(), StatusCode::OK);
    let nominated = app
        .post_json(
            &format!("/proposals/{p}/nominations"),
            &c.voters["wang"],
            json!({"statement": "I stand", "name": "王伟"}),
        )
        .await;
    assert_eq!(nominated.status(), StatusCode::CREATED);
    let n = nominated.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, code, _) = error(
        app.post_json(
            &format!("/proposals/{p}/nominations/{n}/accept"),
            &c.officer,
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "duplicate_candidate")
    );
    let view: Value = app
        .get(&format!("/proposals/{p}/election"), &c.officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["candidates"].as_array().unwrap().len(), 1);
    assert_eq!(view["nominations"][0]["status"], "pending");
}

#[tokio::test]
async fn a_seat_cannot_fall_vacant_before_its_holder_took_it() {
    // Arrange: the committee's term starts on 1 December 2026.
    let app = spawn_app().await;
    let c = compound(&app, "Early Vacancy").await;
    let p = certified_election(&app, &c).await;
    let committee = format!("/communities/{}/committee", c.community);
    let seated = app
        .post_json(
            &committee,
            &c.officer,
            json!({"election": p, "term_start": "2026-12-01"}),
        )
        .await;
    assert_eq!(seated.status(), StatusCode::CREATED);

    // Act: a vacancy dated a month before the term began.
    let (status, code, _) = error(
        app.post_json(
            &format!("{committee}/vacancies"),
            &c.officer,
            json!({"member": "c1", "reason": "typo in the year", "date": "2026-11-01"}),
        )
        .await,
    )
    .await;

    // Assert: refused; A keeps the seat and C still waits.
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_date")
    );
    let roster: Value = app.get(&committee, &c.officer).await.json().await.unwrap();
    assert_eq!(roster["members"][0]["name"], "A");
    assert_eq!(roster["alternates"][0]["name"], "C");
    assert_eq!(roster["history"].as_array().unwrap().len(), 1);
}
