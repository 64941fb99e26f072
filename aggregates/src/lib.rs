//! The order domain as a pure state machine: commands, events, `decide` and `evolve` (alias `apply`).
//!
//! No IO, no async, no clock and no serde here: timestamps and new ids arrive inside commands, and
//! conversion to the versioned wire types of the `schemas` crate lives in [`wire`] only.

mod command;
mod decide;
mod error;
mod event;
mod evolve;
mod state;
mod values;
pub mod wire;

pub use command::CommandName;
pub use command::OrderCommand;
pub use decide::decide;
pub use error::DomainError;
pub use error::OrderError;
pub use event::OrderEvent;
pub use event::OrderTotals;
pub use evolve::apply;
pub use evolve::evolve;
pub use evolve::replay;
pub use state::Cancellation;
pub use state::Order;
pub use state::OrderDetails;
pub use state::OrderLine;
pub use state::OrderStatus;
pub use state::Payment;
pub use state::Refund;
pub use state::Shipment;
pub use state::Stage;
pub use state::MAX_LINES;
pub use values::AddressLine;
pub use values::Amount;
pub use values::CancelReason;
pub use values::Carrier;
pub use values::City;
pub use values::CountryCode;
pub use values::Currency;
pub use values::CustomerId;
pub use values::Money;
pub use values::OrderId;
pub use values::PaymentReference;
pub use values::PostalCode;
pub use values::ProductName;
pub use values::Quantity;
pub use values::RecipientName;
pub use values::RefundReason;
pub use values::Region;
pub use values::ShippingAddress;
pub use values::Sku;
pub use values::TrackingNumber;
pub use values::UnitPrice;
pub use values::ValueError;
