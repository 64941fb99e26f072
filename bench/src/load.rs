//! The load run: workers that play planned order flows against the command API through its typed client,
//! retrying with the same `Idempotency-Key` after transport errors and 5xx (so a crash of any part costs
//! time, never a duplicate or a lost command), journals of accepted and refused commands, freshness probes,
//! and the raw-insert baseline at the end.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use command_api::client::Accepted;
use command_api::client::ClientError;
use command_api::client::CommandClient;
use command_api::client::CommandOptions;
use futures::future::join_all;
use rand::Rng;
use schemas::order as wire;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::baseline::raw_insert_baseline;
use crate::flow::plan_flow;
use crate::flow::Cart;
use crate::flow::FlowMix;
use crate::flow::FlowPlan;
use crate::flow::InvalidCommand;
use crate::flow::Step;
use crate::freshness::Freshness;
use crate::journal::AcceptedCommand;
use crate::journal::Journal;
use crate::journal::RefusedCommand;
use crate::report::Report;
use crate::stats::per_second;
use crate::stats::ratio;
use crate::stats::Latencies;

/// Settings of `orders-load`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "orders-load",
    about = "Drives the running order system with realistic order flows and reports throughput, latency and freshness"
)]
pub struct LoadSettings {
    /// Base URL of the command API.
    #[arg(long, env = "COMMAND_API_URL", default_value = "http://127.0.0.1:8081")]
    pub command_url: String,
    /// Admin URL of the orders database: freshness reads the views, the baseline creates a scratch database.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://orders_admin:orders_admin@127.0.0.1:55432/orders")]
    pub database_url: String,
    /// Base URL of Elasticsearch (searches go to the `orders` alias).
    #[arg(long, env = "ELASTICSEARCH_URL", default_value = "http://127.0.0.1:19200")]
    pub elasticsearch_url: String,
    /// How long to start new commands, in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub duration: f64,
    /// Workers, each playing one order flow at a time (concurrent edits add requests within a flow).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Upper bound on commands per second over all workers (no bound when absent).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Share of accepted commands whose freshness is measured (0 to 1).
    #[arg(long, default_value_t = 0.25)]
    pub freshness_sample: f64,
    /// Share of flows with one deliberately invalid command.
    #[arg(long, default_value_t = 0.08)]
    pub invalid_share: f64,
    /// Share of flows with concurrent edits of the same order.
    #[arg(long, default_value_t = 0.15)]
    pub concurrent_share: f64,
    /// Seed of the flow planner (random when absent); the same seed replays the same flows.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder for report.json, accepted.jsonl and refused.jsonl.
    #[arg(long, default_value = "target/orders-load")]
    pub out_dir: PathBuf,
    /// How long one command may be retried (same Idempotency-Key) before the flow gives up, in seconds.
    #[arg(long, default_value_t = 180)]
    pub retry_for: u64,
    /// How long to wait after the load for pending freshness probes, in seconds.
    #[arg(long, default_value_t = 60)]
    pub settle: u64,
    /// Skip the raw-insert baseline.
    #[arg(long)]
    pub no_baseline: bool,
    /// Time budget of the baseline, in seconds.
    #[arg(long, default_value_t = 120)]
    pub baseline_budget: u64,
}

/// Everything the workers share.
struct Shared {
    client: CommandClient,
    figures: Mutex<Figures>,
    accepted: Journal,
    refused: Journal,
    freshness: Freshness,
    pacer: Option<Pacer>,
    freshness_sample: f64,
    retry_for: Duration,
}

/// The counters and histograms of the run.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    pub(crate) latency_by_command: BTreeMap<&'static str, Latencies>,
    pub(crate) accepted_by_command: BTreeMap<&'static str, u64>,
    pub(crate) responses_by_status: BTreeMap<String, u64>,
    pub(crate) expected_refusals_by_status: BTreeMap<String, u64>,
    pub(crate) unexpected_errors_by_status: BTreeMap<String, u64>,
    pub(crate) retried_requests: u64,
    pub(crate) gave_up: u64,
    pub(crate) unexpected_acceptances: u64,
    pub(crate) races: u64,
    pub(crate) races_with_one_winner: u64,
    pub(crate) flows_started: u64,
    pub(crate) flows_completed: u64,
    pub(crate) flows_aborted: u64,
    pub(crate) flows_cut_by_deadline: u64,
}

