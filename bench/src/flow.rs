//! Order flows: the pure planner that turns a seed into a realistic sequence of commands for one order,
//! and the small model of the order's lines that the runner keeps to fill in amounts at run time.
//!
//! Nothing here does IO or reads a clock, so a test can replay every plan through the domain's `decide`.
//! Amounts that depend on which of two racing writers won (payment, partial refund) are not planned:
//! the runner computes them from [`Cart`] when it gets there.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::Rng;
use rand::SeedableRng;
use schemas::order::AddItemV1;
use schemas::order::AddressV1;
use schemas::order::CancelOrderV1;
use schemas::order::ShipOrderV1;
use uuid::Uuid;

/// How many distinct customers the generated orders belong to.
const CUSTOMERS: u64 = 2_000;
/// How many products the catalogue has.
const PRODUCTS: u64 = 400;

/// How a planned order ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Placed, paid, shipped and delivered.
    Delivered,
    /// Delivered, then (part of) the money paid back.
    DeliveredThenRefunded,
    /// Cancelled while still a draft.
    CancelledDraft,
    /// Cancelled after placing, before payment.
    CancelledPlaced,
    /// Cancelled after payment, then the payment refunded.
    CancelledPaidThenRefunded,
    /// Left as a draft.
    AbandonedDraft,
}

/// How much of the payment a refund gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundPortion {
    /// Everything refundable (no amount in the body).
    Full,
    /// Half of the order total, at least one minor unit.
    Half,
}

/// A command that must be refused with a 4xx and must leave no event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidCommand {
    /// A payment one minor unit above the total of a placed order (422, business rule).
    WrongPaymentAmount,
    /// Shipping an order that is placed but not paid (409, invalid transition).
    ShipUnpaid(ShipOrderV1),
    /// Adding an item to an order that was placed (409, invalid transition).
    AddItemAfterPlacing(AddItemV1),
    /// Adding an item with quantity 0 to a draft (422, validation).
    ZeroQuantity(AddItemV1),
    /// Refunding a placed order that was neither delivered nor cancelled after payment (409).
    RefundNotOwed,
}

impl InvalidCommand {
    /// The command name the runner reports it under.
    pub fn command_name(&self) -> &'static str {
        match self {
            Self::WrongPaymentAmount => "confirm_payment",
            Self::ShipUnpaid(_) => "ship_order",
            Self::AddItemAfterPlacing(_) | Self::ZeroQuantity(_) => "add_item",
            Self::RefundNotOwed => "refund_order",
        }
    }
}

/// One step of a flow. Each step is one command, except the two concurrent ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `POST /orders` with the plan's order id, customer and currency.
    Create,
    /// `POST /orders/{id}/items`.
    AddItem(AddItemV1),
    /// Several clerks add different items at the same time, without `If-Match`: every add must be accepted.
    AddItemsConcurrently(Vec<AddItemV1>),
    /// `PATCH /orders/{id}/items/{sku}` to a quantity other than the current one.
    ChangeQuantity {
        /// The line.
        sku: String,
        /// The new quantity.
        quantity: i64,
    },
    /// Two clerks change the same line at the same time, both with `If-Match` of the version they read:
    /// exactly one must win, the other gets 412.
    RaceQuantity {
        /// The line.
        sku: String,
        /// The quantity each writer sets; both differ from the current one and from each other.
        quantities: [i64; 2],
    },
    /// `DELETE /orders/{id}/items/{sku}`.
    RemoveItem {
        /// The line.
        sku: String,
    },
    /// `PUT /orders/{id}/shipping-address`.
    SetAddress(AddressV1),
    /// `POST /orders/{id}/place`.
    Place,
    /// `POST /orders/{id}/payment` of exactly the order total.
    Pay,
    /// `POST /orders/{id}/shipment`.
    Ship(ShipOrderV1),
    /// `POST /orders/{id}/delivery`.
    Deliver,
    /// `POST /orders/{id}/cancel`.
    Cancel(CancelOrderV1),
    /// `POST /orders/{id}/refund`.
    Refund {
        /// How much.
        portion: RefundPortion,
        /// Why.
        reason: String,
    },
    /// A command that must be refused.
    Invalid(InvalidCommand),
}

