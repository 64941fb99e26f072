//! Zero-downtime rebuilds: readers never see a smaller or inconsistent view while commands keep arriving,
//! and a rebuild killed with SIGKILL leaves the live view serving and a rerun ends like a clean rebuild.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use ordersctl::{run, table_checksums, Cli, Outcome};
use projections::{Projector, ViewTables};
use sqlx::PgPool;

use crate::helpers::{checkpoint_position, eventually, TestEnv};

/// What one poll of the live view saw, in one statement (one snapshot).
async fn view_counts(pool: &PgPool) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM projections.order_summary), \
                (SELECT count(*) FROM projections.order_lines), \
                (SELECT coalesce(sum(line_count), 0)::bigint FROM projections.order_summary)",
    )
    .fetch_one(pool)
    .await
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_rebuild_while_commands_keep_arriving_never_shows_readers_a_smaller_or_partial_view(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    env.seed(300, 11).await;
    env.project_views().await;
    let stop = Arc::new(AtomicBool::new(false));

    // Commands keep arriving, and the live projector keeps applying them.
    let writer = {
        let (store, stop) = (env.store.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut round = 100;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let options = ordersctl::SeedOptions { orders: 5, concurrency: 2, seed: round, days: 30 };
                ordersctl::seed_orders(&store, &options, |_| {}).await.expect("appending while rebuilding succeeds");
            }
        })
    };
    let projector = {
        let (pool, stop) = (env.pool.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let live = Projector::order_views(pool);
            while !stop.load(Ordering::Relaxed) {
                projections::catch_up(&live, None).await.expect("the live projector keeps working");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    // A reader polls the live tables the query API reads.
    let reader = {
        let (pool, stop) = (env.pool.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut most_orders_seen = 0;
            let mut polls = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                let (orders, lines, line_count_sum) =
                    view_counts(&pool).await.expect("the live view answers throughout");
                assert!(orders >= most_orders_seen, "the view shrank from {most_orders_seen} to {orders} orders");
                assert_eq!(lines, line_count_sum, "order_lines and order_summary disagree: a partial view");
                most_orders_seen = orders;
                polls += 1;
                tokio::task::yield_now().await;
            }
            (polls, most_orders_seen)
        })
    };

    // And the query API keeps answering from the same tables, as the read-only role it runs as.
    let (api_address, api_shutdown, api_server) = serve_query_api(&env).await;
    let known_order = env.seed_report_first_order().await;
    let api_poller = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut requests = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                for path in [format!("/orders/{known_order}"), "/orders".to_owned()] {
                    let response =
                        http.get(format!("{api_address}{path}")).send().await.expect("the query API answers");
                    assert_eq!(response.status().as_u16(), 200, "GET {path} during the rebuild");
                    requests += 1;
                }
            }
            requests
        })
    };

    tokio::time::sleep(Duration::from_millis(200)).await;
    let cli = Cli::try_parse_from(env.args(&["projections", "rebuild", "order_views"])).expect("valid arguments");
    assert_eq!(run(cli).await.expect("the rebuild succeeds"), Outcome::Clean);
    tokio::time::sleep(Duration::from_millis(200)).await;

    stop.store(true, Ordering::Relaxed);
    writer.await.expect("the writer finishes");
    projector.await.expect("the projector finishes");
    let (polls, orders_seen) = reader.await.expect("the reader never saw a smaller or partial view");
    assert!(polls > 20, "the reader polled only {polls} times");
    assert!(orders_seen > 300, "the reader saw no new orders arriving ({orders_seen})");
    let requests = api_poller.await.expect("the query API never failed a request during the rebuild");
    assert!(requests > 20, "only {requests} requests reached the query API");
    let _ = api_shutdown.send(());
    api_server.await.expect("the query API task ends").expect("the query API shuts down cleanly");

    // After the swap the live projector carried on in the rebuilt tables: they equal a rebuild from scratch.
    env.project_views().await;
    let verify = Cli::try_parse_from(env.args(&["projections", "verify", "order_views"])).expect("valid arguments");
    assert_eq!(run(verify).await.expect("the verification runs"), Outcome::Clean);
    let retired: Option<String> = sqlx::query_scalar("SELECT to_regclass('projections.order_summary_retired')::text")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(retired, None, "the old copy is dropped after the swap");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_rebuild_killed_mid_way_leaves_the_live_view_serving_and_a_rerun_ends_like_a_clean_rebuild(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    // More than one batch of 10,000 events, so the kill lands between two batches of the fill.
    let seeded = env.seed(1_400, 21).await;
    assert!(seeded.events > 10_000, "only {} events seeded", seeded.events);
    env.project_views().await;
    let before = live_checksums(&env.pool).await;

    let mut rebuild = env
        .command(&["projections", "rebuild", "order_views", "--throttle-ms", "60000"])
        .spawn()
        .expect("the binary starts");
    let filling = eventually(Duration::from_secs(60), || async {
        checkpoint_position(&env.pool, "order_views_rebuild").await > 0
    })
    .await;
    assert!(filling, "the rebuild did not commit its first batch");
    rebuild.start_kill().expect("SIGKILL is delivered");
    let status = rebuild.wait().await.expect("the killed process is reaped");
    assert!(!status.success(), "the rebuild was killed, not finished");

    // The live view is untouched and still answers; the shadow copy is half full.
    assert_eq!(live_checksums(&env.pool).await, before, "the kill changed the live view");
    let shadow_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM projections.order_summary_rebuild")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(shadow_rows > 0 && shadow_rows < seeded.orders as i64, "the shadow copy holds {shadow_rows} orders");
    let status = env.ordersctl(&["projections", "status", "--sample-ms", "0"]).await.expect_status(0);
    assert!(
        status.stdout().contains("rebuild interrupted"),
        "status shows the interrupted rebuild:\n{}",
        status.stdout()
    );

    // A rerun starts clean and ends in the state of an uninterrupted rebuild.
    let rerun = env.ordersctl(&["projections", "rebuild", "order_views"]).await.expect_status(0);
    assert!(rerun.stdout().contains("rebuilt and swapped in"), "{}", rerun.stdout());
    assert_eq!(live_checksums(&env.pool).await, before, "the rebuilt view differs from the one built live");
    env.ordersctl(&["projections", "verify", "order_views"]).await.expect_status(0);
    let leftovers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'projections' \
          AND (tablename LIKE '%\\_rebuild' OR tablename LIKE '%\\_retired' OR tablename LIKE '%\\_verify')",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(leftovers, 0, "shadow, retired or scratch tables were left behind");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_search_rebuild_killed_mid_way_keeps_the_alias_serving_and_a_rerun_removes_the_orphaned_index(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    let seeded = env.seed(1_300, 31).await;
    env.project_search().await;
    let index = env.search_index();
    let live_index = index.aliased_index().await.unwrap().expect("the alias exists");

    let mut rebuild = env
        .command(&["projections", "rebuild", "order_search", "--throttle-ms", "60000"])
        .spawn()
        .expect("the binary starts");
    let filling = eventually(Duration::from_secs(60), || async {
        checkpoint_position(&env.pool, "order_search_rebuild").await > 0
    })
    .await;
    assert!(filling, "the search rebuild did not commit its first batch");
    rebuild.start_kill().expect("SIGKILL is delivered");
    rebuild.wait().await.expect("the killed process is reaped");
    assert_eq!(index.aliased_index().await.unwrap().as_deref(), Some(live_index.as_str()), "the alias moved");

    let rerun = env.ordersctl(&["--json", "projections", "rebuild", "order_search"]).await.expect_status(0);
    let summary = &rerun.json()[0];
    assert_eq!(summary["leftovers_removed"].as_array().map(Vec::len), Some(1), "{summary}");
    assert_eq!(summary["old_copy"], serde_json::json!(live_index));
    assert_eq!(summary["old_copy_dropped"], serde_json::json!(true));
    let new_index = index.aliased_index().await.unwrap().expect("the alias exists");
    assert_ne!(new_index, live_index);
    let verify = env.ordersctl(&["--json", "projections", "verify", "order_search"]).await.expect_status(0);
    assert_eq!(verify.json()["compared"][0]["live_rows"], serde_json::json!(seeded.orders));
    env.cleanup().await;
}

/// Serves the query API on a free port against the test's database (as `orders_query`) and alias.
async fn serve_query_api(
    env: &TestEnv,
) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let mut settings = query_api::Settings::for_database("postgres://unused-because-options-are-given");
    settings.elasticsearch_url = env.elasticsearch_url.clone();
    settings.search_alias = env.alias.clone();
    let options = (*env.pool.connect_options()).clone().username("orders_query").password("orders_query");
    let state = query_api::AppState::with_connect_options(options, &settings).expect("valid query API settings");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = format!("http://{}", listener.local_addr().expect("a bound address"));
    let (shutdown, on_shutdown) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(query_api::serve(
        listener,
        state,
        async move {
            let _ = on_shutdown.await;
        },
        Duration::from_secs(5),
    ));
    (address, shutdown, server)
}

async fn live_checksums(pool: &PgPool) -> Vec<ordersctl::TableChecksum> {
    let mut connection = pool.acquire().await.unwrap();
    table_checksums(&mut connection, &ViewTables::live()).await.expect("the live tables are readable")
}
