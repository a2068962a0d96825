//! Threshold rules (DESIGN §3): levels of conditions, the ten presets, and the two spellings
//! (text and JSON) they are written in.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::quantity::Fraction;
use super::roll::WeightColumn;

/// Most levels in one rule, and most conditions in one level.
pub const MAX_LEVELS: usize = 8;
pub const MAX_CONDITIONS: usize = 16;
/// Longest level label.
pub const MAX_LABEL_CHARS: usize = 64;

/// Whether a condition counts participants (quorum) or yes votes (approval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Quorum,
    Approval,
}

/// What is counted: voters, or the sum of a named roll weight.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Measure {
    Headcount,
    Weight(String),
}

/// The base a numerator is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    /// The whole frozen electorate.
    Roll,
    /// Everyone who took part: yes + no + abstain.
    Participants,
    /// Yes + no; abstentions ignored.
    Cast,
}

/// `at_least p/q` (≥, 以上) or `more_than p/q` (>, 过半数 / 超过).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    AtLeast,
    MoreThan,
}

/// One test a tally must pass.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    pub kind: Kind,
    pub measure: Measure,
    pub of: Base,
    pub comparison: Comparison,
    pub fraction: Fraction,
}

/// Conditions that must all hold, under a label naming what passing at this level means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub label: String,
    pub conditions: Vec<Condition>,
}

/// Levels tried in order; the first whose conditions all hold is the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    levels: Vec<Level>,
}

/// The presets by name, with one plain sentence each.
pub const PRESETS: [(&str, &str); 10] = [
    (
        "simple-majority",
        "More than half of the households that voted yes or no approve.",
    ),
    (
        "absolute-majority",
        "More than half of all households on the roll approve.",
    ),
    (
        "two-thirds",
        "At least two thirds of the households that voted yes or no approve.",
    ),
    (
        "three-quarters",
        "At least three quarters of the households that voted yes or no approve.",
    ),
    ("unanimous", "Every household on the roll approves."),
    (
        "cn-278",
        "Civil Code Art. 278, ordinary matters: at least 2/3 of all area and of all owners take part; more than half of the participating area and owners approve.",
    ),
    (
        "cn-278-major",
        "Civil Code Art. 278 items 6-8 (maintenance funds, rebuilding, change of use): at least 2/3 of all area and of all owners take part; at least 3/4 of the participating area and owners approve.",
    ),
    (
        "de-weg-25",
        "WEG § 25: more than half of the owners who voted yes or no approve.",
    ),
    (
        "de-weg-21",
        "WEG § 21(2): all owners pay when more than 2/3 of the votes cast and more than half of all shares approve; otherwise only the yes voters pay when more than half of the votes cast approve.",
    ),
    (
        "us-quorum-majority",
        "UCIOA § 3-109 pattern: owners of at least 1/5 of all shares take part; more than half of the shares cast approve.",
    ),
];

/// What is wrong with a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("unknown preset `{0}`; presets are: {presets}", presets = preset_names())]
    UnknownPreset(String),
    #[error("cannot read condition \"{text}\": {reason}")]
    Text { text: String, reason: String },
    #[error("rule JSON: {0}")]
    Json(String),
    #[error("a quorum is always measured against the whole roll; `of {0}` is not allowed")]
    QuorumBase(Base),
    #[error("the rule has no levels")]
    NoLevels,
    #[error("level `{0}` has no conditions")]
    EmptyLevel(String),
    #[error("a rule may have at most {MAX_LEVELS} levels of at most {MAX_CONDITIONS} conditions")]
    TooLarge,
    #[error("level label must be 1 to {MAX_LABEL_CHARS} characters")]
    BadLabel,
    #[error("the rule measures `{0}`, but the roll has no such weight column (it has: {1})")]
    UnknownWeight(String, String),
}

fn preset_names() -> String {
    PRESETS.map(|(n, _)| n).join(", ")
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Quorum => "quorum",
            Kind::Approval => "approval",
        })
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Base::Roll => "roll",
            Base::Participants => "participants",
            Base::Cast => "cast",
        })
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Comparison::AtLeast => "at_least",
            Comparison::MoreThan => "more_than",
        })
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measure::Headcount => f.write_str("headcount"),
            Measure::Weight(name) => f.write_str(name),
        }
    }
}

impl fmt::Display for Condition {
    /// The text spelling: `approval area of participants at_least 3/4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} of {} {} {}",
            self.kind, self.measure, self.of, self.comparison, self.fraction
        )
    }
}

