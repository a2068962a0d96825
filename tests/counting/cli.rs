//! `yishi tally` run the way a council officer runs it: the built binary on CSV files in a
//! folder, judged by what it prints, where, and its exit code (0 counted, 2 bad input).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tempfile::TempDir;

/// A compound of two buildings: Wang owns two units, the developer's two unsold units count as
/// one voter. 8 voters, 917.07 m².
const ROLL: &str = "\
voter,unit,name,area,tags
wang,1-101,Wang Jun,89.57,b1
wang,1-102,Wang Jun,90.10,b1
li,1-201,Li Mei,75.00,b1
zhao,1-202,Zhao Gang,120.45,b1
chen,2-101,Chen Hua,98.30,b2
sun,2-102,Sun Li,64.20,b2
zhou,2-201,Zhou Ping,72.85,b2
wu,2-202,Wu Qiang,110.00,b2
developer,2-301,,98.30,b2
developer,2-302,,98.30,b2
";

/// The road repair: 7 of 8 take part (720.47 m²); 5 yes (583.42 m²), 1 no, 1 abstains; the
/// developer stays away.
const ROAD_REPAIR: &str = "\
voter,choice
wang,yes
li,yes
zhao,yes
chen,yes
sun,no
zhou,abstain
wu,yes
";

/// The issue's own command: `cn-278-major` plus more than half of all households.
const ROAD_RULE: [&str; 4] = [
    "--rule",
    "cn-278-major",
    "--also",
    "approval headcount of roll more_than 1/2",
];

/// What one run of the binary left behind.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The report of a run that counted: exit 0, nothing on stderr.
    fn counted(self) -> String {
        assert_eq!(
            self.code,
            Some(0),
            "expected a count; stderr: {}",
            self.stderr
        );
        assert_eq!(self.stderr, "", "a count writes nothing to stderr");
        self.stdout
    }

    fn json(self) -> Value {
        let stdout = self.counted();
        assert_eq!(
            stdout.lines().count(),
            1,
            "--json prints one line: {stdout}"
        );
        serde_json::from_str(&stdout).expect("--json prints one JSON object")
    }

    /// The message of a run refused as bad input: exit 2, nothing on stdout.
    fn refused(self) -> String {
        assert_eq!(
            self.code,
            Some(2),
            "expected bad input; stdout: {}",
            self.stdout
        );
        assert_eq!(self.stdout, "", "nothing is printed to stdout on error");
        self.stderr
    }
}

fn yishi(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_yishi"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the yishi binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A folder of input files as an officer keeps them; commands run inside it, so messages name
/// the files as typed.
struct Folder(TempDir);

impl Folder {
    /// A folder holding `files`, written in order (a later file of the same name wins).
    fn with(files: &[(&str, &str)]) -> Self {
        let dir = TempDir::new().expect("a temporary folder");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write an input file");
        }
        Folder(dir)
    }

    /// The compound's roll and the road repair ballots, plus `files` (which may replace them).
    fn road_repair(files: &[(&str, &str)]) -> Self {
        let mut all = vec![("roll.csv", ROLL), ("ballots.csv", ROAD_REPAIR)];
        all.extend_from_slice(files);
        Self::with(&all)
    }

    /// `yishi tally --roll roll.csv --ballots ballots.csv ARGS…`
    fn tally(&self, args: &[&str]) -> Run {
        let mut all = vec!["tally", "--roll", "roll.csv", "--ballots", "ballots.csv"];
        all.extend_from_slice(args);
        yishi(self.0.path(), &all)
    }

    /// Asserts the run is refused with exactly `message` (after the `yishi tally: ` prefix).
    fn refuses(&self, args: &[&str], message: &str) {
        let stderr = self.tally(args).refused();
        assert_eq!(stderr, format!("yishi tally: {message}\n"), "{args:?}");
    }
}

/// Asserts that `actual` has at least the fields of `expected`, with equal values.
fn assert_fields(actual: &Value, expected: &Value) {
    let expected = expected.as_object().expect("an object of expected fields");
    for (key, value) in expected {
        assert_eq!(&actual[key], value, "field `{key}` of {actual}");
    }
}

