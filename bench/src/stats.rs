//! Figures: latency histograms kept in microseconds and summarised as percentiles in milliseconds,
//! rates, and the ratio against the raw-insert baseline. Pure arithmetic, no IO.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Deserialize;
use serde::Serialize;

/// The largest latency a histogram holds: ten minutes (larger values are clamped to it).
const MAX_MICROS: u64 = 600_000_000;

/// A latency histogram with microsecond resolution and three significant figures.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, MAX_MICROS, 3)
                .expect("1 µs to 10 min with 3 figures is a valid histogram"),
        }
    }

    /// Records one latency (at least 1 µs, at most ten minutes).
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(MAX_MICROS).clamp(1, MAX_MICROS);
        // The value is within the bounds, so recording cannot fail.
        let _ = self.histogram.record(micros);
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Latencies) {
        let _ = self.histogram.add(&other.histogram);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Count, mean and the 50th, 95th and 99th percentiles and maximum, in milliseconds.
    pub fn summary(&self) -> LatencySummary {
        if self.histogram.is_empty() {
            return LatencySummary::default();
        }
        let millis = |micros: u64| micros as f64 / 1_000.0;
        LatencySummary {
            count: self.histogram.len(),
            mean_ms: round3(self.histogram.mean() / 1_000.0),
            p50_ms: round3(millis(self.histogram.value_at_quantile(0.50))),
            p95_ms: round3(millis(self.histogram.value_at_quantile(0.95))),
            p99_ms: round3(millis(self.histogram.value_at_quantile(0.99))),
            max_ms: round3(millis(self.histogram.max())),
        }
    }
}

/// A latency distribution as reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Arithmetic mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest value.
    pub max_ms: f64,
}

/// `count` per second over `elapsed` (0 for an empty interval).
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds <= 0.0 {
        return 0.0;
    }
    round3(count as f64 / seconds)
}

/// Commands per second divided by raw inserts per second: how much of a bare Postgres insert rate the
/// whole command path achieves (`None` when the baseline did not run).
pub fn ratio(commands_per_second: f64, inserts_per_second: f64) -> Option<f64> {
    (inserts_per_second > 0.0).then(|| round3(commands_per_second / inserts_per_second))
}

fn round3(value: f64) -> f64 {
    (value * 1_000.0).round() / 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_thousand_milliseconds_are_where_they_should_be() {
        let mut latencies = Latencies::new();
        for millis in 1..=1_000 {
            latencies.record(Duration::from_millis(millis));
        }
        let summary = latencies.summary();
        assert_eq!(summary.count, 1_000);
        // Three significant figures: each value is within 0.1 % of the exact percentile.
        assert!((summary.p50_ms - 500.0).abs() <= 0.5, "{summary:?}");
        assert!((summary.p95_ms - 950.0).abs() <= 1.0, "{summary:?}");
        assert!((summary.p99_ms - 990.0).abs() <= 1.0, "{summary:?}");
        assert!((summary.max_ms - 1_000.0).abs() <= 1.0, "{summary:?}");
        assert!((summary.mean_ms - 500.5).abs() <= 0.5, "{summary:?}");
    }

    #[test]
    fn merging_adds_the_counts_and_an_empty_histogram_summarises_to_zero() {
        let mut first = Latencies::new();
        first.record(Duration::from_micros(10));
        let mut second = Latencies::new();
        second.record(Duration::from_secs(2));
        second.record(Duration::from_secs(3_600));
        first.merge(&second);
        assert_eq!(first.count(), 3);
        assert!((first.summary().max_ms - 600_000.0).abs() < 600.0, "clamped to ten minutes");
        assert_eq!(Latencies::new().summary(), LatencySummary::default());
    }

    #[test]
    fn rates_and_the_baseline_ratio_are_computed_per_second() {
        assert_eq!(per_second(500, Duration::from_secs(4)), 125.0);
        assert_eq!(per_second(1, Duration::ZERO), 0.0);
        assert_eq!(ratio(125.0, 500.0), Some(0.25));
        assert_eq!(ratio(125.0, 0.0), None);
    }
}
