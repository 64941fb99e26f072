//! Zero-downtime rebuilds: shadow tables and a new index are filled from the event store while the live
//! projectors keep running, then swapped in; the result equals a clean run.

use projections::{rebuild_postgres_views, rebuild_search_index};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::*;

#[sqlx::test(migrations = false)]
async fn rebuilds_swap_in_complete_views_and_index_while_the_projectors_run(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let relay = env.start_relay();
    let views = env.start_projector(env.views_projector());
    let search = env.start_projector(env.search_projector());
    let token = append_interleaved(&env.store, &mixed_orders(12)).await;
    env.wait_for_both(token).await;
    let old_index = env.search.aliased_index().await.expect("reads").expect("the alias exists");

    let more = mixed_orders(6);
    let (views_report, search_report, token) = tokio::join!(
        rebuild_postgres_views(&env.pool, |_| {}),
        rebuild_search_index(&env.pool, &env.search, |_| {}),
        append_interleaved(&env.store, &more),
    );
    let views_report = views_report.expect("the views rebuild");
    let search_report = search_report.expect("the index rebuilds");
    assert!(views_report.fill.events_read > 0, "{views_report:?}");
    assert_eq!(search_report.retired.as_deref(), Some(old_index.as_str()));
    let new_index = env.search.aliased_index().await.expect("reads").expect("the alias exists");
    assert_ne!(new_index, old_index, "the alias moved to the rebuilt index");

    env.wait_for_both(token).await;
    assert_same_as_clean_run(&env).await;

    // A second rebuild works over the first one's leftovers.
    rebuild_postgres_views(&env.pool, |_| {}).await.expect("the views rebuild again");
    let token = append_interleaved(&env.store, &mixed_orders(3)).await;
    env.wait_for_both(token).await;
    assert_same_as_clean_run(&env).await;

    search.stop().await;
    views.stop().await;
    relay.stop().await;
    env.clean_up().await;
}
