//! Summary statistics for sweeps over seeds: mean, sample standard deviation,
//! Student-t 95% confidence intervals and Welch's unequal-variance t-test.
//!
//! The t distribution is computed from the regularized incomplete beta function
//! (Numerical Recipes' continued fraction, Lanczos log-gamma), so any degrees of
//! freedom work, including Welch–Satterthwaite's non-integer ones. Every sum
//! runs in the order of its input slice, so results do not depend on threads.

/// Mean, sample standard deviation and 95% confidence half-width of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); 0 for n < 2.
    pub stddev: f64,
    /// Half-width of the 95% Student-t interval; 0 for n < 2 (no spread known).
    pub ci95: f64,
}

impl Summary {
    pub fn of(xs: &[f64]) -> Option<Summary> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Some(Summary {
                n,
                mean,
                stddev: 0.0,
                ci95: 0.0,
            });
        }
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        let stddev = var.sqrt();
        let ci95 = t_quantile(0.975, (n - 1) as f64) * stddev / (n as f64).sqrt();
        Some(Summary {
            n,
            mean,
            stddev,
            ci95,
        })
    }

    pub fn low(&self) -> f64 {
        self.mean - self.ci95
    }
    pub fn high(&self) -> f64 {
        self.mean + self.ci95
    }
}

/// Two-sided p-value of Welch's t-test that two samples have the same mean.
/// Identical constant samples give 1; different constant samples give 0.
pub fn welch_p(a: &Summary, b: &Summary) -> f64 {
    if a.n < 2 || b.n < 2 {
        return if a.mean == b.mean { 1.0 } else { f64::NAN };
    }
    let va = a.stddev * a.stddev / a.n as f64;
    let vb = b.stddev * b.stddev / b.n as f64;
    let se2 = va + vb;
    let diff = (a.mean - b.mean).abs();
    if se2 == 0.0 {
        return if diff == 0.0 { 1.0 } else { 0.0 };
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2
        / (va * va / (a.n - 1) as f64 + vb * vb / (b.n - 1) as f64).max(f64::MIN_POSITIVE);
    2.0 * t_sf(t, df)
}

/// P(T > t) for Student's t with `df` degrees of freedom, t ≥ 0.
pub fn t_sf(t: f64, df: f64) -> f64 {
    if t.is_infinite() {
        return 0.0;
    }
    0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// The `p` quantile (0.5 < p < 1) of Student's t with `df` degrees of freedom,
/// by bisection on [`t_sf`] (monotone, so 200 halvings reach full precision).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let target = 1.0 - p;
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while t_sf(hi, df) > target {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_sf(mid, df) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation, g = 7, n = 9 (accurate to ~1e-15 for x > 0.5).
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularized incomplete beta I_x(a, b).
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Continued fraction for the incomplete beta (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..1000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Two-sided 95% critical values from any t table.
        for (df, t) in [
            (1.0, 12.706),
            (2.0, 4.303),
            (4.0, 2.776),
            (9.0, 2.262),
            (19.0, 2.093),
            (30.0, 2.042),
            (1000.0, 1.962),
        ] {
            let q = t_quantile(0.975, df);
            assert!((q - t).abs() < 1e-3, "df {df}: {q} vs {t}");
        }
    }

    #[test]
    fn summary_of_a_small_sample() {
        // 1, 2, 3, 4: mean 2.5, s² = (2.25+0.25+0.25+2.25)/3 = 5/3, s = 1.29099;
        // half-width = t(0.975, 3) · s / √4 = 3.18245 · 1.29099 / 2 = 2.05426.
        let s = Summary::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(s.n, 4);
        assert_eq!(s.mean, 2.5);
        assert!((s.stddev - 1.290_994).abs() < 1e-6);
        assert!((s.ci95 - 2.054_26).abs() < 1e-4, "{}", s.ci95);
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[7.0]).unwrap().ci95, 0.0);
    }

    #[test]
    fn welch_separates_clear_differences_only() {
        let a = Summary::of(&[10.0, 11.0, 10.5, 10.2, 10.8]).unwrap();
        let b = Summary::of(&[20.0, 21.0, 20.5, 20.2, 20.8]).unwrap();
        assert!(welch_p(&a, &b) < 1e-6);
        let c = Summary::of(&[10.1, 11.1, 10.4, 10.3, 10.7]).unwrap();
        assert!(welch_p(&a, &c) > 0.5);
        let k = Summary::of(&[3.0, 3.0, 3.0]).unwrap();
        assert_eq!(welch_p(&k, &k), 1.0);
        let k2 = Summary::of(&[4.0, 4.0, 4.0]).unwrap();
        assert_eq!(welch_p(&k, &k2), 0.0);
    }
}
