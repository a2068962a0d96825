//! Deliberation in the browser: a resident on a phone comments on a proposal (Markdown that
//! tries to inject markup stays inert) and co-signs a petition; an officer hides a comment with a
//! reason that the resident then sees in its place, and records a council meeting with minutes.

use std::time::Duration;

use serde_json::{Value, json};

use crate::flows::{assert_language, assert_no_missing_strings};
use crate::support::{self, ADMIN_LOGIN, ADMIN_PASSWORD, Browser, Driver, Screen, Server};

const OFFICER: &str = "officer.lin";
const OFFICER_PASSWORD: &str = "officer-password-1";
const RESIDENT_PASSWORD: &str = "resident-password-1";

const ROLL_CSV: &str = "\
voter,unit,name,phone,tags,area
wang,1-101,王伟,13800000001,b1,89.57
li,1-201,李娜,13800000002,b1,75.00
zhao,2-101,赵强,13800000003,b2,120
sun,2-102,孙丽,,b2,60.5
zhou,2-201,周杰,13800000005,b2,65
";

/// A comment that tries every way of becoming markup.
const HOSTILE: &str = "Who pays for the **drains**? [see this](javascript:window.__pwned=1) \
<script>window.__pwned = 2</script><img src=x onerror=\"window.__pwned = 3\">";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_comments_and_co_signs_and_an_officer_moderates_and_records_a_meeting() {
    let Some(tools) = support::tools() else {
        return;
    };
    let _one_at_a_time = crate::flows::SERIAL.lock().await;
    tokio::time::timeout(Duration::from_secs(300), story(tools))
        .await
        .expect("the deliberation story finishes within 5 minutes");
}

async fn sign_in(browser: &Browser, login: &str, password: &str) {
    browser.goto("/").await;
    browser.wait("form input[name=username]").await;
    browser.fill("form input[name=username]", login).await;
    browser.fill("form input[name=password]", password).await;
    browser.click("form button[type=submit]").await;
    browser.wait("main section.community").await;
}