/// The plan of one order: who, in which currency, and the steps in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowPlan {
    /// The client-chosen order id (so a retried create cannot open a second order).
    pub order_id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// ISO 4217 code.
    pub currency: String,
    /// The steps.
    pub steps: Vec<Step>,
    /// How the order ends.
    pub ending: Ending,
}

/// Knobs of the planner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowMix {
    /// Probability that a flow contains one deliberately invalid command.
    pub invalid: f64,
    /// Probability that a flow has concurrent edits (concurrent adds, or a quantity race).
    pub concurrent: f64,
}

impl Default for FlowMix {
    fn default() -> Self {
        Self { invalid: 0.08, concurrent: 0.15 }
    }
}

/// Plans one order flow from `seed`; the same seed always gives the same plan.
pub fn plan_flow(seed: u64, mix: FlowMix) -> FlowPlan {
    let mut rng = StdRng::seed_from_u64(seed);
    let order_id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
    let customer_id = customer(rng.random_range(0..CUSTOMERS));
    let currency = if rng.random_bool(0.85) { "EUR" } else { "USD" }.to_owned();
    let ending = match rng.random_range(0..100) {
        0..6 => Ending::CancelledDraft,
        6..9 => Ending::AbandonedDraft,
        9..14 => Ending::CancelledPlaced,
        14..18 => Ending::CancelledPaidThenRefunded,
        18..23 => Ending::DeliveredThenRefunded,
        _ => Ending::Delivered,
    };
    let invalid = rng.random_bool(mix.invalid);
    let concurrent = rng.random_bool(mix.concurrent);

    let mut steps = vec![Step::Create];
    let n_items = rng.random_range(1..=10_usize);
    let mut skus: Vec<u64> = Vec::with_capacity(n_items);
    while skus.len() < n_items {
        let product = rng.random_range(0..PRODUCTS);
        if !skus.contains(&product) {
            skus.push(product);
        }
    }
    let mut items: Vec<AddItemV1> = skus.iter().map(|&product| item(product, rng.random_range(1..=5))).collect();

    // Concurrent edits: either some adds at once, or a race on one line's quantity after the adds.
    let race = concurrent && rng.random_bool(0.5);
    let concurrent_adds = concurrent && !race && n_items >= 2;
    if concurrent_adds {
        let together = rng.random_range(2..=n_items.min(4));
        steps.push(Step::AddItemsConcurrently(items[..together].to_vec()));
        steps.extend(items[together..].iter().cloned().map(Step::AddItem));
    } else {
        steps.extend(items.iter().cloned().map(Step::AddItem));
    }
    if invalid && rng.random_bool(0.25) {
        let mut zero = item(rng.random_range(PRODUCTS..PRODUCTS * 2), 1);
        zero.quantity = 0;
        steps.push(Step::Invalid(InvalidCommand::ZeroQuantity(zero)));
    }
    if items.len() >= 2 && rng.random_bool(0.1) {
        let removed = items.remove(rng.random_range(0..items.len()));
        steps.push(Step::RemoveItem { sku: removed.sku });
    }
    if rng.random_bool(0.15) {
        let index = rng.random_range(0..items.len());
        let line = &mut items[index];
        let quantity = other_quantity(&mut rng, &[line.quantity]);
        line.quantity = quantity;
        steps.push(Step::ChangeQuantity { sku: line.sku.clone(), quantity });
    }
    if race {
        let line = &items[rng.random_range(0..items.len())];
        let first = other_quantity(&mut rng, &[line.quantity]);
        let second = other_quantity(&mut rng, &[line.quantity, first]);
        steps.push(Step::RaceQuantity { sku: line.sku.clone(), quantities: [first, second] });
    }

    if ending == Ending::CancelledDraft {
        if rng.random_bool(0.5) {
            steps.push(Step::SetAddress(address(&mut rng)));
        }
        steps.push(Step::Cancel(CancelOrderV1 { reason: "customer changed their mind".to_owned() }));
        return FlowPlan { order_id, customer_id, currency, steps, ending };
    }
    steps.push(Step::SetAddress(address(&mut rng)));
    if rng.random_bool(0.1) {
        steps.push(Step::SetAddress(address(&mut rng)));
    }
    if ending == Ending::AbandonedDraft {
        return FlowPlan { order_id, customer_id, currency, steps, ending };
    }
    steps.push(Step::Place);
    if invalid && !steps.iter().any(|step| matches!(step, Step::Invalid(_))) {
        let refused = match rng.random_range(0..4) {
            0 => InvalidCommand::WrongPaymentAmount,
            1 => InvalidCommand::ShipUnpaid(shipment(&mut rng)),
            2 => InvalidCommand::AddItemAfterPlacing(item(rng.random_range(PRODUCTS..PRODUCTS * 2), 1)),
            _ => InvalidCommand::RefundNotOwed,
        };
        steps.push(Step::Invalid(refused));
    }
    if ending == Ending::CancelledPlaced {
        steps.push(Step::Cancel(CancelOrderV1 { reason: "payment not received".to_owned() }));
        return FlowPlan { order_id, customer_id, currency, steps, ending };
    }
    steps.push(Step::Pay);
    if ending == Ending::CancelledPaidThenRefunded {
        steps.push(Step::Cancel(CancelOrderV1 { reason: "out of stock".to_owned() }));
        steps.push(Step::Refund { portion: RefundPortion::Full, reason: "cancelled after payment".to_owned() });
        return FlowPlan { order_id, customer_id, currency, steps, ending };
    }
    steps.push(Step::Ship(shipment(&mut rng)));
    steps.push(Step::Deliver);
    if ending == Ending::DeliveredThenRefunded {
        let portion = if rng.random_bool(0.5) { RefundPortion::Half } else { RefundPortion::Full };
        steps.push(Step::Refund { portion, reason: "damaged in transit".to_owned() });
    }
    FlowPlan { order_id, customer_id, currency, steps, ending }
}