#[test]
fn the_plain_report_states_every_figure_with_its_base() {
    let folder = Folder::road_repair(&[]);

    let report = folder.tally(&ROAD_RULE).counted();

    let expected = "\
Outcome: REJECTED
Electorate: 8 households, 917.07 m²
Took part: 7 of all 8 households (87.5%); 720.47 m² of all 917.07 m² (78.6%)
Yes: 5 of the 7 households that took part (71.4%); 583.42 m² of the 720.47 m² that took part (81.0%)
No: 1 of the 7 households that took part (14.3%); 64.20 m² of the 720.47 m² that took part (8.9%)
Abstained: 1 of the 7 households that took part (14.3%); 72.85 m² of the 720.47 m² that took part (10.1%)
Conditions:
  ✓ quorum by area, at least 2/3 of the whole roll: 720.47 m² of all 917.07 m² (78.6%) took part
  ✓ quorum by headcount, at least 2/3 of the whole roll: 7 of all 8 households (87.5%) took part
  ✓ approval by area, at least 3/4 of those who took part: 583.42 m² of the 720.47 m² that took part (81.0%) said yes
  ✗ approval by headcount, at least 3/4 of those who took part: 5 of the 7 households that took part (71.4%) said yes — 1 more yes needed
  ✓ approval by headcount, more than 1/2 of the whole roll: 5 of all 8 households (62.5%) said yes
";
    assert!(
        report.starts_with(expected),
        "report was:\n{report}\nexpected it to start with:\n{expected}"
    );
    // The developer has not voted: yes would pass it (6 of 8), no would not.
    assert!(report.ends_with("the result is open: the remaining voters can still decide it.\n"));
}

#[test]
fn the_plain_report_of_a_passed_vote_says_so() {
    let ballots = format!("{ROAD_REPAIR}developer,yes\n");
    let folder = Folder::road_repair(&[("ballots.csv", &ballots)]);

    let report = folder.tally(&ROAD_RULE).counted();

    assert!(report.starts_with("Outcome: PASSED\n"), "{report}");
    assert!(
        report.contains(
            "✓ approval by headcount, at least 3/4 of those who took part: \
             6 of the 8 households that took part (75.0%) said yes\n"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "Took part: 8 of all 8 households (100.0%); 917.07 m² of all 917.07 m² (100.0%)\n"
        ),
        "{report}"
    );
    assert!(!report.contains("yet to vote"), "everyone voted: {report}");
}

#[test]
fn json_reports_every_field_with_exact_numbers() {
    let folder = Folder::road_repair(&[]);

    let mut args = ROAD_RULE.to_vec();
    args.push("--json");
    let report = folder.tally(&args).json();

    assert_eq!(report["outcome"], "rejected");
    assert_eq!(report["level"], Value::Null);
    assert_eq!(report["certainty"], "open");
    assert_eq!(
        report["electorate"],
        json!({"headcount": 8, "weights": {"area": "917.07"}})
    );
    assert_eq!(
        report["tally"],
        json!({
            "yes": {"headcount": 5, "weights": {"area": "583.42"}},
            "no": {"headcount": 1, "weights": {"area": "64.20"}},
            "abstain": {"headcount": 1, "weights": {"area": "72.85"}},
            "participants": {"headcount": 7, "weights": {"area": "720.47"}},
        })
    );
    let conditions = report["conditions"].as_array().expect("a list");
    let expected = [
        json!({"kind": "quorum", "measure": "area", "of": "roll", "comparison": "at_least",
               "fraction": "2/3", "numerator": "720.47", "base": "917.07", "holds": true,
               "needed": "0.00"}),
        json!({"kind": "quorum", "measure": "headcount", "of": "roll", "comparison": "at_least",
               "fraction": "2/3", "numerator": 7, "base": 8, "holds": true, "needed": 0}),
        json!({"kind": "approval", "measure": "area", "of": "participants",
               "comparison": "at_least", "fraction": "3/4", "numerator": "583.42",
               "base": "720.47", "holds": true, "needed": "0.00"}),
        // (5 + 1) × 4 ≥ (7 + 1) × 3: one more yes, which also grows the base.
        json!({"kind": "approval", "measure": "headcount", "of": "participants",
               "comparison": "at_least", "fraction": "3/4", "numerator": 5, "base": 7,
               "holds": false, "needed": 1}),
        json!({"kind": "approval", "measure": "headcount", "of": "roll",
               "comparison": "more_than", "fraction": "1/2", "numerator": 5, "base": 8,
               "holds": true, "needed": 0}),
    ];
    assert_eq!(conditions.len(), expected.len(), "{conditions:?}");
    for (actual, expected) in conditions.iter().zip(&expected) {
        assert_fields(actual, expected);
    }
}

