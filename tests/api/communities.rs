//! Communities, members and the roll as officers use them: upload, amend, download, print
//! activation sheets, read the audit log; and what other roles and communities cannot see.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{PASSWORD, ROLL_CSV, TestApp, error, spawn_app, spawn_app_with};

#[tokio::test]
async fn only_the_admin_creates_communities() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.create_account(&admin, "chen").await;
    let chen = app.login("chen", PASSWORD).await;

    let refused = app
        .post_json("/communities", &chen, json!({"name": "Lotus Court"}))
        .await;
    let created = app
        .post_json("/communities", &admin, json!({"name": "Lotus Court"}))
        .await;
    let bad_zone = app
        .post_json(
            "/communities",
            &admin,
            json!({"name": "X", "timezone": "Mars/Olympus"}),
        )
        .await;
    let no_name = app
        .post_json("/communities", &admin, json!({"name": "  "}))
        .await;
    let berlin = app
        .post_json(
            "/communities",
            &admin,
            json!({"name": "Kiez", "timezone": "Europe/Berlin"}),
        )
        .await;

    assert_eq!(error(refused).await.0, StatusCode::FORBIDDEN);
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["name"], "Lotus Court");
    assert_eq!(body["timezone"], "Asia/Shanghai");
    assert!(body.get("secret").is_none());
    assert_eq!(error(bad_zone).await.1, "bad_timezone");
    assert_eq!(error(no_name).await.1, "missing_field");
    let berlin: Value = berlin.json().await.unwrap();
    assert_eq!(berlin["timezone"], "Europe/Berlin");
}

