//! Exact quantities: decimal weights held as integers at a fixed scale, and fractions `p/q`.
//! Nothing in counting or formatting touches floating point.

use std::cmp::Ordering;
use std::fmt;

/// Most decimal places a weight may carry ("89.571234" is the finest).
pub const MAX_SCALE: u8 = 6;
/// Largest integer part of one weight value (a unit's area, share, …).
pub const MAX_WEIGHT_INTEGER: u128 = 1_000_000_000_000;
/// Largest denominator a fraction may have, so that `numerator × q` never leaves u128.
pub const MAX_DENOMINATOR: u64 = 1_000_000;

/// Why a decimal or fraction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("\"{0}\" is not a number (write digits with at most one decimal point, e.g. 89.57)")]
    Malformed(String),
    #[error("\"{0}\" is negative; weights cannot be negative")]
    Negative(String),
    #[error("\"{0}\" has more than {MAX_SCALE} decimal places")]
    TooManyDecimals(String),
    #[error("\"{0}\" is too large (at most {MAX_WEIGHT_INTEGER})")]
    TooLarge(String),
    #[error("\"{0}\" is not a fraction p/q with 0 ≤ p ≤ q and 1 ≤ q ≤ {MAX_DENOMINATOR}")]
    BadFraction(String),
}

/// A non-negative decimal as written: `units / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    pub units: u128,
    pub scale: u8,
}

impl Decimal {
    pub const fn new(units: u128, scale: u8) -> Self {
        Self { units, scale }
    }

    /// Parses a plain non-negative decimal ("1000", "89.57", "0.5"). No signs, no exponents,
    /// no thousands separators.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let t = text.trim();
        if let Some(rest) = t.strip_prefix('-') {
            if !rest.is_empty() && Decimal::parse(rest).is_ok() {
                return Err(QuantityError::Negative(t.to_owned()));
            }
            return Err(QuantityError::Malformed(t.to_owned()));
        }
        let (int_part, frac_part) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !digits_only(int_part) || !digits_only(frac_part) {
            return Err(QuantityError::Malformed(t.to_owned()));
        }
        if t.contains('.') && frac_part.is_empty() {
            return Err(QuantityError::Malformed(t.to_owned()));
        }
        if frac_part.len() > MAX_SCALE as usize {
            return Err(QuantityError::TooManyDecimals(t.to_owned()));
        }
        let int_digits = int_part.trim_start_matches('0');
        if int_digits.len() > 13 {
            return Err(QuantityError::TooLarge(t.to_owned()));
        }
        let integer: u128 = if int_digits.is_empty() {
            0
        } else {
            int_digits
                .parse()
                .map_err(|_| QuantityError::Malformed(t.to_owned()))?
        };
        if integer > MAX_WEIGHT_INTEGER {
            return Err(QuantityError::TooLarge(t.to_owned()));
        }
        let scale = frac_part.len() as u8;
        let fraction: u128 = if frac_part.is_empty() {
            0
        } else {
            frac_part
                .parse()
                .map_err(|_| QuantityError::Malformed(t.to_owned()))?
        };
        Ok(Self {
            units: integer * 10u128.pow(u32::from(scale)) + fraction,
            scale,
        })
    }

    /// The same value at a finer (or equal) scale. `None` when `scale` is coarser than ours
    /// and would drop digits.
    pub fn rescale(self, scale: u8) -> Option<Self> {
        if scale < self.scale {
            let factor = 10u128.pow(u32::from(self.scale - scale));
            return self.units.is_multiple_of(factor).then_some(Self {
                units: self.units / factor,
                scale,
            });
        }
        let factor = 10u128.pow(u32::from(scale - self.scale));
        Some(Self {
            units: self.units.checked_mul(factor)?,
            scale,
        })
    }

    /// Written with thousands separators: `4,012.50`.
    pub fn grouped(self) -> String {
        let plain = self.to_string();
        let (int_part, frac_part) = match plain.split_once('.') {
            Some((i, f)) => (i.to_owned(), Some(f.to_owned())),
            None => (plain, None),
        };
        let mut grouped = String::new();
        for (i, c) in int_part.chars().enumerate() {
            if i > 0 && (int_part.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        match frac_part {
            Some(f) => format!("{grouped}.{f}"),
            None => grouped,
        }
    }
}

impl fmt::Display for Decimal {
    /// Plain form with exactly `scale` decimals: `89.57`, `1000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.units);
        }
        let factor = 10u128.pow(u32::from(self.scale));
        write!(
            f,
            "{}.{:0width$}",
            self.units / factor,
            self.units % factor,
            width = usize::from(self.scale)
        )
    }
}

