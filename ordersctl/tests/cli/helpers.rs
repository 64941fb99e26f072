//! Shared set-up: the test database's URL for the binary, a per-test search alias, seeding, the live
//! projectors, running the binary, and clean-up of the test's indices.

use std::process::Output;
use std::time::{Duration, Instant};

use event_store::EventStore;
use ordersctl::{seed_orders, SeedOptions, SeedReport};
use projections::{Projector, SearchIndex};
use sqlx::PgPool;
use uuid::Uuid;

/// One test's environment: its database and its search alias (`orders-test-<uuid>`).
pub(crate) struct TestEnv {
    pub(crate) pool: PgPool,
    pub(crate) store: EventStore,
    pub(crate) database_url: String,
    pub(crate) elasticsearch_url: String,
    pub(crate) alias: String,
    pub(crate) index_prefix: String,
}

impl TestEnv {
    /// Migrates the projections schema (the test macro ran the event store's) and names the test's alias.
    pub(crate) async fn new(pool: PgPool) -> Self {
        projections::MIGRATOR.run(&pool).await.expect("the projections migrations run");
        let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set (eval \"$(bash scripts/stack env)\")");
        let database = pool.connect_options().get_database().expect("the test pool names its database").to_owned();
        let database_url = with_database(&base, &database);
        let elasticsearch_url =
            std::env::var("ELASTICSEARCH_URL").unwrap_or_else(|_| "http://127.0.0.1:19200".to_owned());
        let name = format!("orders-test-{}", Uuid::new_v4().simple());
        Self {
            store: EventStore::new(pool.clone()),
            pool,
            database_url,
            elasticsearch_url,
            index_prefix: format!("{name}-v1"),
            alias: name,
        }
    }

    /// The live search index of this test.
    pub(crate) fn search_index(&self) -> SearchIndex {
        SearchIndex::new(&self.elasticsearch_url, &self.alias, &self.index_prefix).expect("a valid Elasticsearch URL")
    }

    /// Seeds `orders` random order histories through the event store API.
    pub(crate) async fn seed(&self, orders: u64, seed: u64) -> SeedReport {
        let options = SeedOptions { orders, concurrency: 8, seed, days: 30 };
        let report = seed_orders(&self.store, &options, |_| {}).await.expect("seeding succeeds");
        self.settle().await;
        report
    }

    /// Waits until every stored event is visible to gap-safe readers: any writing transaction still open
    /// in the cluster (another test's, for instance) holds the global log back until it ends.
    pub(crate) async fn settle(&self) {
        let visible = eventually(Duration::from_secs(60), || async {
            let pending: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM event_store.events WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())",
            )
            .fetch_one(&self.pool)
            .await
            .expect("the events table is readable");
            pending == 0
        })
        .await;
        assert!(visible, "an open transaction held the global log back for a minute");
    }

    /// The order with the oldest event (one that was in the views before anything else happened).
    pub(crate) async fn seed_report_first_order(&self) -> Uuid {
        sqlx::query_scalar("SELECT stream_id FROM event_store.events ORDER BY global_position LIMIT 1")
            .fetch_one(&self.pool)
            .await
            .expect("the test seeded events")
    }

    /// Brings the live Postgres views up to the head, as the projector service would.
    pub(crate) async fn project_views(&self) {
        projections::catch_up(&Projector::order_views(self.pool.clone()), None).await.expect("the live views catch up");
    }

    /// Brings the live search index up to the head, as the projector service would.
    pub(crate) async fn project_search(&self) {
        let projector = Projector::order_search(self.pool.clone(), self.search_index());
        projector.prepare().await.expect("the search alias is created");
        projections::catch_up(&projector, None).await.expect("the live search index catches up");
    }

    /// The command line arguments that point the library's `run` at this test's services.
    pub(crate) fn args<'a>(&'a self, command: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "ordersctl",
            "--color",
            "never",
            "--database-url",
            &self.database_url,
            "--elasticsearch-url",
            &self.elasticsearch_url,
            "--search-alias",
            &self.alias,
            "--search-index-prefix",
            &self.index_prefix,
        ];
        args.extend_from_slice(command);
        args
    }

    /// The built binary, pointed at this test's services.
    pub(crate) fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ordersctl"));
        command
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("ELASTICSEARCH_URL", &self.elasticsearch_url)
            .env("ELASTICSEARCH_ALIAS", &self.alias)
            .env("ELASTICSEARCH_INDEX_PREFIX", &self.index_prefix)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        command
    }

    /// Runs the binary to the end.
    pub(crate) async fn ordersctl(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().await.expect("the ordersctl binary starts");
        Run(output)
    }

    /// Deletes the test's indices (the alias goes with them).
    pub(crate) async fn cleanup(&self) {
        let index = self.search_index();
        let response = index
            .client()
            .indices()
            .delete(elasticsearch::indices::IndicesDeleteParts::Index(&[&format!("{}*", self.alias)]))
            .send()
            .await
            .expect("Elasticsearch answers");
        assert!(response.status_code().is_success(), "deleting the test's indices: {}", response.status_code());
    }
}

/// The outcome of one run of the binary.
pub(crate) struct Run(pub(crate) Output);

impl Run {
    pub(crate) fn status(&self) -> Option<i32> {
        self.0.status.code()
    }

    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Asserts the exit status, showing both streams otherwise.
    pub(crate) fn expect_status(self, expected: i32) -> Self {
        assert_eq!(
            self.status(),
            Some(expected),
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.0.stdout)
            .unwrap_or_else(|error| panic!("stdout is JSON ({error}): {}", self.stdout()))
    }
}

/// `postgres://user:password@host:port/<database>` from a URL naming another database.
pub(crate) fn with_database(base: &str, database: &str) -> String {
    let without_query = base.split('?').next().unwrap_or(base);
    let (server, _) = without_query.rsplit_once('/').expect("DATABASE_URL has a database path");
    format!("{server}/{database}")
}

/// Polls `condition` until it holds or `within` has passed.
pub(crate) async fn eventually<F, Fut>(within: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// The checkpoint position of `name` (0 when there is none).
pub(crate) async fn checkpoint_position(pool: &PgPool, name: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT position FROM projections.checkpoints WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
        .expect("the checkpoints table is readable")
        .unwrap_or(0)
}