/// Spaces requests evenly to at most `rate` per second over all workers.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().expect("pacer lock is not poisoned");
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// One command body, ready to send.
enum Call {
    Create(wire::CreateOrderV1),
    AddItem(wire::AddItemV1),
    ChangeQuantity(String, wire::ChangeItemQuantityV1),
    RemoveItem(String),
    SetAddress(wire::AddressV1),
    Place,
    Pay(wire::ConfirmPaymentV1),
    Ship(wire::ShipOrderV1),
    Deliver,
    Cancel(wire::CancelOrderV1),
    Refund(wire::RefundOrderV1),
}

impl Call {
    fn name(&self) -> &'static str {
        match self {
            Self::Create(_) => "create_order",
            Self::AddItem(_) => "add_item",
            Self::ChangeQuantity(..) => "change_item_quantity",
            Self::RemoveItem(_) => "remove_item",
            Self::SetAddress(_) => "set_shipping_address",
            Self::Place => "place_order",
            Self::Pay(_) => "confirm_payment",
            Self::Ship(_) => "ship_order",
            Self::Deliver => "confirm_delivery",
            Self::Cancel(_) => "cancel_order",
            Self::Refund(_) => "refund_order",
        }
    }

    async fn send(
        &self,
        client: &CommandClient,
        order_id: Uuid,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        match self {
            Self::Create(body) => client.create_order(body, options).await,
            Self::AddItem(body) => client.add_item(order_id, body, options).await,
            Self::ChangeQuantity(sku, body) => client.change_item_quantity(order_id, sku, body, options).await,
            Self::RemoveItem(sku) => client.remove_item(order_id, sku, options).await,
            Self::SetAddress(body) => client.set_shipping_address(order_id, body, options).await,
            Self::Place => client.place_order(order_id, options).await,
            Self::Pay(body) => client.confirm_payment(order_id, body, options).await,
            Self::Ship(body) => client.ship_order(order_id, body, options).await,
            Self::Deliver => client.confirm_delivery(order_id, options).await,
            Self::Cancel(body) => client.cancel_order(order_id, body, options).await,
            Self::Refund(body) => client.refund_order(order_id, body, options).await,
        }
    }
}

/// Why a command did not end in a 2xx.
#[derive(Debug)]
enum Failure {
    /// Refused with a 4xx.
    Refused,
    /// Retried until the budget ran out.
    GaveUp,
}

/// Whether a refusal is what the flow wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Accept,
    Refuse,
    /// One side of a race: either outcome is fine.
    Either,
}

