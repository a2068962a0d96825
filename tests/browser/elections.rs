//! An owners' committee election in the browser (issue 8): a resident on a 360 × 640 phone reads
//! "choose up to 2", ticks candidates while the count follows, cannot tick a third, confirms and
//! gets the receipt, in English and in Chinese; watches the ranking on the projector view; then
//! reads the published ranking, the committee roster, and a succession among what is new. Every screen is screenshotted and audited like the main story.

use std::time::Duration;

use serde_json::{Value, json};

use crate::flows::{SERIAL, assert_language, assert_no_missing_strings};
use crate::support::{self, ADMIN_LOGIN, ADMIN_PASSWORD, Browser, Driver, Screen, Server};

const OFFICER: &str = "officer.lin";
const PASSWORD: &str = "resident-password-1";

const ROLL_CSV: &str = "\
voter,unit,name,tags,area
hu,1-101,胡明,b1,90
ma,1-102,马丽,b1,80
gao,2-101,高强,b2,100
lu,2-102,陆芳,b2,70
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_votes_in_a_committee_election_on_a_phone() {
    let Some(tools) = support::tools() else {
        return;
    };
    let _one_at_a_time = SERIAL.lock().await;
    tokio::time::timeout(Duration::from_secs(300), story(tools))
        .await
        .expect("the election story finishes within 5 minutes");
}

