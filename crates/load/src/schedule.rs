//! When open-loop requests arrive: pure arithmetic over [`Stage`]s, no clock and no I/O.
//!
//! A run is a list of stages, each a duration and a rate that is either held or ramped linearly.
//! The arrival times follow from the integral of the rate: an arrival happens each time the
//! integral grows by one unit (fixed spacing) or by an `Exp(1)` amount (a Poisson process; this is
//! the time-rescaling construction, exact even while the rate ramps). Rates of 0 produce idle
//! stretches, so `--stage 1m@0` keeps the run going without load.

use std::time::Duration;

/// One stretch of an open-loop run: `duration` at a rate going linearly from `from` to `to`
/// requests per second (`from == to` holds the rate).
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// How long the stage lasts; `None` means for ever (the run then ends by another limit).
    pub duration: Option<Duration>,
    /// Rate at the start of the stage, requests per second.
    pub from: f64,
    /// Rate at the end of the stage, requests per second (ignored for an endless stage).
    pub to: f64,
}

impl Stage {
    /// A stage holding `rate` for `duration` (`None`: for ever).
    pub fn hold(duration: Option<Duration>, rate: f64) -> Self {
        Self {
            duration,
            from: rate,
            to: rate,
        }
    }

    /// The rate at `offset` seconds into the stage.
    fn rate_at(&self, offset: f64) -> f64 {
        match self.duration {
            Some(d) if d.as_secs_f64() > 0.0 => {
                self.from + (self.to - self.from) * (offset / d.as_secs_f64()).clamp(0.0, 1.0)
            }
            _ => self.from,
        }
    }

    /// Rate change per second (0 for a held or endless stage).
    fn slope(&self) -> f64 {
        match self.duration {
            Some(d) if d.as_secs_f64() > 0.0 => (self.to - self.from) / d.as_secs_f64(),
            _ => 0.0,
        }
    }
}

/// How arrivals are spaced at a given rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrivals {
    /// Evenly: one every `1/rate` seconds.
    Fixed,
    /// A Poisson process: exponentially distributed gaps, reproducible from `seed`.
    Poisson {
        /// Seed of the pseudo-random generator.
        seed: u64,
    },
}

/// The arrival times of a run, in seconds from its start, in increasing order.
#[derive(Clone, Debug)]
pub struct Schedule {
    stages: Vec<Stage>,
    rng: Option<SplitMix64>,
    /// Index of the stage the cursor is in.
    stage: usize,
    /// Start time of that stage.
    stage_start: f64,
    /// Time of the previous arrival (or 0).
    cursor: f64,
    /// Integral of the rate still needed before the next arrival.
    need: f64,
}

impl Schedule {
    /// A schedule over `stages` with `arrivals` spacing.
    pub fn new(stages: Vec<Stage>, arrivals: Arrivals) -> Self {
        let mut rng = match arrivals {
            Arrivals::Fixed => None,
            Arrivals::Poisson { seed } => Some(SplitMix64(seed)),
        };
        // Fixed spacing starts half a gap in, so `d@r` yields exactly `d * r` arrivals.
        let need = rng.as_mut().map_or(0.5, SplitMix64::exp1);
        Self {
            stages,
            rng,
            stage: 0,
            stage_start: 0.0,
            cursor: 0.0,
            need,
        }
    }

    /// Total length of the stages, `None` if one of them is endless.
    pub fn total(&self) -> Option<Duration> {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The rate (requests per second) the stages ask for at `t` seconds from the start.
    pub fn rate_at(&self, t: f64) -> f64 {
        let mut start = 0.0;
        for stage in &self.stages {
            match stage.duration {
                Some(d) if t >= start + d.as_secs_f64() => start += d.as_secs_f64(),
                _ => return stage.rate_at(t - start),
            }
        }
        0.0
    }
}

impl Iterator for Schedule {
    type Item = f64;

