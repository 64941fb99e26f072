//! One maintenance job (rebuild, verification) per projection at a time: a session-level advisory lock
//! held on a dedicated connection. A process killed with `kill -9` loses its connection and so its lock,
//! which is what makes a rerun after a crash possible without manual clean-up.
//!
//! This lock is separate from the projection's write lock ([`crate::lock_projection`]): the live projector
//! keeps writing while a rebuild fills its shadow copy, and only the swap takes the write lock.

use sqlx::{Connection, PgConnection, PgPool};

use crate::error::Error;

/// Holds the maintenance lock of one projection until [`MaintenanceLock::release`] or drop.
#[derive(Debug)]
pub struct MaintenanceLock {
    connection: Option<PgConnection>,
}

impl MaintenanceLock {
    /// Takes the lock of `projection` on a new connection with `pool`'s settings, or fails with
    /// [`Error::Busy`] when another job holds it.
    pub async fn acquire(pool: &PgPool, projection: &str) -> Result<Self, Error> {
        let mut connection = PgConnection::connect_with(&pool.connect_options()).await?;
        let (locked,): (bool,) =
            sqlx::query_as("SELECT pg_try_advisory_lock(hashtextextended('projection maintenance ' || $1, 0))")
                .bind(projection)
                .fetch_one(&mut connection)
                .await?;
        if !locked {
            let _ = connection.close().await;
            return Err(Error::Busy { projection: projection.to_owned() });
        }
        Ok(Self { connection: Some(connection) })
    }

    /// Whether a maintenance job of `projection` is running right now (somewhere in the cluster).
    pub async fn is_held(pool: &PgPool, projection: &str) -> Result<bool, Error> {
        match Self::acquire(pool, projection).await {
            Ok(lock) => {
                lock.release().await;
                Ok(false)
            }
            Err(Error::Busy { .. }) => Ok(true),
            Err(error) => Err(error),
        }
    }

    /// Releases the lock by closing its connection.
    pub async fn release(mut self) {
        if let Some(connection) = self.connection.take() {
            let _ = connection.close().await;
        }
    }
}
