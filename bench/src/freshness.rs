//! Freshness: for a sample of accepted commands, the time from the 2xx answer until the change is visible
//! in the Postgres view (`projections.order_summary.version`) and in search (the document's `_version`
//! in a `_search` on the alias, so it counts only what a search can find, not a realtime GET).
//!
//! One poller per target asks for every pending order in one query every few milliseconds, so the
//! sample can be large without the probes themselves loading the system.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use std::time::Instant;

use serde::Deserialize;
use serde::Serialize;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::stats::Latencies;
use crate::stats::LatencySummary;

/// How often the Postgres view is polled.
const POSTGRES_POLL: Duration = Duration::from_millis(5);
/// How often the search index is polled.
const SEARCH_POLL: Duration = Duration::from_millis(10);
/// At most this many orders per poll.
const MAX_IDS_PER_POLL: usize = 500;
/// At most this many probes wait at once per target; more samples are skipped.
const MAX_PENDING: usize = 5_000;

#[derive(Debug, Clone, Copy)]
struct Probe {
    version: i64,
    since: Instant,
}

#[derive(Debug, Default)]
struct Target {
    pending: Mutex<HashMap<Uuid, Vec<Probe>>>,
    latencies: Mutex<Latencies>,
    skipped: AtomicU64,
    timed_out: AtomicU64,
    poll_errors: AtomicU64,
}

impl Target {
    fn track(&self, order_id: Uuid, probe: Probe) {
        let mut pending = self.pending.lock().expect("freshness lock is not poisoned");
        if pending.len() >= MAX_PENDING && !pending.contains_key(&order_id) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.entry(order_id).or_default().push(probe);
    }

    fn ids(&self) -> Vec<Uuid> {
        let pending = self.pending.lock().expect("freshness lock is not poisoned");
        pending.keys().take(MAX_IDS_PER_POLL).copied().collect()
    }

    /// Resolves the probes of every order seen at `seen` versions, and expires probes older than `max_wait`.
    fn resolve(&self, seen: &[(Uuid, i64)], at: Instant, max_wait: Duration) {
        let mut resolved = Vec::new();
        {
            let mut pending = self.pending.lock().expect("freshness lock is not poisoned");
            for (order_id, version) in seen {
                if let Some(probes) = pending.get_mut(order_id) {
                    probes.retain(|probe| {
                        let visible = probe.version <= *version;
                        if visible {
                            resolved.push(at.saturating_duration_since(probe.since));
                        }
                        !visible
                    });
                    if probes.is_empty() {
                        pending.remove(order_id);
                    }
                }
            }
            let mut expired = 0;
            pending.retain(|_, probes| {
                let before = probes.len();
                probes.retain(|probe| at.saturating_duration_since(probe.since) < max_wait);
                expired += (before - probes.len()) as u64;
                !probes.is_empty()
            });
            self.timed_out.fetch_add(expired, Ordering::Relaxed);
        }
        let mut latencies = self.latencies.lock().expect("freshness lock is not poisoned");
        for latency in resolved {
            latencies.record(latency);
        }
    }

    fn pending_count(&self) -> usize {
        self.pending.lock().expect("freshness lock is not poisoned").values().map(Vec::len).sum()
    }

    fn report(&self) -> TargetFreshness {
        TargetFreshness {
            latency: self.latencies.lock().expect("freshness lock is not poisoned").summary(),
            timed_out: self.timed_out.load(Ordering::Relaxed),
            unresolved: self.pending_count() as u64,
            skipped: self.skipped.load(Ordering::Relaxed),
            poll_errors: self.poll_errors.load(Ordering::Relaxed),
        }
    }
}

/// Freshness of one target as reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetFreshness {
    /// From the 2xx answer to visible.
    pub latency: LatencySummary,
    /// Probes that were not visible within the maximum wait.
    pub timed_out: u64,
    /// Probes still waiting when the run ended.
    pub unresolved: u64,
    /// Samples not taken because too many probes were waiting.
    pub skipped: u64,
    /// Polls that failed (target down or restarting).
    pub poll_errors: u64,
}

