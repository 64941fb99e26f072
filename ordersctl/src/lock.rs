//! One maintenance job per projection at a time: a session-level advisory lock held on a dedicated
//! connection. A process killed with `kill -9` loses its connection and so its lock, which is what makes
//! a rerun after a crash possible without manual clean-up.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::error::Error;

/// Holds the maintenance lock of one projection until [`MaintenanceLock::release`] or drop.
#[derive(Debug)]
pub(crate) struct MaintenanceLock {
    connection: Option<PgConnection>,
}

impl MaintenanceLock {
    /// Takes the lock of `projection` or fails with [`Error::Busy`] when another job holds it.
    pub(crate) async fn acquire(options: &PgConnectOptions, projection: &str) -> Result<Self, Error> {
        let mut connection = PgConnection::connect_with(options).await?;
        let (locked,): (bool,) =
            sqlx::query_as("SELECT pg_try_advisory_lock(hashtextextended('ordersctl maintenance ' || $1, 0))")
                .bind(projection)
                .fetch_one(&mut connection)
                .await?;
        if !locked {
            let _ = connection.close().await;
            return Err(Error::Busy { projection: projection.to_owned() });
        }
        Ok(Self { connection: Some(connection) })
    }

    /// Releases the lock by closing its connection.
    pub(crate) async fn release(mut self) {
        if let Some(connection) = self.connection.take() {
            let _ = connection.close().await;
        }
    }
}
