//! Durations written as Go writes them (`90s`, `1h30m`, `250ms`), in simulated
//! microseconds.
//!
//! Parsing follows Go's `time.ParseDuration` (src/time/format.go): a possibly
//! signed sequence of decimal numbers, each with an optional fraction and a
//! unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`); `0` alone needs no
//! unit; the total must stay below 2^63 ns. Two departures, both for the
//! simulator's clock: negative durations and durations that are not a whole
//! number of microseconds are rejected, and fractions are applied with exact
//! integer arithmetic where Go multiplies in `float64` (they agree whenever the
//! fraction has no more digits than the unit has nanosecond digits, e.g. up to
//! 9 for `s`).

const NS_PER_US: u64 = 1_000;
/// Go's limit: a `time.Duration` is an `int64` count of nanoseconds.
const MAX_NS: u64 = i64::MAX as u64;
/// The largest duration [`parse_duration`] accepts, in microseconds.
pub const MAX_US: u64 = MAX_NS / NS_PER_US;

const US_PER_MS: u64 = 1_000;
const US_PER_S: u64 = 1_000_000;
const US_PER_M: u64 = 60 * US_PER_S;
const US_PER_H: u64 = 60 * US_PER_M;

fn unit_ns(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        // U+00B5 micro sign and U+03BC Greek mu, as Go accepts both.
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

const UNITS_HINT: &str = "valid units are ns, us (or µs), ms, s, m, h, e.g. \"90s\" or \"1h30m\"";

/// Parses a Go duration into microseconds of simulated time.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let (negative, ns) = parse_go_ns(s)?;
    if negative && ns != 0 {
        return Err(format!("invalid duration {s:?}: must not be negative"));
    }
    if ns % NS_PER_US != 0 {
        return Err(format!(
            "invalid duration {s:?}: finer than 1µs, the simulator's clock resolution"
        ));
    }
    Ok(ns / NS_PER_US)
}