/// The lines of an order as the runner knows them, to compute the payment and refund amounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cart {
    lines: BTreeMap<String, (i64, i64)>,
}

impl Cart {
    /// Records an added line.
    pub fn add(&mut self, item: &AddItemV1) {
        self.lines.insert(item.sku.clone(), (item.unit_price_minor, item.quantity));
    }

    /// Records a new quantity of a line.
    pub fn set_quantity(&mut self, sku: &str, quantity: i64) {
        if let Some(line) = self.lines.get_mut(sku) {
            line.1 = quantity;
        }
    }

    /// Records a removed line.
    pub fn remove(&mut self, sku: &str) {
        self.lines.remove(sku);
    }

    /// The sum of unit price times quantity over the lines, in minor units.
    pub fn total_minor(&self) -> i64 {
        self.lines.values().map(|(price, quantity)| price * quantity).sum()
    }

    /// The amount of a refund of `portion`: `None` asks for everything refundable.
    pub fn refund_amount(&self, portion: RefundPortion) -> Option<i64> {
        match portion {
            RefundPortion::Full => None,
            RefundPortion::Half => Some((self.total_minor() / 2).max(1)),
        }
    }
}

/// A quantity from 1 to 9 that is none of `taken`.
fn other_quantity(rng: &mut StdRng, taken: &[i64]) -> i64 {
    loop {
        let quantity = rng.random_range(1..=9);
        if !taken.contains(&quantity) {
            return quantity;
        }
    }
}