async fn story(tools: support::Tools) {
    let axe = support::axe_script();
    let server = Server::start().await;
    let driver = Driver::start(&tools).await;

    // Arrange through the API: community, officer, roll, two activated households.
    let admin = server.login(ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let community = server
        .call(
            "POST",
            "/communities",
            Some(&admin),
            json!({"name": "莲花苑 Lotus Court"}),
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
            json!({"login": OFFICER, "password": OFFICER_PASSWORD}),
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
    let officer_token = server.login(OFFICER, OFFICER_PASSWORD).await;
    let roll = server
        .http()
        .put(server.url(&format!("/api/v1/communities/{community}/roll")))
        .bearer_auth(&officer_token)
        .header("content-type", "text/csv")
        .body(ROLL_CSV)
        .send()
        .await
        .unwrap();
    assert!(roll.status().is_success(), "roll upload");
    let codes = server
        .call(
            "POST",
            &format!("/communities/{community}/activation-codes"),
            Some(&officer_token),
            json!({}),
        )
        .await;
    let mut tokens = std::collections::HashMap::new();
    for card in codes.as_array().unwrap() {
        let voter = card["voter"].as_str().unwrap();
        if voter != "wang" && voter != "li" {
            continue;
        }
        let login = format!("{voter}.family");
        let activated = server
            .call(
                "POST",
                "/activate",
                None,
                json!({"code": card["code"], "login": login, "password": RESIDENT_PASSWORD}),
            )
            .await;
        tokens.insert(
            voter.to_owned(),
            activated["token"].as_str().unwrap().to_owned(),
        );
    }
    let closes = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(240)).to_string();
    let proposal = server
        .call(
            "POST",
            &format!("/communities/{community}/proposals"),
            Some(&officer_token),
            json!({"title": "Repair the road 修路", "body": "Each owner pays 1,000 yuan.",
                   "rule": {"preset": "simple-majority"}, "closes_at": closes}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .call(
            "PATCH",
            &format!("/proposals/{proposal}"),
            Some(&officer_token),
            json!({"body": "Each owner pays 1,000 yuan.\nWork starts in spring."}),
        )
        .await;
    server
        .call(
            "POST",
            &format!("/proposals/{proposal}/deliberate"),
            Some(&officer_token),
            json!({}),
        )
        .await;
    let petition = server
        .call(
            "POST",
            &format!("/communities/{community}/petitions"),
            Some(&tokens["wang"]),
            json!({"title": "Lights for the back gate 后门装灯", "body": "It is dark after 6 pm.",
                   "signing_closes": closes}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The resident li, on a 360 × 640 phone, reads the proposal and what changed in it.
    let resident = Browser::open(
        &tools,
        &driver,
        &server,
        Screen::Phone,
        "resident",
        axe.clone(),
    )
    .await;
    sign_in(&resident, "li.family", RESIDENT_PASSWORD).await;
    resident.goto(&format!("/p/{proposal}")).await;
    resident.wait("#discussion textarea[name=comment]").await;
    resident.click("#revisions summary").await;
    resident
        .wait_text("#revisions pre.diff", "the diff between revisions", |t| {
            t.contains("+ Work starts in spring.")
        })
        .await;
    assert!(
        !resident
            .text("#revisions pre.diff")
            .await
            .contains("− Each owner"),
        "an unchanged line is not shown as removed"
    );

    // Comments with Markdown that tries to inject markup; it shows, inert.
    resident
        .fill("#discussion textarea[name=comment]", HOSTILE)
        .await;
    resident
        .click("#discussion form.comment-form button[type=submit]")
        .await;
    resident
        .wait_text(
            "#discussion .comment .comment-body",
            "the posted comment",
            |t| t.contains("Who pays for the drains?"),
        )
        .await;
    assert_eq!(
        resident.text("#discussion .comment-body strong").await,
        "drains"
    );
    let injected = resident
        .eval(
            "return document.querySelectorAll('#discussion script, #discussion img, #discussion a[href^=\"javascript\"]').length
                + (window.__pwned ? 100 : 0);",
            vec![],
        )
        .await;
    assert_eq!(
        injected,
        json!(0),
        "nothing from the comment runs or links to script"
    );
    assert!(
        resident
            .text("#discussion .comment-body")
            .await
            .contains("<script>"),
        "the markup is shown as the text it is"
    );
    resident.check_screen("phone-deliberation-01-comment").await;

    // In Chinese, every string of the discussion is Chinese.
    resident.click("#lang").await;
    resident
        .wait_text("#discussion-title", "the heading in Chinese", |t| {
            t == "讨论"
        })
        .await;
    assert_language(&resident, "discussion (zh)").await;
    assert_no_missing_strings(&resident).await;
    resident
        .check_screen("phone-deliberation-01-comment-zh")
        .await;
    resident.click("#lang").await;
    resident
        .wait_text("#discussion-title", "the heading in English", |t| {
            t == "Discussion"
        })
        .await;

    // A neighbour's comment arrives live, without reloading.
    server
        .call(
            "POST",
            &format!("/proposals/{proposal}/comments"),
            Some(&tokens["wang"]),
            json!({"body": "The drains are the real problem."}),
        )
        .await;
    resident
        .wait_text("#discussion .thread", "the neighbour's comment", |t| {
            t.contains("The drains are the real problem.")
        })
        .await;
    let comments: Value = server
        .call(
            "GET",
            &format!("/proposals/{proposal}/comments"),
            Some(&officer_token),
            Value::Null,
        )
        .await;
    let wang_comment = comments["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["author"] == "wang.family")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Co-signs wang's petition: 1/5 of 5 households is one, so it was due; the count grows.
    resident.goto("/").await;
    resident
        .click(&format!("[data-petitions='{community}']"))
        .await;
    resident
        .click(&format!("[data-petition='{petition}'] a"))
        .await;
    resident.wait("#cosign").await;
    resident
        .check_screen("phone-deliberation-02-petition")
        .await;
    resident.click("#cosign").await;
    resident.wait("#sign [data-signed]").await;
    resident
        .wait_text("#sign .summary", "two signatures", |t| {
            t.starts_with("2 of 5 households signed")
        })
        .await;
    resident.check_screen("phone-deliberation-03-signed").await;
    resident.click("#lang").await;
    resident
        .wait_text("#sign-title", "the petition in Chinese", |t| t == "联署")
        .await;
    assert_language(&resident, "petition (zh)").await;
    resident
        .check_screen("phone-deliberation-03-signed-zh")
        .await;
    resident.click("#lang").await;
    resident
        .wait_text("#sign-title", "the petition in English", |t| {
            t == "Signatures"
        })
        .await;

    // The officer, at a desktop, hides wang's comment with a reason.
    let officer = Browser::open(&tools, &driver, &server, Screen::Desktop, "officer", axe).await;
    sign_in(&officer, OFFICER, OFFICER_PASSWORD).await;
    officer.goto(&format!("/p/{proposal}")).await;

    // First revises the text after the discussion: a third revision, the diff shows it.
    officer
        .fill(
            "#revise textarea[name=revise-body]",
            "Each owner pays 1,000 yuan.\nWork starts in spring.\nThe drains are repaired too.",
        )
        .await;
    // …and the rule: a majority of all households instead of a simple majority.
    officer
        .select("#revise select[name=revise-rule]", "absolute-majority")
        .await;
    officer
        .wait_text("#revise .requirements", "the new rule's sentence", |t| {
            t.contains("households")
        })
        .await;
    officer.click("#revise button[type=submit]").await;
    officer
        .wait_text("#revisions pre.diff", "the third revision's diff", |t| {
            t.contains("+ The drains are repaired too.")
        })
        .await;
    assert_eq!(officer.count("#revisions .revision").await, 3);
    let revised = server
        .call(
            "GET",
            &format!("/proposals/{proposal}"),
            Some(&officer_token),
            Value::Null,
        )
        .await;
    assert_eq!(
        revised["rule"]["levels"][0]["conditions"][0]["of"], "roll",
        "the rule was revised: {}",
        revised["rule"]
    );
    officer
        .click(&format!("[data-hide='{wang_comment}']"))
        .await;
    officer
        .fill(".hide-form input[name=reason]", "off topic 离题")
        .await;
    officer.check_screen("desktop-deliberation-01-hide").await;
    officer.click(".hide-form button[type=submit]").await;
    officer
        .wait_text(
            &format!("[data-comment='{wang_comment}'] .comment-hidden"),
            "the hidden note",
            |t| t.contains("off topic"),
        )
        .await;

    // The council takes up wang's petition in this proposal; the proposal links back to it.
    server
        .call(
            "POST",
            &format!("/petitions/{petition}/response"),
            Some(&officer_token),
            json!({"proposal": proposal, "answer": "Taken up in the road repair."}),
        )
        .await;

    // The resident sees the note with the reason in its place, live.
    resident.goto(&format!("/p/{proposal}")).await;
    resident
        .wait(&format!("[data-origin] a[data-petition='{petition}']"))
        .await;
    resident
        .wait_text(
            &format!("[data-comment='{wang_comment}'] .comment-hidden"),
            "the hidden note",
            |t| t == "Hidden by the council: off topic 离题",
        )
        .await;
    assert!(
        !resident
            .body_text()
            .await
            .contains("The drains are the real problem.")
    );

    // The officer schedules a council meeting with the proposal on its agenda, records who
    // came, and closes it with the minutes and the attendee count.
    officer.goto("/").await;
    officer
        .click(&format!("[data-meetings='{community}']"))
        .await;
    officer.wait("form#schedule").await;
    officer
        .fill(
            "#schedule input[name=title]",
            "Council meeting on the road 道路议事会",
        )
        .await;
    officer
        .fill("#schedule input[name=place]", "Community hall 社区活动室")
        .await;
    officer
        .click(&format!(
            "#schedule input[value='proposal:{proposal}'] + label"
        ))
        .await;
    officer
        .check_screen("desktop-deliberation-02-schedule")
        .await;
    officer.click("#schedule button[type=submit]").await;
    officer.wait("form#attendance").await;
    officer.click("#attendance input[value=li] + label").await;
    officer.click("#attendance input[value=wang] + label").await;
    officer
        .fill("#attendance textarea[name=others]", "张主任")
        .await;
    officer.click("#attendance button[type=submit]").await;
    officer
        .wait_text("ul.attendees", "the attendees", |t| {
            t.contains("张主任") && t.contains("(li)")
        })
        .await;
    officer
        .fill(
            "#close-meeting textarea[name=minutes]",
            "1. The road: the drains are included.\n2. Lights: answered next month.",
        )
        .await;
    officer
        .fill("#close-meeting input[name=attendee_count]", "14")
        .await;
    officer
        .check_screen("desktop-deliberation-03-meeting")
        .await;
    officer.click("#close-meeting button[type=submit]").await;
    officer
        .wait_text("#minutes .summary", "the attendee count", |t| {
            t == "Attended: 14"
        })
        .await;
    assert_eq!(
        officer.count("form#close-meeting").await,
        0,
        "a closed meeting is not edited"
    );
    officer.click("#lang").await;
    officer
        .wait_text("#minutes-title", "the minutes in Chinese", |t| {
            t == "会议纪要"
        })
        .await;
    assert_language(&officer, "meeting (zh)").await;
    officer
        .check_screen("desktop-deliberation-04-minutes-zh")
        .await;

    // The resident reads the published minutes on the phone.
    resident.goto(&format!("/c/{community}/meetings")).await;
    resident.click("[data-meeting] a").await;
    resident
        .wait_text("#minutes", "the minutes", |t| {
            t.contains("the drains are included")
        })
        .await;
    resident.check_screen("phone-deliberation-04-minutes").await;

    // Back home, li finds the council's answer to her comment among what is new.
    let thread: Value = server
        .call(
            "GET",
            &format!("/proposals/{proposal}/comments"),
            Some(&tokens["li"]),
            Value::Null,
        )
        .await;
    let li_comment = thread["comments"][0]["id"].clone();
    server
        .call(
            "POST",
            &format!("/proposals/{proposal}/comments"),
            Some(&officer_token),
            json!({"body": "The drains are in the revised text.", "parent": li_comment}),
        )
        .await;
    resident.goto("/").await;
    resident
        .wait_text(
            "[data-notices] [data-kind=reply]",
            "the answer notice",
            |t| t.starts_with("The council answered your comment on"),
        )
        .await;
    resident.check_screen("phone-deliberation-05-notices").await;
    assert_language(&resident, "home with notices (en)").await;
    resident.click("[data-notices] button").await;
    resident.click("#lang").await;
    resident
        .wait_text("main h1", "the home in Chinese", |t| !t.is_ascii())
        .await;
    assert_language(&resident, "home (zh)").await;
    assert_eq!(
        resident.count("[data-notices]").await,
        0,
        "read notices are gone"
    );

    resident.close().await;
    officer.close().await;
}
