//! Progress of long jobs on standard error: an indicatif bar (events done, events/s, ETA) on a terminal,
//! otherwise one plain line every N events so logs of unattended runs still show the job moving.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{count, duration, rate};

/// The progress of one job over a known (estimated) number of events.
#[derive(Debug)]
pub(crate) struct Progress {
    label: String,
    unit: &'static str,
    total: u64,
    bar: Option<ProgressBar>,
    every: u64,
    next_line: u64,
    started: Instant,
}

impl Progress {
    /// A bar when standard error is a terminal, plain lines every `every` events otherwise (0: no lines).
    pub(crate) fn new(label: &str, total: u64, every: u64) -> Self {
        Self::counting("events", label, total, every)
    }

    /// Like [`Progress::new`] for another unit (`orders`).
    pub(crate) fn counting(unit: &'static str, label: &str, total: u64, every: u64) -> Self {
        let bar = console::Term::stderr().is_term().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(8));
            let style = ProgressStyle::with_template(
                &format!("{{prefix:>14.bold}} [{{bar:32.cyan/blue}}] {{human_pos}}/{{human_len}} {unit}  {{per_sec:>12}}  ETA {{eta}}"),
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_owned());
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Self { label: label.to_owned(), unit, total, bar, every, next_line: every, started: Instant::now() }
    }

    /// Events done so far.
    pub(crate) fn set(&mut self, done: u64) {
        if done > self.total {
            self.total = done;
            if let Some(bar) = &self.bar {
                bar.set_length(done);
            }
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        if self.every == 0 || done < self.next_line {
            return;
        }
        while self.next_line <= done {
            self.next_line += self.every;
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let per_second = done as f64 / elapsed.max(1e-9);
        let remaining = self.total.saturating_sub(done) as f64 / per_second.max(1e-9);
        eprintln!(
            "[{}] {}/{} {} ({:.0}%), {}, ETA {}",
            self.label,
            count(done),
            count(self.total),
            self.unit,
            100.0 * done as f64 / self.total.max(1) as f64,
            rate(per_second),
            duration(remaining),
        );
    }

    /// Clears the bar (the caller prints the summary).
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