#[tokio::test]
async fn members_see_their_communities_and_the_admin_sees_all() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lotus = app.create_community(&admin, "Lotus Court").await;
    let plum = app.create_community(&admin, "Plum Garden").await;
    app.create_account(&admin, "chen").await;
    app.add_member(&admin, &plum, "chen", "observer", None)
        .await;
    let chen = app.login("chen", PASSWORD).await;

    let mine: Value = app.get("/communities", &chen).await.json().await.unwrap();
    let all: Value = app.get("/communities", &admin).await.json().await.unwrap();
    let one: Value = app
        .get(&format!("/communities/{plum}"), &chen)
        .await
        .json()
        .await
        .unwrap();
    let other = app.get(&format!("/communities/{lotus}"), &chen).await;

    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["id"], plum.as_str());
    assert_eq!(mine[0]["role"], "observer");
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lotus Court", "Plum Garden"]);
    assert_eq!(one["name"], "Plum Garden");
    assert_eq!(error(other).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn officers_set_roles_and_a_voter_must_be_on_the_roll() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (community, officer) = app.community_with_roll(&admin, "Lotus Court").await;
    for login in ["wangwei", "lina", "watcher"] {
        app.create_account(&admin, login).await;
    }
    let members = format!("/communities/{community}/members");

    let voter = app
        .post_json(
            &members,
            &officer,
            json!({"login": "wangwei", "role": "voter", "voter": "wang"}),
        )
        .await;
    let observer = app
        .post_json(
            &members,
            &officer,
            json!({"login": "watcher", "role": "observer"}),
        )
        .await;
    let off_roll = app
        .post_json(
            &members,
            &officer,
            json!({"login": "lina", "role": "voter", "voter": "ghost"}),
        )
        .await;
    let no_key = app
        .post_json(
            &members,
            &officer,
            json!({"login": "lina", "role": "voter"}),
        )
        .await;
    let taken = app
        .post_json(
            &members,
            &officer,
            json!({"login": "lina", "role": "voter", "voter": "wang"}),
        )
        .await;
    let unknown = app
        .post_json(
            &members,
            &officer,
            json!({"login": "nobody", "role": "observer"}),
        )
        .await;

    assert_eq!(voter.status(), StatusCode::OK);
    let voter: Value = voter.json().await.unwrap();
    assert_eq!(
        (&voter["role"], &voter["voter"]),
        (&json!("voter"), &json!("wang"))
    );
    assert_eq!(observer.status(), StatusCode::OK);
    assert_eq!(error(off_roll).await.1, "not_on_roll");
    assert_eq!(error(no_key).await.1, "voter_required");
    let (status, code, _) = error(taken).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "voter_taken")
    );
    assert_eq!(error(unknown).await.1, "unknown_login");

    let list: Value = app.get(&members, &officer).await.json().await.unwrap();
    let roles: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["login"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(roles.len(), 3);
    assert!(roles.contains(&("watcher".into(), "observer".into())));
    assert!(roles.contains(&("wangwei".into(), "voter".into())));

    // Members who are not officers may neither list nor set members.
    let wang = app.login("wangwei", PASSWORD).await;
    assert_eq!(
        error(app.get(&members, &wang).await).await.0,
        StatusCode::FORBIDDEN
    );
    let refused = app
        .post_json(&members, &wang, json!({"login": "lina", "role": "officer"}))
        .await;
    assert_eq!(error(refused).await.0, StatusCode::FORBIDDEN);

    // Moving the right to vote for `wang` to another account frees it from the first.
    let moved = app
        .post_json(
            &members,
            &officer,
            json!({"login": "wangwei", "role": "observer"}),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let now_lina = app
        .post_json(
            &members,
            &officer,
            json!({"login": "lina", "role": "voter", "voter": "wang"}),
        )
        .await;
    assert_eq!(now_lina.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_csv_roll_uploads_and_downloads_unchanged() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (community, officer) = app.community_with_roll(&admin, "Lotus Court").await;
    let roll = format!("/communities/{community}/roll");

    let view: Value = app.get(&roll, &officer).await.json().await.unwrap();
    let download = app
        .api()
        .get(app.url(&roll))
        .bearer_auth(&officer)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    let by_query = app.get(&format!("{roll}?format=csv"), &officer).await;

    assert_eq!(view["voter_count"], 4);
    assert_eq!(view["unit_count"], 5);
    assert_eq!(
        view["weights"],
        json!([{"name": "area", "scale": 2, "total": "435.17"}])
    );
    assert_eq!(view["voters"][0]["voter"], "wang");
    assert_eq!(view["voters"][0]["weights"]["area"], "179.67");
    assert_eq!(view["voters"][0]["tags"], json!(["b1"]));
    assert_eq!(view["voters"][0]["units"], json!(["1-101", "1-102"]));
    assert!(
        download.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = download.text().await.unwrap();
    assert_eq!(by_query.text().await.unwrap(), csv);
    assert!(
        csv.starts_with('\u{feff}'),
        "a BOM, so spreadsheets read it as UTF-8"
    );
    assert!(
        csv.contains("wang,1-101,王伟,13800000001,b1,179.67"),
        "{csv}"
    );

    // Uploading the download again changes nothing.
    let again = app.put_csv(&roll, &officer, &csv).await;
    assert_eq!(again.status(), StatusCode::OK);
    let change: Value = again.json().await.unwrap();
    assert_eq!(
        (
            &change["voter_count"],
            &change["added"],
            &change["removed"],
            &change["changed"]
        ),
        (&json!(4), &json!(0), &json!(0), &json!(0))
    );
}

#[tokio::test]
async fn a_json_roll_uploads_with_exact_weights() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let community = app.create_community(&admin, "Plum Garden").await;
    app.create_account(&admin, "officer").await;
    app.add_member(&admin, &community, "officer", "officer", None)
        .await;
    let officer = app.login("officer", PASSWORD).await;
    let roll = format!("/communities/{community}/roll");

    let uploaded = app
        .put_json(
            &roll,
            &officer,
            json!({
                "weights": ["area", "share"],
                "rows": [
                    {"voter": "a", "unit": "101", "name": "A", "tags": ["b1"], "weights": {"area": "89.57", "share": "1"}},
                    {"voter": "a", "unit": "102", "weights": {"area": "0.43", "share": "1"}},
                    {"voter": "b", "unit": "201", "weights": {"area": "100", "share": "2"}}
                ]
            }),
        )
        .await;
    let unknown_weight = app
        .put_json(
            &roll,
            &officer,
            json!({"weights": ["area"], "rows": [{"voter": "a", "unit": "1", "weights": {"area": "1", "floor": "2"}}]}),
        )
        .await;
    let float = app
        .put_json(
            &roll,
            &officer,
            json!({"weights": ["area"], "rows": [{"voter": "a", "unit": "1", "weights": {"area": 89.57}}]}),
        )
        .await;

    assert_eq!(uploaded.status(), StatusCode::OK);
    let change: Value = uploaded.json().await.unwrap();
    assert_eq!(change["voter_count"], 2);
    assert_eq!(change["weights"], json!(["area", "share"]));
    assert_eq!(change["added"], 2);
    let view: Value = app.get(&roll, &officer).await.json().await.unwrap();
    assert_eq!(
        view["voters"][0]["weights"],
        json!({"area": "90.00", "share": "2"})
    );
    let (status, code, message) = error(unknown_weight).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_roll")
    );
    assert!(message.contains("`floor`"), "{message}");
    assert_eq!(
        error(float).await.1,
        "invalid_field",
        "weights are strings, never floats"
    );
}

#[tokio::test]
async fn a_bad_csv_is_refused_with_its_line_and_the_roll_stays_as_it_was() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (community, officer) = app.community_with_roll(&admin, "Lotus Court").await;
    let roll = format!("/communities/{community}/roll");
    let before = app
        .get(&format!("{roll}?format=csv"), &officer)
        .await
        .text()
        .await
        .unwrap();

    let bad = app
        .put_csv(
            &roll,
            &officer,
            "voter,unit,area\nwang,1-101,89.57\nli,1-201,75,5x\nzhao,2-101,abc\n",
        )
        .await;
    let bad_number = app
        .put_csv(
            &roll,
            &officer,
            "voter,unit,area\nwang,1-101,89.57\n\nzhao,2-101,12a\n",
        )
        .await;
    let not_utf8 = app
        .api()
        .put(app.url(&roll))
        .bearer_auth(&officer)
        .header("content-type", "text/csv")
        .body(vec![b'v', b'o', 0xff, 0xfe, b'\n'])
        .send()
        .await
        .unwrap();
    let wrong_type = app
        .api()
        .put(app.url(&roll))
        .bearer_auth(&officer)
        .header("content-type", "text/plain")
        .body(ROLL_CSV)
        .send()
        .await
        .unwrap();

    let (status, code, message) = error(bad).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_roll")
    );
    assert_eq!(
        message,
        "line 3: the row has 4 fields where the header has 3"
    );
    let (_, code, message) = error(bad_number).await;
    assert_eq!(code, "bad_roll");
    assert!(
        message.starts_with("line 4, column `area`: \"12a\""),
        "{message}"
    );
    let (_, code, message) = error(not_utf8).await;
    assert_eq!(code, "bad_roll");
    assert!(message.contains("UTF-8"), "{message}");
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let after = app
        .get(&format!("{roll}?format=csv"), &officer)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_roll_larger_than_the_server_allows_is_refused() {
    let app = spawn_app_with(|c| c.limits.max_roll_voters = 3).await;
    let admin = app.admin().await;
    let community = app.create_community(&admin, "Lotus Court").await;
    app.create_account(&admin, "officer").await;
    app.add_member(&admin, &community, "officer", "officer", None)
        .await;
    let officer = app.login("officer", PASSWORD).await;

    let response = app
        .put_csv(
            &format!("/communities/{community}/roll"),
            &officer,
            ROLL_CSV,
        )
        .await;

    let (status, code, message) = error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "roll_too_large")
    );
    assert!(message.contains("4 voters"), "{message}");
}

