//! `projections retry-parked`: after a fix (a new decoder, a data repair), re-applies the parked orders of a
//! projection with the library's `retry_parked`, and says which orders drained and which stay parked.

use projections::{Projector, RetryReport};
use serde::Serialize;
use uuid::Uuid;

use crate::cli::{ProjectionName, RetryParkedArgs};
use crate::context::Context;
use crate::error::Error;
use crate::output::{count, Align, Output, Table};
use crate::Outcome;

#[derive(Debug, Serialize)]
struct RetrySummary {
    projection: &'static str,
    orders_retried: u64,
    events_applied: u64,
    drained: Vec<Uuid>,
    still_parked: Vec<StillParked>,
}

#[derive(Debug, Serialize)]
struct StillParked {
    order_id: Uuid,
    error: String,
}

pub(crate) async fn run(context: &Context, output: &Output, args: &RetryParkedArgs) -> Result<Outcome, Error> {
    let names = match args.projection {
        Some(name) => vec![name],
        None => ProjectionName::ALL.to_vec(),
    };
    let order_ids = (!args.order_ids.is_empty()).then_some(args.order_ids.as_slice());
    let mut summaries = Vec::new();
    for name in names {
        let projector = match name {
            ProjectionName::OrderViews => Projector::order_views(context.pool.clone()),
            ProjectionName::OrderSearch => Projector::order_search(context.pool.clone(), context.search_index()?),
        };
        let report: RetryReport = projections::retry_parked(&projector, order_ids).await?;
        summaries.push(RetrySummary {
            projection: name.as_str(),
            orders_retried: report.orders_retried,
            events_applied: report.events_applied,
            drained: report.orders_drained,
            still_parked: report
                .still_parked
                .into_iter()
                .map(|(order_id, error)| StillParked { order_id, error })
                .collect(),
        });
    }
    let stuck = summaries.iter().any(|summary| !summary.still_parked.is_empty());
    if output.is_json() {
        output.print_json(&summaries)?;
    } else {
        for summary in &summaries {
            output.line(format!(
                "{}: {} parked orders retried, {} drained, {} events applied",
                output.bold(summary.projection),
                count(summary.orders_retried),
                count(summary.drained.len() as u64),
                count(summary.events_applied)
            ));
            if !summary.still_parked.is_empty() {
                let mut table = Table::new(&[("STILL PARKED", Align::Left), ("ERROR", Align::Left)]);
                for parked in &summary.still_parked {
                    table.push(vec![parked.order_id.to_string(), output.bad(&parked.error)]);
                }
                output.print_table(&table);
            }
        }
    }
    Ok(if stuck { Outcome::ProblemsFound } else { Outcome::Clean })
}
