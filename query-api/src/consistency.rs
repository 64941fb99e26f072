//! Read-your-writes: the client's consistency token (query parameter `consistency_token` or header
//! `X-Consistency-Token`, `<xid8>:<position>` as the command API returned it), and the wait until the
//! projection that serves the route has reached it.
//!
//! One watcher per service polls the two projection checkpoints (every 20 ms while a request waits, every
//! 250 ms otherwise) and publishes them on a `watch` channel, so a thousand waiting requests cost one query
//! per tick. Every response names the checkpoint it was read at (or later) in `X-Consistency-Token`: the data
//! is read after the checkpoint, and projections only move forward, so the body reflects at least that token.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::Weak;
use std::time::Duration;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::response::Response;
use event_store::ConsistencyToken;
use event_store::LogPosition;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::sync::Notify;

use crate::error::database_error;
use crate::error::ApiError;
use crate::params::QueryParams;
use crate::telemetry;

/// Header that carries a consistency token in both directions.
pub const CONSISTENCY_TOKEN_HEADER: &str = "x-consistency-token";
/// Query parameter that carries a consistency token.
pub const CONSISTENCY_TOKEN_PARAMETER: &str = "consistency_token";

/// Poll interval while at least one request waits.
const ACTIVE_POLL: Duration = Duration::from_millis(20);
/// Poll interval while nobody waits (keeps the header value fresh).
const IDLE_POLL: Duration = Duration::from_millis(250);

/// The projection whose checkpoint a route depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    /// The four Postgres views (`projections.checkpoints` row `order_views`).
    Views,
    /// The Elasticsearch index (`projections.checkpoints` row `order_search`; it moves only after a refresh).
    Search,
}

impl Projection {
    /// The checkpoint name, as the projections crate stores it.
    pub fn checkpoint_name(self) -> &'static str {
        match self {
            Self::Views => "order_views",
            Self::Search => "order_search",
        }
    }
}

/// The token a request asked for, if any (the later one when both the header and the parameter are given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RequestedToken(pub(crate) Option<ConsistencyToken>);

impl<S: Send + Sync> FromRequestParts<S> for RequestedToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = QueryParams::from_request_parts(parts, state).await?;
        let from_query = params.get(CONSISTENCY_TOKEN_PARAMETER).map(parse_token).transpose()?;
        let from_header = match parts.headers.get(CONSISTENCY_TOKEN_HEADER) {
            None => None,
            Some(value) => {
                let text = value.to_str().map_err(|_| {
                    ApiError::InvalidConsistencyToken("the X-Consistency-Token header is not ASCII".to_owned())
                })?;
                Some(parse_token(text)?)
            }
        };
        Ok(Self(from_query.max(from_header)))
    }
}

fn parse_token(text: &str) -> Result<ConsistencyToken, ApiError> {
    text.parse::<LogPosition>().map_err(|_| {
        let shown: String = text.chars().take(64).collect();
        ApiError::InvalidConsistencyToken(format!(
            "the consistency token {shown:?} is not of the form <transaction id>:<position>, as the command API returns it"
        ))
    })
}

/// Sets `X-Consistency-Token` on a response.
pub(crate) fn set_token_header(response: &mut Response, token: LogPosition) {
    if let Ok(value) = HeaderValue::from_str(&token.to_string()) {
        response.headers_mut().insert(CONSISTENCY_TOKEN_HEADER, value);
    }
}

/// The last seen checkpoints of both projections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Seen {
    views: LogPosition,
    search: LogPosition,
    /// False until the first successful read.
    loaded: bool,
}

impl Seen {
    fn of(&self, projection: Projection) -> LogPosition {
        match projection {
            Projection::Views => self.views,
            Projection::Search => self.search,
        }
    }
}

/// The shared checkpoint watcher of one service instance.
pub(crate) struct Checkpoints {
    pool: PgPool,
    wait: Duration,
    seen: watch::Sender<Seen>,
    waiters: AtomicUsize,
    wake: Notify,
    poller: OnceLock<()>,
}

impl Checkpoints {
    pub(crate) fn new(pool: PgPool, wait: Duration) -> Arc<Self> {
        Arc::new(Self {
            pool,
            wait,
            seen: watch::Sender::new(Seen::default()),
            waiters: AtomicUsize::new(0),
            wake: Notify::new(),
            poller: OnceLock::new(),
        })
    }