#[tokio::test]
async fn an_amendment_replaces_adds_and_removes_voters() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (community, officer) = app.community_with_roll(&admin, "Lotus Court").await;
    let roll = format!("/communities/{community}/roll");

    let amended = app
        .patch_json(
            &roll,
            &officer,
            json!({
                "rows": [
                    {"voter": "li", "unit": "1-201", "name": "李娜", "weights": {"area": "76.25"}},
                    {"voter": "zhou", "unit": "3-101", "name": "周", "tags": ["b3"], "weights": {"area": "50"}}
                ],
                "remove": ["sun"]
            }),
        )
        .await;
    let steal = app
        .patch_json(
            &roll,
            &officer,
            json!({"rows": [{"voter": "qian", "unit": "2-101", "weights": {"area": "1"}}]}),
        )
        .await;
    let ghost = app
        .patch_json(&roll, &officer, json!({"remove": ["ghost"]}))
        .await;
    let empty = app.patch_json(&roll, &officer, json!({})).await;

    assert_eq!(amended.status(), StatusCode::OK);
    let change: Value = amended.json().await.unwrap();
    assert_eq!(
        (
            &change["voter_count"],
            &change["added"],
            &change["removed"],
            &change["changed"]
        ),
        (&json!(4), &json!(1), &json!(1), &json!(1))
    );
    let view: Value = app.get(&roll, &officer).await.json().await.unwrap();
    let voters: Vec<(&str, &str)> = view["voters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["voter"].as_str().unwrap(),
                v["weights"]["area"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        voters,
        [
            ("wang", "179.67"),
            ("li", "76.25"),
            ("zhao", "120.00"),
            ("zhou", "50.00")
        ]
    );
    let (_, code, message) = error(steal).await;
    assert_eq!(code, "bad_roll");
    assert!(
        message.contains("already belongs to voter `zhao`"),
        "{message}"
    );
    assert_eq!(error(ghost).await.1, "not_on_roll");
    assert_eq!(error(empty).await.1, "empty_amendment");
}

