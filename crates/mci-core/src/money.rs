//! Money: whole minor units of an ISO 4217 currency, never floats (R-INPUT,
//! R-ENG-2, R-ADD-8, R-CLAIM-W-9).
//!
//! Amounts are read and written as `"<amount> <CODE>"` with exactly the
//! currency's minor digits on output; arithmetic is checked and refuses mixing
//! currencies.
//!
//! ```
//! use mci_core::{Currency, Money};
//!
//! let eur: Currency = "EUR".parse().unwrap();
//! let fee = Money::new(123_456, eur);
//! assert_eq!(fee.to_string(), "1234.56 EUR");
//! assert_eq!("1234.56 EUR".parse::<Money>().unwrap(), fee);
//! assert_eq!("12.5 EUR".parse::<Money>().unwrap().minor(), 1250);
//!
//! let jpy: Currency = "JPY".parse().unwrap();
//! assert_eq!(Money::new(1000, jpy).to_string(), "1000 JPY");
//! assert!(fee.checked_add(Money::new(1, jpy)).is_err());
//!
//! let rate = Money::new(15_000, eur);
//! assert_eq!(rate.checked_mul(8).unwrap().to_string(), "1200.00 EUR");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::id::string_conversions;
use crate::invalid::{InvalidValue, Problem};

/// An ISO 4217 currency (R-INPUT), read from and shown as its three-letter
/// uppercase code (`EUR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "currency";

    /// Wraps a currency of the `iso_currency` crate.
    pub fn from_iso(currency: iso_currency::Currency) -> Self {
        Self(currency)
    }

    /// The `iso_currency` value.
    pub fn iso(&self) -> iso_currency::Currency {
        self.0
    }

    /// The three-letter code (`EUR`).
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// The number of digits after the decimal point (2 for EUR, 0 for JPY,
    /// 3 for KWD); 0 where ISO 4217 defines none (precious metals, XXX).
    pub fn minor_unit_digits(&self) -> u32 {
        self.0.exponent().map_or(0, u32::from)
    }

    /// 10 to the power of the minor digits: the minor units in one major unit.
    fn minor_per_major(&self) -> u64 {
        10_u64.saturating_pow(self.minor_unit_digits())
    }
}

impl FromStr for Currency {
    type Err = InvalidValue;

    /// Takes the three-letter code, uppercase only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(InvalidValue::new(Self::FIELD, Problem::Empty));
        }
        iso_currency::Currency::from_code(s)
            .map(Self)
            .ok_or_else(|| {
                InvalidValue::new(
                    Self::FIELD,
                    Problem::Syntax(
                        "not an ISO 4217 code (three uppercase letters like EUR)".to_owned(),
                    ),
                )
            })
    }
}

impl fmt::Display for Currency {
    /// The code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl AsRef<str> for Currency {
    fn as_ref(&self) -> &str {
        self.code()
    }
}

impl From<iso_currency::Currency> for Currency {
    fn from(value: iso_currency::Currency) -> Self {
        Self(value)
    }
}

string_conversions!(Currency);

/// An amount of money (R-INPUT): a whole number of minor units (cents) of one
/// currency. No floating point anywhere: parsing reads digits as integers.
///
/// Shown as `1234.56 EUR`, `-5.00 EUR`, `1000 JPY`: exactly the currency's
/// minor digits, a `-` for negative amounts, one space, the code. Serialised
/// as that string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "money";

    /// `minor` minor units (cents) of `currency`.
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Nothing, in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// The amount in minor units.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is more than zero.
    pub fn is_positive(&self) -> bool {
        self.minor > 0
    }

    /// Whether the amount is less than zero.
    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    fn same_currency(&self, other: &Money) -> Result<(), InvalidValue> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(InvalidValue::new(
                Self::FIELD,
                Problem::Mismatch(format!(
                    "currencies {} and {} differ",
                    self.currency, other.currency
                )),
            ))
        }
    }

    fn overflow() -> InvalidValue {
        InvalidValue::new(Self::FIELD, Problem::Overflow)
    }

    /// The sum; refuses different currencies (`Problem::Mismatch`) and
    /// overflow (`Problem::Overflow`).
    pub fn checked_add(self, other: Money) -> Result<Money, InvalidValue> {
        self.same_currency(&other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Self::new(minor, self.currency))
            .ok_or_else(Self::overflow)
    }

    /// The difference `self - other`; refuses different currencies and overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, InvalidValue> {
        self.same_currency(&other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Self::new(minor, self.currency))
            .ok_or_else(Self::overflow)
    }

    /// The amount times `factor` (a rate times hours, R-ADD-8); refuses overflow.
    pub fn checked_mul(self, factor: u32) -> Result<Money, InvalidValue> {
        self.minor
            .checked_mul(i64::from(factor))
            .map(|minor| Self::new(minor, self.currency))
            .ok_or_else(Self::overflow)
    }

    /// The smaller of two amounts (a payout capped, R-ENG-2); refuses
    /// different currencies.
    pub fn min(self, other: Money) -> Result<Money, InvalidValue> {
        self.same_currency(&other)?;
        Ok(if other.minor < self.minor {
            other
        } else {
            self
        })
    }

    /// The opposite amount (a reversal, R-CLAIM-W-9); refuses overflow.
    pub fn negated(self) -> Result<Money, InvalidValue> {
        self.minor
            .checked_neg()
            .map(|minor| Self::new(minor, self.currency))
            .ok_or_else(Self::overflow)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let magnitude = self.minor.unsigned_abs();
        let per_major = self.currency.minor_per_major();
        let digits = usize::try_from(self.currency.minor_unit_digits()).unwrap_or(0);
        let major = magnitude.checked_div(per_major).unwrap_or(magnitude);
        if digits == 0 {
            write!(f, "{sign}{major} {}", self.currency)
        } else {
            let fraction = magnitude.checked_rem(per_major).unwrap_or(0);
            write!(f, "{sign}{major}.{fraction:0digits$} {}", self.currency)
        }
    }
}