#[test]
fn a_rule_file_with_levels_reports_the_level_that_passed() {
    // WEG § 21 style: everyone pays only with a broad majority, else only the yes voters pay.
    let rule = r#"{"levels": [
        {"label": "all-owners-pay", "conditions": [
            {"kind": "approval", "measure": "headcount", "of": "cast", "more_than": "2/3"},
            {"kind": "approval", "measure": "area", "of": "roll", "more_than": "2/3"}]},
        {"label": "yes-voters-pay", "conditions": [
            {"kind": "approval", "measure": "headcount", "of": "cast", "more_than": "1/2"}]}
    ]}"#;
    let folder = Folder::road_repair(&[("rule.json", rule)]);

    let report = folder.tally(&["--rule", "rule.json"]).counted();
    let json = folder.tally(&["--rule", "rule.json", "--json"]).json();

    assert!(
        report.starts_with("Outcome: PASSED at level `yes-voters-pay`\n"),
        "{report}"
    );
    assert!(
        report.contains(
            " Level `all-owners-pay`:\n  \
             ✓ approval by headcount, more than 2/3 of those who voted yes or no: \
             5 of the 6 households that voted yes or no (83.3%) said yes\n  \
             ✗ approval by area, more than 2/3 of the whole roll: \
             583.42 m² of all 917.07 m² (63.6%) said yes — 27.97 m² more yes needed\n \
             Level `yes-voters-pay`:\n"
        ),
        "{report}"
    );
    assert_eq!(json["outcome"], "passed");
    assert_eq!(json["level"], "yes-voters-pay");
    let conditions = json["conditions"].as_array().expect("a list");
    assert_eq!(conditions.len(), 3);
    // ⌊917.07 × 2/3⌋ + 0.01 = 611.39 m² of yes needed; 583.42 m² said yes.
    assert_fields(
        &conditions[1],
        &json!({"level": "all-owners-pay", "measure": "area", "of": "roll",
                "comparison": "more_than", "fraction": "2/3", "numerator": "583.42",
                "base": "917.07", "holds": false, "needed": "27.97"}),
    );
    assert_fields(
        &conditions[2],
        &json!({"level": "yes-voters-pay", "numerator": 5, "base": 6, "holds": true}),
    );
}

#[test]
fn a_rule_file_counts_like_the_same_rule_given_on_the_command_line() {
    let preset_form = r#"{"preset": "cn-278-major",
                          "also": ["approval headcount of roll more_than 1/2"]}"#;
    let folder = Folder::road_repair(&[("rule.json", preset_form)]);

    let from_file = folder.tally(&["--rule", "rule.json", "--json"]).json();
    let mut args = ROAD_RULE.to_vec();
    args.push("--json");
    let from_flags = folder.tally(&args).json();

    assert_eq!(from_file, from_flags);
}

#[test]
fn also_may_repeat_and_its_conditions_follow_the_rule_in_order() {
    let folder = Folder::road_repair(&[]);
    let args = [
        "--rule",
        "cn-278",
        "--also",
        "approval headcount of roll more_than 1/2",
        "--also",
        "quorum area at_least 4/5",
    ];

    let report = folder.tally(&args).counted();
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let json = folder.tally(&json_args).json();

    // 720.47 m² took part; 4/5 of 917.07 m² is 733.656, so 733.66 m² must: 13.19 m² more.
    assert!(report.starts_with("Outcome: NO QUORUM\n"), "{report}");
    assert!(
        report.contains(
            "  ✗ quorum by area, at least 4/5 of the whole roll: \
             720.47 m² of all 917.07 m² (78.6%) took part — 13.19 m² more must take part\n"
        ),
        "{report}"
    );
    assert_eq!(json["outcome"], "no_quorum");
    let texts: Vec<&str> = json["conditions"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["text"].as_str().expect("a string"))
        .collect();
    assert_eq!(
        texts,
        [
            "quorum area of roll at_least 2/3",
            "quorum headcount of roll at_least 2/3",
            "approval area of participants more_than 1/2",
            "approval headcount of participants more_than 1/2",
            "approval headcount of roll more_than 1/2",
            "quorum area of roll at_least 4/5",
        ]
    );
    assert_fields(
        &json["conditions"][5],
        &json!({"numerator": "720.47", "base": "917.07", "holds": false, "needed": "13.19"}),
    );
}

