//! The projection lock: holding it pauses the projection's writers without giving the holder an xid
//! (which would hold back every gap-safe reader of the event store).

use std::time::Duration;

use event_store::LogPosition;
use projections::{lock_projection, read_checkpoint, ORDER_VIEWS};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::*;

#[sqlx::test(migrations = false)]
async fn holding_the_projection_lock_pauses_its_writers_and_takes_no_xid(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let token = append_interleaved(&env.store, &mixed_orders(3)).await;
    // Any writing transaction in the cluster holds the gap-safe log back; wait until it shows the appends.
    eventually(Duration::from_secs(45), "the log shows the appends", || async {
        env.store.head().await.expect("the head reads").covers(&token).then_some(())
    })
    .await;

    let mut transaction = env.pool.begin().await.expect("a transaction");
    assert_eq!(lock_projection(&mut transaction, ORDER_VIEWS).await.expect("the lock is taken"), LogPosition::START);
    let (no_xid,): (bool,) = sqlx::query_as("SELECT pg_current_xact_id_if_assigned() IS NULL")
        .fetch_one(&mut *transaction)
        .await
        .expect("reads");
    assert!(no_xid, "the lock holder has no xid");

    let projector = env.views_projector();
    let catch_up = tokio::spawn(async move { projector.catch_up(None).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    if catch_up.is_finished() {
        panic!("the catch-up did not wait for the lock: {:?}", catch_up.await);
    }
    assert_eq!(read_checkpoint(&env.pool, ORDER_VIEWS).await.expect("reads"), LogPosition::START);

    transaction.rollback().await.expect("the lock is released");
    let report = catch_up.await.expect("the task ends").expect("the catch-up succeeds");
    assert_eq!(report.checkpoint, token);
    assert_eq!(read_checkpoint(&env.pool, ORDER_VIEWS).await.expect("reads"), token);
    env.clean_up().await;
}