    /// The next arrival time in seconds from the start, `None` once the stages are over.
    fn next(&mut self) -> Option<f64> {
        loop {
            let stage = self.stages.get(self.stage)?;
            let offset = self.cursor - self.stage_start;
            let rate = stage.rate_at(offset).max(0.0);
            let slope = stage.slope();
            let Some(length) = stage.duration.map(|d| d.as_secs_f64()) else {
                // Endless stage: a constant rate, or nothing ever again.
                if rate <= 0.0 {
                    return None;
                }
                return Some(self.arrive(self.need / rate));
            };
            let left = length - offset;
            let end_rate = stage.rate_at(length).max(0.0);
            let area = (rate + end_rate) / 2.0 * left;
            if area >= self.need && area > 0.0 {
                // Solve rate*d + slope/2*d^2 = need for d, in the form that stays stable when
                // slope is 0 or rate is 0.
                let root = (rate * rate + 2.0 * slope * self.need).max(0.0).sqrt();
                let gap = (2.0 * self.need / (rate + root)).min(left);
                return Some(self.arrive(gap));
            }
            self.need -= area;
            self.stage += 1;
            self.stage_start += length;
            self.cursor = self.stage_start;
        }
    }
}

impl Schedule {
    /// Moves the cursor `gap` seconds on, records an arrival there and draws the next need.
    fn arrive(&mut self, gap: f64) -> f64 {
        self.cursor += gap;
        self.need = self.rng.as_mut().map_or(1.0, SplitMix64::exp1);
        self.cursor
    }
}

/// A small, fast, seedable generator (SplitMix64); good enough for arrival gaps.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A sample of `Exp(1)`, by inversion of a uniform in (0, 1].
    fn exp1(&mut self) -> f64 {
        let uniform = ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64;
        -uniform.ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn fixed_rate_yields_duration_times_rate_evenly_spaced() {
        let times: Vec<f64> =
            Schedule::new(vec![Stage::hold(secs(2), 10.0)], Arrivals::Fixed).collect();
        assert_eq!(times.len(), 20);
        assert!((times[0] - 0.05).abs() < 1e-9);
        for pair in times.windows(2) {
            assert!((pair[1] - pair[0] - 0.1).abs() < 1e-9);
        }
    }

    #[test]
    fn idle_stage_produces_no_arrivals_but_counts_in_total() {
        let stages = vec![
            Stage::hold(secs(1), 4.0),
            Stage::hold(secs(3), 0.0),
            Stage::hold(secs(1), 2.0),
        ];
        let schedule = Schedule::new(stages, Arrivals::Fixed);
        assert_eq!(schedule.total(), secs(5));
        let times: Vec<f64> = schedule.collect();
        assert_eq!(times.len(), 6);
        assert!(times[..4].iter().all(|&t| t < 1.0));
        assert!(times[4..].iter().all(|&t| t >= 4.0));
    }

    #[test]
    fn ramp_follows_the_integral_of_the_rate() {
        // 0 -> 100 req/s over 10 s: 500 arrivals, a quarter of them in the first 70.7 % of the time.
        let times: Vec<f64> = Schedule::new(
            vec![Stage {
                duration: secs(10),
                from: 0.0,
                to: 100.0,
            }],
            Arrivals::Fixed,
        )
        .collect();
        assert_eq!(times.len(), 500);
        let first_half_count = times.iter().filter(|&&t| t < 10.0 / 2f64.sqrt()).count();
        assert!(
            (first_half_count as i64 - 250).abs() <= 1,
            "{first_half_count}"
        );
        assert!(times.windows(2).all(|w| w[1] > w[0]));
    }

    #[test]
    fn ramp_down_to_zero_ends() {
        let times: Vec<f64> = Schedule::new(
            vec![Stage {
                duration: secs(4),
                from: 50.0,
                to: 0.0,
            }],
            Arrivals::Fixed,
        )
        .collect();
        assert_eq!(times.len(), 100);
        assert!(times.iter().all(|&t| t <= 4.0));
    }

    #[test]
    fn poisson_has_the_right_mean_and_is_reproducible() {
        let stages = vec![Stage::hold(secs(100), 200.0)];
        let a: Vec<f64> = Schedule::new(stages.clone(), Arrivals::Poisson { seed: 7 }).collect();
        let b: Vec<f64> = Schedule::new(stages, Arrivals::Poisson { seed: 7 }).collect();
        assert_eq!(a, b);
        // 20 000 expected, standard deviation ~141.
        assert!((a.len() as i64 - 20_000).abs() < 600, "{}", a.len());
        // Gaps are exponential: their coefficient of variation is ~1 (0 for fixed spacing).
        let gaps: Vec<f64> = a.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        assert!((var.sqrt() / mean - 1.0).abs() < 0.05);
    }

    #[test]
    fn endless_stage_never_ends_unless_idle() {
        let mut s = Schedule::new(vec![Stage::hold(None, 1000.0)], Arrivals::Fixed);
        assert_eq!(s.total(), None);
        assert!((s.nth(9_999).unwrap() - 9.9995).abs() < 1e-6);
        assert_eq!(
            Schedule::new(vec![Stage::hold(None, 0.0)], Arrivals::Fixed).next(),
            None
        );
    }

    #[test]
    fn rate_at_walks_the_stages() {
        let s = Schedule::new(
            vec![
                Stage {
                    duration: secs(10),
                    from: 0.0,
                    to: 100.0,
                },
                Stage::hold(secs(5), 7.0),
            ],
            Arrivals::Fixed,
        );
        assert_eq!(s.rate_at(5.0), 50.0);
        assert_eq!(s.rate_at(12.0), 7.0);
        assert_eq!(s.rate_at(20.0), 0.0);
    }
}