#[test]
fn scope_counts_only_the_voters_carrying_a_tag() {
    // Building 2 decides its own lift: the base is its 5 voters and 541.95 m².
    let ballots = "voter,choice\nchen,yes\nsun,no\nzhou,abstain\nwu,yes\n";
    let folder = Folder::road_repair(&[("ballots.csv", ballots)]);

    let report = folder
        .tally(&["--rule", "cn-278", "--scope", "b2"])
        .counted();
    let json = folder
        .tally(&["--rule", "cn-278", "--scope", "b2", "--json"])
        .json();
    let both = folder
        .tally(&[
            "--rule", "cn-278", "--scope", "b1", "--scope", "b2", "--json",
        ])
        .json();

    assert!(report.starts_with("Outcome: NO QUORUM\n"), "{report}");
    assert!(
        report.contains(
            "Took part: 4 of all 5 households (80.0%); 345.35 m² of all 541.95 m² (63.7%)\n"
        ),
        "{report}"
    );
    assert_eq!(
        json["electorate"],
        json!({"headcount": 5, "weights": {"area": "541.95"}})
    );
    // ⌈541.95 × 2/3⌉ = 361.30 m² must take part; 345.35 m² did.
    assert_fields(
        &json["conditions"][0],
        &json!({"numerator": "345.35", "base": "541.95", "holds": false, "needed": "15.95"}),
    );
    assert_eq!(
        both["electorate"],
        json!({"headcount": 8, "weights": {"area": "917.07"}})
    );
}

#[test]
fn a_ballot_from_outside_the_scope_is_refused_by_name() {
    let folder = Folder::road_repair(&[]);

    folder.refuses(
        &["--rule", "cn-278", "--scope", "b2"],
        "ballots.csv: line 2: voter `wang` is on the roll but outside the part being counted \
         (--scope b2)",
    );
    folder.refuses(
        &["--rule", "cn-278", "--scope", "b9"],
        "no voter on the roll carries any of the tags b9",
    );
}

/// The examples folder is what a new officer copies: it must keep counting, and its README must
/// keep showing what the commands really print.
mod paper_vote_example {
    use super::*;

    fn folder() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/paper-vote")
    }

    /// Runs `yishi` inside the example folder, as its README does.
    fn example(args: &[&str]) -> Run {
        yishi(&folder(), args)
    }

    fn readme() -> String {
        std::fs::read_to_string(folder().join("README.md")).expect("the example has a README")
    }

    const ROAD_REPAIR: [&str; 9] = [
        "tally",
        "--roll",
        "roll.csv",
        "--ballots",
        "ballots.csv",
        "--rule",
        "cn-278-major",
        "--also",
        "approval headcount of roll more_than 1/2",
    ];

    const COMMITTEE: [&str; 14] = [
        "tally",
        "--election",
        "--roll",
        "roll.csv",
        "--ballots",
        "election-ballots.csv",
        "--candidates",
        "candidates.csv",
        "--seats",
        "3",
        "--alternates",
        "2",
        "--rule",
        "cn-278",
    ];

    #[test]
    fn the_road_repair_passes_and_the_readme_shows_its_report() {
        let report = example(&ROAD_REPAIR).counted();

        assert!(report.starts_with("Outcome: PASSED\n"), "{report}");
        assert!(
            report.contains("Electorate: 20 households, 2,161.19 m²\n"),
            "{report}"
        );
        assert!(
            readme().contains(&report),
            "examples/paper-vote/README.md no longer shows what the road repair command \
             prints; paste this:\n{report}"
        );
    }

    #[test]
    fn the_rule_file_is_the_road_repair_rule() {
        let mut flags = ROAD_REPAIR.to_vec();
        flags.push("--json");
        let mut file = ROAD_REPAIR[..5].to_vec();
        file.extend(["--rule", "rule.json", "--json"]);

        let from_flags = example(&flags).json();
        let from_file = example(&file).json();

        assert_eq!(from_file, from_flags);
        assert_eq!(from_file["outcome"], "passed");
        assert_eq!(from_file["tally"]["participants"]["headcount"], 17);
    }

    #[test]
    fn the_committee_election_fills_its_seats_and_the_readme_shows_it() {
        let report = example(&COMMITTEE).counted();
        let mut json_args = COMMITTEE.to_vec();
        json_args.push("--json");
        let json = example(&json_args).json();

        assert_eq!(json["elected"], json!(["c1", "c2", "c3"]));
        assert_eq!(json["alternates_in_order"], json!(["c4"]));
        assert_eq!(json["invalid"]["headcount"], 1);
        assert!(
            readme().contains(&report),
            "examples/paper-vote/README.md no longer shows what the election command prints; \
             paste this:\n{report}"
        );
    }
}