#[tokio::test]
async fn only_officers_read_the_roll_and_strangers_learn_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (lotus, _) = app.community_with_roll(&admin, "Lotus Court").await;
    let (plum, plum_officer) = app.community_with_roll(&admin, "Plum Garden").await;
    app.create_account(&admin, "wangwei").await;
    app.create_account(&admin, "watcher").await;
    app.add_member(&admin, &lotus, "wangwei", "voter", Some("wang"))
        .await;
    app.add_member(&admin, &lotus, "watcher", "observer", None)
        .await;
    let voter = app.login("wangwei", PASSWORD).await;
    let observer = app.login("watcher", PASSWORD).await;

    for token in [&voter, &observer] {
        let (status, code, _) =
            error(app.get(&format!("/communities/{lotus}/roll"), token).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "forbidden")
        );
    }
    // A voter of Lotus Court asking about Plum Garden is told it does not exist.
    for path in ["", "/roll", "/members", "/audit"] {
        let response = app.get(&format!("/communities/{plum}{path}"), &voter).await;
        let (status, code, _) = error(response).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    let upload = app
        .put_csv(&format!("/communities/{plum}/roll"), &voter, ROLL_CSV)
        .await;
    assert_eq!(error(upload).await.0, StatusCode::NOT_FOUND);
    // Plum Garden's own officer still reads it.
    let own = app
        .get(&format!("/communities/{plum}/roll"), &plum_officer)
        .await;
    assert_eq!(own.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_activation_sheet_prints_one_card_per_voter() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (community, officer) = app.community_with_roll(&admin, "Lotus <Court>").await;

    let response = app
        .post_json(
            &format!("/communities/{community}/activation-codes?format=html"),
            &officer,
            json!({"tags": ["b1"]}),
        )
        .await;
    let listed = app
        .post_json(
            &format!("/communities/{community}/activation-codes"),
            &officer,
            json!({"voters": ["zhao", "zhao"]}),
        )
        .await;
    let off_roll = app
        .post_json(
            &format!("/communities/{community}/activation-codes"),
            &officer,
            json!({"voters": ["ghost"]}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert_eq!(
        html.matches("class=\"card\"").count(),
        2,
        "wang and li live in b1"
    );
    assert!(html.contains("Lotus &lt;Court&gt;"));
    assert!(html.contains("王伟") && html.contains("李娜") && !html.contains("赵强"));
    assert!(
        html.contains(&format!("{}/activate", app.base_url)),
        "sign-up address"
    );
    assert!(html.contains("激活码") && html.contains("activation code"));
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["voter"], "zhao");
    assert_eq!(error(off_roll).await.1, "not_on_roll");
}

/// The community's audit log as an officer sees it.
async fn audit(app: &TestApp, community: &str, token: &str) -> Value {
    let response = app
        .get(&format!("/communities/{community}/audit"), token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn every_officer_action_is_in_the_hash_chained_audit_log() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (community, officer) = app.community_with_roll(&admin, "Lotus Court").await;
    app.patch_json(
        &format!("/communities/{community}/roll"),
        &officer,
        json!({"remove": ["sun"]}),
    )
    .await;
    let codes: Value = app
        .post_json(
            &format!("/communities/{community}/activation-codes"),
            &officer,
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();

    let log = audit(&app, &community, &officer).await;

    assert_eq!(log["verified"], true);
    assert_eq!(log["problem"], Value::Null);
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "community.create",
            "member.set",
            "roll.replace",
            "roll.amend",
            "activation_codes.create"
        ]
    );
    assert_eq!(log["length"], 5);
    let entries = log["entries"].as_array().unwrap();
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["prev"], pair[0]["hash"]);
    }
    assert_eq!(entries[0]["actor_login"], "admin");
    assert_eq!(entries[2]["detail"]["voters"], 4);
    assert_eq!(
        entries[2]["detail"]["added"],
        json!(["wang", "li", "zhao", "sun"])
    );
    assert_eq!(entries[3]["detail"]["removed"], json!(["sun"]));
    assert_eq!(entries[4]["detail"]["count"], 3);
    for code in codes.as_array().unwrap() {
        let code = code["code"].as_str().unwrap();
        assert!(
            !log.to_string().contains(code),
            "codes themselves are never logged"
        );
    }

    // Paging: entries after 3.
    let page: Value = app
        .get(
            &format!("/communities/{community}/audit?after=3&limit=1"),
            &officer,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert_eq!(page["entries"][0]["seq"], 4);

    // Tampering with a stored entry is detected.
    app.state
        .store
        .write(|tx| {
            let key = (community.as_str(), 2u64);
            let mut record: yishi::store::records::AuditRecord =
                yishi::store::get_w(tx, yishi::store::tables::AUDIT, key)?.unwrap();
            record.detail = json!({"role": "observer"});
            yishi::store::put(tx, yishi::store::tables::AUDIT, key, &record)
        })
        .unwrap();
    let log = audit(&app, &community, &officer).await;
    assert_eq!(log["verified"], false);
    assert!(
        log["problem"].as_str().unwrap().contains("entry 3"),
        "{}",
        log["problem"]
    );
}
