//! Exact Kubernetes resource quantities (`500m`, `1.5`, `2Gi`, `1e3`).
//!
//! Follows `k8s.io/apimachinery/pkg/api/resource/quantity.go` (v1.35):
//! `parseQuantityString` for the grammar, `ParseQuantity` for the value
//! (rounded up, away from zero, to a whole nano-unit), and
//! `Quantity.Value`/`MilliValue` (rounded up, away from zero, to the unit).
//!
//! A quantity is stored as an `i128` count of nano-units, which holds every
//! value apimachinery keeps exactly. Deliberate departures, for values no real
//! manifest contains:
//! - magnitudes above 2^63−1 units are capped at 2^63−1 units; apimachinery
//!   caps them on its general parse path but keeps some (such as `1e100`)
//!   exactly on its fast path;
//! - `value()`/`milli_value()` saturate at `i64::MAX`/`i64::MIN` where
//!   apimachinery's `int64` arithmetic overflows;
//! - exponents (`1e…`) are applied exactly; apimachinery truncates an
//!   exponent outside `int32` range.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// apimachinery's `maxAllowed`: 2^63−1 units, in nano-units.
const MAX_NANOS: i128 = i64::MAX as i128 * NANOS_PER_UNIT;

/// The text of apimachinery's `ErrFormatWrong`.
pub const FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/// The text of apimachinery's `ErrSuffix`.
pub const SUFFIX_ERROR: &str = "unable to parse quantity's suffix";

/// How a quantity was written; only affects [`fmt::Display`], never equality
/// (apimachinery's `Format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum QuantityFormat {
    /// `Ki`, `Mi`, … (base 1024).
    BinarySI,
    /// `n`, `u`, `m`, `k`, `M`, … or no suffix.
    #[default]
    DecimalSI,
    /// `1e3`, `5E-3`.
    DecimalExponent,
}

/// An exact Kubernetes resource quantity (k8s.io/apimachinery/pkg/api/resource/quantity.go).
///
/// Equality, ordering and hashing compare the value only: `1Ki == 1024`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quantity {
    nanos: i128,
    format: QuantityFormat,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}
impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl Quantity {
    pub const ZERO: Quantity = Quantity {
        nanos: 0,
        format: QuantityFormat::DecimalSI,
    };

    /// A whole number of units, e.g. `from_value(4)` is `4` CPUs or 4 bytes.
    pub fn from_value(v: i64) -> Self {
        Self::from_nanos(v as i128 * NANOS_PER_UNIT)
    }

    /// A number of thousandths, e.g. `from_milli(500)` is `500m`.
    pub fn from_milli(m: i64) -> Self {
        Self::from_nanos(m as i128 * 1_000_000)
    }

    /// A number of nano-units, capped at ±(2^63−1) units.
    pub fn from_nanos(n: i128) -> Self {
        Quantity {
            nanos: n.clamp(-MAX_NANOS, MAX_NANOS),
            format: QuantityFormat::DecimalSI,
        }
    }

    /// The exact value in nano-units (apimachinery's finest precision).
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    /// The value in units, rounded up away from zero (`Quantity.Value()`):
    /// `1.2` → 2, `-1.2` → -2.
    pub fn value(&self) -> i64 {
        self.scaled(NANOS_PER_UNIT)
    }

    /// The value in thousandths, rounded up away from zero
    /// (`Quantity.MilliValue()`): `0.1m` → 1.
    pub fn milli_value(&self) -> i64 {
        self.scaled(1_000_000)
    }

    fn scaled(&self, divisor: i128) -> i64 {
        let mag = self.nanos.unsigned_abs();
        let d = divisor as u128;
        let q = mag / d + u128::from(!mag.is_multiple_of(d));
        if self.nanos < 0 {
            i64::try_from(-(q as i128)).unwrap_or(i64::MIN)
        } else {
            i64::try_from(q).unwrap_or(i64::MAX)
        }
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// Sum, capped at ±(2^63−1) units; keeps `self`'s display format.
    pub fn saturating_add(self, other: Quantity) -> Quantity {
        Quantity {
            format: self.format,
            ..Self::from_nanos(self.nanos.saturating_add(other.nanos))
        }
    }

    /// Difference, capped at ±(2^63−1) units; keeps `self`'s display format.
    pub fn saturating_sub(self, other: Quantity) -> Quantity {
        Quantity {
            format: self.format,
            ..Self::from_nanos(self.nanos.saturating_sub(other.nanos))
        }
    }
}

impl FromStr for Quantity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_quantity(s)
    }
}