/// `time.ParseDuration` up to the sign: (negative, magnitude in ns).
fn parse_go_ns(orig: &str) -> Result<(bool, u64), String> {
    let invalid = || format!("time: invalid duration {orig:?} ({UNITS_HINT})");
    let mut s = orig;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok((negative, 0));
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let whole = leading_int(&s[..int_len]).ok_or_else(invalid)?;
        s = &s[int_len..];
        let mut fraction = (0u64, 1u128);
        let mut frac_len = 0;
        if let Some(rest) = s.strip_prefix('.') {
            frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            fraction = leading_fraction(&rest[..frac_len]);
            s = &rest[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .bytes()
            .take_while(|&c| !(c == b'.' || c.is_ascii_digit()))
            .count();
        if unit_len == 0 {
            return Err(format!(
                "time: missing unit in duration {orig:?} ({UNITS_HINT})"
            ));
        }
        let unit_str = &s[..unit_len];
        s = &s[unit_len..];
        let unit = unit_ns(unit_str).ok_or_else(|| {
            format!("time: unknown unit {unit_str:?} in duration {orig:?} ({UNITS_HINT})")
        })?;
        if whole > (1u64 << 63) / unit {
            return Err(invalid());
        }
        let mut v = whole * unit;
        let (f, scale) = fraction;
        if f > 0 {
            // f < scale, so the addend is below one unit (≤ 3.6e12 ns).
            v += (u128::from(f) * u128::from(unit) / scale) as u64;
            if v > 1 << 63 {
                return Err(invalid());
            }
        }
        // Go's uint64 sum can wrap past 2^64 here; treat that as the overflow it is.
        total = match total.checked_add(v) {
            Some(t) if t <= 1 << 63 => t,
            _ => return Err(invalid()),
        };
    }
    if !negative && total > MAX_NS {
        return Err(invalid());
    }
    Ok((negative, total))
}

/// Go's `leadingInt` over a run of digits; `None` past 2^63.
fn leading_int(digits: &str) -> Option<u64> {
    let mut x: u64 = 0;
    for c in digits.bytes() {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(c - b'0');
        if x > 1 << 63 {
            return None;
        }
    }
    Some(x)
}

/// Go's `leadingFraction`: the digits kept before overflow, and 10^(their count).
fn leading_fraction(digits: &str) -> (u64, u128) {
    let mut x: u64 = 0;
    let mut scale: u128 = 1;
    for c in digits.bytes() {
        if x > (MAX_NS) / 10 {
            break;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > 1 << 63 {
            break;
        }
        x = y;
        scale *= 10;
    }
    (x, scale)
}

/// A short human form that [`parse_duration`] reads back: `0s`, `750µs`,
/// `1.5ms`, `250ms`, `1.5s`, `1m30s`, `1h30m`, `2h0.5s`. Unlike Go's
/// `Duration.String`, zero components are left out (`1h`, not `1h0m0s`).
pub fn format_duration(us: u64) -> String {
    if us == 0 {
        return "0s".into();
    }
    if us < US_PER_MS {
        return format!("{us}µs");
    }
    if us < US_PER_S {
        return with_fraction(us / US_PER_MS, us % US_PER_MS, 3, "ms");
    }
    let mut out = String::new();
    let (h, rest) = (us / US_PER_H, us % US_PER_H);
    let (m, rest) = (rest / US_PER_M, rest % US_PER_M);
    if h > 0 {
        out += &format!("{h}h");
    }
    if m > 0 {
        out += &format!("{m}m");
    }
    if rest > 0 {
        out += &with_fraction(rest / US_PER_S, rest % US_PER_S, 6, "s");
    }
    out
}

fn with_fraction(whole: u64, frac: u64, digits: usize, unit: &str) -> String {
    if frac == 0 {
        return format!("{whole}{unit}");
    }
    let frac = format!("{frac:0digits$}");
    format!("{whole}.{}{unit}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> u64 {
        parse_duration(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn worked_examples() {
        assert_eq!(d("300ms"), 300_000);
        assert_eq!(d("1.5h"), 5_400_000_000); // 1.5 × 3600 s
        assert_eq!(d("2h45m"), 9_900_000_000); // (7200 + 2700) s
        assert_eq!(d("90s"), 90_000_000);
        assert_eq!(d("1us"), 1);
        assert_eq!(d("1µs"), 1);
        assert_eq!(d("1μs"), 1); // Greek mu
        assert_eq!(d("1000ns"), 1);
        assert_eq!(d("0"), 0);
        assert_eq!(d("-0"), 0);
        assert_eq!(d("+5s"), 5_000_000);
        assert_eq!(d("0s"), 0);
        assert_eq!(d(".5s"), 500_000);
        assert_eq!(d("5.s"), 5_000_000);
        assert_eq!(d("1h1h"), 7_200_000_000); // Go sums repeated units
        assert_eq!(d("1s500ms"), 1_500_000);
        assert_eq!(d("0.000001s"), 1);
        // Fraction digits beyond Go's 2^63 accumulator are ignored, as upstream.
        assert_eq!(d("1.00000000000000000000000000001s"), 1_000_000);
        assert_eq!(d("2562047h"), 2_562_047 * 3_600_000_000);
    }

    #[test]
    fn rejects_what_go_rejects() {
        for s in [
            "",
            "-",
            "+",
            "5",
            "1.5",
            "s",
            ".s",
            "-.s",
            "1x",
            "1 s",
            " 1s",
            "1s ",
            "1S",
            "1sec",
            "3000000h",
            "9223372036854775808ns",
            "1hh",
            "9223372036854775808ns9223372036854775808ns",
        ] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
        assert!(parse_duration("5").unwrap_err().contains("missing unit"));
        assert!(
            parse_duration("5sec")
                .unwrap_err()
                .contains("unknown unit \"sec\"")
        );
    }

    #[test]
    fn rejects_negative_and_sub_microsecond() {
        assert!(parse_duration("-1.5h").unwrap_err().contains("negative"));
        assert!(
            parse_duration("1ns")
                .unwrap_err()
                .contains("finer than 1µs")
        );
        assert!(
            parse_duration("1.0001ms")
                .unwrap_err()
                .contains("finer than 1µs")
        );
        // -9223372036854775808ns is a valid Go duration, but negative.
        assert!(
            parse_duration("-9223372036854775808ns")
                .unwrap_err()
                .contains("negative")
        );
    }

    #[test]
    fn formats_short_forms() {
        let cases = [
            (0, "0s"),
            (1, "1µs"),
            (999, "999µs"),
            (1_500, "1.5ms"),
            (250_000, "250ms"),
            (1_500_000, "1.5s"),
            (90_000_000, "1m30s"),
            (5_400_000_000, "1h30m"),
            (3_600_000_000, "1h"),
            (7_200_500_000, "2h0.5s"),
            (1_000_001, "1.000001s"),
        ];
        for (us, s) in cases {
            assert_eq!(format_duration(us), s, "{us}");
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(us in 0..=MAX_US) {
            prop_assert_eq!(parse_duration(&format_duration(us)), Ok(us));
        }

        #[test]
        fn small_values_round_trip(us in 0u64..10_000_000_000) {
            prop_assert_eq!(parse_duration(&format_duration(us)), Ok(us));
        }

        #[test]
        fn random_strings_never_panic(s in ".{0,30}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn duration_like_strings_never_panic(s in "[-+0-9.nuµsmh]{0,30}") {
            let _ = parse_duration(&s);
        }
    }
}
