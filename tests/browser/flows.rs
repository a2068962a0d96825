//! The stories, as a resident and an officer live them, in the browser.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::{self, ADMIN_LOGIN, ADMIN_PASSWORD, Browser, Driver, Screen, Server};

/// One browser story at a time: two Chromiums at once would only slow each other down.
pub(crate) static SERIAL: Mutex<()> = Mutex::const_new(());

const OFFICER: &str = "officer.chen";
const OFFICER_PASSWORD: &str = "officer-password-1";
const RESIDENT_PASSWORD: &str = "resident-password-1";

/// Five voters in six units, two buildings, floor areas summing to 500.17 m².
const ROLL_CSV: &str = "\
voter,unit,name,phone,tags,area
wang,1-101,王伟,13800000001,building-1,89.57
wang,1-102,王伟,,building-1,90.10
li,1-201,李娜,13800000002,building-1,75.00
zhao,2-101,赵强,13800000003,building-2,120
sun,2-102,孙丽,,building-2,60.5
zhou,2-201,周杰,13800000005,building-2,65
";

const TITLE: &str = "Repair the compound road 修复小区道路";

/// Markdown with everything a safe renderer must neutralise.
const BODY: &str = "# Why the road\n\nThe road **floods** after *every* rain. See [the quotes](https://example.org/quotes) \
and [this](javascript:alert(1)).\n\n- Each household pays 1,000 yuan\n- Work starts in spring\n\n\
<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">";

/// Visible app strings in the wrong language: Latin words on a Chinese screen, Chinese on an
/// English one. People's own words (`data-user`), codes (`translate="no"`) and text marked with
/// another `lang` (the language switch itself) are not app strings.
const WRONG_LANGUAGE: &str = r#"
const zh = document.documentElement.lang.startsWith('zh');
const allowed = new Set(['CSV', 'JSON', 'UTF']);
const bad = [];
const skip = (el) => el.closest('[data-user], [translate="no"], script, style, noscript, #announcer')
  || (el.closest('[lang]') !== document.documentElement && !el.closest('[lang]').lang.startsWith(zh ? 'zh' : 'en'));
const wrong = (text) => zh
  ? (text.replace(/\{\w+\}/g, '').match(/[A-Za-z]{2,}/g) || []).some(w => !allowed.has(w))
  : /[\u3400-\u9fff]/.test(text);
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const node = walker.currentNode;
  const text = node.nodeValue.trim();
  const el = node.parentElement;
  if (!text || !el || skip(el)) continue;
  if (el.getClientRects().length === 0 || getComputedStyle(el).visibility === 'hidden') continue;
  if (wrong(text)) bad.push(text);
}
for (const el of document.querySelectorAll('[aria-label], [placeholder], [title]')) {
  if (skip(el)) continue;
  for (const name of ['aria-label', 'placeholder', 'title']) {
    const value = el.getAttribute(name);
    if (value && wrong(value)) bad.push(`${name}="${value}"`);
  }
}
return bad;
"#;

pub(crate) async fn assert_language(browser: &Browser, screen: &str) {
    let bad = browser.eval(WRONG_LANGUAGE, vec![]).await;
    let lang = browser
        .eval("return document.documentElement.lang;", vec![])
        .await;
    assert_eq!(
        bad,
        json!([]),
        "[{}] {screen} ({lang}): strings in the wrong language",
        browser.name
    );
}