/// Runs the load, writes the journals and the report into `out_dir`, and returns the report.
pub async fn run(settings: LoadSettings) -> anyhow::Result<Report> {
    std::fs::create_dir_all(&settings.out_dir).with_context(|| format!("creating {}", settings.out_dir.display()))?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(settings.concurrency * 4)
        .build()
        .context("building the HTTP client")?;
    let client = CommandClient::with_http(http.clone(), settings.command_url.clone());
    wait_until_ready(&client).await?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(&settings.database_url)
        .context("parsing DATABASE_URL")?;
    let search_url =
        format!("{}/{}/_search", settings.elasticsearch_url.trim_end_matches('/'), schemas::ELASTICSEARCH_ALIAS);
    let shared = Arc::new(Shared {
        client,
        figures: Mutex::new(Figures::default()),
        accepted: Journal::create(&settings.out_dir.join("accepted.jsonl"))?,
        refused: Journal::create(&settings.out_dir.join("refused.jsonl"))?,
        freshness: Freshness::start(pool, http, search_url, Duration::from_secs(settings.retry_for)),
        pacer: settings
            .rate
            .filter(|rate| *rate > 0.0)
            .map(|rate| Pacer { interval: Duration::from_secs_f64(1.0 / rate), next: Mutex::new(Instant::now()) }),
        freshness_sample: settings.freshness_sample,
        retry_for: Duration::from_secs(settings.retry_for),
    });
    let seed = settings.seed.unwrap_or_else(|| rand::rng().random());
    let mix = FlowMix { invalid: settings.invalid_share, concurrent: settings.concurrent_share };
    let next_flow = Arc::new(AtomicU64::new(0));
    let started_at = Utc::now();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(settings.duration);
    eprintln!(
        "[orders-load] {} workers for {} s against {} (seed {seed}), journals in {}",
        settings.concurrency,
        settings.duration,
        settings.command_url,
        settings.out_dir.display()
    );
    let progress = tokio::spawn(report_progress(shared.clone(), started, deadline));
    let mut workers = Vec::with_capacity(settings.concurrency);
    for _ in 0..settings.concurrency {
        let shared = shared.clone();
        let next_flow = next_flow.clone();
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let flow = next_flow.fetch_add(1, Ordering::Relaxed);
                run_flow(&shared, plan_flow(flow_seed(seed, flow), mix), deadline).await;
            }
        }));
    }
    for worker in workers {
        worker.await.context("joining a load worker")?;
    }
    let load_elapsed = started.elapsed();
    progress.abort();
    let _ = progress.await;
    shared.accepted.flush()?;
    shared.refused.flush()?;
    eprintln!("[orders-load] load done after {:.1} s; waiting for freshness probes", load_elapsed.as_secs_f64());

    let shared = Arc::into_inner(shared).context("every worker has finished")?;
    let freshness = shared.freshness.finish(Duration::from_secs(settings.settle)).await;
    let figures = shared.figures.into_inner().map_err(|_| anyhow::anyhow!("figures lock poisoned"))?;
    let accepted: u64 = figures.accepted_by_command.values().sum();
    let commands_per_second = per_second(accepted, load_elapsed);
    let baseline = if settings.no_baseline || accepted == 0 {
        None
    } else {
        eprintln!(
            "[orders-load] baseline: {accepted} single-row INSERT transactions with {} writers",
            settings.concurrency
        );
        Some(
            raw_insert_baseline(
                &settings.database_url,
                accepted,
                settings.concurrency,
                Duration::from_secs(settings.baseline_budget),
            )
            .await
            .context("running the raw-insert baseline")?,
        )
    };
    let ratio = baseline.as_ref().and_then(|baseline| ratio(commands_per_second, baseline.inserts_per_second));
    let report = Report::new(
        &settings,
        seed,
        started_at,
        load_elapsed,
        figures,
        commands_per_second,
        freshness,
        baseline,
        ratio,
    );
    let path = settings.out_dir.join("report.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(report)
}

/// The seed of flow number `flow` of a run seeded with `seed`: well mixed, so runs with nearby seeds
/// (1 and 2) do not share flows, and so order ids, which would make every create of the second run a 409.
pub(crate) fn flow_seed(seed: u64, flow: u64) -> u64 {
    fn splitmix64(mut value: u64) -> u64 {
        value = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }
    splitmix64(splitmix64(seed) ^ flow)
}

async fn wait_until_ready(client: &CommandClient) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if matches!(client.is_ready().await, Ok(true)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::bail!("the command API at {} is not ready after 60 s", client.base_url());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn report_progress(shared: Arc<Shared>, started: Instant, deadline: Instant) {
    let mut previous = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let (accepted, errors) = {
            let figures = shared.figures.lock().expect("figures lock is not poisoned");
            (
                figures.accepted_by_command.values().sum::<u64>(),
                figures.unexpected_errors_by_status.values().sum::<u64>(),
            )
        };
        eprintln!(
            "[orders-load] {:>5.0} s: {accepted} accepted ({:.0}/s over the last 10 s), {errors} errors and retries so far{}",
            started.elapsed().as_secs_f64(),
            (accepted - previous) as f64 / 10.0,
            if Instant::now() > deadline { ", finishing flows in flight" } else { "" }
        );
        previous = accepted;
    }
}