/// Six ballots of two marks for two seats and one alternate, and one ballot marking three.
const COMMITTEE_CANDIDATES: &str = "id,name\nc1,Li Mei\nc2,Chen Hua\nc3,Zhou Ping\nc4,Sun Li\n";
const COMMITTEE_BALLOTS: &str = "\
voter,approve
wang,c1;c2
li,c1;c3
zhao,c2;c3
chen,c1;c2
sun,c1;c2;c4
zhou,c2;c3
wu,c1;c3
";

/// `yishi tally --election` for two seats and one alternate under `simple-majority`, plus
/// `extra`.
fn run_committee(folder: &Folder, extra: &[&str]) -> Run {
    let mut args = vec![
        "tally",
        "--election",
        "--roll",
        "roll.csv",
        "--ballots",
        "election.csv",
        "--candidates",
        "candidates.csv",
        "--seats",
        "2",
        "--alternates",
        "1",
        "--rule",
        "simple-majority",
    ];
    args.extend_from_slice(extra);
    yishi(folder.0.path(), &args)
}

#[test]
fn an_election_ranks_by_approvals_then_area_and_reports_an_over_voted_ballot() {
    let folder = Folder::with(&[
        ("roll.csv", ROLL),
        ("candidates.csv", COMMITTEE_CANDIDATES),
        ("election.csv", COMMITTEE_BALLOTS),
    ]);

    let report = run_committee(&folder, &[]).counted();
    let json = run_committee(&folder, &["--json"]).json();

    // c1, c2 and c3 each have 4 approvals of 6 valid ballots; the approving area ranks them:
    // c2 471.27 m², c1 462.97 m², c3 378.30 m².
    let expected = "\
Election of 2 seats and 1 alternates
Took part: 7 of all 8 households (87.5%)
Invalid ballots (counted as taking part only): 1
  1. Chen Hua (c2): 4 of the 7 households that took part (57.1%); ELECTED
  2. Li Mei (c1): 4 of the 7 households that took part (57.1%); ELECTED
  3. Zhou Ping (c3): 4 of the 7 households that took part (57.1%); ALTERNATE no. 1
  -. Sun Li (c4): 0 of the 7 households that took part (0.0%); not qualified (the rule does not hold)
";
    assert!(report.starts_with(expected), "{report}");
    assert!(
        report.ends_with(
            "Invalid ballot: line 6: voter `sun` marked 3 candidates for 2 seats; \
             the ballot is invalid and counts as taking part only\n"
        ),
        "{report}"
    );
    assert_eq!(json["elected"], json!(["c2", "c1"]));
    assert_eq!(json["alternates_in_order"], json!(["c3"]));
    assert_eq!(
        json["invalid"],
        json!({"headcount": 1, "weights": {"area": "64.20"}})
    );
    assert_eq!(
        json["participants"],
        json!({"headcount": 7, "weights": {"area": "720.47"}})
    );
    assert_eq!(
        json["invalid_ballots"],
        json!(["line 6: voter `sun` marked 3 candidates for 2 seats; \
             the ballot is invalid and counts as taking part only"])
    );
    assert_fields(
        &json["candidates"][0],
        &json!({"id": "c2", "rank": 1, "standing": "elected", "qualifies": true,
                "approvals": {"headcount": 4, "weights": {"area": "471.27"}}}),
    );
    assert_fields(
        &json["candidates"][2],
        &json!({"id": "c3", "rank": 3, "standing": "alternate", "alternate_order": 1}),
    );
    assert_fields(
        &json["candidates"][3],
        &json!({"id": "c4", "rank": null, "standing": "not_qualified", "qualifies": false}),
    );
}