impl Condition {
    fn new(kind: Kind, measure: &str, of: Base, comparison: Comparison, p: u64, q: u64) -> Self {
        Self {
            kind,
            measure: Measure::parse(measure),
            of,
            comparison,
            fraction: Fraction::new(p, q).expect("preset fractions are valid"),
        }
    }

    /// Parses the text spelling: `KIND MEASURE [of BASE] (at_least|more_than) P/Q` (also `at
    /// least`, `more than` in two words). A quorum may omit `of roll`; an approval must name its
    /// base.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let fail = |reason: &str| RuleError::Text {
            text: text.trim().to_owned(),
            reason: reason.to_owned(),
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut words = words.as_slice();
        let kind = match words.first() {
            Some(&"quorum") => Kind::Quorum,
            Some(&"approval") => Kind::Approval,
            _ => return Err(fail("it must start with `quorum` or `approval`")),
        };
        let measure = match words.get(1) {
            Some(m) if valid_measure(m) => Measure::parse(m),
            _ => return Err(fail("the second word must be `headcount` or a weight name")),
        };
        words = &words[2..];
        let of = match words {
            ["of", base, rest @ ..] => {
                words = rest;
                match *base {
                    "roll" => Base::Roll,
                    "participants" => Base::Participants,
                    "cast" => Base::Cast,
                    _ => {
                        return Err(fail(
                            "the base after `of` must be `roll`, `participants` or `cast`",
                        ));
                    }
                }
            }
            _ if kind == Kind::Quorum => Base::Roll,
            _ => {
                return Err(fail(
                    "an approval must say `of roll`, `of participants` or `of cast`",
                ));
            }
        };
        let (comparison, fraction) = match words {
            ["at_least", f] | ["at", "least", f] => (Comparison::AtLeast, *f),
            ["more_than", f] | ["more", "than", f] => (Comparison::MoreThan, *f),
            _ => return Err(fail("it must end with `at_least P/Q` or `more_than P/Q`")),
        };
        let fraction = Fraction::parse(fraction).map_err(|e| fail(&e.to_string()))?;
        let condition = Self {
            kind,
            measure,
            of,
            comparison,
            fraction,
        };
        condition.check_base()?;
        Ok(condition)
    }

    fn check_base(&self) -> Result<(), RuleError> {
        if self.kind == Kind::Quorum && self.of != Base::Roll {
            return Err(RuleError::QuorumBase(self.of));
        }
        Ok(())
    }
}

fn valid_measure(word: &str) -> bool {
    !word.is_empty()
        && word.chars().count() <= 64
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        && !["of", "at_least", "more_than"].contains(&word)
}

impl Measure {
    fn parse(word: &str) -> Self {
        if word == "headcount" {
            Measure::Headcount
        } else {
            Measure::Weight(word.to_owned())
        }
    }
}

impl Rule {
    /// A rule from levels, checked: at least one level, none empty, within limits, quorums on the
    /// roll.
    pub fn new(levels: Vec<Level>) -> Result<Self, RuleError> {
        if levels.is_empty() {
            return Err(RuleError::NoLevels);
        }
        if levels.len() > MAX_LEVELS || levels.iter().any(|l| l.conditions.len() > MAX_CONDITIONS) {
            return Err(RuleError::TooLarge);
        }
        for level in &levels {
            let chars = level.label.chars().count();
            if chars == 0 || chars > MAX_LABEL_CHARS || level.label.trim() != level.label {
                return Err(RuleError::BadLabel);
            }
            if level.conditions.is_empty() {
                return Err(RuleError::EmptyLevel(level.label.clone()));
            }
            for condition in &level.conditions {
                condition.check_base()?;
            }
        }
        Ok(Self { levels })
    }