/// Parses a quantity as `resource.ParseQuantity` does.
///
/// The error names the input, repeats apimachinery's message and adds a hint.
pub fn parse_quantity(s: &str) -> Result<Quantity, String> {
    parse(s).map_err(|e| {
        let upstream = match e {
            ParseError::Format => FORMAT_ERROR,
            ParseError::Suffix => SUFFIX_ERROR,
        };
        format!("invalid quantity {s:?}: {upstream} ({})", hint(s))
    })
}

/// Converts k8s-openapi's string-typed quantity.
pub fn quantity_from_k8s(
    q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
) -> Result<Quantity, String> {
    parse_quantity(&q.0)
}

#[derive(Debug, PartialEq, Eq)]
enum ParseError {
    Format,
    Suffix,
}

const SUFFIX_CHARS: &[u8] = b"eEinumkKMGTP";

fn parse(s: &str) -> Result<Quantity, ParseError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(ParseError::Format);
    }
    let mut pos = 0;
    let negative = b[0] == b'-';
    if b[0] == b'-' || b[0] == b'+' {
        pos = 1;
    }
    let skip = |pos: &mut usize, pred: &dyn Fn(u8) -> bool| {
        while *pos < b.len() && pred(b[*pos]) {
            *pos += 1;
        }
    };
    let num_start = pos;
    skip(&mut pos, &|c| c.is_ascii_digit());
    let num = &b[num_start..pos];
    let mut denom: &[u8] = &[];
    if pos < b.len() && b[pos] == b'.' {
        pos += 1;
        let start = pos;
        skip(&mut pos, &|c| c.is_ascii_digit());
        denom = &b[start..pos];
    }
    // Like upstream, `-`, `.` and `+.` (no digits at all) parse as zero.
    let suffix_start = pos;
    skip(&mut pos, &|c| SUFFIX_CHARS.contains(&c));
    if pos < b.len() && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    skip(&mut pos, &|c| c.is_ascii_digit());
    if pos != b.len() {
        return Err(ParseError::Format);
    }
    let (exp10, exp2, format) = interpret_suffix(&s[suffix_start..])?;
    let mag = magnitude_nanos(num, denom, exp10, exp2);
    Ok(Quantity {
        nanos: if negative { -mag } else { mag },
        format,
    })
}

/// `suffixHandler.interpret`: (power of ten, power of two, format).
fn interpret_suffix(suffix: &str) -> Result<(i64, u32, QuantityFormat), ParseError> {
    use QuantityFormat::*;
    let dec = |e| Ok((e, 0, DecimalSI));
    let bin = |e| Ok((0, e, BinarySI));
    match suffix {
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "" => dec(0),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(10),
        "Mi" => bin(20),
        "Gi" => bin(30),
        "Ti" => bin(40),
        "Pi" => bin(50),
        "Ei" => bin(60),
        _ if suffix.len() > 1 && (suffix.starts_with('e') || suffix.starts_with('E')) => {
            // strconv.ParseInt(_, 10, 64) accepts the same strings as i64's FromStr.
            let e: i64 = suffix[1..].parse().map_err(|_| ParseError::Suffix)?;
            Ok((e, 0, DecimalExponent))
        }
        _ => Err(ParseError::Suffix),
    }
}

