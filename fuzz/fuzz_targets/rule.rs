//! Fuzzes the rule parsers: a condition's text spelling (`Condition::parse`) and a whole rule
//! (`Rule::parse`: a preset name or the JSON spelling). Neither panics; what they accept renders
//! back (text, or JSON `levels`) to a spelling that parses to the same condition or rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yishi::domain::rule::{Condition, Rule};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(condition) = Condition::parse(text) {
        let rendered = condition.to_string();
        let again = Condition::parse(&rendered)
            .unwrap_or_else(|e| panic!("`{rendered}` does not parse: {e}"));
        assert_eq!(again, condition, "{rendered}");
        // Reference: the words of an accepted condition, as the grammar reads them; the
        // comparison is `at_least` / `more_than`, or the same in two words.
        let words: Vec<&str> = text.split_whitespace().collect();
        assert!(matches!(words[0], "quorum" | "approval"), "{text}");
        let n = words.len();
        assert!(
            matches!(words[n - 2], "at_least" | "more_than")
                || n >= 4
                    && matches!(
                        (words[n - 3], words[n - 2]),
                        ("at", "least") | ("more", "than")
                    ),
            "{text}"
        );
    }
    if let Ok(rule) = Rule::parse(text) {
        let json = serde_json::to_string(&rule.to_spec()).expect("a spec serialises");
        let again =
            Rule::from_json(&json).unwrap_or_else(|e| panic!("`{json}` does not parse: {e}"));
        assert_eq!(again, rule, "{json}");
        assert!(!rule.levels().is_empty());
    }
});