    /// A preset by name.
    pub fn preset(name: &str) -> Result<Self, RuleError> {
        use Base::{Cast, Participants, Roll};
        use Comparison::{AtLeast, MoreThan};
        use Kind::{Approval, Quorum};
        let c = Condition::new;
        let one = |conditions: Vec<Condition>| {
            vec![Level {
                label: "passed".to_owned(),
                conditions,
            }]
        };
        let cn_278 = |p, q, comparison| {
            one(vec![
                c(Quorum, "area", Roll, AtLeast, 2, 3),
                c(Quorum, "headcount", Roll, AtLeast, 2, 3),
                c(Approval, "area", Participants, comparison, p, q),
                c(Approval, "headcount", Participants, comparison, p, q),
            ])
        };
        let levels = match name {
            "simple-majority" | "de-weg-25" => {
                one(vec![c(Approval, "headcount", Cast, MoreThan, 1, 2)])
            }
            "absolute-majority" => one(vec![c(Approval, "headcount", Roll, MoreThan, 1, 2)]),
            "two-thirds" => one(vec![c(Approval, "headcount", Cast, AtLeast, 2, 3)]),
            "three-quarters" => one(vec![c(Approval, "headcount", Cast, AtLeast, 3, 4)]),
            "unanimous" => one(vec![c(Approval, "headcount", Roll, AtLeast, 1, 1)]),
            "cn-278" => cn_278(1, 2, MoreThan),
            "cn-278-major" => cn_278(3, 4, AtLeast),
            "de-weg-21" => vec![
                Level {
                    label: "all-owners-pay".to_owned(),
                    conditions: vec![
                        c(Approval, "headcount", Cast, MoreThan, 2, 3),
                        c(Approval, "share", Roll, MoreThan, 1, 2),
                    ],
                },
                Level {
                    label: "yes-voters-pay".to_owned(),
                    conditions: vec![c(Approval, "headcount", Cast, MoreThan, 1, 2)],
                },
            ],
            "us-quorum-majority" => one(vec![
                c(Quorum, "share", Roll, AtLeast, 1, 5),
                c(Approval, "share", Cast, MoreThan, 1, 2),
            ]),
            _ => return Err(RuleError::UnknownPreset(name.to_owned())),
        };
        Self::new(levels)
    }

    /// A preset (or JSON rule) with extra conditions that must also hold, added to every level.
    pub fn with_also(mut self, also: Vec<Condition>) -> Result<Self, RuleError> {
        for level in &mut self.levels {
            level.conditions.extend(also.iter().cloned());
        }
        Self::new(self.levels)
    }

    /// Parses the JSON spelling: `{"levels":[{"label":…,"conditions":[{…}]}]}`, or
    /// `{"preset":"cn-278","also":["approval headcount of roll more_than 1/2"]}`.
    pub fn from_json(text: &str) -> Result<Self, RuleError> {
        let spec: RuleSpec =
            serde_json::from_str(text).map_err(|e| RuleError::Json(e.to_string()))?;
        spec.try_into()
    }

    /// Parses either spelling of a whole rule: a preset name, or a JSON object.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            Self::from_json(trimmed)
        } else {
            Self::preset(trimmed)
        }
    }

    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// Every condition in level order.
    pub fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.levels.iter().flat_map(|l| l.conditions.iter())
    }

    /// Refuses a rule that measures a weight the roll lacks (never a silent zero).
    pub fn check_against(&self, columns: &[WeightColumn]) -> Result<(), RuleError> {
        for condition in self.conditions() {
            if let Measure::Weight(name) = &condition.measure
                && !columns.iter().any(|c| &c.name == name)
            {
                let have: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                let have = if have.is_empty() {
                    "none".to_owned()
                } else {
                    have.join(", ")
                };
                return Err(RuleError::UnknownWeight(name.clone(), have));
            }
        }
        Ok(())
    }

    /// The JSON spelling of this rule (always the full `levels` form).
    pub fn to_spec(&self) -> RuleSpec {
        RuleSpec {
            preset: None,
            also: Vec::new(),
            levels: self
                .levels
                .iter()
                .map(|l| LevelSpec {
                    label: l.label.clone(),
                    conditions: l.conditions.iter().map(ConditionSpec::from).collect(),
                })
                .collect(),
        }
    }
}

/// The JSON spelling of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Extra conditions in the text spelling, added to every level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<LevelSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelSpec {
    pub label: String,
    pub conditions: Vec<ConditionSpec>,
}

/// One condition in JSON: exactly one of `at_least` / `more_than`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    pub kind: Kind,
    pub measure: String,
    #[serde(default = "roll_base")]
    pub of: Base,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_than: Option<String>,
}

fn roll_base() -> Base {
    Base::Roll
}

impl From<&Condition> for ConditionSpec {
    fn from(c: &Condition) -> Self {
        let fraction = Some(c.fraction.to_string());
        let (at_least, more_than) = match c.comparison {
            Comparison::AtLeast => (fraction, None),
            Comparison::MoreThan => (None, fraction),
        };
        Self {
            kind: c.kind,
            measure: c.measure.to_string(),
            of: c.of,
            at_least,
            more_than,
        }
    }
}