/// The customer with this number; the same number is always the same id.
fn customer(number: u64) -> Uuid {
    let mut rng = StdRng::seed_from_u64(0xC057_0000_0000_0000 ^ number);
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

const NOUNS: [&str; 20] = [
    "Espresso cup",
    "Notebook",
    "Desk lamp",
    "Rain jacket",
    "Trail shoe",
    "Teapot",
    "Backpack",
    "Cutting board",
    "Wool scarf",
    "Phone case",
    "Water bottle",
    "Chef knife",
    "Bike light",
    "Yoga mat",
    "Headphones",
    "Linen shirt",
    "Plant pot",
    "Board game",
    "Candle",
    "Frying pan",
];
const ADJECTIVES: [&str; 10] =
    ["Classic", "Compact", "Large", "Blue", "Organic", "Travel", "Deluxe", "Recycled", "Graphite", "Walnut"];

/// Product `number` of the catalogue: a stable sku, name and price.
fn item(number: u64, quantity: i64) -> AddItemV1 {
    let noun = NOUNS[(number % NOUNS.len() as u64) as usize];
    let adjective = ADJECTIVES[((number / NOUNS.len() as u64) % ADJECTIVES.len() as u64) as usize];
    // Prices from 1.99 to about 250.00; never zero, so every order has something to pay and refund.
    let unit_price_minor = 199 + ((number * 7_919) % 25_000) as i64;
    AddItemV1 { sku: format!("SKU-{number:05}"), name: format!("{adjective} {noun}"), unit_price_minor, quantity }
}

const PLACES: [(&str, &str, &str, Option<&str>); 8] = [
    ("Berlin", "10115", "DE", None),
    ("Hamburg", "20095", "DE", None),
    ("Paris", "75002", "FR", None),
    ("Lyon", "69002", "FR", None),
    ("Amsterdam", "1012 JS", "NL", None),
    ("London", "SW1Y 4JH", "GB", None),
    ("Portland", "97205", "US", Some("Oregon")),
    ("Austin", "78701", "US", Some("Texas")),
];
const NAMES: [&str; 8] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Ken Thompson",
    "Frances Allen",
    "Donald Knuth",
];

fn address(rng: &mut StdRng) -> AddressV1 {
    let (city, postal_code, country, region) = PLACES[rng.random_range(0..PLACES.len())];
    AddressV1 {
        recipient_name: NAMES[rng.random_range(0..NAMES.len())].to_owned(),
        line1: format!("{} Market Street", rng.random_range(1..400)),
        line2: rng.random_bool(0.3).then(|| format!("Floor {}", rng.random_range(1..12))),
        city: city.to_owned(),
        region: region.map(str::to_owned),
        postal_code: postal_code.to_owned(),
        country: country.to_owned(),
    }
}

fn shipment(rng: &mut StdRng) -> ShipOrderV1 {
    let carrier = ["DHL", "UPS", "DPD", "La Poste", "PostNL"][rng.random_range(0..5)];
    ShipOrderV1 {
        carrier: carrier.to_owned(),
        tracking_number: format!("TRK{:012}", rng.random_range(0..1_000_000_000_000_u64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_plan() {
        assert_eq!(plan_flow(42, FlowMix::default()), plan_flow(42, FlowMix::default()));
        assert_ne!(plan_flow(42, FlowMix::default()).order_id, plan_flow(43, FlowMix::default()).order_id);
    }

    #[test]
    fn a_cart_totals_its_lines_and_halves_refunds() {
        let mut cart = Cart::default();
        cart.add(&AddItemV1 { sku: "A".into(), name: "a".into(), unit_price_minor: 250, quantity: 2 });
        cart.add(&AddItemV1 { sku: "B".into(), name: "b".into(), unit_price_minor: 1_001, quantity: 1 });
        assert_eq!(cart.total_minor(), 1_501);
        cart.set_quantity("B", 3);
        assert_eq!(cart.total_minor(), 3_503);
        cart.remove("A");
        assert_eq!(cart.total_minor(), 3_003);
        assert_eq!(cart.refund_amount(RefundPortion::Half), Some(1_501));
        assert_eq!(cart.refund_amount(RefundPortion::Full), None);
    }
}