/// Plays one flow until it ends, a command fails for good, or the deadline passes.
async fn run_flow(shared: &Shared, plan: FlowPlan, deadline: Instant) {
    shared.figures().flows_started += 1;
    let mut cart = Cart::default();
    let mut version = 0_i64;
    let order_id = plan.order_id;
    for step in &plan.steps {
        if Instant::now() >= deadline {
            shared.figures().flows_cut_by_deadline += 1;
            return;
        }
        let outcome = match step {
            Step::Create => {
                let body = wire::CreateOrderV1 {
                    order_id: Some(order_id),
                    customer_id: plan.customer_id,
                    currency: plan.currency.clone(),
                };
                shared.execute(order_id, &Call::Create(body), None, Expect::Accept).await.map(|accepted| {
                    version = version.max(accepted.version());
                })
            }
            Step::AddItem(item) => {
                shared.execute(order_id, &Call::AddItem(item.clone()), None, Expect::Accept).await.map(|accepted| {
                    version = version.max(accepted.version());
                    cart.add(item);
                })
            }
            Step::AddItemsConcurrently(items) => {
                let calls: Vec<Call> = items.iter().cloned().map(Call::AddItem).collect();
                let results =
                    join_all(calls.iter().map(|call| shared.execute(order_id, call, None, Expect::Accept))).await;
                let mut outcome = Ok(());
                for (item, result) in items.iter().zip(results) {
                    match result {
                        Ok(accepted) => {
                            version = version.max(accepted.version());
                            cart.add(item);
                        }
                        Err(failure) => outcome = Err(failure),
                    }
                }
                outcome
            }
            Step::ChangeQuantity { sku, quantity } => {
                let call = Call::ChangeQuantity(sku.clone(), wire::ChangeItemQuantityV1 { quantity: *quantity });
                shared.execute(order_id, &call, None, Expect::Accept).await.map(|accepted| {
                    version = version.max(accepted.version());
                    cart.set_quantity(sku, *quantity);
                })
            }
            Step::RaceQuantity { sku, quantities } => {
                let calls: Vec<Call> = quantities
                    .iter()
                    .map(|quantity| {
                        Call::ChangeQuantity(sku.clone(), wire::ChangeItemQuantityV1 { quantity: *quantity })
                    })
                    .collect();
                let read_version = version;
                let results = join_all(
                    calls.iter().map(|call| shared.execute(order_id, call, Some(read_version), Expect::Either)),
                )
                .await;
                let winners: Vec<(i64, i64)> = quantities
                    .iter()
                    .zip(&results)
                    .filter_map(|(quantity, result)| {
                        result.as_ref().ok().map(|accepted| (accepted.version(), *quantity))
                    })
                    .collect();
                let mut figures = shared.figures();
                figures.races += 1;
                if winners.len() == 1 {
                    figures.races_with_one_winner += 1;
                }
                drop(figures);
                match winners.iter().max() {
                    Some(&(winning_version, quantity)) => {
                        version = version.max(winning_version);
                        cart.set_quantity(sku, quantity);
                        Ok(())
                    }
                    None => Err(Failure::GaveUp),
                }
            }
            Step::RemoveItem { sku } => {
                shared.execute(order_id, &Call::RemoveItem(sku.clone()), None, Expect::Accept).await.map(|accepted| {
                    version = version.max(accepted.version());
                    cart.remove(sku);
                })
            }
            Step::SetAddress(address) => shared
                .execute(order_id, &Call::SetAddress(address.clone()), None, Expect::Accept)
                .await
                .map(|accepted| version = version.max(accepted.version())),
            Step::Place => shared
                .execute(order_id, &Call::Place, None, Expect::Accept)
                .await
                .map(|accepted| version = version.max(accepted.version())),
            Step::Pay => {
                let body = wire::ConfirmPaymentV1 {
                    amount_minor: cart.total_minor(),
                    currency: plan.currency.clone(),
                    payment_reference: Some(format!("psp_{}", &order_id.simple().to_string()[..12])),
                };
                shared
                    .execute(order_id, &Call::Pay(body), None, Expect::Accept)
                    .await
                    .map(|accepted| version = version.max(accepted.version()))
            }
            Step::Ship(body) => shared
                .execute(order_id, &Call::Ship(body.clone()), None, Expect::Accept)
                .await
                .map(|accepted| version = version.max(accepted.version())),
            Step::Deliver => shared
                .execute(order_id, &Call::Deliver, None, Expect::Accept)
                .await
                .map(|accepted| version = version.max(accepted.version())),
            Step::Cancel(body) => shared
                .execute(order_id, &Call::Cancel(body.clone()), None, Expect::Accept)
                .await
                .map(|accepted| version = version.max(accepted.version())),
            Step::Refund { portion, reason } => {
                let body =
                    wire::RefundOrderV1 { amount_minor: cart.refund_amount(*portion), reason: Some(reason.clone()) };
                shared
                    .execute(order_id, &Call::Refund(body), None, Expect::Accept)
                    .await
                    .map(|accepted| version = version.max(accepted.version()))
            }
            Step::Invalid(invalid) => {
                let call = match invalid {
                    InvalidCommand::WrongPaymentAmount => Call::Pay(wire::ConfirmPaymentV1 {
                        amount_minor: cart.total_minor() + 1,
                        currency: plan.currency.clone(),
                        payment_reference: None,
                    }),
                    InvalidCommand::ShipUnpaid(body) => Call::Ship(body.clone()),
                    InvalidCommand::AddItemAfterPlacing(item) | InvalidCommand::ZeroQuantity(item) => {
                        Call::AddItem(item.clone())
                    }
                    InvalidCommand::RefundNotOwed => Call::Refund(wire::RefundOrderV1::default()),
                };
                match shared.execute(order_id, &call, None, Expect::Refuse).await {
                    Ok(_) => {
                        shared.figures().unexpected_acceptances += 1;
                        Err(Failure::GaveUp)
                    }
                    Err(Failure::Refused) => Ok(()),
                    Err(Failure::GaveUp) => Err(Failure::GaveUp),
                }
            }
        };
        if outcome.is_err() {
            shared.figures().flows_aborted += 1;
            return;
        }
    }
    shared.figures().flows_completed += 1;
}