/// The keys the app asked for that have no string (must be none).
pub(crate) async fn assert_no_missing_strings(browser: &Browser) {
    let missing = browser
        .eval_async(
            "const done = arguments[arguments.length - 1];
             import('/i18n.js').then(m => done(m.missingKeys()));",
        )
        .await;
    assert_eq!(missing, json!([]), "[{}] untranslated keys", browser.name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_votes_on_a_phone_and_an_officer_runs_the_vote() {
    let Some(tools) = support::tools() else {
        return;
    };
    let _one_at_a_time = SERIAL.lock().await;
    tokio::time::timeout(Duration::from_secs(420), story(tools))
        .await
        .expect("the browser story finishes within 7 minutes");
}

async fn story(tools: support::Tools) {
    let axe = support::axe_script();
    let server = Server::start().await;
    let driver = Driver::start(&tools).await;

    // Arrange what only a platform admin does: the community and its officer.
    let admin = server.login(ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let community = server
        .call(
            "POST",
            "/communities",
            Some(&admin),
            json!({"name": "莲花苑 Lotus Court", "timezone": "Asia/Shanghai"}),
        )
        .await;
    let community = community["id"].as_str().unwrap().to_owned();
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

    // The officer, at a desktop: signs in and finds the dashboard.
    let officer = Browser::open(
        &tools,
        &driver,
        &server,
        Screen::Desktop,
        "officer",
        axe.clone(),
    )
    .await;
    officer.goto("/").await;
    officer.wait("form input[name=username]").await;
    officer.check_screen("desktop-01-sign-in").await;
    officer.fill("form input[name=username]", OFFICER).await;
    officer
        .fill("form input[name=password]", OFFICER_PASSWORD)
        .await;
    officer.click("form button[type=submit]").await;
    officer
        .click(&format!("main a[href='/officer/{community}']"))
        .await;
    officer.wait("#dash-roll").await;

    // Uploads the roll from a CSV file and sees it.
    let csv = tempfile::Builder::new()
        .suffix(".csv")
        .tempfile()
        .expect("roll file");
    std::fs::write(csv.path(), ROLL_CSV).unwrap();
    officer
        .wait("#roll input[type=file]")
        .await
        .send_keys(&csv.path().display().to_string())
        .await
        .expect("choose the roll file");
    officer.click("#roll form button[type=submit]").await;
    officer
        .wait_text("#roll .success", "the stored roll", |t| {
            t.contains("5 voters in 6 units")
        })
        .await;
    assert_eq!(
        officer.count("#roll tbody tr").await,
        5,
        "every voter listed"
    );
    officer.check_screen("desktop-02-dashboard-roll").await;

    // Prints the activation sheet.
    officer.click("#codes form button[type=submit]").await;
    officer.wait(".code-card").await;
    assert_eq!(officer.count(".code-card").await, 5, "a card per household");
    let code_of = |voter: &'static str| {
        let officer = &officer;
        async move {
            officer
                .attr(&format!(".code-card[data-voter='{voter}']"), "data-code")
                .await
        }
    };
    let wang_code = code_of("wang").await;
    let li_code = code_of("li").await;
    assert!(wang_code.len() >= 10, "a printed code: {wang_code}");
    officer.check_screen("desktop-03-activation-sheet").await;

    // Creates a proposal: the rule picker with an extra condition, a cost, a deadline.
    officer.goto(&format!("/officer/{community}/new")).await;
    officer.wait("form.proposal-form").await;
    officer.fill("input[name=title]", TITLE).await;
    officer.fill("textarea[name=body]", BODY).await;
    officer
        .click("input[name=preset][value='absolute-majority'] + label")
        .await;
    officer.click(".extras-box button").await;
    officer
        .select(".condition-editor select[name=kind]", "quorum")
        .await;
    officer
        .select(".condition-editor select[name=measure]", "area")
        .await;
    officer
        .select(".condition-editor select[name=comparison]", "at_least")
        .await;
    officer
        .fill(".condition-editor input[name=fraction]", "2/3")
        .await;
    officer
        .wait_text(
            ".condition-editor .sentence",
            "the condition in words",
            |t| t.contains("at least two thirds of the floor area"),
        )
        .await;
    officer
        .wait_text(".rule-preview", "the whole rule in words", |t| {
            t.contains("More than half of all households must say yes")
        })
        .await;
    officer.click("input[name=has_cost] + label").await;
    officer.fill("input[name=amount]", "1000").await;
    officer.check_screen("desktop-04-new-proposal").await;
    officer
        .click("form.proposal-form > button[type=submit]")
        .await;
    officer
        .wait_text("main h1", "the new proposal", |t| t == TITLE)
        .await;
    let proposal = officer
        .eval("return location.pathname.split('/').pop();", vec![])
        .await
        .as_str()
        .unwrap()
        .to_owned();

    // Opens voting.
    officer.click("[data-action=open] > button").await;
    officer.click("[data-action=open] .actions button").await;
    officer
        .wait_text(".state-line", "voting open", |t| t.contains("Voting open"))
        .await;
    officer.wait(".tally .counts").await;
    officer.check_screen("desktop-05-manage-voting").await;

    // The resident, on a 360 × 640 phone: activates with the printed code.
    let resident = Browser::open(
        &tools,
        &driver,
        &server,
        Screen::Phone,
        "resident",
        axe.clone(),
    )
    .await;
    resident.goto("/activate").await;
    resident.wait("input[name=code]").await;
    let viewport = resident
        .eval("return [innerWidth, innerHeight];", vec![])
        .await;
    assert_eq!(viewport, json!([360, 640]), "a phone-sized screen");
    resident.check_screen("phone-01-activate").await;
    resident.fill("input[name=code]", &wang_code).await;
    resident.fill("input[name=username]", "wang.family").await;
    resident
        .fill("input[name=new-password]", RESIDENT_PASSWORD)
        .await;
    resident
        .fill("input[name=repeat-password]", RESIDENT_PASSWORD)
        .await;
    resident.click("form button[type=submit]").await;
    resident
        .wait_text("main .success", "the welcome", |t| {
            t.contains("Lotus Court")
        })
        .await;

    // Signs out and in again, as next week.
    resident.click("[data-signout]").await;
    resident.wait("form input[name=username]").await;
    resident.check_screen("phone-02-sign-in").await;
    resident.fill("input[name=username]", "wang.family").await;
    resident
        .fill("input[name=password]", RESIDENT_PASSWORD)
        .await;
    resident.click("form button[type=submit]").await;

    // Sees the proposal open to them, with its deadline.
    let card = format!(".proposal-card[data-proposal='{proposal}']");
    resident
        .wait_text(&card, "the deadline", |t| {
            t.contains("Voting closes") && t.contains("Not voted yet")
        })
        .await;
    resident.check_screen("phone-03-my-proposals").await;

    // Reads it: Markdown rendered safely, their own cost share.
    resident.click(&format!("{card} a")).await;
    resident.wait(".vote-form").await;
    assert_eq!(resident.text(".markdown h2").await, "Why the road");
    assert_eq!(resident.text(".markdown strong").await, "floods");
    let links = resident
        .eval(
            "return [...document.querySelectorAll('.markdown a')].map(a => a.href);",
            vec![],
        )
        .await;
    assert_eq!(
        links,
        json!(["https://example.org/quotes"]),
        "only http(s) links"
    );
    let unsafe_elements = resident
        .eval(
            "return document.querySelectorAll('.markdown script, .markdown img').length + (window.__pwned ? 100 : 0);",
            vec![],
        )
        .await;
    assert_eq!(unsafe_elements, json!(0), "no markup from the text runs");
    assert!(resident.text(".markdown").await.contains("<script>"));
    resident
        .wait_text(".my-share", "the household's share", |t| {
            t.contains("1,000.00")
        })
        .await;
    resident.check_screen("phone-04-proposal").await;

    // Switches to Chinese: every visible string changes; then back.
    assert_language(&resident, "proposal in English").await;
    resident.click("#lang").await;
    resident
        .wait("html[lang='zh-Hans'] body[data-ready] .vote-form")
        .await;
    resident
        .wait_text("#vote-title", "the Chinese heading", |t| t == "您的投票")
        .await;
    assert_language(&resident, "proposal in Chinese").await;
    resident.check_screen("phone-05-proposal-chinese").await;
    resident.click("#lang").await;
    resident
        .wait_text("#vote-title", "the English heading", |t| t == "Your vote")
        .await;
    assert_language(&resident, "proposal in English again").await;

    // Votes Yes — with the phone losing its signal at the moment of confirming.
    resident.click("label[for='choice-yes']").await;
    resident.click(".vote-form button[type=submit]").await;
    resident.wait(".confirm [data-confirm]").await;
    resident.check_screen("phone-06-confirm").await;
    resident.set_offline(true).await;
    resident.click(".confirm [data-confirm]").await;
    resident
        .wait_text(
            "[data-phase='waiting']",
            "that the vote is not confirmed",
            |t| t.contains("not confirmed yet") && t.contains("can never be counted twice"),
        )
        .await;
    resident.screenshot("phone-07-vote-not-confirmed").await;
    resident.audit("phone-07-vote-not-confirmed").await;
    resident.set_offline(false).await;
    resident.wait("[data-recorded]").await;
    // The attempt made while offline is the only console error allowed, and only here.
    resident
        .assert_clean(
            "after the dropped connection",
            &["ERR_INTERNET_DISCONNECTED", "WebSocket connection"],
        )
        .await;
    let recorded = resident.text("[data-recorded]").await;
    assert!(
        recorded.contains("Your vote is recorded") && recorded.contains("Yes, I agree"),
        "{recorded}"
    );
    let receipt = resident.attr("[data-receipt]", "data-receipt").await;
    assert_eq!(receipt.len(), 64, "the receipt is the ledger entry's hash");
    let found = server
        .call("GET", &format!("/receipts/{receipt}"), None, Value::Null)
        .await;
    assert_eq!(
        found["proposal"],
        json!(proposal),
        "the receipt is in the ledger"
    );
    resident.check_screen("phone-08-vote-recorded").await;

    // The live tally moves when a second resident votes elsewhere.
    resident
        .wait_text(".count.yes .num", "the resident's own yes", |t| t == "1")
        .await;
    let li = server
        .call(
            "POST",
            "/activate",
            None,
            json!({"code": li_code, "login": "li.na", "password": RESIDENT_PASSWORD}),
        )
        .await;
    let li_token = li["token"].as_str().unwrap().to_owned();
    server
        .call(
            "PUT",
            &format!("/proposals/{proposal}/ballot"),
            Some(&li_token),
            json!({"choice": "yes", "idempotency_key": "li-phone-1"}),
        )
        .await;
    resident
        .wait_text(".count.yes .num", "the second yes, live", |t| t == "2")
        .await;
    resident
        .wait_text(".conditions", "the condition in plain words", |t| {
            t.contains("2 of 5 households said yes — more than half of all households needed: 3")
                && t.contains("✗ 1 more household must say yes")
                && t.contains("Floor area that took part: 254.67 of 500.17 m²")
                && t.contains("✗ 78.78 m² more must take part")
        })
        .await;
    resident
        .eval(
            "document.querySelector('.tally-section').scrollIntoView();",
            vec![],
        )
        .await;
    resident.check_screen("phone-09-live-tally").await;

    // Turnout: who has not voted — participation only.
    officer
        .goto(&format!("/officer/p/{proposal}/turnout"))
        .await;
    officer.wait(".people").await;
    assert_eq!(officer.count(".people .person").await, 3, "three not voted");
    let page = officer.body_text().await;
    for name in ["赵强", "孙丽", "周杰"] {
        assert!(page.contains(name), "{name} is listed to call");
    }
    for choice_word in ["Yes, I agree", "No, I do not agree", "I abstain", "Abstain"] {
        assert!(!page.contains(choice_word), "turnout never shows choices");
    }
    officer.check_screen("desktop-06-turnout").await;

    // An assisted ballot taken by phone, and a proxy authorisation.
    officer
        .click(".person[data-voter='zhao'] a[href*='voter=zhao']")
        .await;
    officer.wait("#assisted form").await;
    officer.click("#assisted input[value='yes'] + label").await;
    officer
        .click("#assisted input[value='phone'] + label")
        .await;
    officer
        .fill("#assisted textarea[name=note]", "Called at 18:00")
        .await;
    officer.click("#assisted button[type=submit]").await;
    officer.wait("#assisted [data-assisted]").await;
    officer.click("#proxies summary").await;
    officer.select("#proxies select[name=voter]", "sun").await;
    officer
        .fill("#proxies input[name=holder_login]", "li.na")
        .await;
    officer
        .fill(
            "#proxies textarea[name=authorisation]",
            "孙丽 authorises 李娜, signed 2026-11-28",
        )
        .await;
    officer.click("#proxies button[type=submit]").await;
    officer.wait("#proxies [data-proxy='sun']").await;
    officer.check_screen("desktop-07-assisted-and-proxy").await;

    // The projector view for the council meeting.
    officer.goto(&format!("/projector/{proposal}")).await;
    officer
        .wait_text(".count.yes .num", "three yes", |t| t == "3")
        .await;
    officer
        .wait_text(".live-status", "live", |t| t.contains("Live"))
        .await;
    officer.check_screen("desktop-08-projector").await;

    // Closes voting and publishes the result.
    officer.goto(&format!("/officer/p/{proposal}")).await;
    officer.click("[data-action=close] > button").await;
    officer.click("[data-action=close] .actions button").await;
    officer
        .wait_text(".state-line", "closed", |t| t.contains("Voting closed"))
        .await;
    officer.fill("input[name=att-name]", "周杰").await;
    officer
        .fill("input[name=att-role]", "resident representative")
        .await;
    officer
        .fill("textarea[name=att-statement]", "I watched the count.")
        .await;
    officer
        .click(".publish-section form:not(.publish) button[type=submit]")
        .await;
    officer.wait(".attestations li").await;
    officer
        .fill(
            "textarea[name=outcome_statement]",
            "Passed: the road will be repaired in spring.",
        )
        .await;
    officer.check_screen("desktop-09-publish").await;
    officer.click("form.publish button[type=submit]").await;
    officer
        .wait_text(".result [data-outcome]", "the outcome", |t| {
            t.contains("Passed")
        })
        .await;
    officer.check_screen("desktop-10-result").await;

    // Everyone: the result page, on the phone too; and the official printable page.
    resident.goto(&format!("/result/{proposal}")).await;
    resident
        .wait_text(".result [data-outcome]", "the outcome", |t| {
            t.contains("Passed")
        })
        .await;
    assert!(
        resident
            .text(".result")
            .await
            .contains("Passed: the road will be repaired in spring.")
    );
    resident.check_screen("phone-10-result").await;
    resident.click("#lang").await;
    resident
        .wait_text("[data-outcome]", "the Chinese outcome", |t| {
            t.contains("通过")
        })
        .await;
    assert_language(&resident, "result in Chinese").await;
    resident.check_screen("phone-11-result-chinese").await;
    // Offline, the app still opens from the service worker's cache, says so, and recovers by
    // itself when the connection returns.
    resident.set_offline(true).await;
    resident.goto(&format!("/result/{proposal}")).await;
    resident
        .wait_text("main h1", "the offline screen", |t| t == "没有网络连接")
        .await;
    resident.screenshot("phone-12-offline-chinese").await;
    resident.audit("phone-12-offline-chinese").await;
    resident.set_offline(false).await;
    resident
        .wait_text(".result [data-outcome]", "the result again", |t| {
            t.contains("通过")
        })
        .await;
    resident
        .assert_clean("offline start", &["ERR_INTERNET_DISCONNECTED"])
        .await;
    let official = server
        .http()
        .get(server.url(&format!("/r/{proposal}")))
        .send()
        .await
        .unwrap();
    assert!(official.status().is_success());

    assert_no_missing_strings(&resident).await;
    assert_no_missing_strings(&officer).await;
    resident.close().await;
    officer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_string_has_both_languages_and_markdown_cannot_inject_markup() {
    let Some(tools) = support::tools() else {
        return;
    };
    let _one_at_a_time = SERIAL.lock().await;
    let server = Server::start().await;
    let driver = Driver::start(&tools).await;
    let browser = Browser::open(&tools, &driver, &server, Screen::Phone, "checker", None).await;
    browser.goto("/signin").await;
    browser.ready().await;

    let tables = browser
        .eval_async(
            r#"const done = arguments[arguments.length - 1];
            import('/strings.js').then(({STRINGS: s}) => {
              const keys = (l) => Object.keys(s[l]);
              const holes = (t) => [...new Set([...t.matchAll(/\{(\w+)\}/g)].map(m => m[1]))].sort().join(',');
              const allowed = new Set(['CSV', 'JSON', 'UTF']);
              done({
                only_en: keys('en').filter(k => !(k in s.zh)),
                only_zh: keys('zh').filter(k => !(k in s.en)),
                empty: keys('zh').filter(k => !s.zh[k].trim() || !(s.en[k] || '').trim()),
                placeholders: keys('en').filter(k => k in s.zh && holes(s.en[k]) !== holes(s.zh[k])),
                latin_in_chinese: keys('zh').filter(k => (s.zh[k].replace(/\{\w+\}/g, '').match(/[A-Za-z]{2,}/g) || []).some(w => !allowed.has(w))),
                chinese_in_english: keys('en').filter(k => /[\u3400-\u9fff]/.test(s.en[k])),
              });
            });"#,
        )
        .await;
    assert_eq!(
        tables,
        json!({"only_en": [], "only_zh": [], "empty": [], "placeholders": [],
               "latin_in_chinese": [], "chinese_in_english": []}),
        "the string tables match"
    );

    let rendered = browser
        .eval_async(
            r#"const done = arguments[arguments.length - 1];
            import('/markdown.js').then(({markdown}) => {
              const div = document.createElement('div');
              div.append(markdown(`# T

<img src=x onerror=alert(1)> <script>alert(2)</script>
[a](javascript:alert(3)) [b](data:text/html,hi) [c](/relative) [d](https://ok.example/x?a=1&b=2)
**<b>bold</b>** _<i>it</i>_ \`<code>\`
- <li>one</li>
1. two
> quote <q>`));
              done({
                elements: [...div.querySelectorAll('*')].map(e => e.tagName.toLowerCase()),
                links: [...div.querySelectorAll('a')].map(a => a.getAttribute('href')),
                text: div.textContent,
              });
            });"#,
        )
        .await;
    let elements: Vec<String> = serde_json::from_value(rendered["elements"].clone()).unwrap();
    let allowed = [
        "h2",
        "p",
        "a",
        "strong",
        "em",
        "code",
        "ul",
        "ol",
        "li",
        "blockquote",
    ];
    assert!(
        elements.iter().all(|e| allowed.contains(&e.as_str())),
        "only the safe subset: {elements:?}"
    );
    assert_eq!(
        rendered["links"],
        json!(["https://ok.example/x?a=1&b=2"]),
        "only absolute http(s) links become links"
    );
    let text = rendered["text"].as_str().unwrap();
    for literal in [
        "<img src=x onerror=alert(1)>",
        "<script>",
        "<b>bold</b>",
        "javascript:alert(3)",
    ] {
        assert!(text.contains(literal), "`{literal}` stays visible text");
    }
    browser.assert_clean("string tables", &[]).await;
    browser.close().await;
}

#[tokio::test]
async fn the_app_is_served_with_a_strict_policy_and_etags() {
    let server = Server::start().await;
    let http = server.http();
    for path in [
        "/",
        "/activate",
        "/p/abc",
        "/officer/x/new",
        "/projector/abc",
        "/result/abc",
    ] {
        let response = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path} serves the app shell");
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(response.text().await.unwrap().contains("/app.js"));
    }
    for (path, kind) in [
        ("/app.js", "text/javascript"),
        ("/app.css", "text/css"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/icon.svg", "image/svg+xml"),
        ("/sw.js", "text/javascript"),
    ] {
        let response = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind),
            "{path} is {kind}"
        );
        let etag = response.headers()["etag"].clone();
        let again = http
            .get(server.url(path))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path} revalidates with its ETag");
    }
    let sw = http
        .get(server.url("/sw.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !sw.contains("__YISHI_ASSETS_VERSION__"),
        "the worker carries the version"
    );
    let index = http
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !index.contains("<script>") && !index.contains(" style="),
        "no inline script or style"
    );
}