impl TryFrom<&ConditionSpec> for Condition {
    type Error = RuleError;

    fn try_from(spec: &ConditionSpec) -> Result<Self, RuleError> {
        let json = |m: &str| RuleError::Json(m.to_owned());
        if !valid_measure(&spec.measure) {
            return Err(json("`measure` must be `headcount` or a weight name"));
        }
        let (comparison, fraction) = match (&spec.at_least, &spec.more_than) {
            (Some(f), None) => (Comparison::AtLeast, f),
            (None, Some(f)) => (Comparison::MoreThan, f),
            _ => {
                return Err(json(
                    "each condition needs exactly one of `at_least` and `more_than`",
                ));
            }
        };
        let fraction = Fraction::parse(fraction).map_err(|e| RuleError::Json(e.to_string()))?;
        let condition = Condition {
            kind: spec.kind,
            measure: Measure::parse(&spec.measure),
            of: spec.of,
            comparison,
            fraction,
        };
        condition.check_base()?;
        Ok(condition)
    }
}

impl TryFrom<RuleSpec> for Rule {
    type Error = RuleError;

    fn try_from(spec: RuleSpec) -> Result<Self, RuleError> {
        let also = spec
            .also
            .iter()
            .map(|t| Condition::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let base = match (&spec.preset, spec.levels.is_empty()) {
            (Some(name), true) => Rule::preset(name)?,
            (None, false) => Rule::new(
                spec.levels
                    .iter()
                    .map(|l| {
                        Ok(Level {
                            label: l.label.clone(),
                            conditions: l
                                .conditions
                                .iter()
                                .map(Condition::try_from)
                                .collect::<Result<_, RuleError>>()?,
                        })
                    })
                    .collect::<Result<_, RuleError>>()?,
            )?,
            (Some(_), false) => {
                return Err(RuleError::Json(
                    "give either `preset` or `levels`, not both".into(),
                ));
            }
            (None, true) => return Err(RuleError::NoLevels),
        };
        base.with_also(also)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_spellings_agree() {
        let text = Condition::parse("approval headcount of roll more_than 1/2").unwrap();
        let json = Rule::from_json(
            r#"{"levels":[{"label":"passed","conditions":[{"kind":"approval","measure":"headcount","of":"roll","more_than":"1/2"}]}]}"#,
        )
        .unwrap();
        assert_eq!(json.levels()[0].conditions[0], text);
        assert_eq!(text.to_string(), "approval headcount of roll more_than 1/2");
        let quorum = Condition::parse("quorum area at_least 2/3").unwrap();
        assert_eq!(quorum.of, Base::Roll);
        assert_eq!(quorum.measure, Measure::Weight("area".into()));
    }

    #[test]
    fn every_preset_parses_and_round_trips_through_json() {
        for (name, _) in PRESETS {
            let rule = Rule::preset(name).unwrap();
            let json = serde_json::to_string(&rule.to_spec()).unwrap();
            assert_eq!(Rule::from_json(&json).unwrap(), rule, "{name}");
        }
    }

    #[test]
    fn bad_rules_are_refused_with_reasons() {
        assert!(matches!(
            Condition::parse("quorum area of cast at_least 2/3"),
            Err(RuleError::QuorumBase(Base::Cast))
        ));
        assert!(Condition::parse("approval headcount more_than 1/2").is_err());
        assert!(Condition::parse("approval headcount of roll over 1/2").is_err());
        assert!(Condition::parse("approval headcount of roll more_than 3/2").is_err());
        assert!(Rule::preset("majority").is_err());
        assert!(Rule::from_json(r#"{"levels":[]}"#).is_err());
        assert!(
            Rule::from_json(
                r#"{"levels":[{"label":"x","conditions":[{"kind":"approval","measure":"headcount","of":"cast","more_than":"1/2","at_least":"1/2"}]}]}"#
            )
            .is_err()
        );
        let rule = Rule::preset("cn-278").unwrap();
        let err = rule.check_against(&[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the rule measures `area`, but the roll has no such weight column (it has: none)"
        );
    }

    #[test]
    fn also_conditions_join_every_level() {
        let rule = Rule::preset("de-weg-21")
            .unwrap()
            .with_also(vec![
                Condition::parse("quorum headcount at_least 1/2").unwrap(),
            ])
            .unwrap();
        assert!(rule.levels().iter().all(|l| l.conditions.len() >= 2));
        assert_eq!(rule.conditions().count(), 5);
    }
}