fn money_error(problem: Problem) -> InvalidValue {
    InvalidValue::new(Money::FIELD, problem)
}

impl FromStr for Money {
    type Err = InvalidValue;

    /// Reads `"<amount> <CODE>"`: an optional `-`, ASCII digits, optionally a
    /// `.` and 1..=(the currency's minor digits) digits, one space, the code.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(money_error(Problem::Empty));
        }
        let syntax = |what: &str| money_error(Problem::Syntax(what.to_owned()));
        let Some((amount, code)) = s.split_once(' ') else {
            return Err(syntax(
                "expected an amount, one space and a currency code (like 12.50 EUR)",
            ));
        };
        let currency: Currency = code
            .parse()
            .map_err(|e: InvalidValue| e.for_field(Self::FIELD))?;
        let digits = currency.minor_unit_digits();
        let (negative, unsigned) = match amount.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, amount),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) {
            return Err(syntax(
                "the amount needs ASCII digits before any decimal point",
            ));
        }
        let fraction = fraction.unwrap_or("");
        if unsigned.contains('.') && !all_digits(fraction) {
            return Err(syntax(
                "the amount needs ASCII digits after the decimal point",
            ));
        }
        let fraction_digits = u32::try_from(fraction.len()).unwrap_or(u32::MAX);
        if fraction_digits > digits {
            return Err(money_error(Problem::Syntax(format!(
                "{currency} has {digits} digits after the decimal point"
            ))));
        }
        // Digits only from here: the parses fail on overflow alone.
        let whole: i128 = whole.parse().map_err(|_| money_error(Problem::Overflow))?;
        let fraction: i128 = if fraction.is_empty() {
            0
        } else {
            fraction
                .parse()
                .map_err(|_| money_error(Problem::Overflow))?
        };
        let scale = |n: u32| {
            10_i128
                .checked_pow(n)
                .ok_or_else(|| money_error(Problem::Overflow))
        };
        let magnitude = whole
            .checked_mul(scale(digits)?)
            .and_then(|w| {
                w.checked_add(fraction.checked_mul(scale(digits - fraction_digits).ok()?)?)
            })
            .ok_or_else(|| money_error(Problem::Overflow))?;
        let signed = if negative { -magnitude } else { magnitude };
        let minor = i64::try_from(signed).map_err(|_| money_error(Problem::Overflow))?;
        Ok(Self::new(minor, currency))
    }
}