#[test]
fn an_election_tie_waits_for_a_recorded_tie_break() {
    // Row houses of equal area: approvals and area cannot separate x, y and z.
    let roll = "voter,unit,area\na,1,86.40\nb,2,86.40\nc,3,86.40\nd,4,86.40\ne,5,86.40\n";
    let candidates = "id,name\nx,Xu Lan\ny,Yu Bo\nz,Zeng Yi\n";
    let ballots = "voter,approve\na,x;y\nb,y;z\nc,x;z\nd,x;y;z\n";
    let folder = Folder::with(&[
        ("roll.csv", roll),
        ("candidates.csv", candidates),
        ("election.csv", ballots),
    ]);

    let tied = run_committee(&folder, &[]).counted();
    let partly_broken = run_committee(&folder, &["--json", "--tie-break", "z"]).json();
    let broken = run_committee(&folder, &["--tie-break", "z; x; y"]).counted();
    let broken_json = run_committee(&folder, &["--json", "--tie-break", "z;x;y"]).json();

    assert!(
        tied.contains("  1. Xu Lan (x): 2 of the 4 households that took part (50.0%); TIED — awaits a recorded tie-break\n"),
        "{tied}"
    );
    assert!(
        tied.contains(
            "Unbroken tie for positions 1–3: Xu Lan (x), Yu Bo (y), Zeng Yi (z). \
             Record the committee's decision or a drawn lot.\n"
        ),
        "{tied}"
    );
    // A tie-break that names only some of the tied candidates settles nothing.
    assert_eq!(partly_broken["elected"], json!([]));
    assert_eq!(
        partly_broken["ties"],
        json!([{"candidates": ["x", "y", "z"], "first_position": 1, "last_position": 3}])
    );
    assert!(
        broken.contains(
            "  1. Zeng Yi (z): 2 of the 4 households that took part (50.0%); ELECTED\n  \
             2. Xu Lan (x): 2 of the 4 households that took part (50.0%); ELECTED\n  \
             3. Yu Bo (y): 2 of the 4 households that took part (50.0%); ALTERNATE no. 1\n"
        ),
        "{broken}"
    );
    assert!(!broken.contains("Unbroken tie"), "{broken}");
    assert_eq!(broken_json["elected"], json!(["z", "x"]));
    assert_eq!(broken_json["alternates_in_order"], json!(["y"]));
    assert_eq!(broken_json["ties"], json!([]));
}

mod bad_input {
    //! Every refusal: exit code 2, nothing on stdout, and one line on stderr naming the file,
    //! line and column where the officer should look.

    use super::*;

    fn roll_refused(roll: &str, message: &str) {
        Folder::road_repair(&[("roll.csv", roll)]).refuses(&ROAD_RULE, message);
    }

    fn ballots_refused(ballots: &str, message: &str) {
        Folder::road_repair(&[("ballots.csv", ballots)]).refuses(&ROAD_RULE, message);
    }

    #[test]
    fn a_roll_without_a_unit_column() {
        roll_refused(
            "voter,name,area\nwang,Wang Jun,89.57\n",
            "roll.csv: the roll has no `unit` column",
        );
    }

    #[test]
    fn a_roll_row_without_a_voter_key() {
        roll_refused(
            "voter,unit,area\nwang,1-101,89.57\n,1-102,90.10\n",
            "roll.csv: line 3, column `voter`: empty; every row needs a value here",
        );
    }

    #[test]
    fn a_negative_area() {
        roll_refused(
            "voter,unit,area\nwang,1-101,-89.57\n",
            "roll.csv: line 2, column `area`: \"-89.57\" is negative; weights cannot be negative",
        );
    }