/// An exact fraction `p/q` with `0 ≤ p ≤ q` and `1 ≤ q ≤ MAX_DENOMINATOR`, as rules write them
/// ("1/2", "2/3", "1/1").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fraction {
    p: u64,
    q: u64,
}

impl Fraction {
    pub fn new(p: u64, q: u64) -> Option<Self> {
        ((1..=MAX_DENOMINATOR).contains(&q) && p <= q).then_some(Self { p, q })
    }

    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let bad = || QuantityError::BadFraction(text.trim().to_owned());
        let (p, q) = text.trim().split_once('/').ok_or_else(bad)?;
        let number = |s: &str| -> Option<u64> {
            let s = s.trim();
            (!s.is_empty() && s.len() <= 7 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let (p, q) = (number(p).ok_or_else(bad)?, number(q).ok_or_else(bad)?);
        Self::new(p, q).ok_or_else(bad)
    }

    pub const fn numerator(self) -> u64 {
        self.p
    }

    pub const fn denominator(self) -> u64 {
        self.q
    }

    /// Compares `part / whole` with this fraction exactly: the ordering of `part × q` against
    /// `whole × p`.
    pub fn compare(self, part: u128, whole: u128) -> Ordering {
        let lhs = part
            .checked_mul(u128::from(self.q))
            .expect("bounded by limits");
        let rhs = whole
            .checked_mul(u128::from(self.p))
            .expect("bounded by limits");
        lhs.cmp(&rhs)
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.p, self.q)
    }
}

/// `part / whole` as a percentage with one decimal, rounded half up ("55.2"). An empty whole
/// gives "0.0".
pub fn percent(part: u128, whole: u128) -> String {
    if whole == 0 {
        return "0.0".to_owned();
    }
    let tenths = (part * 1000 * 2 + whole) / (whole * 2);
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// `n` with thousands separators: `1,000,000`.
pub fn grouped(n: u128) -> String {
    Decimal::new(n, 0).grouped()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly_and_print_back() {
        let d = Decimal::parse("89.57").unwrap();
        assert_eq!(d, Decimal::new(8957, 2));
        assert_eq!(d.to_string(), "89.57");
        assert_eq!(Decimal::parse("0.000001").unwrap(), Decimal::new(1, 6));
        assert_eq!(Decimal::parse("007").unwrap(), Decimal::new(7, 0));
        assert_eq!(Decimal::new(401250, 2).grouped(), "4,012.50");
        assert_eq!(Decimal::new(1234567, 0).grouped(), "1,234,567");
        assert_eq!(Decimal::new(5, 3).to_string(), "0.005");
    }

    #[test]
    fn decimals_refuse_bad_text_with_the_reason() {
        assert!(matches!(
            Decimal::parse("-1"),
            Err(QuantityError::Negative(_))
        ));
        assert!(matches!(
            Decimal::parse("1.2345678"),
            Err(QuantityError::TooManyDecimals(_))
        ));
        for bad in ["", "abc", "1,000", "1e3", "1.", ".5", "1.2.3", "+1", " - "] {
            assert!(
                matches!(Decimal::parse(bad), Err(QuantityError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Decimal::parse("99999999999999999999"),
            Err(QuantityError::TooLarge(_))
        ));
    }

    #[test]
    fn rescaling_never_loses_digits() {
        let d = Decimal::new(8957, 2);
        assert_eq!(d.rescale(4), Some(Decimal::new(895700, 4)));
        assert_eq!(d.rescale(1), None);
        assert_eq!(Decimal::new(8950, 2).rescale(1), Some(Decimal::new(895, 1)));
    }

    #[test]
    fn fractions_compare_by_cross_multiplication() {
        let half = Fraction::parse("1/2").unwrap();
        assert_eq!(half.compare(1, 2), Ordering::Equal);
        assert_eq!(half.compare(53, 105), Ordering::Greater);
        assert_eq!(half.compare(52, 105), Ordering::Less);
        assert!(Fraction::parse("3/2").is_err());
        assert!(Fraction::parse("1/0").is_err());
        assert!(Fraction::parse("1/2/3").is_err());
        assert!(Fraction::parse("0/1").is_ok());
    }

    #[test]
    fn percentages_round_half_up_without_floats() {
        assert_eq!(percent(58, 105), "55.2");
        assert_eq!(percent(2, 3), "66.7");
        assert_eq!(percent(1, 2), "50.0");
        assert_eq!(percent(0, 0), "0.0");
        assert_eq!(percent(1, 8), "12.5");
    }
}
