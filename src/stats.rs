//! Small-sample statistics and seed derivation shared by sweeps and validation: the
//! mean, sample standard deviation and Student-t 95 % confidence half-width of a
//! sample, the t quantile behind it, and the SplitMix64 derivation of a run's seed
//! from the scenario's seed, the grid point and the replication.

/// SplitMix64's output function (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of one run: `splitmix64(splitmix64(splitmix64(seed) ^ point) ^ rep) >> 1`
/// (63 bits, like scenario seeds). Depends on nothing else.
pub fn derive_seed(seed: u64, point: usize, replication: u32) -> u64 {
    splitmix64(splitmix64(splitmix64(seed) ^ point as u64) ^ u64::from(replication)) >> 1
}

/// Mean, sample standard deviation and 95 % confidence half-width (Student t) of a
/// sample; `None` for the parts a sample that small cannot give.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Sample size.
    pub n: usize,
    /// Mean (NaN if empty).
    pub mean: f64,
    /// Sample standard deviation, divisor n - 1 (NaN if n < 2).
    pub sd: f64,
    /// `t(0.975, n - 1) * sd / sqrt(n)` (NaN if n < 2).
    pub ci95: f64,
}

/// [`Stats`] of a sample.
pub fn stats(xs: &[f64]) -> Stats {
    let n = xs.len();
    if n == 0 {
        return Stats {
            n,
            mean: f64::NAN,
            sd: f64::NAN,
            ci95: f64::NAN,
        };
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Stats {
            n,
            mean,
            sd: f64::NAN,
            ci95: f64::NAN,
        };
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    Stats {
        n,
        mean,
        sd,
        ci95: t975(n - 1) * sd / (n as f64).sqrt(),
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom: the standard table
/// (to 9 digits) for df 1 to 30; above, the Cornish-Fisher expansion around the
/// normal quantile (Abramowitz & Stegun 26.7.5, four terms; error below 1e-6).
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706204736,
        4.302652730,
        3.182446305,
        2.776445105,
        2.570581836,
        2.446911851,
        2.364624252,
        2.306004135,
        2.262157163,
        2.228138852,
        2.200985160,
        2.178812830,
        2.160368656,
        2.144786688,
        2.131449546,
        2.119905299,
        2.109815578,
        2.100922040,
        2.093024054,
        2.085963447,
        2.079613845,
        2.073873068,
        2.068657610,
        2.063898562,
        2.059538553,
        2.055529439,
        2.051830516,
        2.048407142,
        2.045229642,
        2.042272456,
    ];
    if df == 0 {
        return f64::NAN;
    }
    if df <= 30 {
        return TABLE[df - 1];
    }
    let z: f64 = 1.959_963_984_540_054;
    let n = df as f64;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * n)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * n * n)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * n.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * n.powi(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_of_a_small_sample_by_hand() {
        // Sample 1, 2, 3, 4, 5: mean 3; squared deviations 4+1+0+1+4 = 10, variance
        // 10/4 = 2.5, sd = sqrt(2.5) = 1.5811388; se = sd/sqrt(5) = 0.7071068;
        // t(0.975, 4) = 2.7764451 (table), half-width = 1.9632432.
        let s = stats(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.n, 5);
        assert!((s.mean - 3.0).abs() < 1e-12);
        assert!((s.sd - 1.581_138_8).abs() < 1e-6);
        assert!((s.ci95 - 1.963_243_2).abs() < 1e-6, "{}", s.ci95);
        // Two values 10 and 14: mean 12, sd = sqrt(8) = 2.8284271, se = 2,
        // t(0.975, 1) = 12.7062047, half-width = 25.4124095.
        let s = stats(&[10.0, 14.0]);
        assert!((s.ci95 - 25.412_409_5).abs() < 1e-6);
        // One value: a mean, no spread.
        let s = stats(&[7.0]);
        assert_eq!(s.mean, 7.0);
        assert!(s.sd.is_nan() && s.ci95.is_nan());
    }

    #[test]
    fn t_quantile_above_the_table() {
        // Published t(0.975) values: df 40 -> 2.021075, df 60 -> 2.000298,
        // df 120 -> 1.979930; and the expansion must meet the table at df 30.
        for (df, t) in [(40, 2.021_075), (60, 2.000_298), (120, 1.979_930)] {
            assert!((t975(df) - t).abs() < 2e-6, "df {df}: {}", t975(df));
        }
        let z: f64 = 1.959_963_984_540_054;
        let n = 30.0;
        let at30 = z + (z.powi(3) + z) / (4.0 * n);
        assert!((at30 - t975(30)).abs() < 4e-3);
    }

    #[test]
    fn seeds_depend_on_point_and_replication_only() {
        // SplitMix64 reference: the first output of a generator seeded with 0 is
        // 0xE220A8397B1DCDAF (Vigna's splitmix64.c: state += golden gamma, then mix).
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        let a = derive_seed(7, 3, 1);
        assert_eq!(a, derive_seed(7, 3, 1));
        assert_ne!(a, derive_seed(7, 3, 2));
        assert_ne!(a, derive_seed(7, 4, 1));
        assert_ne!(a, derive_seed(8, 3, 1));
        assert!(a < 1 << 63);
    }
}