impl Shared {
    fn figures(&self) -> std::sync::MutexGuard<'_, Figures> {
        self.figures.lock().expect("figures lock is not poisoned")
    }

    /// Sends one command until it is answered with 2xx or 4xx, retrying transport errors, 5xx and
    /// concurrent-modification conflicts with the same `Idempotency-Key` for at most `retry_for`.
    async fn execute(
        &self,
        order_id: Uuid,
        call: &Call,
        if_match: Option<i64>,
        expect: Expect,
    ) -> Result<Accepted, Failure> {
        let command_id = Uuid::new_v4();
        let options = CommandOptions {
            idempotency_key: Some(command_id.to_string()),
            if_match,
            correlation_id: Some(format!("orders-load-{command_id}")),
            actor: Some("orders-load".to_owned()),
        };
        let give_up_at = Instant::now() + self.retry_for;
        let mut backoff = Duration::from_millis(50);
        let mut attempts = 0_u32;
        loop {
            if let Some(pacer) = &self.pacer {
                pacer.wait().await;
            }
            attempts += 1;
            let sent = Instant::now();
            let result = call.send(&self.client, order_id, &options).await;
            let latency = sent.elapsed();
            let (status, problem_type, retryable) = match result {
                Ok(accepted) => {
                    self.accept(call, order_id, command_id, &accepted, latency, attempts, expect);
                    return Ok(accepted);
                }
                Err(ClientError::Problem { status, problem, .. }) => {
                    let retryable = status.is_server_error()
                        || status.as_u16() == 429
                        || problem.problem_type == "/problems/concurrent-modification";
                    (status.as_u16().to_string(), problem.problem_type, retryable)
                }
                Err(ClientError::Unexpected { status, .. }) => {
                    (status.as_u16().to_string(), String::new(), status.is_server_error() || status.as_u16() == 429)
                }
                Err(ClientError::Transport(error)) => {
                    let kind = if error.is_timeout() {
                        "timeout"
                    } else if error.is_connect() {
                        "connect"
                    } else {
                        "transport"
                    };
                    (kind.to_owned(), String::new(), true)
                }
            };
            let refused = !retryable && status.starts_with('4');
            {
                let mut figures = self.figures();
                *figures.responses_by_status.entry(status.clone()).or_default() += 1;
                let expected = refused && expect != Expect::Accept;
                if expected {
                    *figures.expected_refusals_by_status.entry(status.clone()).or_default() += 1;
                } else {
                    *figures.unexpected_errors_by_status.entry(status.clone()).or_default() += 1;
                }
                if retryable {
                    figures.retried_requests += 1;
                }
            }
            if refused {
                let record = RefusedCommand {
                    command_id,
                    idempotency_key: command_id.to_string(),
                    order_id,
                    command: call.name().to_owned(),
                    status: status.parse().unwrap_or_default(),
                    problem_type,
                    expected: expect != Expect::Accept,
                    answered_at: Utc::now(),
                };
                if let Err(error) = self.refused.write(&record) {
                    eprintln!("[orders-load] {error:#}");
                }
                if expect == Expect::Accept {
                    eprintln!(
                        "[orders-load] {} of order {order_id} refused with {status} {}",
                        call.name(),
                        record.problem_type
                    );
                }
                return Err(Failure::Refused);
            }
            if !retryable || Instant::now() + backoff >= give_up_at {
                self.figures().gave_up += 1;
                eprintln!(
                    "[orders-load] giving up {} of order {order_id} after {attempts} attempts (last: {status})",
                    call.name()
                );
                return Err(Failure::GaveUp);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn accept(
        &self,
        call: &Call,
        order_id: Uuid,
        command_id: Uuid,
        accepted: &Accepted,
        latency: Duration,
        attempts: u32,
        expect: Expect,
    ) {
        {
            let mut figures = self.figures();
            figures.latency_by_command.entry(call.name()).or_default().record(latency);
            *figures.accepted_by_command.entry(call.name()).or_default() += 1;
            *figures.responses_by_status.entry(accepted.status.as_u16().to_string()).or_default() += 1;
        }
        let record = AcceptedCommand {
            command_id,
            idempotency_key: command_id.to_string(),
            order_id,
            command: call.name().to_owned(),
            status: accepted.status.as_u16(),
            version: accepted.version(),
            token: accepted.body.consistency_token.clone(),
            replayed: accepted.replayed,
            attempts,
            answered_at: Utc::now(),
        };
        if let Err(error) = self.accepted.write(&record) {
            eprintln!("[orders-load] {error:#}");
        }
        if expect == Expect::Refuse {
            eprintln!("[orders-load] {} of order {order_id} was accepted although it is invalid", call.name());
        }
        if record.token.is_some() && rand::rng().random_bool(self.freshness_sample.clamp(0.0, 1.0)) {
            self.freshness.track(order_id, accepted.version());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::flow_seed;

    #[test]
    fn runs_with_neighbouring_seeds_share_no_flow() {
        let first: std::collections::HashSet<u64> = (0..10_000).map(|flow| flow_seed(1, flow)).collect();
        assert_eq!(first.len(), 10_000);
        assert!((0..10_000).all(|flow| !first.contains(&flow_seed(2, flow))));
    }
}