/// Freshness of both targets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FreshnessReport {
    /// Visible in `projections.order_summary`.
    pub postgres_view: TargetFreshness,
    /// Visible to a search on the `orders` alias.
    pub search: TargetFreshness,
}

/// The two pollers and their probes.
#[derive(Debug)]
pub(crate) struct Freshness {
    postgres: Arc<Target>,
    search: Arc<Target>,
    stop: Arc<AtomicBool>,
    pollers: Vec<JoinHandle<()>>,
}

impl Freshness {
    /// Starts the pollers. `pool` reaches the views; `search_url` is the `_search` URL of the alias.
    pub(crate) fn start(pool: PgPool, http: reqwest::Client, search_url: String, max_wait: Duration) -> Self {
        let postgres = Arc::new(Target::default());
        let search = Arc::new(Target::default());
        let stop = Arc::new(AtomicBool::new(false));
        let pollers = vec![
            tokio::spawn(poll_postgres(pool, postgres.clone(), stop.clone(), max_wait)),
            tokio::spawn(poll_search(http, search_url, search.clone(), stop.clone(), max_wait)),
        ];
        Self { postgres, search, stop, pollers }
    }

    /// Starts measuring: `version` of `order_id` was just acknowledged.
    pub(crate) fn track(&self, order_id: Uuid, version: i64) {
        let probe = Probe { version, since: Instant::now() };
        self.postgres.track(order_id, probe);
        self.search.track(order_id, probe);
    }

    /// Waits at most `settle` for the pending probes, stops the pollers and reports.
    pub(crate) async fn finish(self, settle: Duration) -> FreshnessReport {
        let deadline = Instant::now() + settle;
        while Instant::now() < deadline && self.postgres.pending_count() + self.search.pending_count() > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.stop.store(true, Ordering::Relaxed);
        for poller in self.pollers {
            let _ = poller.await;
        }
        FreshnessReport { postgres_view: self.postgres.report(), search: self.search.report() }
    }
}

async fn poll_postgres(pool: PgPool, target: Arc<Target>, stop: Arc<AtomicBool>, max_wait: Duration) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(POSTGRES_POLL).await;
        let ids = target.ids();
        if ids.is_empty() {
            continue;
        }
        let rows: Result<Vec<(Uuid, i64)>, sqlx::Error> =
            sqlx::query_as("SELECT order_id, version FROM projections.order_summary WHERE order_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&pool)
                .await;
        let at = Instant::now();
        match rows {
            Ok(rows) => target.resolve(&rows, at, max_wait),
            Err(_) => {
                target.poll_errors.fetch_add(1, Ordering::Relaxed);
                target.resolve(&[], at, max_wait);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[derive(Deserialize)]
struct SearchAnswer {
    hits: SearchHits,
}

#[derive(Deserialize)]
struct SearchHits {
    hits: Vec<SearchHit>,
}

#[derive(Deserialize)]
struct SearchHit {
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "_version")]
    version: i64,
}

async fn poll_search(
    http: reqwest::Client,
    search_url: String,
    target: Arc<Target>,
    stop: Arc<AtomicBool>,
    max_wait: Duration,
) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(SEARCH_POLL).await;
        let ids = target.ids();
        if ids.is_empty() {
            continue;
        }
        let body = serde_json::json!({
            "size": ids.len(),
            "_source": false,
            "version": true,
            "query": { "ids": { "values": ids } },
        });
        let answer = async {
            let response = http.post(&search_url).json(&body).send().await?.error_for_status()?;
            response.json::<SearchAnswer>().await
        }
        .await;
        let at = Instant::now();
        match answer {
            Ok(answer) => {
                let seen: Vec<(Uuid, i64)> = answer
                    .hits
                    .hits
                    .into_iter()
                    .filter_map(|hit| Uuid::parse_str(&hit.id).ok().map(|id| (id, hit.version)))
                    .collect();
                target.resolve(&seen, at, max_wait);
            }
            Err(_) => {
                target.poll_errors.fetch_add(1, Ordering::Relaxed);
                target.resolve(&[], at, max_wait);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
