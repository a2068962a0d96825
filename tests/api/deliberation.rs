//! Deliberation (issue #7) through the API: threaded comments with their limits, moderation and
//! live arrival; proposal revisions, their diffs and the text frozen at opening as named by the
//! certificate; residents' petitions with the co-sign threshold crossed exactly at its boundary.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::proposals::{Compound, compound, create, open, road_repair, vote};
use crate::support::{PASSWORD, TestApp, error, spawn_app};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn in_seconds(seconds: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds)).to_string()
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

async fn feed(app: &TestApp, community: &str, token: &str) -> Socket {
    let url = format!("ws://{}/api/v1/communities/{community}/live", app.addr);
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = connect_async(request).await.expect("feed connects");
    assert_eq!(next_json(&mut socket).await["type"], "hello");
    socket
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("the stream is open")
            .expect("a readable frame");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// An observer of the compound and a voter of another community: (observer token, stranger
/// token, the other community's compound).
async fn outsiders(app: &TestApp, c: &Compound) -> (String, String, Compound) {
    let admin = app.admin().await;
    let login = format!("watcher-{}", &c.community[..6]);
    app.create_account(&admin, &login).await;
    app.add_member(&admin, &c.community, &login, "observer", None)
        .await;
    let observer = app.login(&login, PASSWORD).await;
    let other = compound(app, "Other Compound").await;
    let stranger = other.voters["wang"].clone();
    (observer, stranger, other)
}

async fn comment(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.post_json(path, token, body).await
}

// ---------------------------------------------------------------------------------------------
// Discussion
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn residents_discuss_in_threads_and_new_comments_arrive_live() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    let path = format!("/proposals/{p}/comments");
    let mut watcher = feed(&app, &c.community, &c.voters["sun"]).await;

    // A resident asks; the council answers in the thread; another resident replies to that.
    let response = comment(
        &app,
        &c.voters["li"],
        &path,
        json!({"body": "Who chose the **contractor**?"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let question = json_of(response).await;
    let arrived = next_json(&mut watcher).await;
    assert_eq!(arrived["type"], "comment");
    assert_eq!(arrived["subject"], format!("proposal:{p}"));
    assert_eq!(arrived["comment"]["body"], "Who chose the **contractor**?");
    assert_eq!(arrived["comment"]["official"], false);

    let answer = json_of(
        comment(
            &app,
            &c.officer,
            &path,
            json!({"body": "Three bids; the lowest won.", "parent": question["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        answer["official"], true,
        "an officer's comment is an answer"
    );
    assert_eq!(answer["depth"], 1);
    assert_eq!(next_json(&mut watcher).await["comment"]["official"], true);
    let reply = json_of(
        comment(
            &app,
            &c.voters["zhao"],
            &path,
            json!({"body": "Thank you.", "parent": answer["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(reply["depth"], 2);

    // Everyone of the community reads the thread in order, with who wrote what.
    let thread = json_of(app.get(&path, &c.voters["wang"]).await).await;
    let comments = thread["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 3);
    assert_eq!(comments[0]["id"], question["id"]);
    assert_eq!(comments[1]["parent"], question["id"]);
    assert_eq!(comments[2]["parent"], answer["id"]);
    assert!(comments[0]["author"].as_str().unwrap().starts_with("li-"));
    assert_eq!(thread["may_comment"], true);
}

#[tokio::test]
async fn observers_read_only_and_other_communities_see_nothing() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let (observer, stranger, _) = outsiders(&app, &c).await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    let path = format!("/proposals/{p}/comments");

    // A draft's discussion is the officers' alone.
    assert_eq!(
        app.get(&path, &c.voters["li"]).await.status(),
        StatusCode::NOT_FOUND
    );
    let response = comment(&app, &c.officer, &path, json!({"body": "Draft note"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    open(&app, &c, &p).await;

    // The observer reads but may not write.
    let thread = json_of(app.get(&path, &observer).await).await;
    assert_eq!(thread["comments"].as_array().unwrap().len(), 1);
    assert_eq!(thread["may_comment"], false);
    let (status, code, _) =
        error(comment(&app, &observer, &path, json!({"body": "hi"})).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );

    // A voter of another community learns nothing and writes nothing.
    let (status, _, _) = error(app.get(&path, &stranger).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = error(comment(&app, &stranger, &path, json!({"body": "hi"})).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let thread = json_of(app.get(&path, &c.officer).await).await;
    assert_eq!(
        thread["comments"].as_array().unwrap().len(),
        1,
        "nothing stored"
    );
}

#[tokio::test]
async fn comments_have_a_length_limit_a_rate_limit_and_a_depth_limit() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    app.post_json(&format!("/proposals/{p}/deliberate"), &c.officer, json!({}))
        .await;
    let path = format!("/proposals/{p}/comments");
    let li = &c.voters["li"];

    // Length: 2,000 characters pass (counted as characters, not bytes), 2,001 do not.
    let longest = "议".repeat(2000);
    let response = comment(&app, li, &path, json!({"body": longest})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (status, code, message) =
        error(comment(&app, li, &path, json!({"body": "议".repeat(2001)})).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );
    assert!(message.contains("2000"), "{message}");
    let (status, code, _) = error(comment(&app, li, &path, json!({"body": "   "})).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "missing_field")
    );

    // Depth: replies nest four deep, no deeper.
    let mut parent = json_of(app.get(&path, li).await).await["comments"][0]["id"].clone();
    let wang = &c.voters["wang"];
    for depth in 1..=4 {
        let reply = json_of(
            comment(
                &app,
                wang,
                &path,
                json!({"body": format!("depth {depth}"), "parent": parent}),
            )
            .await,
        )
        .await;
        assert_eq!(reply["depth"], depth);
        parent = reply["id"].clone();
    }
    let (status, code, _) = error(
        comment(
            &app,
            wang,
            &path,
            json!({"body": "too deep", "parent": parent}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "too_deep")
    );
    let (status, code, _) =
        error(comment(&app, wang, &path, json!({"body": "x", "parent": "nope"})).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_parent")
    );

    // Rate: li has written one; four more within the minute pass, the sixth is refused.
    for n in 2..=5 {
        let response = comment(&app, li, &path, json!({"body": format!("comment {n}")})).await;
        assert_eq!(response.status(), StatusCode::CREATED, "comment {n}");
    }
    let (status, code, _) = error(comment(&app, li, &path, json!({"body": "sixth"})).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
    );
    // Others are not held back by li's rate.
    let response = comment(&app, &c.voters["sun"], &path, json!({"body": "mine"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let thread = json_of(app.get(&path, li).await).await;
    let bodies: Vec<&str> = thread["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert!(!bodies.contains(&"sixth") && bodies.contains(&"mine"));
}

#[tokio::test]
async fn residents_report_and_only_officers_hide_with_a_reason_that_stays_visible() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    let path = format!("/proposals/{p}/comments");
    let rude = json_of(
        comment(
            &app,
            &c.voters["zhao"],
            &path,
            json!({"body": "Li is a thief"}),
        )
        .await,
    )
    .await;
    let id = rude["id"].as_str().unwrap();
    let mut watcher = feed(&app, &c.community, &c.voters["wang"]).await;

    // Li reports it once; twice is refused.
    let report = format!("/comments/{id}/report");
    let response = app
        .post_json(&report, &c.voters["li"], json!({"reason": "insult"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_of(response).await["reported_by_me"], true);
    let (status, code, _) = error(app.post_json(&report, &c.voters["li"], json!({})).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "already_reported")
    );

    // Officers see the report; a voter may not hide; an officer must give a reason.
    let thread = json_of(app.get(&path, &c.officer).await).await;
    assert_eq!(thread["comments"][0]["reports"][0]["reason"], "insult");
    let hide = format!("/comments/{id}/hide");
    let (status, _, _) = error(
        app.post_json(&hide, &c.voters["li"], json!({"reason": "x"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, code, _) = error(
        app.post_json(&hide, &c.officer, json!({"reason": " "}))
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "missing_field")
    );
    let response = app
        .post_json(&hide, &c.officer, json!({"reason": "personal attack"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let event = next_json(&mut watcher).await;
    assert_eq!(
        (event["type"].as_str(), event["reason"].as_str()),
        (Some("comment_hidden"), Some("personal attack"))
    );

    // Residents see the note with the reason, not the text; the comment is not deleted.
    let thread = json_of(app.get(&path, &c.voters["wang"]).await).await;
    let shown = &thread["comments"][0];
    assert_eq!(shown["id"], id);
    assert!(shown["body"].is_null());
    assert!(shown.get("hidden_body").is_none());
    assert_eq!(shown["hidden"]["reason"], "personal attack");
    let thread = json_of(app.get(&path, &c.officer).await).await;
    assert_eq!(thread["comments"][0]["hidden_body"], "Li is a thief");
    let (status, code, _) = error(
        app.post_json(&hide, &c.officer, json!({"reason": "again"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "already_hidden")
    );

    // The moderation is in the audit log.
    let audit = app
        .get(&format!("/communities/{}/audit", c.community), &c.officer)
        .await
        .text()
        .await
        .unwrap();
    assert!(audit.contains("hide_comment") && audit.contains("personal attack"));
}

// ---------------------------------------------------------------------------------------------
// Revisions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_revision_is_kept_and_the_certificate_names_the_text_frozen_at_opening() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let p = create(
        &app,
        &c,
        road_repair(json!({"body": "Repair the road.\nEach owner pays 1,000 yuan.\n"})),
    )
    .await;
    app.post_json(&format!("/proposals/{p}/deliberate"), &c.officer, json!({}))
        .await;

    // Deliberation changes the text twice and the cost once.
    let revised = "Repair the road and the drains.\nEach owner pays 1,000 yuan.\n";
    let response = app
        .patch_json(
            &format!("/proposals/{p}"),
            &c.officer,
            json!({"body": revised}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let frozen_text = "Repair the road and the drains.\nEach owner pays 1,200 yuan.\n";
    let response = app
        .patch_json(
            &format!("/proposals/{p}"),
            &c.officer,
            json!({"body": frozen_text,
                   "cost": {"amount": "1200.00", "currency": "CNY", "split": "per_voter"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // A change of dates only is not a new revision of the text.
    app.patch_json(
        &format!("/proposals/{p}"),
        &c.officer,
        json!({"closes_at": in_seconds(7200)}),
    )
    .await;

    // Residents see every revision with its author and time, and what changed.
    let list = json_of(
        app.get(&format!("/proposals/{p}/revisions"), &c.voters["li"])
            .await,
    )
    .await;
    let revisions = list["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 3);
    assert!(
        revisions
            .iter()
            .all(|r| r["author"].as_str().unwrap().starts_with("officer-"))
    );
    assert!(revisions.iter().all(|r| r["at"].is_string()));
    assert!(list["frozen"].is_null(), "nothing is frozen before opening");
    let diff = json_of(
        app.get(&format!("/proposals/{p}/revisions/3/diff"), &c.voters["li"])
            .await,
    )
    .await;
    let lines: Vec<(&str, &str)> = diff["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["op"].as_str().unwrap(), l["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lines,
        [
            ("equal", "Repair the road and the drains."),
            ("delete", "Each owner pays 1,000 yuan."),
            ("insert", "Each owner pays 1,200 yuan."),
        ]
    );
    assert_eq!(diff["cost"]["old"]["amount"], "1000.00");
    assert_eq!(diff["cost"]["new"]["amount"], "1200.00");
    assert!(diff["title"].is_null());
    let diff = json_of(
        app.get(
            &format!("/proposals/{p}/revisions/3/diff?against=1"),
            &c.voters["li"],
        )
        .await,
    )
    .await;
    assert_eq!(diff["from"], 1);
    assert_eq!(
        app.get(&format!("/proposals/{p}/revisions/9/diff"), &c.voters["li"])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Opening freezes the text: revising is refused and nothing changes.
    open(&app, &c, &p).await;
    let (status, code, _) = error(
        app.patch_json(
            &format!("/proposals/{p}"),
            &c.officer,
            json!({"body": "sneaky"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "not_revisable")
    );
    let list = json_of(
        app.get(&format!("/proposals/{p}/revisions"), &c.voters["li"])
            .await,
    )
    .await;
    assert_eq!(list["frozen"], 3);
    assert_eq!(list["revisions"].as_array().unwrap().len(), 3);
    let frozen_hash = hex::encode(Sha256::digest(frozen_text.as_bytes()));
    assert_eq!(list["revisions"][2]["text_hash"], frozen_hash);

    // The vote is taken, closed and published: the certificate names the frozen text's hash.
    for (voter, choice) in [
        ("wang", "yes"),
        ("li", "yes"),
        ("zhao", "yes"),
        ("sun", "no"),
    ] {
        let response = vote(&app, &c.voters[voter], &p, choice, &format!("k-{voter}")).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = app
        .post_json(&format!("/proposals/{p}/close"), &c.officer, json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .post_json(
            &format!("/proposals/{p}/publish"),
            &c.officer,
            json!({"outcome_statement": "Passed."}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "publish");
    let certificate = json_of(
        app.api()
            .get(app.url(&format!("/proposals/{p}/certificate")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(certificate["proposal"]["text_hash"], frozen_hash);
    assert_eq!(certificate["ledger"]["opening"]["text_hash"], frozen_hash);

    // Another community's voter sees no revision.
    let (_, stranger, _) = outsiders(&app, &c).await;
    assert_eq!(
        app.get(&format!("/proposals/{p}/revisions"), &stranger)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------------------------------------
// Petitions
// ---------------------------------------------------------------------------------------------

/// A community with an officer and a roll of `households` voters `h1`…`hN`, each activated.
async fn compound_of(app: &TestApp, households: usize) -> Compound {
    let admin = app.admin().await;
    let community = app.create_community(&admin, "Ten Households").await;
    let officer = format!("officer-{}", &community[..8]);
    app.create_account(&admin, &officer).await;
    app.add_member(&admin, &community, &officer, "officer", None)
        .await;
    let officer = app.login(&officer, PASSWORD).await;
    let mut csv = String::from("voter,unit,area\n");
    for n in 1..=households {
        csv.push_str(&format!("h{n},{n}-101,80\n"));
    }
    let response = app
        .put_csv(&format!("/communities/{community}/roll"), &officer, &csv)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "roll");
    let codes: Vec<Value> = app
        .post_json(
            &format!("/communities/{community}/activation-codes"),
            &officer,
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let mut voters = HashMap::new();
    for card in codes {
        let voter = card["voter"].as_str().unwrap().to_owned();
        let response = app
            .api()
            .post(app.url("/activate"))
            .json(&json!({"code": card["code"], "login": format!("{voter}-{}", &community[..6]), "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        voters.insert(
            voter,
            json_of(response).await["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    Compound {
        community,
        officer,
        voters,
    }
}

async fn raise(app: &TestApp, community: &str, token: &str, closes: String) -> reqwest::Response {
    app.post_json(
        &format!("/communities/{community}/petitions"),
        token,
        json!({"title": "Fix the flooding road", "body": "Water stands after every rain.",
               "signing_closes": closes}),
    )
    .await
}

#[tokio::test]
async fn a_petition_becomes_due_exactly_at_one_fifth_of_the_households() {
    let app = spawn_app().await;
    let c = compound_of(&app, 10).await;

    // 1/5 of 10 households is 2. The raiser's own signature is one below the threshold.
    let response = raise(&app, &c.community, &c.voters["h1"], in_seconds(86400)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let petition = json_of(response).await;
    assert_eq!(
        (petition["signatures"].as_u64(), petition["needed"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(petition["threshold"], "1/5");
    assert_eq!(petition["status"], "collecting");
    let id = petition["id"].as_str().unwrap();

    // The second household's signature reaches it exactly.
    let response = app
        .post_json(
            &format!("/petitions/{id}/cosign"),
            &c.voters["h2"],
            json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let signed = json_of(response).await;
    assert_eq!(signed["signatures"], 2);
    assert_eq!(signed["status"], "due");
    assert!(signed["reached_at"].is_string());

    // Once per household: the raiser and h2 cannot sign again; more signatures still count.
    for who in ["h1", "h2"] {
        let (status, code, _) = error(
            app.post_json(
                &format!("/petitions/{id}/cosign"),
                &c.voters[who],
                json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::CONFLICT, "already_signed"),
            "{who}"
        );
    }
    let signed = json_of(
        app.post_json(
            &format!("/petitions/{id}/cosign"),
            &c.voters["h3"],
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (signed["signatures"].as_u64(), signed["status"].as_str()),
        (Some(3), Some("due"))
    );
    let listed = json_of(
        app.get(
            &format!("/communities/{}/petitions", c.community),
            &c.voters["h4"],
        )
        .await,
    )
    .await;
    assert_eq!(listed["petitions"][0]["signed_by_me"], false);
    assert_eq!(listed["petitions"][0]["signatures"], 3);
}

#[tokio::test]
async fn the_community_sets_the_share_and_it_holds_at_its_boundary() {
    let app = spawn_app().await;
    let c = compound_of(&app, 10).await;
    let settings = format!("/communities/{}/petition-settings", c.community);

    // Only officers set it; it must be a fraction above zero.
    let (status, _, _) = error(
        app.put_json(&settings, &c.voters["h1"], json!({"threshold": "1/10"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in ["0/5", "6/5", "a third", "1/0"] {
        let (status, code, _) = error(
            app.put_json(&settings, &c.officer, json!({"threshold": bad}))
                .await,
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "bad_threshold"),
            "{bad}"
        );
    }
    let response = app
        .put_json(&settings, &c.officer, json!({"threshold": "3/10"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json_of(app.get(&settings, &c.voters["h5"]).await).await["threshold"],
        "3/10"
    );

    // 3/10 of 10 is 3: two signatures are one below, the third reaches it.
    let petition =
        json_of(raise(&app, &c.community, &c.voters["h1"], in_seconds(86400)).await).await;
    let id = petition["id"].as_str().unwrap();
    assert_eq!(petition["needed"], 3);
    let two = json_of(
        app.post_json(
            &format!("/petitions/{id}/cosign"),
            &c.voters["h2"],
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (two["signatures"].as_u64(), two["status"].as_str()),
        (Some(2), Some("collecting"))
    );
    let three = json_of(
        app.post_json(
            &format!("/petitions/{id}/cosign"),
            &c.voters["h3"],
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (three["signatures"].as_u64(), three["status"].as_str()),
        (Some(3), Some("due"))
    );
}

#[tokio::test]
async fn only_voters_of_the_community_raise_and_co_sign() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let (observer, stranger, _) = outsiders(&app, &c).await;
    let petitions = format!("/communities/{}/petitions", c.community);
    let body = json!({"title": "Benches", "signing_closes": in_seconds(86400)});
    assert_eq!(
        app.post_json(&petitions, &c.officer, body.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_json(&petitions, &observer, body.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_json(&petitions, &stranger, body.clone())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (status, code, _) = error(
        app.post_json(
            &petitions,
            &c.voters["li"],
            json!({"title": "x", "signing_closes": "tomorrow"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_time")
    );
    let (status, _, _) = error(
        app.post_json(
            &petitions,
            &c.voters["li"],
            json!({"title": "x", "signing_closes": in_seconds(-5)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let petition = json_of(app.post_json(&petitions, &c.voters["li"], body).await).await;
    let id = petition["id"].as_str().unwrap();
    let cosign = format!("/petitions/{id}/cosign");
    assert_eq!(
        app.post_json(&cosign, &c.officer, json!({})).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_json(&cosign, &observer, json!({})).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_json(&cosign, &stranger, json!({})).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/petitions/{id}"), &stranger)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/petitions/{id}/comments"), &stranger)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = error(
        app.post_json(
            &format!("/petitions/{id}/comments"),
            &stranger,
            json!({"body": "hi"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The observer reads it; nothing the outsiders tried was stored.
    let seen = json_of(app.get(&format!("/petitions/{id}"), &observer).await).await;
    assert_eq!(seen["signatures"], 1);
    let response = app
        .post_json(
            &format!("/petitions/{id}/comments"),
            &c.voters["wang"],
            json!({"body": "Yes please"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn co_signing_closes_after_its_date_and_an_unreached_petition_lapses() {
    let app = spawn_app().await;
    let c = compound_of(&app, 10).await;
    let petition = json_of(raise(&app, &c.community, &c.voters["h1"], in_seconds(1)).await).await;
    let id = petition["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, code, _) = error(
        app.post_json(
            &format!("/petitions/{id}/cosign"),
            &c.voters["h2"],
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "signing_closed")
    );
    let seen = json_of(app.get(&format!("/petitions/{id}"), &c.voters["h2"]).await).await;
    assert_eq!(
        (seen["status"].as_str(), seen["signatures"].as_u64()),
        (Some("lapsed"), Some(1))
    );
    assert_eq!(seen["signing_open"], false);
}

#[tokio::test]
async fn the_council_answers_a_due_petition_or_turns_it_into_a_linked_draft() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let other = compound(&app, "Elsewhere").await;
    let petitions = format!("/communities/{}/petitions", c.community);
    let body = json!({"title": "Repair the road", "signing_closes": in_seconds(86400)});
    // 1/5 of 4 households: the raiser alone reaches it.
    let first = json_of(
        app.post_json(&petitions, &c.voters["li"], body.clone())
            .await,
    )
    .await;
    assert_eq!(first["status"], "due");
    let second = json_of(app.post_json(&petitions, &c.voters["zhao"], body).await).await;

    // Only officers respond; an empty response is refused.
    let respond = format!("/petitions/{}/response", first["id"].as_str().unwrap());
    let (status, _, _) = error(
        app.post_json(&respond, &c.voters["li"], json!({"answer": "ok"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, code, _) = error(
        app.post_json(&respond, &c.officer, json!({"answer": ""}))
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "missing_field")
    );

    // A public answer.
    let answered = json_of(
        app.post_json(
            &respond,
            &c.officer,
            json!({"answer": "Repairs start in March."}),
        )
        .await,
    )
    .await;
    assert_eq!(answered["status"], "answered");
    let seen = json_of(
        app.get(
            &format!("/petitions/{}", first["id"].as_str().unwrap()),
            &c.voters["sun"],
        )
        .await,
    )
    .await;
    assert_eq!(seen["response"]["answer"], "Repairs start in March.");
    let (status, code, _) = error(
        app.post_json(&respond, &c.officer, json!({"answer": "again"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "already_answered")
    );

    // A draft proposal made from the other petition, linked to it (not another community's).
    let respond = format!("/petitions/{}/response", second["id"].as_str().unwrap());
    let foreign = create(&app, &other, road_repair(json!({}))).await;
    let (status, _, _) = error(
        app.post_json(&respond, &c.officer, json!({"proposal": foreign}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let draft = create(&app, &c, road_repair(json!({"title": "Repair the road"}))).await;
    let proposed = json_of(
        app.post_json(&respond, &c.officer, json!({"proposal": draft}))
            .await,
    )
    .await;
    assert_eq!(proposed["status"], "proposed");
    assert_eq!(proposed["response"]["proposal"], draft);
    let audit = app
        .get(&format!("/communities/{}/audit", c.community), &c.officer)
        .await
        .text()
        .await
        .unwrap();
    assert!(audit.contains("respond_petition"));
}

// ---------------------------------------------------------------------------------------------
// Meetings
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn officers_schedule_a_meeting_record_attendance_hands_and_close_it_only_with_minutes() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let (observer, stranger, other) = outsiders(&app, &c).await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    let petition = json_of(
        app.post_json(
            &format!("/communities/{}/petitions", c.community),
            &c.voters["sun"],
            json!({"title": "Benches", "signing_closes": in_seconds(86400)}),
        )
        .await,
    )
    .await;
    let meetings = format!("/communities/{}/meetings", c.community);
    let body = json!({"title": "Council meeting on the road", "starts_at": in_seconds(3600),
        "place": "Community hall, room 2",
        "agenda": [{"kind": "proposal", "id": p}, {"kind": "petition", "id": petition["id"]}]});

    // Only officers schedule; the agenda holds only this community's items.
    assert_eq!(
        app.post_json(&meetings, &c.voters["li"], body.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_json(&meetings, &stranger, body.clone())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let foreign = create(&app, &other, road_repair(json!({}))).await;
    let (status, code, _) = error(
        app.post_json(
            &meetings,
            &c.officer,
            json!({"title": "x", "starts_at": in_seconds(60), "place": "hall",
            "agenda": [{"kind": "proposal", "id": foreign}]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_agenda")
    );
    let response = app.post_json(&meetings, &c.officer, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let meeting = json_of(response).await;
    let id = meeting["id"].as_str().unwrap();
    assert_eq!(meeting["agenda"][0]["title"], "Repair the compound road");
    assert_eq!(meeting["agenda"][1]["title"], "Benches");

    // Attendance: officers only, households on the roll, others by name.
    let attendance = format!("/meetings/{id}/attendance");
    let present = json!({"attendees": [
        {"voter": "wang", "name": "王伟"}, {"voter": "li", "name": "李娜"},
        {"voter": "zhao", "name": "赵强"}, {"name": "张主任 (street office)"}]});
    assert_eq!(
        app.put_json(&attendance, &observer, present.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let (status, code, _) = error(
        app.put_json(
            &attendance,
            &c.officer,
            json!({"attendees": [{"voter": "nobody", "name": "X"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_voter")
    );
    assert_eq!(
        app.put_json(&attendance, &c.officer, present)
            .await
            .status(),
        StatusCode::OK
    );

    // A show of hands becomes assisted ballots of the attendees; li had voted online already.
    assert_eq!(
        vote(&app, &c.voters["li"], &p, "no", "li-online")
            .await
            .status(),
        StatusCode::OK
    );
    let hands = format!("/meetings/{id}/show-of-hands");
    let (status, code, _) = error(
        app.post_json(
            &hands,
            &c.officer,
            json!({"proposal": p, "hands": [{"voter": "sun", "choice": "yes"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_attendee")
    );
    // A secret ballot is never taken by a show of hands.
    let secret = create(&app, &c, road_repair(json!({"secrecy": "secret"}))).await;
    open(&app, &c, &secret).await;
    let other_meeting = json_of(
        app.post_json(
            &meetings,
            &c.officer,
            json!({"title": "Secret", "starts_at": in_seconds(60), "place": "hall",
            "agenda": [{"kind": "proposal", "id": secret}]}),
        )
        .await,
    )
    .await;
    let other_id = other_meeting["id"].as_str().unwrap();
    app.put_json(
        &format!("/meetings/{other_id}/attendance"),
        &c.officer,
        json!({"attendees": [{"voter": "sun", "name": "孙丽"}]}),
    )
    .await;
    let (status, code, _) = error(
        app.post_json(
            &format!("/meetings/{other_id}/show-of-hands"),
            &c.officer,
            json!({"proposal": secret, "hands": [{"voter": "sun", "choice": "yes"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "secret_ballot")
    );
    let sun = json_of(
        app.get(&format!("/proposals/{secret}/ballot"), &c.voters["sun"])
            .await,
    )
    .await;
    assert!(sun.is_null(), "nothing was recorded");

    let show = json!({"proposal": p, "hands": [
        {"voter": "wang", "choice": "yes"}, {"voter": "zhao", "choice": "no"}, {"voter": "li", "choice": "yes"}]});
    let result = json_of(app.post_json(&hands, &c.officer, show.clone()).await).await;
    assert_eq!(result["recorded"].as_array().unwrap().len(), 2);
    assert_eq!(result["refused"][0]["voter"], "li");
    let ballot = json_of(
        app.get(&format!("/proposals/{p}/ballot"), &c.voters["wang"])
            .await,
    )
    .await;
    assert_eq!(
        (ballot["channel"].as_str(), ballot["choice"].as_str()),
        (Some("assisted"), Some("yes"))
    );
    // Entering the same hands again counts nobody twice.
    let again = json_of(app.post_json(&hands, &c.officer, show).await).await;
    assert!(
        again["recorded"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["replayed"] == true)
    );
    let tally = json_of(app.get(&format!("/proposals/{p}/tally"), &c.officer).await).await;
    assert_eq!(
        tally["ledger_len"], 3,
        "li online, wang and zhao by hand: {tally}"
    );

    // Closing needs minutes and a count no smaller than the named attendees.
    let close = format!("/meetings/{id}/close");
    let (status, code, _) = error(
        app.post_json(
            &close,
            &c.officer,
            json!({"minutes": " ", "attendee_count": 5}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "missing_field")
    );
    let (status, code, _) = error(
        app.post_json(
            &close,
            &c.officer,
            json!({"minutes": "Agreed.", "attendee_count": 3}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_count")
    );
    assert_eq!(
        app.post_json(
            &close,
            &c.voters["wang"],
            json!({"minutes": "x", "attendee_count": 9})
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    let minutes =
        "1. The road: residents asked about drains.\n2. Benches: to be answered next month.";
    let closed = json_of(
        app.post_json(
            &close,
            &c.officer,
            json!({"minutes": minutes, "attendee_count": 12}),
        )
        .await,
    )
    .await;
    assert_eq!(closed["closed"], true);

    // The minutes are published with the meeting; its record no longer changes.
    let listed = json_of(app.get(&meetings, &c.voters["sun"]).await).await;
    assert_eq!(listed["meetings"][0]["minutes"], minutes);
    assert_eq!(listed["meetings"][0]["attendee_count"], 12);
    assert_eq!(listed["meetings"][0]["show_of_hands"][0]["yes"], 1);
    let (status, code, _) = error(
        app.post_json(
            &close,
            &c.officer,
            json!({"minutes": "again", "attendee_count": 12}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "meeting_closed")
    );
    let (status, code, _) = error(
        app.put_json(&attendance, &c.officer, json!({"attendees": []}))
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "meeting_closed")
    );
    assert_eq!(
        app.get(&format!("/meetings/{id}"), &stranger)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------------------------------------
// Outreach
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn officers_log_contacts_with_households_yet_to_vote_and_no_choice_shows() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let (observer, stranger, _) = outsiders(&app, &c).await;
    let p = create(&app, &c, road_repair(json!({"secrecy": "secret"}))).await;
    let outreach = format!("/proposals/{p}/outreach");
    let (status, code, _) = error(app.get(&outreach, &c.officer).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "not_open"),
        "a draft has no outreach"
    );
    open(&app, &c, &p).await;
    assert_eq!(
        vote(&app, &c.voters["li"], &p, "no", "li-1").await.status(),
        StatusCode::OK
    );

    // Only officers keep the log.
    let contact = json!({"voter": "wang", "method": "phone", "outcome": "not_home", "note": "try after 7 pm"});
    assert_eq!(
        app.post_json(&outreach, &c.voters["zhao"], contact.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&outreach, &observer).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&outreach, &stranger).await.status(),
        StatusCode::NOT_FOUND
    );

    // Contacts with households that have not voted; bad words and voters are refused.
    assert_eq!(
        app.post_json(&outreach, &c.officer, contact).await.status(),
        StatusCode::CREATED
    );
    let visit = json!({"voter": "wang", "method": "visit", "outcome": "needs_paper_ballot"});
    assert_eq!(
        app.post_json(&outreach, &c.officer, visit).await.status(),
        StatusCode::CREATED
    );
    let (status, code, _) = error(
        app.post_json(
            &outreach,
            &c.officer,
            json!({"voter": "li", "method": "phone", "outcome": "will_vote"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "already_voted")
    );
    for (body, expected) in [
        (
            json!({"voter": "sun", "method": "email", "outcome": "will_vote"}),
            "bad_method",
        ),
        (
            json!({"voter": "sun", "method": "phone", "outcome": "maybe"}),
            "bad_outcome",
        ),
        (
            json!({"voter": "nobody", "method": "phone", "outcome": "other"}),
            "unknown_voter",
        ),
    ] {
        let (status, code, _) = error(app.post_json(&outreach, &c.officer, body).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, expected)
        );
    }

    // The view: the log newest first, who is left with their latest outcome; no choice at all.
    let view = json_of(app.get(&outreach, &c.officer).await).await;
    assert_eq!(view["log"].as_array().unwrap().len(), 2);
    assert_eq!(view["log"][0]["outcome"], "needs_paper_ballot");
    assert_eq!(view["log"][1]["note"], "try after 7 pm");
    let remaining: Vec<&str> = view["remaining"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["voter"].as_str().unwrap())
        .collect();
    assert_eq!(
        remaining,
        ["wang", "zhao", "sun"],
        "li voted and is not chased"
    );
    assert_eq!(view["remaining"][0]["attempts"], 2);
    assert_eq!(view["remaining"][0]["last_outcome"], "needs_paper_ballot");
    assert_eq!(view["never_contacted"], 2);
    let text = view.to_string();
    assert!(
        !text.contains("\"choice\"") && !text.contains("\"no\""),
        "no ballot choice: {text}"
    );

    // Once wang votes he leaves the list; the log stays.
    assert_eq!(
        vote(&app, &c.voters["wang"], &p, "yes", "wang-1")
            .await
            .status(),
        StatusCode::OK
    );
    let view = json_of(app.get(&outreach, &c.officer).await).await;
    assert_eq!(view["remaining_count"], 2);
    assert_eq!(view["log"].as_array().unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Notices
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_resident_sees_what_is_new_since_their_last_visit() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let (_, stranger, _) = outsiders(&app, &c).await;
    let notices = format!("/communities/{}/notices", c.community);
    let seen = format!("/communities/{}/notices/seen", c.community);
    let li = &c.voters["li"];
    assert_eq!(
        app.get(&notices, &stranger).await.status(),
        StatusCode::NOT_FOUND
    );

    // Li has looked; then a vote opens that closes within a day, and another far off.
    let marked = json_of(app.post_json(&seen, li, json!({})).await).await;
    assert!(marked["last_seen"].is_string());
    let soon = create(
        &app,
        &c,
        road_repair(json!({"title": "Soon", "closes_at": in_seconds(3600)})),
    )
    .await;
    let later = create(
        &app,
        &c,
        road_repair(json!({"title": "Later", "closes_at": in_seconds(5 * 86400)})),
    )
    .await;
    let draft = create(&app, &c, road_repair(json!({"title": "Secret draft"}))).await;
    open(&app, &c, &soon).await;
    open(&app, &c, &later).await;

    // Li's petition is answered and her comment gets an answer from the council.
    let petition = json_of(
        app.post_json(
            &format!("/communities/{}/petitions", c.community),
            li,
            json!({"title": "Benches", "signing_closes": in_seconds(86400)}),
        )
        .await,
    )
    .await;
    let mine = json_of(
        comment(
            &app,
            li,
            &format!("/proposals/{later}/comments"),
            json!({"body": "Why now?"}),
        )
        .await,
    )
    .await;
    comment(
        &app,
        &c.officer,
        &format!("/proposals/{later}/comments"),
        json!({"body": "Because of the rains.", "parent": mine["id"]}),
    )
    .await;
    comment(
        &app,
        &c.voters["wang"],
        &format!("/proposals/{later}/comments"),
        json!({"body": "Unrelated."}),
    )
    .await;
    comment(
        &app,
        &c.officer,
        &format!("/proposals/{draft}/comments"),
        json!({"body": "Draft talk"}),
    )
    .await;
    app.post_json(
        &format!("/petitions/{}/response", petition["id"].as_str().unwrap()),
        &c.officer,
        json!({"answer": "Two benches in spring."}),
    )
    .await;

    let view = json_of(app.get(&notices, li).await).await;
    let kinds: Vec<(String, String)> = view["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap().to_owned(),
                n["title"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let has = |kind: &str, title: &str| kinds.iter().any(|(k, t)| k == kind && t == title);
    assert!(has("opened", "Soon") && has("opened", "Later"), "{kinds:?}");
    assert!(
        has("closing_soon", "Soon") && !has("closing_soon", "Later"),
        "{kinds:?}"
    );
    assert!(has("petition_response", "Benches"), "{kinds:?}");
    assert!(has("reply", "Later"), "{kinds:?}");
    let reply = view["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "reply")
        .unwrap();
    assert_eq!(reply["official"], true);
    assert!(
        !kinds.iter().any(|(_, t)| t == "Secret draft"),
        "drafts stay the officers'"
    );
    assert_eq!(
        kinds.iter().filter(|(k, _)| k == "reply").count(),
        1,
        "only replies to li"
    );

    // After marking them seen, only what is still pressing remains: the vote closing soon.
    app.post_json(&seen, li, json!({})).await;
    let view = json_of(app.get(&notices, li).await).await;
    let left: Vec<&str> = view["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["closing_soon"]);
}
