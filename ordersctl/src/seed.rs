//! `seed`: realistic order histories appended through the real write path, `aggregates::decide` then
//! `EventStore::append` (one append per command, optimistic concurrency on the stream version), from several
//! concurrent writers. Test data and benchmark data, never production data.
//!
//! A history opens a draft, adds one to four lines (sometimes changing a quantity or removing a line), sets an
//! address and usually places, pays, ships and delivers; some orders are cancelled, some refunded, some stay
//! drafts. Times are spread over the past days so the daily figures have many rows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aggregates::{
    decide, evolve, AddressLine, Amount, CancelReason, Carrier, City, CountryCode, Currency, CustomerId, Order,
    OrderCommand, OrderId, PaymentReference, PostalCode, ProductName, Quantity, RecipientName, RefundReason, Region,
    ShippingAddress, Sku, TrackingNumber, UnitPrice,
};
use chrono::{DateTime, Utc};
use event_store::{EventStore, ExpectedVersion, Metadata, NewEvent, StreamRef};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::cli::SeedArgs;
use crate::context::Context;
use crate::error::Error;
use crate::output::{count, duration, rate, Output};
use crate::progress::Progress;
use crate::Outcome;

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Orders to create.
    pub orders: u64,
    /// Concurrent writers.
    pub concurrency: usize,
    /// Seed of the random histories.
    pub seed: u64,
    /// Days in the past the orders are spread over.
    pub days: u32,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self { orders: 100, concurrency: 8, seed: 1, days: 90 }
    }
}

/// What was seeded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SeedReport {
    /// Orders created.
    pub orders: u64,
    /// Events appended.
    pub events: u64,
    /// Appends (one per command).
    pub appends: u64,
    /// Ids of the orders, in creation order (only for at most 10,000 orders, to keep memory bounded).
    #[serde(skip)]
    pub order_ids: Vec<Uuid>,
    /// Wall time in seconds.
    pub seconds: f64,
}

pub(crate) async fn run(context: &Context, output: &Output, args: &SeedArgs) -> Result<Outcome, Error> {
    migrate(context).await?;
    let options = SeedOptions { orders: args.orders, concurrency: args.concurrency, seed: args.seed, days: args.days };
    let report = seed_with_progress(&context.store, &options).await?;
    if output.is_json() {
        output.print_json(&report)?;
    } else {
        output.line(format!(
            "{} seeded {} orders: {} events in {} appends, {} ({})",
            output.good("✓"),
            count(report.orders),
            count(report.events),
            count(report.appends),
            duration(report.seconds),
            rate(report.events as f64 / report.seconds.max(1e-9)),
        ));
    }
    Ok(Outcome::Clean)
}

/// Creates the event store and projection schemas where they are missing (seeding targets test and
/// benchmark databases, which nothing else may have migrated yet).
pub(crate) async fn migrate(context: &Context) -> Result<(), Error> {
    event_store::MIGRATOR.run(&context.pool).await?;
    projections::MIGRATOR.run(&context.pool).await?;
    Ok(())
}

/// Seeds with a progress bar (or lines) on standard error.
pub(crate) async fn seed_with_progress(store: &EventStore, options: &SeedOptions) -> Result<SeedReport, Error> {
    let progress = Arc::new(std::sync::Mutex::new(Progress::counting("orders", "seed", options.orders, 10_000)));
    let reporter = Arc::clone(&progress);
    let report = seed_orders(store, options, move |orders_done| {
        if let Ok(mut progress) = reporter.lock() {
            progress.set(orders_done);
        }
    })
    .await;
    if let Ok(progress) = progress.lock() {
        progress.finish();
    }
    report
}

