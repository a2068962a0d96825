//! Each voter's own share of a proposal's cost, in exact integer cents (fen), rounded half up
//! only at the very end.

use super::quantity::Decimal;

/// How a cost is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Every voter pays the amount.
    PerVoter,
    /// The amount is a total split equally among all voters.
    Equally,
    /// The amount is a total split in proportion to a weight.
    ByWeight,
}

/// A voter's share in cents, rounded half up; `exact` when no rounding happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub cents: u128,
    pub exact: bool,
}

/// `amount` (a decimal of at most 2 places), shared under `split` among `voters` voters whose
/// weights sum to `total_weight`; this voter holds `weight`.
pub fn share(
    amount: Decimal,
    split: Split,
    voters: u64,
    weight: u128,
    total_weight: u128,
) -> Option<Share> {
    let cents = amount.rescale(2)?.units;
    let (numerator, denominator) = match split {
        Split::PerVoter => (cents, 1),
        Split::Equally => (cents, u128::from(voters)),
        Split::ByWeight => (cents.checked_mul(weight)?, total_weight),
    };
    if denominator == 0 {
        return None;
    }
    Some(Share {
        cents: (numerator * 2 + denominator) / (denominator * 2),
        exact: numerator % denominator == 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_exact_or_rounded_half_up() {
        let thousand = Decimal::parse("1000").unwrap();
        assert_eq!(
            share(thousand, Split::PerVoter, 105, 0, 0),
            Some(Share {
                cents: 100_000,
                exact: true
            })
        );
        // 100,000 yuan over 3 households: 33,333.333… → 33,333.33
        let total = Decimal::parse("100000").unwrap();
        assert_eq!(
            share(total, Split::Equally, 3, 0, 0),
            Some(Share {
                cents: 3_333_333,
                exact: false
            })
        );
        // By area: 89.57 m² of 5,210.00 m² of 52,100.00 yuan = 895.70 yuan.
        let total = Decimal::parse("52100.00").unwrap();
        assert_eq!(
            share(total, Split::ByWeight, 105, 8957, 521_000),
            Some(Share {
                cents: 89_570,
                exact: true
            })
        );
        assert_eq!(
            share(Decimal::parse("1.005").unwrap(), Split::PerVoter, 1, 0, 0),
            None
        );
    }
}