    #[test]
    fn an_area_that_is_not_a_number() {
        roll_refused(
            "voter,unit,area\nwang,1-101,89.57 m2\n",
            "roll.csv: line 2, column `area`: \"89.57 m2\" is not a number \
             (write digits with at most one decimal point, e.g. 89.57)",
        );
    }

    #[test]
    fn an_area_with_too_many_decimals() {
        roll_refused(
            "voter,unit,area\nwang,1-101,89.5712345\n",
            "roll.csv: line 2, column `area`: \"89.5712345\" has more than 6 decimal places",
        );
    }

    #[test]
    fn a_unit_listed_twice() {
        roll_refused(
            "voter,unit,area\nwang,1-101,89.57\nli,1-201,75.00\nzhao,1-101,89.57\n",
            "roll.csv: line 4, column `unit`: unit `1-101` already appears on line 2",
        );
    }

    #[test]
    fn an_empty_roll() {
        roll_refused("voter,unit,area\n", "roll.csv: the roll has no voters");
    }

    #[test]
    fn a_ballot_from_a_voter_not_on_the_roll() {
        ballots_refused(
            "voter,choice\nwang,yes\nliu,no\n",
            "ballots.csv: line 3: voter `liu` is not on the roll",
        );
    }

    #[test]
    fn a_second_ballot_from_one_voter() {
        ballots_refused(
            "voter,choice\nwang,yes\nli,no\nwang,no\n",
            "ballots.csv: line 4: voter `wang` already voted on line 2",
        );
    }

    #[test]
    fn an_unknown_choice() {
        ballots_refused(
            "voter,choice\nwang,maybe\n",
            "ballots.csv: line 2: unknown choice `maybe` (write yes, no or abstain)",
        );
    }

    #[test]
    fn line_numbers_count_blank_lines_and_windows_line_endings() {
        // As a spreadsheet or a hand-edited file leaves them: CRLF, blank lines, a quoted name
        // that spans two lines.
        ballots_refused(
            "voter,choice\r\nwang,yes\r\n\r\nli,no\r\n\r\n\r\nzhao,maybe\r\n",
            "ballots.csv: line 7: unknown choice `maybe` (write yes, no or abstain)",
        );
        roll_refused(
            "voter,unit,name,area\r\nwang,1-101,\"Wang\r\nJun\",89.57\r\n\r\nli,1-201,Li,-75\r\n",
            "roll.csv: line 5, column `area`: \"-75\" is negative; weights cannot be negative",
        );
        ballots_refused(
            "voter,choice\nwang,yes\n\nli,no,late\n",
            "ballots.csv: line 4: the row has 3 fields where the header has 2",
        );
    }

    #[test]
    fn ballots_without_a_choice_column() {
        ballots_refused(
            "voter,vote\nwang,yes\n",
            "ballots.csv: the ballots have no `choice` column",
        );
    }

    #[test]
    fn an_unknown_preset() {
        Folder::road_repair(&[]).refuses(
            &["--rule", "cn-278-mayor"],
            "unknown preset `cn-278-mayor`; presets are: simple-majority, absolute-majority, \
             two-thirds, three-quarters, unanimous, cn-278, cn-278-major, de-weg-25, de-weg-21, \
             us-quorum-majority",
        );
    }

    #[test]
    fn an_also_condition_that_cannot_be_read() {
        Folder::road_repair(&[]).refuses(
            &[
                "--rule",
                "cn-278-major",
                "--also",
                "approval headcount more_than 1/2",
            ],
            "cannot read condition \"approval headcount more_than 1/2\": \
             an approval must say `of roll`, `of participants` or `of cast`",
        );
        Folder::road_repair(&[]).refuses(
            &[
                "--rule",
                "cn-278-major",
                "--also",
                "approval headcount of roll more_than 3/2",
            ],
            "cannot read condition \"approval headcount of roll more_than 3/2\": \
             \"3/2\" is not a fraction p/q with 0 ≤ p ≤ q and 1 ≤ q ≤ 1000000",
        );
    }

