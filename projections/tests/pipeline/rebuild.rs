//! Zero-downtime rebuilds: shadow tables and a new index are filled from the event store while the live
//! projectors keep running, then swapped in; the result equals a clean run.

use std::time::Duration;

use clap::Parser;
use projections::{
    rebuild_postgres_views, rebuild_projection_until, rebuild_search_index, MaintenanceLock, ProjectionsSettings,
    RebuildTarget, ORDER_VIEWS,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

#[sqlx::test(migrations = false)]
async fn rebuilds_swap_in_complete_views_and_index_while_the_projectors_run(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let pipeline = env.start_pipeline();
    let token = append_interleaved(&env.store, &mixed_orders(12)).await;
    env.wait_for_both(token).await;
    let old_index = env.search.aliased_index().await.expect("reads").expect("the alias exists");
    let index_names_before = view_index_names(&env.pool).await;
    assert!(index_names_before.iter().any(|name| name == "order_summary_pkey"), "{index_names_before:?}");

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

    // The swapped-in tables carry the live index and key names, not the shadow's.
    assert_eq!(view_index_names(&env.pool).await, index_names_before);

    // A second rebuild works over the first one's leftovers, and the names stay.
    rebuild_postgres_views(&env.pool, |_| {}).await.expect("the views rebuild again");
    let token = append_interleaved(&env.store, &mixed_orders(3)).await;
    env.wait_for_both(token).await;
    assert_same_as_clean_run(&env).await;
    assert_eq!(view_index_names(&env.pool).await, index_names_before);

    pipeline.stop().await;
    env.clean_up().await;
}

/// Names of the indexes of the live view tables, sorted.
async fn view_index_names(pool: &PgPool) -> Vec<String> {
    let tables: Vec<String> = projections::VIEW_TABLES.iter().map(|base| (*base).to_owned()).collect();
    sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'projections' AND tablename = ANY($1) ORDER BY 1",
    )
    .bind(&tables)
    .fetch_all(pool)
    .await
    .expect("pg_indexes reads")
}

/// The service with `PROJECTIONS_REBUILD_ON_START` rebuilds both projections beside its live projectors:
/// view rows that only a rebuild from position 0 can repair are repaired, the search alias moves to a new
/// index (the old one is dropped), and events appended meanwhile are in the result.
#[sqlx::test(migrations = false)]
async fn the_service_rebuilds_the_projections_named_on_start_while_serving(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options.clone()).await;
    let relay = env.project_then_pause(&mixed_orders(10)).await;
    let old_index = env.search.aliased_index().await.expect("reads").expect("the alias exists");
    // Damage the live copies: a catch-up never rewrites these rows, only a rebuild does.
    sqlx::query("UPDATE projections.order_summary SET total_minor = total_minor + 7")
        .execute(&env.pool)
        .await
        .expect("the view row is damaged");
    let (damaged_ids, damaged_totals): (Vec<uuid::Uuid>, Vec<i64>) =
        sqlx::query_as::<_, (uuid::Uuid, i64)>("SELECT order_id, total_minor FROM projections.order_summary")
            .fetch_all(&env.pool)
            .await
            .expect("the damaged rows read")
            .into_iter()
            .unzip();
    assert!(!damaged_ids.is_empty());

    let database_url = database_url_for(&connect_options);
    let (alias, prefix) = env.search_names();
    let elasticsearch_url = service_url("ELASTICSEARCH_URL");
    let nats_url = service_url("NATS_URL");
    let settings = ProjectionsSettings::try_parse_from([
        "projections",
        "--database-url",
        &database_url,
        "--nats-url",
        &nats_url,
        "--stream-name",
        &env.topology.stream_name,
        "--subject-prefix",
        &env.topology.subject_prefix,
        "--elasticsearch-url",
        &elasticsearch_url,
        "--search-alias",
        &alias,
        "--search-index-prefix",
        &prefix,
        "--search-refresh-interval",
        "100ms",
        "--rebuild-on-start",
        "order_views,order_search",
        "--listen-addr",
        "127.0.0.1:0",
    ])
    .expect("the settings parse");
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(projections::run_projections_service(settings, shutdown.clone()));
    let token = append_interleaved(&env.store, &mixed_orders(5)).await;

    eventually(Duration::from_secs(120), "the rebuilt index to be swapped in", || async {
        let aliased = env.search.aliased_index().await.ok().flatten()?;
        (aliased != old_index).then_some(())
    })
    .await;
    eventually(Duration::from_secs(120), "the rebuilt views to be swapped in", || async {
        // Only a rebuild rewrites these orders (no event of theirs arrives), so their totals come back.
        let still_damaged: (i64,) = sqlx::query_as(
            "SELECT count(*) FROM projections.order_summary s JOIN unnest($1::uuid[], $2::bigint[]) AS d(id, total) \
             ON s.order_id = d.id WHERE s.total_minor = d.total",
        )
        .bind(&damaged_ids)
        .bind(&damaged_totals)
        .fetch_one(&env.pool)
        .await
        .ok()?;
        let retired_dropped: (bool,) =
            sqlx::query_as("SELECT to_regclass('projections.order_summary_retired') IS NULL")
                .fetch_one(&env.pool)
                .await
                .ok()?;
        (still_damaged.0 == 0 && retired_dropped.0).then_some(())
    })
    .await;
    env.wait_for(ORDER_VIEWS, token).await;
    env.wait_for(projections::ORDER_SEARCH, token).await;
    shutdown.cancel();
    service.await.expect("the service task ends").expect("the service stops cleanly");
    assert_same_as_clean_run(&env).await;
    let indices = env.search.concrete_indices().await.expect("the indices list");
    assert_eq!(indices.len(), 1, "the old index was dropped: {indices:?}");

    relay.stop().await;
    env.clean_up().await;
}