/// |num.denom| × 10^exp10 × 2^exp2 in nano-units, rounded up and capped.
fn magnitude_nanos(num: &[u8], denom: &[u8], exp10: i64, exp2: u32) -> i128 {
    let mut digits: Vec<u8> = num.iter().chain(denom).map(|c| c - b'0').collect();
    // Digits left of the decimal point once the value is expressed in nano-units.
    let mut point = num.len() as i128 + exp10 as i128 + 9;
    if exp2 > 0 {
        // Multiply the decimal digit string by 2^exp2 (≤ 2^60), least significant first.
        let factor = 1u128 << exp2;
        let mut carry = 0u128;
        for d in digits.iter_mut().rev() {
            let t = u128::from(*d) * factor + carry;
            *d = (t % 10) as u8;
            carry = t / 10;
        }
        let mut head = Vec::new();
        while carry > 0 {
            head.push((carry % 10) as u8);
            carry /= 10;
        }
        head.reverse();
        point += head.len() as i128;
        head.extend_from_slice(&digits);
        digits = head;
    }
    let Some(first) = digits.iter().position(|&d| d != 0) else {
        return 0;
    };
    let digits = &digits[first..];
    point -= first as i128;
    // The leading digit is non-zero, so 29 integer digits exceed MAX_NANOS (< 10^28).
    if point > 28 {
        return MAX_NANOS;
    }
    let int_len = point.max(0) as usize;
    let int = (0..int_len).fold(0i128, |acc, i| {
        acc * 10 + i128::from(digits.get(i).copied().unwrap_or(0))
    });
    let has_fraction = digits.iter().skip(int_len).any(|&d| d != 0);
    (int + i128::from(has_fraction)).min(MAX_NANOS)
}

fn hint(s: &str) -> String {
    if s.trim().is_empty() {
        return "a quantity needs a number, e.g. \"500m\", \"2\" or \"4Gi\"".into();
    }
    if s.contains(char::is_whitespace) {
        return "remove the spaces, e.g. \"5Gi\" not \"5 Gi\"".into();
    }
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(s.len());
    let suffix = &s[number_end..];
    let lower = suffix.to_ascii_lowercase();
    let stem = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .or_else(|| lower.strip_suffix('i'))
        .unwrap_or(&lower);
    let decimal = match stem {
        "k" => Some("k"),
        "m" => Some("M"),
        "g" => Some("G"),
        "t" => Some("T"),
        "p" => Some("P"),
        "e" => Some("E"),
        _ => None,
    };
    if let Some(d) = decimal
        && !suffix.is_empty()
    {
        let binary = format!("{}i", d.to_ascii_uppercase());
        return format!(
            "suffixes are case-sensitive and have no 'b': did you mean \"{}{binary}\" (powers of 1024) or \"{}{d}\" (powers of 1000)?",
            &s[..number_end],
            &s[..number_end]
        );
    }
    "valid suffixes are n u m k M G T P E (powers of 1000), Ki Mi Gi Ti Pi Ei (powers of 1024), or an exponent such as 1e3".into()
}