    #[test]
    fn a_rule_measuring_a_weight_the_roll_lacks() {
        Folder::road_repair(&[]).refuses(
            &["--rule", "de-weg-21"],
            "the rule measures `share`, but the roll has no such weight column (it has: area)",
        );
        let rule = r#"{"levels":[{"label":"passed","conditions":[
            {"kind":"quorum","measure":"share","at_least":"1/5"}]}]}"#;
        Folder::road_repair(&[("rule.json", rule)]).refuses(
            &["--rule", "rule.json"],
            "the rule measures `share`, but the roll has no such weight column (it has: area)",
        );
    }

    #[test]
    fn a_rule_file_that_is_not_a_rule() {
        Folder::road_repair(&[("rule.json", r#"{"levels": []}"#)]).refuses(
            &["--rule", "rule.json"],
            "rule.json: the rule has no levels",
        );
        let both = r#"{"levels":[{"label":"passed","conditions":[
            {"kind":"approval","measure":"headcount","of":"cast",
             "at_least":"1/2","more_than":"1/2"}]}]}"#;
        Folder::road_repair(&[("rule.json", both)]).refuses(
            &["--rule", "rule.json"],
            "rule.json: rule JSON: each condition needs exactly one of `at_least` and `more_than`",
        );
    }

    #[test]
    fn a_missing_file() {
        let folder = Folder::road_repair(&[]);
        for (flag, name) in [("--roll", "rol.csv"), ("--ballots", "ballot.csv")] {
            let mut args = vec!["tally", "--roll", "roll.csv", "--ballots", "ballots.csv"];
            let at = args.iter().position(|a| *a == flag).expect("a flag") + 1;
            args[at] = name;
            args.extend_from_slice(&ROAD_RULE);

            let stderr = yishi(folder.0.path(), &args).refused();

            assert!(
                stderr.starts_with(&format!("yishi tally: cannot read {name}: ")),
                "{stderr}"
            );
            assert!(stderr.ends_with("(os error 2)\n"), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
    }

    #[test]
    fn a_missing_argument_is_a_usage_error() {
        let folder = Folder::road_repair(&[]);

        let no_rule = folder.tally(&[]).refused();
        let no_candidates = folder
            .tally(&["--rule", "cn-278", "--election", "--seats", "3"])
            .refused();

        assert!(no_rule.contains("--rule <RULE>"), "{no_rule}");
        assert!(
            no_candidates.contains("--candidates <CANDIDATES>"),
            "{no_candidates}"
        );
    }

    fn election_refused(files: &[(&str, &str)], extra: &[&str], message: &str) {
        let mut all = vec![
            ("roll.csv", ROLL),
            ("candidates.csv", COMMITTEE_CANDIDATES),
            ("election.csv", COMMITTEE_BALLOTS),
        ];
        all.extend_from_slice(files);
        let folder = Folder::with(&all);

        let stderr = run_committee(&folder, extra).refused();

        assert_eq!(stderr, format!("yishi tally: {message}\n"));
    }

    #[test]
    fn an_election_ballot_for_an_unknown_candidate() {
        election_refused(
            &[("election.csv", "voter,approve\nwang,c1;c2\nli,c1;c9\n")],
            &[],
            "election.csv: line 3: unknown candidate `c9`",
        );
    }

    #[test]
    fn an_election_ballot_approving_one_candidate_twice() {
        election_refused(
            &[("election.csv", "voter,approve\nwang,c1;c1\n")],
            &[],
            "election.csv: line 2: candidate `c1` is approved twice on one ballot",
        );
    }

    #[test]
    fn an_election_with_bad_candidates_or_tie_break() {
        election_refused(
            &[("candidates.csv", "id,name\nc1,Li Mei\nc1,Chen Hua\n")],
            &[],
            "candidates.csv: candidate `c1` is listed twice",
        );
        election_refused(
            &[("candidates.csv", "name\nLi Mei\n")],
            &[],
            "candidates.csv: the candidates have no `id` column",
        );
        election_refused(
            &[],
            &["--tie-break", "c2;c7"],
            "--tie-break: unknown candidate `c7`",
        );
        election_refused(
            &[("election.csv", "voter,choice\nwang,yes\n")],
            &[],
            "election.csv: the ballots have no `approve` column",
        );
    }
}