/// Appends `options.orders` random order histories with `options.concurrency` writers; `on_order` is called
/// with the number of finished orders after each one.
pub async fn seed_orders(
    store: &EventStore,
    options: &SeedOptions,
    on_order: impl Fn(u64) + Send + Sync + 'static,
) -> Result<SeedReport, Error> {
    let started = Instant::now();
    let next_order = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicU64::new(0));
    let events = Arc::new(AtomicU64::new(0));
    let appends = Arc::new(AtomicU64::new(0));
    let on_order = Arc::new(on_order);
    // Whole seconds: command times come from clients, which rarely send nanoseconds.
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency.max(1) {
        let (store, options) = (store.clone(), options.clone());
        let (next_order, finished, events, appends) =
            (Arc::clone(&next_order), Arc::clone(&finished), Arc::clone(&events), Arc::clone(&appends));
        let on_order = Arc::clone(&on_order);
        writers.spawn(async move {
            let mut order_ids = Vec::new();
            loop {
                let index = next_order.fetch_add(1, Ordering::Relaxed);
                if index >= options.orders {
                    return Ok::<_, Error>(order_ids);
                }
                let mut random = StdRng::seed_from_u64(options.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
                let history = random_history(&mut random, now, options.days);
                let (order_id, appended_events, appended) = append_history(&store, history, index).await?;
                events.fetch_add(appended_events, Ordering::Relaxed);
                appends.fetch_add(appended, Ordering::Relaxed);
                if options.orders <= 10_000 {
                    order_ids.push((index, order_id));
                }
                on_order(finished.fetch_add(1, Ordering::Relaxed) + 1);
            }
        });
    }
    let mut order_ids = Vec::new();
    while let Some(joined) = writers.join_next().await {
        let ids = joined.map_err(|error| Error::Usage(format!("a seeding task failed: {error}")))??;
        order_ids.extend(ids);
    }
    order_ids.sort_unstable();
    Ok(SeedReport {
        orders: finished.load(Ordering::Relaxed),
        events: events.load(Ordering::Relaxed),
        appends: appends.load(Ordering::Relaxed),
        order_ids: order_ids.into_iter().map(|(_, order_id)| order_id).collect(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Decides and appends the commands of one history; a command the domain refuses is skipped (the generator
/// stays simple, the domain stays the judge). Returns the order id, events and appends.
async fn append_history(store: &EventStore, history: Vec<OrderCommand>, index: u64) -> Result<(Uuid, u64, u64), Error> {
    let mut order = Order::NotCreated;
    let mut version = 0_i64;
    let (mut events_appended, mut appends) = (0_u64, 0_u64);
    let mut order_id = Uuid::nil();
    let correlation_id = format!("seed-{index}");
    for command in history {
        if let OrderCommand::Create { order_id: id, .. } = &command {
            order_id = id.as_uuid();
        }
        // The payment must equal the total, which only the folded state knows.
        let command = match command {
            OrderCommand::ConfirmPayment { payment_reference, requested_at, .. } => match order.details() {
                Some(details) => {
                    OrderCommand::ConfirmPayment { amount: details.total(), payment_reference, requested_at }
                }
                None => continue,
            },
            other => other,
        };
        let Ok(events) = decide(&order, command) else { continue };
        if events.is_empty() {
            continue;
        }
        let mut new_events = Vec::with_capacity(events.len());
        for event in &events {
            let encoded = aggregates::wire::encode_event(event).map_err(|error| Error::Usage(error.to_string()))?;
            new_events.push(NewEvent {
                event_id: Uuid::now_v7(),
                event_type: encoded.event_type.to_owned(),
                schema_version: i32::try_from(encoded.schema_version).unwrap_or(i32::MAX),
                payload: encoded.payload,
            });
        }
        let command_id = Uuid::now_v7();
        let mut extra = serde_json::Map::new();
        extra.insert("source".to_owned(), json!("ordersctl seed"));
        let metadata = Metadata {
            command_id,
            correlation_id: correlation_id.clone(),
            causation_id: Some(command_id.to_string()),
            actor: Some(format!("seed-user-{}", index % 97)),
            extra,
        };
        let expected = if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) };
        let stream = StreamRef::new(order_id, schemas::ORDER_STREAM_TYPE);
        let result = append_with_retry(store, &stream, expected, new_events, &metadata).await?;
        version = result;
        events_appended += events.len() as u64;
        appends += 1;
        order = events.iter().fold(order, evolve);
    }
    Ok((order_id, events_appended, appends))
}

/// Appends, retrying transient failures (a busy pool) a few times; the command id makes retries safe.
async fn append_with_retry(
    store: &EventStore,
    stream: &StreamRef,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    metadata: &Metadata,
) -> Result<i64, Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store.append(stream, expected, events.clone(), metadata).await {
            Ok(result) => return Ok(result.last_version),
            Err(error) if error.is_retryable() && attempt < 5 => {
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

const PRODUCTS: [(&str, &str, i64); 12] = [
    ("BOOK-RUST-2E", "The Rust Programming Language", 3_999),
    ("MUG-FERRIS", "Ferris coffee mug", 1_450),
    ("KB-MECH-87", "Mechanical keyboard, 87 keys", 11_900),
    ("CABLE-USBC-2M", "USB-C cable 2 m", 990),
    ("LAMP-DESK-LED", "LED desk lamp", 4_590),
    ("CHAIR-ERGO", "Ergonomic office chair", 32_900),
    ("NOTE-A5-DOT", "A5 dotted notebook", 1_290),
    ("PEN-GEL-BLK", "Gel pen, black", 250),
    ("HDPH-NC-700", "Noise-cancelling headphones", 27_900),
    ("STAND-LAPTOP", "Aluminium laptop stand", 3_490),
    ("TEA-EARLGREY", "Earl Grey tea, 100 g", 690),
    ("PLANT-POTHOS", "Pothos plant in pot", 1_990),
];

const CITIES: [(&str, Option<&str>, &str, &str); 8] = [
    ("Berlin", None, "10115", "DE"),
    ("Lyon", Some("Auvergne-Rhône-Alpes"), "69001", "FR"),
    ("Amsterdam", Some("Noord-Holland"), "1011 AB", "NL"),
    ("Porto", None, "4000-322", "PT"),
    ("Graz", Some("Steiermark"), "8010", "AT"),
    ("Leeds", Some("West Yorkshire"), "LS1 4AP", "GB"),
    ("Austin", Some("TX"), "78701", "US"),
    ("Kraków", None, "31-001", "PL"),
];

const NAMES: [&str; 8] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Barbara Liskov",
    "Edsger Dijkstra",
    "Frances Allen",
    "Donald Knuth",
    "Radia Perlman",
];

/// One random history as commands with increasing times, ending at or before `now`.
fn random_history(random: &mut StdRng, now: DateTime<Utc>, days: u32) -> Vec<OrderCommand> {
    let span_seconds = i64::from(days.max(1)) * 86_400;
    let mut at = now - chrono::Duration::seconds(random.random_range(3_600..span_seconds.max(3_601)));
    let mut tick = |random: &mut StdRng| {
        at += chrono::Duration::seconds(random.random_range(5..3_000));
        at.min(now)
    };
    let valid = "generated values are valid";
    let currency = Currency::parse(["EUR", "EUR", "EUR", "USD", "GBP"][random.random_range(0..5)]).expect(valid);
    let order_id = OrderId::new(Uuid::now_v7());
    let customer_id = CustomerId::new(Uuid::from_u64_pair(0x5EED, random.random_range(0..5_000)));
    let mut commands = vec![OrderCommand::Create { order_id, customer_id, currency, requested_at: tick(random) }];
    let line_count = random.random_range(1..=4);
    let mut skus: Vec<(&str, &str, i64)> = Vec::new();
    while skus.len() < line_count {
        let product = PRODUCTS[random.random_range(0..PRODUCTS.len())];
        if skus.iter().any(|(sku, ..)| *sku == product.0) {
            continue;
        }
        skus.push(product);
    }
    for (sku, name, price) in &skus {
        commands.push(OrderCommand::AddItem {
            sku: Sku::parse(sku).expect(valid),
            name: ProductName::parse(name).expect(valid),
            unit_price: UnitPrice::try_new(*price).expect(valid),
            quantity: Quantity::try_new(random.random_range(1..=3)).expect(valid),
            requested_at: tick(random),
        });
    }
    if random.random_bool(0.2) {
        commands.push(OrderCommand::ChangeItemQuantity {
            sku: Sku::parse(skus[0].0).expect(valid),
            quantity: Quantity::try_new(random.random_range(1..=5)).expect(valid),
            requested_at: tick(random),
        });
    }
    if skus.len() > 1 && random.random_bool(0.1) {
        commands.push(OrderCommand::RemoveItem {
            sku: Sku::parse(skus[skus.len() - 1].0).expect(valid),
            requested_at: tick(random),
        });
    }
    let (city, region, postal_code, country) = CITIES[random.random_range(0..CITIES.len())];
    commands.push(OrderCommand::SetShippingAddress {
        address: ShippingAddress {
            recipient_name: RecipientName::parse(NAMES[random.random_range(0..NAMES.len())]).expect(valid),
            line1: AddressLine::parse(&format!("{} Main Street", random.random_range(1..200))).expect(valid),
            line2: random.random_bool(0.3).then(|| AddressLine::parse("Floor 2").expect(valid)),
            city: City::parse(city).expect(valid),
            region: region.map(|region| Region::parse(region).expect(valid)),
            postal_code: PostalCode::parse(postal_code).expect(valid),
            country: CountryCode::parse(country).expect(valid),
        },
        requested_at: tick(random),
    });
    let cancel = |reason: &str, at: DateTime<Utc>| OrderCommand::Cancel {
        reason: CancelReason::parse(reason).expect(valid),
        requested_at: at,
    };
    if random.random_bool(0.08) {
        // Abandoned cart: stays a draft, or is cancelled as one.
        if random.random_bool(0.5) {
            let at = tick(random);
            commands.push(cancel("customer abandoned the cart", at));
        }
        return commands;
    }
    commands.push(OrderCommand::Place { requested_at: tick(random) });
    if random.random_bool(0.12) {
        let at = tick(random);
        commands.push(cancel("customer changed their mind", at));
        return commands;
    }
    // The payment must equal the total: the domain computes it, so it is filled in when deciding.
    commands.push(OrderCommand::ConfirmPayment {
        amount: aggregates::Money::new(Amount::ZERO, currency),
        payment_reference: Some(
            PaymentReference::parse(&format!("PAY-{:08}", random.random_range(0..100_000_000))).expect(valid),
        ),
        requested_at: tick(random),
    });
    if random.random_bool(0.06) {
        let at = tick(random);
        commands.push(cancel("item out of stock", at));
        if random.random_bool(0.9) {
            commands.push(OrderCommand::Refund {
                amount: None,
                reason: Some(RefundReason::parse("order cancelled after payment").expect(valid)),
                requested_at: tick(random),
            });
        }
        return commands;
    }
    commands.push(OrderCommand::Ship {
        carrier: Carrier::parse(["DHL", "UPS", "PostNL", "La Poste"][random.random_range(0..4)]).expect(valid),
        tracking_number: TrackingNumber::parse(&format!("TRK{:010}", random.random_range(0..10_000_000_000_i64)))
            .expect(valid),
        requested_at: tick(random),
    });
    if random.random_bool(0.97) {
        commands.push(OrderCommand::ConfirmDelivery { requested_at: tick(random) });
        if random.random_bool(0.04) {
            commands.push(OrderCommand::Refund {
                amount: None,
                reason: Some(RefundReason::parse("damaged in transit").expect(valid)),
                requested_at: tick(random),
            });
        }
    }
    commands
}