/// A shutdown during the fill ends the rebuild with `ShutDown`: the live views, index, alias and checkpoints
/// are as they were, the unfinished index is gone, the maintenance lock is free, and the next rebuild works.
#[sqlx::test(migrations = false)]
async fn a_rebuild_stopped_during_its_fill_leaves_the_live_projections_as_they_were(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let relay = env.project_then_pause(&mixed_orders(8)).await;
    let views_before = dump_views(&env.pool, &projections::ViewTables::live()).await;
    let search_before = dump_search(&env.search).await;
    let indices_before = env.search.concrete_indices().await.expect("the indices list");
    let aliased_before = env.search.aliased_index().await.expect("reads");
    let checkpoints_before = live_checkpoints(&env.pool).await;

    let stopped = CancellationToken::new();
    stopped.cancel();
    for target in [RebuildTarget::Views, RebuildTarget::Search(env.search.clone())] {
        let outcome = rebuild_projection_until(&env.pool, &target, false, |_| {}, &stopped).await;
        assert!(matches!(outcome, Err(projections::Error::ShutDown)), "{}: {outcome:?}", target.projection());
        assert!(
            !MaintenanceLock::is_held(&env.pool, target.projection()).await.expect("the lock is queried"),
            "{}: the maintenance lock is released",
            target.projection()
        );
    }

    assert_eq!(dump_views(&env.pool, &projections::ViewTables::live()).await, views_before);
    assert_eq!(dump_search(&env.search).await, search_before);
    assert_eq!(env.search.concrete_indices().await.expect("the indices list"), indices_before);
    assert_eq!(env.search.aliased_index().await.expect("reads"), aliased_before);
    assert_eq!(live_checkpoints(&env.pool).await, checkpoints_before);

    let search_target = RebuildTarget::Search(env.search.clone());
    let outcome = projections::rebuild_projection(&env.pool, &search_target, false, |_| {}).await;
    let outcome = outcome.expect("the next rebuild runs");
    assert!(outcome.old_copy_dropped, "{outcome:?}");
    assert_eq!(env.search.concrete_indices().await.expect("the indices list").len(), 1);
    assert_same_as_clean_run(&env).await;

    relay.stop().await;
    env.clean_up().await;
}

async fn live_checkpoints(pool: &PgPool) -> Vec<(String, i64, i64)> {
    sqlx::query_as(
        "SELECT name, transaction_id, position FROM projections.checkpoints WHERE name = ANY($1) ORDER BY name",
    )
    .bind(vec![ORDER_VIEWS.to_owned(), projections::ORDER_SEARCH.to_owned()])
    .fetch_all(pool)
    .await
    .expect("the checkpoints read")
}

/// A rebuild removes the indices its interrupted runs left, and only those: a verification's scratch index,
/// whose prefix extends the live one (`<prefix>-verify`), survives it.
#[sqlx::test(migrations = false)]
async fn a_rebuild_removes_its_own_leftovers_and_leaves_other_jobs_indices_alone(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let (alias, prefix) = env.search_names();
    let url = service_url("ELASTICSEARCH_URL");
    let live = env.search_projector();
    live.prepare().await.expect("the live index is created");
    let old_index = env.search.aliased_index().await.expect("reads").expect("the alias exists");
    let scratch_search =
        projections::SearchIndex::new(&url, &format!("{alias}-verify"), &format!("{prefix}-verify")).expect("a URL");
    projections::Projector::order_search(env.pool.clone(), scratch_search.clone())
        .with_name("order_search_verify")
        .prepare()
        .await
        .expect("the scratch index is created");
    let scratch_index = scratch_search.aliased_index().await.expect("reads").expect("the scratch alias exists");
    // What a killed rebuild leaves: a timestamped index of the live prefix that no alias points to.
    let leftover = projections::SearchIndex::new(&url, &format!("{alias}-leftover"), &prefix).expect("a URL");
    projections::Projector::order_search(env.pool.clone(), leftover.clone())
        .with_name("order_search_leftover")
        .prepare()
        .await
        .expect("the leftover index is created");
    let leftover_index = leftover.aliased_index().await.expect("reads").expect("the leftover alias exists");
    let leftover_alias = format!("{alias}-leftover");
    leftover
        .client()
        .indices()
        .delete_alias(elasticsearch::indices::IndicesDeleteAliasParts::IndexName(
            &[&leftover_index],
            &[&leftover_alias],
        ))
        .send()
        .await
        .expect("the leftover alias is removed")
        .error_for_status_code()
        .expect("the leftover alias is removed");
    let _token = append_interleaved(&env.store, &mixed_orders(3)).await;

    let target = RebuildTarget::Search(env.search.clone());
    let outcome = projections::rebuild_projection(&env.pool, &target, false, |_| {}).await.expect("the rebuild runs");

    assert_eq!(outcome.leftovers_removed, vec![leftover_index]);
    assert!(outcome.old_copy_dropped);
    let new_index = env.search.aliased_index().await.expect("reads").expect("the alias exists");
    assert_ne!(new_index, old_index);
    assert_eq!(env.search.concrete_indices().await.expect("the indices list"), vec![new_index]);
    assert_eq!(scratch_search.concrete_indices().await.expect("the indices list"), vec![scratch_index.clone()]);
    assert_eq!(scratch_search.aliased_index().await.expect("reads"), Some(scratch_index));

    env.clean_up().await;
}