string_conversions!(Money);

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        code.parse().unwrap()
    }

    fn money(s: &str) -> Money {
        s.parse().unwrap()
    }

    #[test]
    fn r_input_currency_is_an_uppercase_iso_4217_code() {
        let eur = cur("EUR");
        assert_eq!(eur.to_string(), "EUR");
        assert_eq!(eur.minor_unit_digits(), 2);
        assert_eq!(cur("JPY").minor_unit_digits(), 0);
        assert_eq!(cur("KWD").minor_unit_digits(), 3);
        assert_eq!(cur("CLF").minor_unit_digits(), 4);
        assert_eq!(cur("XAU").minor_unit_digits(), 0);
        for bad in ["", "eur", "Eur", "EURO", "EU", "ZZZ", " EUR", "€"] {
            let err = bad.parse::<Currency>().unwrap_err();
            assert_eq!(err.field(), "currency", "{bad:?}");
            assert_eq!(err.rule(), "R-INPUT");
        }
    }

    #[test]
    fn r_input_money_displays_exactly_the_minor_digits() {
        assert_eq!(Money::new(123_456, cur("EUR")).to_string(), "1234.56 EUR");
        assert_eq!(Money::new(-500, cur("EUR")).to_string(), "-5.00 EUR");
        assert_eq!(Money::new(-5, cur("EUR")).to_string(), "-0.05 EUR");
        assert_eq!(Money::new(0, cur("EUR")).to_string(), "0.00 EUR");
        assert_eq!(Money::new(1000, cur("JPY")).to_string(), "1000 JPY");
        assert_eq!(Money::new(1, cur("KWD")).to_string(), "0.001 KWD");
        assert_eq!(
            Money::new(i64::MIN, cur("EUR")).to_string(),
            "-92233720368547758.08 EUR"
        );
        assert_eq!(
            Money::new(i64::MAX, cur("JPY")).to_string(),
            "9223372036854775807 JPY"
        );
    }

    #[test]
    fn r_input_money_parses_integers_never_floats() {
        assert_eq!(money("1234.56 EUR").minor(), 123_456);
        assert_eq!(money("12.5 EUR").minor(), 1250);
        assert_eq!(money("12 EUR").minor(), 1200);
        assert_eq!(money("-5.00 EUR").minor(), -500);
        assert_eq!(money("0.1 EUR").minor(), 10);
        assert_eq!(money("1000 JPY").minor(), 1000);
        assert_eq!(money("0.001 KWD").minor(), 1);
        assert_eq!(money("-92233720368547758.08 EUR").minor(), i64::MIN);
        assert_eq!(money("92233720368547758.07 EUR").minor(), i64::MAX);
    }

    #[test]
    fn r_input_money_refuses_malformed_amounts() {
        for bad in [
            "",
            "12",
            "EUR",
            "12.345 EUR",
            "12.5 JPY",
            "12. EUR",
            ".5 EUR",
            "+5 EUR",
            "--5 EUR",
            "1,000.00 EUR",
            "1e3 EUR",
            "12.50  EUR",
            " 12.50 EUR",
            "12.50 EUR ",
            "12.50 eur",
            "12.50EUR",
            "NaN EUR",
            "١٢ EUR",
        ] {
            let err = bad.parse::<Money>().unwrap_err();
            assert_eq!(err.field(), "money", "{bad:?}");
            assert_eq!(err.rule(), "R-INPUT");
        }
    }

    #[test]
    fn r_input_money_refuses_overflow() {
        for bad in [
            "92233720368547758.08 EUR",
            "-92233720368547758.09 EUR",
            "9223372036854775808 JPY",
            &format!("{} EUR", "9".repeat(60)),
        ] {
            let err = bad.parse::<Money>().unwrap_err();
            assert_eq!(err.problem(), &Problem::Overflow, "{bad:?}");
        }
    }

    #[test]
    fn r_input_money_arithmetic_refuses_mixed_currencies() {
        let eur = money("10.00 EUR");
        let usd = money("10.00 USD");
        for result in [eur.checked_add(usd), eur.checked_sub(usd), eur.min(usd)] {
            let err = result.unwrap_err();
            assert!(matches!(err.problem(), Problem::Mismatch(_)));
            assert_eq!(err.field(), "money");
        }
    }

    #[test]
    fn r_input_money_arithmetic_refuses_overflow() {
        let eur = cur("EUR");
        let max = Money::new(i64::MAX, eur);
        let min = Money::new(i64::MIN, eur);
        assert_eq!(
            max.checked_add(Money::new(1, eur)).unwrap_err().problem(),
            &Problem::Overflow
        );
        assert_eq!(
            min.checked_sub(Money::new(1, eur)).unwrap_err().problem(),
            &Problem::Overflow
        );
        assert_eq!(
            max.checked_mul(2).unwrap_err().problem(),
            &Problem::Overflow
        );
        assert_eq!(min.negated().unwrap_err().problem(), &Problem::Overflow);
    }

    #[test]
    fn r_add_8_rate_times_hours_capped() {
        let rate = money("150.00 EUR");
        let cap = money("1000.00 EUR");
        let proposed = rate.checked_mul(8).unwrap();
        assert_eq!(proposed.to_string(), "1200.00 EUR");
        assert_eq!(proposed.min(cap).unwrap(), cap);
        assert_eq!(money("5.00 EUR").min(cap).unwrap(), money("5.00 EUR"));
    }

    #[test]
    fn r_input_money_sign_helpers() {
        let eur = cur("EUR");
        assert!(Money::new(1, eur).is_positive());
        assert!(!Money::zero(eur).is_positive());
        assert!(Money::zero(eur).is_zero());
        assert!(Money::new(-1, eur).is_negative());
        assert_eq!(Money::new(5, eur).negated().unwrap(), Money::new(-5, eur));
        assert_eq!(Money::zero(eur).currency(), eur);
    }

    #[test]
    fn r_input_money_serializes_as_its_display_string() {
        let m = money("-5.00 EUR");
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"-5.00 EUR\"");
        assert_eq!(serde_json::from_str::<Money>("\"-5.00 EUR\"").unwrap(), m);
        assert!(serde_json::from_str::<Money>("\"5.001 EUR\"").is_err());
        assert!(serde_json::from_str::<Money>("5.0").is_err());
        assert_eq!(serde_json::to_string(&cur("EUR")).unwrap(), "\"EUR\"");
        assert!(serde_json::from_str::<Currency>("\"eur\"").is_err());
    }
}