    /// Reads both checkpoints now and publishes them (never moving one backwards).
    async fn refresh(&self) -> Result<Seen, sqlx::Error> {
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT name, transaction_id, position FROM projections.checkpoints WHERE name = ANY($1)")
                .bind([Projection::Views.checkpoint_name(), Projection::Search.checkpoint_name()])
                .fetch_all(&self.pool)
                .await?;
        let mut read = Seen { loaded: true, ..Seen::default() };
        for (name, transaction_id, position) in rows {
            let checkpoint = LogPosition::new(u64::try_from(transaction_id).unwrap_or(0), position);
            if name == Projection::Views.checkpoint_name() {
                read.views = checkpoint;
            } else {
                read.search = checkpoint;
            }
        }
        self.seen.send_if_modified(|seen| {
            let merged = Seen { views: seen.views.max(read.views), search: seen.search.max(read.search), loaded: true };
            let changed = merged != *seen;
            *seen = merged;
            changed
        });
        let seen = *self.seen.borrow();
        metrics::gauge!(telemetry::CHECKPOINT_POSITION, "projection" => "order_views").set(seen.views.position as f64);
        metrics::gauge!(telemetry::CHECKPOINT_POSITION, "projection" => "order_search")
            .set(seen.search.position as f64);
        Ok(seen)
    }

    /// Starts the poller on first use (inside the runtime that serves requests).
    fn ensure_polling(self: &Arc<Self>) {
        self.poller.get_or_init(|| {
            let weak = Arc::downgrade(self);
            tokio::spawn(poll(weak));
        });
    }

    /// The checkpoint a response may claim: the newest seen, read from Postgres when nothing was seen yet.
    pub(crate) async fn current(self: &Arc<Self>, projection: Projection) -> Result<LogPosition, ApiError> {
        self.ensure_polling();
        let seen = *self.seen.borrow();
        if seen.loaded {
            return Ok(seen.of(projection));
        }
        let seen = self.refresh().await.map_err(|error| database_error(error, "reading the projection checkpoints"))?;
        Ok(seen.of(projection))
    }

    /// Waits until `projection` covers `token` (at most the configured wait), returning the checkpoint
    /// reached; without a token it returns the current checkpoint at once.
    pub(crate) async fn reach(
        self: &Arc<Self>,
        projection: Projection,
        token: Option<ConsistencyToken>,
    ) -> Result<LogPosition, ApiError> {
        let current = self.current(projection).await?;
        let Some(token) = token else { return Ok(current) };
        if current.covers(&token) {
            return Ok(current);
        }
        let started = Instant::now();
        // The cached value may be up to one idle tick old: ask Postgres before waiting.
        let fresh = self
            .refresh()
            .await
            .map_err(|error| database_error(error, "reading the projection checkpoints"))?
            .of(projection);
        if fresh.covers(&token) {
            record_wait(projection, "reached", started);
            return Ok(fresh);
        }
        let _waiting = WaiterGuard::register(self);
        let mut receiver = self.seen.subscribe();
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            let reached = receiver.borrow_and_update().of(projection);
            if reached.covers(&token) {
                record_wait(projection, "reached", started);
                return Ok(reached);
            }
            match tokio::time::timeout_at(deadline, receiver.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => {
                    record_wait(projection, "timed_out", started);
                    metrics::counter!(telemetry::CONSISTENCY_TIMEOUTS, "projection" => projection.checkpoint_name())
                        .increment(1);
                    let checkpoint = self.seen.borrow().of(projection);
                    return Err(ApiError::NotYetConsistent {
                        projection: projection.checkpoint_name(),
                        checkpoint,
                        token,
                    });
                }
            }
        }
    }
}

fn record_wait(projection: Projection, outcome: &'static str, started: Instant) {
    metrics::histogram!(telemetry::CONSISTENCY_WAIT, "projection" => projection.checkpoint_name(), "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
}

/// Counts a waiting request while it lives, so the poller runs at the fast pace.
struct WaiterGuard<'a> {
    checkpoints: &'a Checkpoints,
}

impl<'a> WaiterGuard<'a> {
    fn register(checkpoints: &'a Checkpoints) -> Self {
        checkpoints.waiters.fetch_add(1, Ordering::SeqCst);
        checkpoints.wake.notify_one();
        Self { checkpoints }
    }
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        self.checkpoints.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The poller: ends when the service's state is dropped.
async fn poll(weak: Weak<Checkpoints>) {
    loop {
        let Some(checkpoints) = weak.upgrade() else { return };
        if let Err(error) = checkpoints.refresh().await {
            tracing::debug!(error = %error, "reading the projection checkpoints failed; retrying");
        }
        let pace = if checkpoints.waiters.load(Ordering::SeqCst) > 0 { ACTIVE_POLL } else { IDLE_POLL };
        let sleep = tokio::time::sleep(pace);
        let woken = async {
            if pace == IDLE_POLL {
                checkpoints.wake.notified().await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = sleep => {}
            () = woken => {}
        }
        drop(checkpoints);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tokens_are_refused_and_good_ones_parse() {
        assert_eq!(parse_token("7432:1051").expect("parses"), LogPosition::new(7432, 1051));
        for text in ["", "7432", "a:b", "1:-1", "1:2:3", "'; DROP TABLE x; --"] {
            assert!(matches!(parse_token(text), Err(ApiError::InvalidConsistencyToken(_))), "{text}");
        }
    }

    #[test]
    fn checkpoint_names_match_the_projections() {
        assert_eq!(Projection::Views.checkpoint_name(), "order_views");
        assert_eq!(Projection::Search.checkpoint_name(), "order_search");
    }
}
