//! The printable activation sheet: A4 pages of cut-out cards, one per voter, in Chinese and
//! English, each with the voter's code, the community's name and where to sign up.

use std::fmt::Write;

/// One card's contents.
pub struct Card<'a> {
    pub voter: &'a str,
    pub name: &'a str,
    pub units: &'a [String],
    pub code: &'a str,
    /// When the code stops working, already written in the community's time zone.
    pub expires: &'a str,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif; color: #000; }
.intro { font-size: 10pt; margin: 0 0 4mm; }
.sheet { display: grid; grid-template-columns: 1fr 1fr; gap: 0; }
.card { height: 69mm; padding: 4mm 5mm; border: 1px dashed #777; break-inside: avoid; page-break-inside: avoid;
        display: flex; flex-direction: column; justify-content: space-between; font-size: 9.5pt; line-height: 1.35; }
.head { font-weight: bold; font-size: 10.5pt; }
.who { font-size: 10pt; }
.who small { color: #444; }
.code { font-family: 'DejaVu Sans Mono', 'Courier New', monospace; font-size: 22pt; font-weight: bold;
        letter-spacing: 1.5pt; text-align: center; padding: 1.5mm 0; border: 1.5px solid #000; }
.addr { font-family: 'DejaVu Sans Mono', 'Courier New', monospace; font-weight: bold; word-break: break-all; }
.foot { font-size: 8pt; color: #333; }
@media screen { body { max-width: 200mm; margin: 8mm auto; } }
@media print { .intro { display: none; } }
";

/// The whole sheet as an HTML document.
pub fn render(community: &str, address: &str, cards: &[Card<'_>]) -> String {
    let community = escape(community);
    let address = escape(address);
    let mut html = String::with_capacity(2048 + cards.len() * 1400);
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{community} · 激活码 Activation codes</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <p class=\"intro\">{count} 张卡片，沿虚线剪开，每户一张。{count} cards: cut along the dashed lines, \
         one per household. 每个激活码只能使用一次。Each code works once.</p>\n<div class=\"sheet\">\n",
        count = cards.len(),
    );
    for card in cards {
        let units = card
            .units
            .iter()
            .map(|u| escape(u))
            .collect::<Vec<_>>()
            .join("、");
        let name = if card.name.is_empty() {
            escape(card.voter)
        } else {
            escape(card.name)
        };
        let _ = write!(
            html,
            "<div class=\"card\">\n\
             <div class=\"head\">{community} · 居民议事 Residents' council</div>\n\
             <div class=\"who\">{name} <small>{units} · {voter}</small></div>\n\
             <div>您的激活码 Your activation code:</div>\n\
             <div class=\"code\">{code}</div>\n\
             <div>① 用手机打开 Open on your phone: <span class=\"addr\">{address}</span><br>\n\
             ② 输入激活码，自己设定登录名和密码。Enter the code and choose your own login and password.</div>\n\
             <div class=\"foot\">仅限本户使用一次，有效期至 {expires}。请勿转交他人。\
             For this household only; works once; valid until {expires}. Do not pass it on.</div>\n\
             </div>\n",
            voter = escape(card.voter),
            code = escape(card.code),
            expires = escape(card.expires),
        );
    }
    if cards.is_empty() {
        html.push_str(
            "<p>每位选民都已有账户，无需激活码。Every voter already has an account; no codes were made.</p>\n",
        );
    }
    html.push_str("</div>\n</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_card_carries_its_code_and_text_is_escaped() {
        let units = vec!["1-101".to_owned(), "1-102".to_owned()];
        let html = render(
            "Lotus <Court>",
            "https://yishi.example/activate",
            &[Card {
                voter: "wang",
                name: "王 & 李",
                units: &units,
                code: "K7QM-4XPA-9T",
                expires: "2026-12-01",
            }],
        );
        assert!(html.contains("K7QM-4XPA-9T"));
        assert!(html.contains("Lotus &lt;Court&gt;"));
        assert!(html.contains("王 &amp; 李"));
        assert!(html.contains("1-101、1-102"));
        assert!(html.contains("https://yishi.example/activate"));
        assert!(!html.contains("<Court>"));
    }
}