async fn story(tools: support::Tools) {
    let axe = support::axe_script();
    let server = Server::start().await;
    let driver = Driver::start(&tools).await;

    // Arranged through the API: the community, its officer, the roll, an election.
    let admin = server.login(ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let community = server
        .call(
            "POST",
            "/communities",
            Some(&admin),
            json!({"name": "桂花苑 Osmanthus Court"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .call(
            "POST",
            "/accounts",
            Some(&admin),
            json!({"login": OFFICER, "password": PASSWORD}),
        )
        .await;
    server
        .call(
            "POST",
            &format!("/communities/{community}/members"),
            Some(&admin),
            json!({"login": OFFICER, "role": "officer"}),
        )
        .await;
    let officer = server.login(OFFICER, PASSWORD).await;
    let response = server
        .http()
        .put(server.url(&format!("/api/v1/communities/{community}/roll")))
        .bearer_auth(&officer)
        .header("content-type", "text/csv")
        .body(ROLL_CSV)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let closes = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(3600))
        .unwrap()
        .to_string();
    let election = server
        .call(
            "POST",
            &format!("/communities/{community}/elections"),
            Some(&officer),
            json!({"title": "Owners' committee 2026 业委会选举", "seats": 2, "alternates": 1,
                   "candidates": [{"name": "陈华", "statement": "Accountant, 20 years in building 1"},
                                  {"name": "林梅", "statement": "Chairs the garden group"},
                                  {"name": "黄伟", "statement": "Retired engineer"}],
                   "visibility": "live", "closes_at": closes}),
        )
        .await;
    let p = election["id"].as_str().unwrap().to_owned();
    let ids: Vec<String> = election["election"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    server
        .call(
            "POST",
            &format!("/proposals/{p}/open"),
            Some(&officer),
            json!({}),
        )
        .await;
    let codes = server
        .call(
            "POST",
            &format!("/communities/{community}/activation-codes"),
            Some(&officer),
            json!({}),
        )
        .await;
    let code = codes
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["voter"] == "hu")
        .unwrap()["code"]
        .clone();
    server
        .call(
            "POST",
            "/activate",
            None,
            json!({"code": code, "login": "hu.family", "password": PASSWORD}),
        )
        .await;

    // The resident signs in on a phone and opens the election.
    let resident = Browser::open(&tools, &driver, &server, Screen::Phone, "voter", axe).await;
    resident.goto(&format!("/p/{p}")).await;
    resident
        .fill("form input[name=username]", "hu.family")
        .await;
    resident.fill("form input[name=password]", PASSWORD).await;
    resident.click("form button[type=submit]").await;
    resident.wait(".vote-form .candidates").await;
    let viewport = resident
        .eval("return [innerWidth, innerHeight];", vec![])
        .await;
    assert_eq!(viewport, json!([360, 640]), "a phone-sized screen");
    assert_eq!(
        resident.text(".vote-form legend").await,
        "Choose up to 2 people"
    );
    let rule = resident.text(".alternates-rule").await;
    assert!(
        rule.contains("the runners-up, up to 1, become alternates")
            && rule.contains("in that order"),
        "{rule}"
    );
    assert_eq!(resident.attr("[data-counter]", "data-counter").await, "0");
    resident.check_screen("phone-e1-election-ballot").await;

    // Ticks two: the count follows and the third box can no longer be ticked.
    resident
        .click(&format!("label[for='cand-{}']", ids[0]))
        .await;
    resident
        .wait_text("[data-counter]", "one chosen", |t| {
            t == "Chosen: 1 of at most 2"
        })
        .await;
    resident
        .click(&format!("label[for='cand-{}']", ids[2]))
        .await;
    resident
        .wait_text("[data-counter]", "two chosen", |t| {
            t == "Chosen: 2 of at most 2"
        })
        .await;
    let third = format!("#cand-{}", ids[1]);
    let disabled = resident
        .eval(
            "return document.querySelector(arguments[0]).disabled;",
            vec![json!(third)],
        )
        .await;
    assert_eq!(disabled, json!(true), "over-voting is impossible");
    resident
        .click(&format!("label[for='cand-{}']", ids[1]))
        .await;
    assert_eq!(resident.attr("[data-counter]", "data-counter").await, "2");
    assert!(
        resident
            .text(".full-note")
            .await
            .contains("first untick one")
    );
    resident.check_screen("phone-e2-two-chosen").await;

    // In Chinese: 最多选 2 人, and the count in Chinese.
    assert_language(&resident, "election ballot in English").await;
    resident.click("#lang").await;
    resident
        .wait_text(".vote-form legend", "the Chinese legend", |t| {
            t == "最多选 2 人"
        })
        .await;
    assert_language(&resident, "election ballot in Chinese").await;
    resident.check_screen("phone-e3-ballot-chinese").await;
    resident.click("#lang").await;
    resident
        .wait_text(".vote-form legend", "the English legend", |t| {
            t == "Choose up to 2 people"
        })
        .await;

    // The language switch redrew the ballot: choose again, confirm, and get the receipt.
    resident
        .click(&format!("label[for='cand-{}']", ids[0]))
        .await;
    resident
        .click(&format!("label[for='cand-{}']", ids[2]))
        .await;
    resident.click(".vote-form button[type=submit]").await;
    let confirm = resident.text(".confirm .your-choice").await;
    assert!(
        confirm.contains("陈华") && confirm.contains("黄伟"),
        "{confirm}"
    );
    resident.check_screen("phone-e4-confirm").await;
    resident.click(".confirm [data-confirm]").await;
    resident.wait("[data-recorded]").await;
    let receipt = resident.attr("[data-receipt]", "data-receipt").await;
    assert_eq!(receipt.len(), 64);
    let mine = server
        .call("GET", &format!("/receipts/{receipt}"), None, Value::Null)
        .await;
    assert_eq!(mine["proposal"], json!(p));
    // The live count shows the approvals as they arrive.
    resident
        .wait_text(
            &format!(".candidate-result[data-candidate='{}']", ids[0]),
            "the live approvals",
            |t| t.contains("1 household approves"),
        )
        .await;
    resident.check_screen("phone-e5-recorded").await;
    // The projector shows the same ranking, live, for the room.
    resident.click(&format!("a[href='/projector/{p}']")).await;
    resident
        .wait_text(
            &format!(".candidate-result[data-candidate='{}']", ids[0]),
            "the ranking on the projector",
            |t| t.contains("1 household approves"),
        )
        .await;
    resident.check_screen("phone-e5b-projector").await;

    // The count closes, the officer settles the result and seats the committee.
    for (voter, approve) in [
        ("ma", vec![&ids[1], &ids[2]]),
        ("gao", vec![&ids[0], &ids[1]]),
    ] {
        server
            .call(
                "POST",
                &format!("/proposals/{p}/assisted-ballots"),
                Some(&officer),
                json!({"voter": voter, "approve": approve, "method": "paper",
                       "idempotency_key": format!("paper-{voter}")}),
            )
            .await;
    }
    server
        .call(
            "POST",
            &format!("/proposals/{p}/close"),
            Some(&officer),
            json!({}),
        )
        .await;
    server
        .call(
            "POST",
            &format!("/proposals/{p}/publish"),
            Some(&officer),
            json!({}),
        )
        .await;
    server
        .call(
            "POST",
            &format!("/communities/{community}/committee"),
            Some(&officer),
            json!({"election": p}),
        )
        .await;

    resident.goto(&format!("/result/{p}")).await;
    resident
        .wait_text(
            &format!(".candidate-result[data-candidate='{}'] .badge", ids[0]),
            "the winner's standing",
            |t| t == "elected",
        )
        .await;
    resident.check_screen("phone-e6-election-result").await;
    resident.goto(&format!("/committee/{community}")).await;
    resident.wait("[data-member]").await;
    assert_eq!(
        resident.count("[data-member]").await,
        3,
        "two members and an alternate"
    );
    resident.check_screen("phone-e7-committee").await;

    // A seat falls vacant and the alternate moves up: what's new on the home screen says so,
    // in both languages.
    server
        .call(
            "POST",
            &format!("/communities/{community}/committee/vacancies"),
            Some(&officer),
            json!({"member": ids[0], "reason": "moved away 搬走了", "date": "2027-03-01"}),
        )
        .await;
    resident.goto("/").await;
    resident
        .wait_text(
            "[data-notices] [data-kind=committee_vacancy]",
            "the vacancy notice",
            |t| t.contains("陈华 left the owners' committee") && t.contains("黄伟 moved up"),
        )
        .await;
    assert!(
        resident
            .text("[data-notices] [data-kind=committee_constituted]")
            .await
            .starts_with("The owners' committee was seated from the election")
    );
    assert_language(&resident, "home with committee notices (en)").await;
    resident.check_screen("phone-e8-committee-notices").await;
    resident.click("#lang").await;
    resident
        .wait_text(
            "[data-notices] [data-kind=committee_vacancy]",
            "the vacancy notice in Chinese",
            |t| t.contains("已离任业主委员会") && t.contains("候补 黄伟 递补"),
        )
        .await;
    assert_language(&resident, "home with committee notices (zh)").await;
    resident.click("#lang").await;
    assert_no_missing_strings(&resident).await;
    resident.close().await;

    // The officer, at a desktop: creates the next election from the form, adds a candidate,
    // and finds the published one ready to seat the committee.
    let desk = Browser::open(
        &tools,
        &driver,
        &server,
        Screen::Desktop,
        "officer",
        support::axe_script(),
    )
    .await;
    desk.goto(&format!("/officer/{community}/new-election"))
        .await;
    desk.fill("form input[name=username]", OFFICER).await;
    desk.fill("form input[name=password]", PASSWORD).await;
    desk.click("form button[type=submit]").await;
    desk.wait("form textarea[name=candidates]").await;
    desk.fill("input[name=seats]", "3").await;
    desk.fill(
        "textarea[name=candidates]",
        "周敏 | Treasurer of the garden group",
    )
    .await;
    desk.check_screen("desktop-e1-new-election").await;
    desk.click("form > button[type=submit]").await;
    desk.wait("[data-action=deliberate]").await;
    desk.fill("input[name=name]", "吴刚").await;
    desk.click("section[aria-labelledby=m-cands] form button[type=submit]")
        .await;
    desk.wait_text(
        "section[aria-labelledby=m-cands] ul",
        "the added candidate",
        |t| t.contains("吴刚") && t.contains("周敏"),
    )
    .await;
    desk.check_screen("desktop-e2-manage-election").await;
    desk.goto(&format!("/officer/p/{p}")).await;
    desk.wait(".candidate-results").await;
    desk.check_screen("desktop-e3-published-election").await;

    // A tie for the one seat (170 m² and two households each): the officer records the
    // committee's decision on the screen.
    let tied = server
        .call(
            "POST",
            &format!("/communities/{community}/elections"),
            Some(&officer),
            json!({"title": "By-election 补选", "seats": 1, "candidates": [{"name": "钱江"}, {"name": "孙雨"}],
                   "rule": {"levels": [{"label": "passed", "conditions": [
                       {"kind": "approval", "measure": "headcount", "of": "participants", "at_least": "1/2"}]}]},
                   "closes_at": closes}),
        )
        .await;
    let q = tied["id"].as_str().unwrap().to_owned();
    let (x, y) = (
        tied["election"]["candidates"][0]["id"].clone(),
        tied["election"]["candidates"][1]["id"].clone(),
    );
    server
        .call(
            "POST",
            &format!("/proposals/{q}/open"),
            Some(&officer),
            json!({}),
        )
        .await;
    for (voter, approve) in [("hu", &x), ("ma", &x), ("gao", &y), ("lu", &y)] {
        server
            .call(
                "POST",
                &format!("/proposals/{q}/assisted-ballots"),
                Some(&officer),
                json!({"voter": voter, "approve": [approve], "method": "in_person",
                       "idempotency_key": format!("tie-{voter}")}),
            )
            .await;
    }
    server
        .call(
            "POST",
            &format!("/proposals/{q}/close"),
            Some(&officer),
            json!({}),
        )
        .await;
    desk.goto(&format!("/officer/p/{q}")).await;
    desk.wait("section[aria-labelledby=m-tie] .tie-order").await;
    assert_eq!(
        desk.count("[data-standing=tied]").await,
        2,
        "both shown as tied"
    );
    desk.check_screen("desktop-e4-tie").await;
    // Puts 孙雨 first, notes the meeting, records.
    desk.click(".tie-order li:nth-child(2) button").await;
    desk.fill(
        "section[aria-labelledby=m-tie] textarea[name=note]",
        "Committee meeting, 1 December",
    )
    .await;
    desk.click("section[aria-labelledby=m-tie] form:first-of-type button[type=submit]")
        .await;
    desk.wait_text(
        &format!(
            ".candidate-result[data-candidate={}] .badge",
            y.as_str().unwrap()
        ),
        "the decided seat",
        |t| t == "elected",
    )
    .await;
    desk.check_screen("desktop-e5-tie-decided").await;
    assert_no_missing_strings(&desk).await;
    desk.close().await;
}