impl fmt::Display for Quantity {
    /// apimachinery's canonical form: `1500m`, `2k`, `1536Mi` (binary only
    /// when written in binary, integral and at least 1Ki), `12e6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let mag = self.nanos.unsigned_abs();
        let nano = NANOS_PER_UNIT as u128;
        if self.format == QuantityFormat::BinarySI && mag >= 1024 * nano && mag.is_multiple_of(nano)
        {
            let mut units = mag / nano;
            let mut exp = 0;
            while exp < 6 && units.is_multiple_of(1024) {
                units /= 1024;
                exp += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
            return write!(f, "{sign}{units}{suffix}");
        }
        // Largest power of 1000 (from 10^-9) that divides the value exactly.
        let mut mantissa = mag;
        let mut exp10 = -9i32;
        while exp10 < 18 && mantissa.is_multiple_of(1000) {
            mantissa /= 1000;
            exp10 += 3;
        }
        if self.format == QuantityFormat::DecimalExponent {
            return match exp10 {
                0 => write!(f, "{sign}{mantissa}"),
                e => write!(f, "{sign}{mantissa}e{e}"),
            };
        }
        let suffix = match exp10 {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            _ => "E",
        };
        write!(f, "{sign}{mantissa}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(s: &str) -> Quantity {
        parse_quantity(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn worked_examples() {
        assert_eq!(q("500m").milli_value(), 500);
        assert_eq!(q("500m").value(), 1); // ceil(0.5)
        assert_eq!(q("1.5").milli_value(), 1500);
        assert_eq!(q("1.5").value(), 2);
        assert_eq!(q("2Gi").value(), 2_147_483_648); // 2 × 2^30
        assert_eq!(q("1e3").value(), 1000);
        assert_eq!(q("1E3").value(), 1000);
        assert_eq!(q("1.5E-3").milli_value(), 2); // 1.5m, ceil → 2m
        assert_eq!(q("1.5E-3").nanos(), 1_500_000);
        assert_eq!(q("128974848").value(), 128_974_848);
        assert_eq!(q("129e6").value(), 129_000_000);
        assert_eq!(q("129M").value(), 129_000_000);
        assert_eq!(q("123Mi").value(), 128_974_848); // 123 × 2^20
        assert_eq!(q("0.1m").milli_value(), 1); // 0.0001 → ceil to 1m
        assert_eq!(q("100u").nanos(), 100_000);
        assert_eq!(q("1n").nanos(), 1);
        assert_eq!(q("1.5Gi").value(), 1_610_612_736); // 1.5 × 2^30
        assert_eq!(q("0.5Ki").value(), 512);
        assert_eq!(q("1.0000001Ki").nanos(), 1_024_000_102_400); // 1024.0001024 exact
        assert_eq!(q("1E").value(), 1_000_000_000_000_000_000);
        assert_eq!(q("8Ei").value(), i64::MAX); // 2^63 capped at 2^63−1
        assert_eq!(q("+4").value(), 4);
        assert_eq!(q(".5").milli_value(), 500);
        assert_eq!(q("5.").value(), 5);
        assert_eq!(q("1e+3").value(), 1000);
        assert_eq!(q("007").value(), 7);
    }

    #[test]
    fn rounds_away_from_zero_below_a_nano_unit() {
        // ParseQuantity rounds with inf.RoundUp to 9 decimal places.
        assert_eq!(q("0.0000000001").nanos(), 1);
        assert_eq!(q("-0.0000000001").nanos(), -1);
        assert_eq!(q("1.0000000001").nanos(), 1_000_000_001);
        assert_eq!(q("1.0000000000").nanos(), 1_000_000_000);
    }

    #[test]
    fn negative_values_round_away_from_zero() {
        // int64Amount.AsScaledInt64 → negativeScaleInt64: -1.5 → -2.
        let n = q("-1.5");
        assert!(n.is_negative());
        assert_eq!(n.value(), -2);
        assert_eq!(n.milli_value(), -1500);
        assert_eq!(q("-0.5m").milli_value(), -1);
    }

    #[test]
    fn zero_forms() {
        for s in [
            "0", "-0", "+0", "0.0", "0m", "0Gi", "0e9", "000", "-", "+", ".", "+.",
        ] {
            let v = q(s);
            assert!(v.is_zero(), "{s}");
            assert!(!v.is_negative(), "{s}");
        }
        assert!(!q("1n").is_zero());
    }

    #[test]
    fn rejects_what_apimachinery_rejects() {
        for s in [
            "", " 1", "1 ", "abc", "1.2.3", "5 Gi", "5gb", "5Gb", "1e3i", "5µ", "1/2",
        ] {
            let e = parse_quantity(s).unwrap_err();
            assert!(e.contains(FORMAT_ERROR), "{s}: {e}");
        }
        for s in [
            "5GG",
            "5K",
            "5ki",
            "5e",
            "5ee3",
            "5Mi3",
            "5-",
            "--5",
            "1e99999999999999999999",
            "5Gii",
            "5mi",
        ] {
            let e = parse_quantity(s).unwrap_err();
            assert!(e.contains(SUFFIX_ERROR), "{s}: {e}");
        }
    }

    #[test]
    fn errors_carry_a_hint() {
        let e = parse_quantity("5gb").unwrap_err();
        assert!(e.contains("\"5Gi\"") && e.contains("\"5G\""), "{e}");
        let e = parse_quantity("5 Gi").unwrap_err();
        assert!(e.contains("spaces"), "{e}");
        let e = parse_quantity("5x").unwrap_err();
        assert!(e.contains("valid suffixes"), "{e}");
    }

    #[test]
    fn absurd_values_saturate() {
        assert_eq!(q("99999999999999999999999").value(), i64::MAX);
        assert_eq!(q("1e100").value(), i64::MAX);
        assert_eq!(q("-1e100").value(), -i64::MAX);
        assert_eq!(q("9223372036854775807").milli_value(), i64::MAX);
        assert_eq!(q("-9223372036854775807").milli_value(), i64::MIN);
        assert_eq!(q("1e-100").nanos(), 1);
        assert!(q("1e-9223372036854775808").nanos() == 1);
        assert_eq!(q("1e9223372036854775807").value(), i64::MAX);
        let big = Quantity::from_value(i64::MAX);
        assert_eq!(big.saturating_add(big), big);
        assert_eq!(
            Quantity::ZERO
                .saturating_sub(big)
                .saturating_sub(big)
                .value(),
            -i64::MAX
        );
    }

    #[test]
    fn equality_ignores_format() {
        assert_eq!(q("1Ki"), q("1024"));
        assert_eq!(q("1"), q("1000m"));
        assert_eq!(q("1e3"), q("1k"));
        assert!(q("1Gi") > q("1G"));
        assert!(q("-1") < q("0"));
    }

    #[test]
    fn display_is_canonical() {
        let cases = [
            ("1.5", "1500m"),
            ("2000", "2k"),
            ("1500", "1500"),
            ("0.1m", "100u"),
            ("1.5Gi", "1536Mi"),
            ("1024Mi", "1Gi"),
            ("512Ki", "512Ki"),
            ("0.5Ki", "512"),
            ("1000Ki", "1000Ki"),
            ("12e6", "12e6"),
            ("1.5e3", "1500"),
            ("-1.5", "-1500m"),
            ("0Gi", "0"),
            ("128974848", "128974848"),
        ];
        for (input, shown) in cases {
            assert_eq!(q(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn converts_k8s_openapi_quantities() {
        use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K;
        assert_eq!(
            quantity_from_k8s(&K("250m".into())).unwrap().milli_value(),
            250
        );
        assert!(quantity_from_k8s(&K("lots".into())).is_err());
    }

    const SUFFIXES: [(&str, i128); 16] = [
        ("n", 1),
        ("u", 1_000),
        ("m", 1_000_000),
        ("", 1_000_000_000),
        ("k", 1_000_000_000_000),
        ("M", 1_000_000_000_000_000),
        ("G", 1_000_000_000_000_000_000),
        ("T", 1_000_000_000_000_000_000_000),
        ("P", 1_000_000_000_000_000_000_000_000),
        ("E", 1_000_000_000_000_000_000_000_000_000),
        ("Ki", 1_024 * 1_000_000_000),
        ("Mi", (1 << 20) * 1_000_000_000),
        ("Gi", (1 << 30) * 1_000_000_000),
        ("Ti", (1 << 40) * 1_000_000_000),
        ("Pi", (1 << 50) * 1_000_000_000),
        ("Ei", (1 << 60) * 1_000_000_000),
    ];

    proptest! {
        #[test]
        fn integer_with_suffix_has_its_value(n in -1_000_000_000i64..1_000_000_000, i in 0..SUFFIXES.len()) {
            let (suffix, nanos_per) = SUFFIXES[i];
            let parsed = q(&format!("{n}{suffix}"));
            let expected = (n as i128 * nanos_per).clamp(-MAX_NANOS, MAX_NANOS);
            prop_assert_eq!(parsed.nanos(), expected);
            let units = expected.unsigned_abs().div_ceil(NANOS_PER_UNIT as u128);
            let units = if expected < 0 { -(units as i128) } else { units as i128 };
            prop_assert_eq!(parsed.value() as i128, units);
        }

        #[test]
        fn exponent_form_matches_plain_form(n in 0i64..1_000_000, e in -12i64..12) {
            let plain = if e >= 0 {
                format!("{n}{}", "0".repeat(e as usize))
            } else {
                let s = format!("{n:0>width$}", width = (-e) as usize + 1);
                let (int, frac) = s.split_at(s.len() - (-e) as usize);
                format!("{int}.{frac}")
            };
            prop_assert_eq!(q(&format!("{n}e{e}")), q(&plain));
        }

        #[test]
        fn display_round_trips(nanos in any::<i64>(), shift in 0u32..10, i in 0..3usize) {
            let format = [QuantityFormat::DecimalSI, QuantityFormat::BinarySI, QuantityFormat::DecimalExponent][i];
            let v = Quantity { format, ..Quantity::from_nanos(nanos as i128 * 10i128.pow(shift)) };
            prop_assert_eq!(q(&v.to_string()), v);
        }

        #[test]
        fn random_strings_never_panic(s in ".{0,40}") {
            let _ = parse_quantity(&s);
        }

        #[test]
        fn quantity_like_strings_never_panic(s in "[-+0-9.eEinumkKMGTP ]{0,40}") {
            if let Ok(v) = parse_quantity(&s) {
                let _ = (v.value(), v.milli_value(), v.to_string());
            }
        }
    }
}
