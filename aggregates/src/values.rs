//! Value newtypes of the order domain: ids, money, quantities and bounded texts.
//!
//! Each one checks its input in `parse`/`try_new`, so an invalid value cannot exist.
//! The limits match the JSON Schemas in `schemas/`; the contract tests check that both agree.

use std::fmt;
use std::num::NonZeroU32;

use uuid::Uuid;

/// Why a raw value was refused by a newtype constructor.
///
/// The HTTP edge knows which field it was parsing, so it pairs this message with that field's JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The text is empty or only whitespace.
    #[error("must not be empty")]
    Empty,
    /// The text has more characters than allowed.
    #[error("must be at most {max} characters long")]
    TooLong {
        /// Largest allowed number of characters.
        max: usize,
    },
    /// The text contains a control character or another character the field does not allow.
    #[error("contains characters that are not allowed")]
    InvalidCharacters,
    /// A number is outside its allowed range.
    #[error("must be between {min} and {max}")]
    OutOfRange {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// Not an active ISO 4217 currency code.
    #[error("is not an ISO 4217 currency code")]
    UnknownCurrency,
    /// Not an ISO 3166-1 alpha-2 country code in upper case.
    #[error("is not an ISO 3166-1 alpha-2 country code")]
    InvalidCountry,
    /// Not a uuid.
    #[error("is not a uuid")]
    InvalidUuid,
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a uuid; every uuid is a valid id.
            pub fn new(id: Uuid) -> Self {
                Self(id)
            }

            /// Parses the textual form of a uuid.
            pub fn parse(text: &str) -> Result<Self, ValueError> {
                Uuid::parse_str(text).map(Self).map_err(|_| ValueError::InvalidUuid)
            }

            /// The uuid inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(formatter)
            }
        }
    };
}

uuid_id!(
    /// Id of an order; also the id of its event stream.
    OrderId
);
uuid_id!(
    /// Id of the customer an order belongs to.
    CustomerId
);

/// Active ISO 4217 codes that may price an order; metals, fund and testing codes are left out.
const ISO_4217_CODES: &str =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD \
CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD \
HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD \
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG \
QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD \
TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// An active ISO 4217 alphabetic currency code such as `EUR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Accepts exactly three upper-case letters naming an active ISO 4217 currency.
    pub fn parse(code: &str) -> Result<Self, ValueError> {
        let bytes: [u8; 3] = code.as_bytes().try_into().map_err(|_| ValueError::UnknownCurrency)?;
        let is_listed =
            bytes.iter().all(u8::is_ascii_uppercase) && ISO_4217_CODES.split(' ').any(|listed| listed == code);
        if is_listed {
            Ok(Self(bytes))
        } else {
            Err(ValueError::UnknownCurrency)
        }
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored, so the bytes are valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A non-negative amount in minor units (cents for EUR), without a currency, up to [`Amount::MAX`].
///
/// The bound keeps every amount exactly representable in a JSON number read as an IEEE double,
/// and every order total (100 lines of 1000 units at the highest unit price) inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

impl Amount {
    /// Largest amount: 10^15 minor units.
    pub const MAX: i64 = 1_000_000_000_000_000;
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// Accepts 0..=[`Amount::MAX`] minor units.
    pub fn try_new(minor_units: i64) -> Result<Self, ValueError> {
        if (0..=Self::MAX).contains(&minor_units) {
            Ok(Self(minor_units))
        } else {
            Err(ValueError::OutOfRange { min: 0, max: Self::MAX })
        }
    }

    /// The amount in minor units.
    pub fn minor_units(&self) -> i64 {
        self.0
    }

    /// Sum, or `None` above [`Amount::MAX`].
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).and_then(|sum| Self::try_new(sum).ok())
    }

    /// Difference, or `None` below zero.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).and_then(|difference| Self::try_new(difference).ok())
    }

    /// Product with a quantity, or `None` above [`Amount::MAX`].
    pub fn checked_mul(self, quantity: Quantity) -> Option<Self> {
        self.0.checked_mul(i64::from(quantity.get())).and_then(|product| Self::try_new(product).ok())
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// Price of one unit: an amount of at most [`UnitPrice::MAX`] minor units, in the order's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitPrice(Amount);

impl UnitPrice {
    /// Largest unit price: 10^10 minor units.
    pub const MAX: i64 = 10_000_000_000;

    /// Accepts 0..=[`UnitPrice::MAX`] minor units; free items are allowed.
    pub fn try_new(minor_units: i64) -> Result<Self, ValueError> {
        if (0..=Self::MAX).contains(&minor_units) {
            Amount::try_new(minor_units).map(Self)
        } else {
            Err(ValueError::OutOfRange { min: 0, max: Self::MAX })
        }
    }

    /// The price as an amount.
    pub fn amount(&self) -> Amount {
        self.0
    }

    /// The price in minor units.
    pub fn minor_units(&self) -> i64 {
        self.0.minor_units()
    }

    /// Price of `quantity` units.
    ///
    /// Cannot overflow: the largest line, 10^10 times 1000, is far below [`Amount::MAX`].
    pub fn times(self, quantity: Quantity) -> Amount {
        Amount(self.0 .0 * i64::from(quantity.get()))
    }
}

/// An amount of money: integer minor units in one currency. Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Amount,
    currency: Currency,
}

impl Money {
    /// Pairs an amount with its currency.
    pub fn new(amount: Amount, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Zero in a currency.
    pub fn zero(currency: Currency) -> Self {
        Self::new(Amount::ZERO, currency)
    }

    /// Parses minor units and a currency code.
    pub fn try_new(minor_units: i64, currency: &str) -> Result<Self, ValueError> {
        Ok(Self::new(Amount::try_new(minor_units)?, Currency::parse(currency)?))
    }

    /// The amount without the currency.
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The amount in minor units.
    pub fn minor_units(&self) -> i64 {
        self.amount.minor_units()
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Sum of two amounts in the same currency; `None` when the currencies differ or the sum exceeds [`Amount::MAX`].
    pub fn checked_add(self, other: Self) -> Option<Self> {
        if self.currency != other.currency {
            return None;
        }
        Some(Self::new(self.amount.checked_add(other.amount)?, self.currency))
    }

    /// Difference of two amounts in the same currency; `None` when the currencies differ or it would be negative.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        if self.currency != other.currency {
            return None;
        }
        Some(Self::new(self.amount.checked_sub(other.amount)?, self.currency))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {} (minor units)", self.amount, self.currency)
    }
}

/// Number of units on a line: 1..=[`Quantity::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(NonZeroU32);

impl Quantity {
    /// Largest quantity of one line.
    pub const MAX: u32 = 1000;

    /// Accepts 1..=[`Quantity::MAX`].
    pub fn try_new(units: i64) -> Result<Self, ValueError> {
        u32::try_from(units)
            .ok()
            .filter(|units| *units <= Self::MAX)
            .and_then(NonZeroU32::new)
            .map(Self)
            .ok_or(ValueError::OutOfRange { min: 1, max: i64::from(Self::MAX) })
    }

    /// The number of units.
    pub fn get(&self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// Stock keeping unit: 1 to 64 characters from `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sku(String);

impl Sku {
    /// Largest number of characters.
    pub const MAX_LENGTH: usize = 64;

    /// Accepts the sku exactly as given; it is not trimmed or case-folded.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let mut characters = text.chars();
        let Some(first) = characters.next() else {
            return Err(ValueError::Empty);
        };
        if text.chars().count() > Self::MAX_LENGTH {
            return Err(ValueError::TooLong { max: Self::MAX_LENGTH });
        }
        let is_allowed = |character: char| character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-');
        if first.is_ascii_alphanumeric() && characters.all(is_allowed) {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValueError::InvalidCharacters)
        }
    }

    /// The sku text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Checks a free text the way the schemas' text pattern does: not blank, no control characters, bounded length.
fn check_text(text: &str, max_length: usize) -> Result<(), ValueError> {
    if text.trim().is_empty() {
        return Err(ValueError::Empty);
    }
    if text.chars().count() > max_length {
        return Err(ValueError::TooLong { max: max_length });
    }
    if text.chars().any(|character| character <= '\u{1f}' || character == '\u{7f}') {
        return Err(ValueError::InvalidCharacters);
    }
    Ok(())
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Largest number of characters (Unicode scalar values).
            pub const MAX_LENGTH: usize = $max;

            /// Accepts a text that is not blank, has no control characters and at most `MAX_LENGTH` characters.
            /// The text is kept exactly as given.
            pub fn parse(text: &str) -> Result<Self, ValueError> {
                check_text(text, Self::MAX_LENGTH).map(|()| Self(text.to_owned()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&self.0)
            }
        }
    };
}

bounded_text!(
    /// Product name as shown to the customer, up to 200 characters.
    ProductName,
    200
);
bounded_text!(
    /// Why an order was cancelled, up to 500 characters.
    CancelReason,
    500
);
bounded_text!(
    /// Why money was paid back, up to 500 characters.
    RefundReason,
    500
);
bounded_text!(
    /// Name of a carrier, up to 100 characters.
    Carrier,
    100
);
bounded_text!(
    /// A carrier's tracking number, up to 100 characters.
    TrackingNumber,
    100
);
bounded_text!(
    /// Reference of the payment provider, up to 100 characters.
    PaymentReference,
    100
);
bounded_text!(
    /// Person or company a parcel is addressed to, up to 200 characters.
    RecipientName,
    200
);
bounded_text!(
    /// One line of a street address, up to 200 characters.
    AddressLine,
    200
);
bounded_text!(
    /// City or town, up to 100 characters.
    City,
    100
);
bounded_text!(
    /// State, province or county, up to 100 characters.
    Region,
    100
);
bounded_text!(
    /// Postal or ZIP code, up to 20 characters.
    PostalCode,
    20
);

/// ISO 3166-1 alpha-2 country code in upper case, such as `DE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Accepts exactly two upper-case ASCII letters.
    ///
    /// The assigned-code list is not checked, because new codes appear and a shop may ship to any of them.
    pub fn parse(code: &str) -> Result<Self, ValueError> {
        let bytes: [u8; 2] = code.as_bytes().try_into().map_err(|_| ValueError::InvalidCountry)?;
        if bytes.iter().all(u8::is_ascii_uppercase) {
            Ok(Self(bytes))
        } else {
            Err(ValueError::InvalidCountry)
        }
    }

    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored, so the bytes are valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A shipping address; every part is already valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShippingAddress {
    /// Person or company the parcel is addressed to.
    pub recipient_name: RecipientName,
    /// Street and number.
    pub line1: AddressLine,
    /// Apartment, floor or building.
    pub line2: Option<AddressLine>,
    /// City or town.
    pub city: City,
    /// State, province or county.
    pub region: Option<Region>,
    /// Postal or ZIP code.
    pub postal_code: PostalCode,
    /// Country.
    pub country: CountryCode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_must_be_listed_iso_4217_codes_in_upper_case() {
        assert_eq!(Currency::parse("EUR").map(|currency| currency.to_string()), Ok("EUR".to_owned()));
        assert!(Currency::parse("JPY").is_ok());
        for refused in ["eur", "EU", "EURO", "XYZ", "XAU", "", "€UR"] {
            assert_eq!(Currency::parse(refused), Err(ValueError::UnknownCurrency), "{refused}");
        }
    }

    #[test]
    fn quantities_run_from_one_to_a_thousand() {
        assert_eq!(Quantity::try_new(1).map(|quantity| quantity.get()), Ok(1));
        assert_eq!(Quantity::try_new(1000).map(|quantity| quantity.get()), Ok(1000));
        for refused in [0, -1, 1001, i64::MAX] {
            assert_eq!(Quantity::try_new(refused), Err(ValueError::OutOfRange { min: 1, max: 1000 }), "{refused}");
        }
    }

    #[test]
    fn amounts_and_unit_prices_are_never_negative_and_bounded() {
        assert!(Amount::try_new(0).is_ok());
        assert!(Amount::try_new(-1).is_err());
        assert!(Amount::try_new(Amount::MAX + 1).is_err());
        assert!(UnitPrice::try_new(UnitPrice::MAX).is_ok());
        assert!(UnitPrice::try_new(UnitPrice::MAX + 1).is_err());
        let largest_line = UnitPrice::try_new(UnitPrice::MAX).unwrap().times(Quantity::try_new(1000).unwrap());
        assert_eq!(largest_line.minor_units(), 10_000_000_000_000);
    }

    #[test]
    fn money_only_adds_up_in_one_currency_and_within_the_bound() {
        let euros = Money::try_new(150, "EUR").unwrap();
        let dollars = Money::try_new(150, "USD").unwrap();
        assert_eq!(euros.checked_add(euros), Some(Money::try_new(300, "EUR").unwrap()));
        assert_eq!(euros.checked_add(dollars), None);
        assert_eq!(euros.checked_sub(Money::try_new(151, "EUR").unwrap()), None);
        let largest = Money::try_new(Amount::MAX, "EUR").unwrap();
        assert_eq!(largest.checked_add(euros), None);
    }

    #[test]
    fn skus_are_short_codes_starting_with_a_letter_or_digit() {
        assert!(Sku::parse("BOOK-0042").is_ok());
        assert!(Sku::parse("a.b_c-9").is_ok());
        assert_eq!(Sku::parse(""), Err(ValueError::Empty));
        assert_eq!(Sku::parse("-x"), Err(ValueError::InvalidCharacters));
        assert_eq!(Sku::parse("with space"), Err(ValueError::InvalidCharacters));
        assert_eq!(Sku::parse(&"A".repeat(65)), Err(ValueError::TooLong { max: 64 }));
    }

    #[test]
    fn texts_are_not_blank_have_no_control_characters_and_are_bounded_in_characters() {
        assert!(ProductName::parse("Crème brûlée – 200 g").is_ok());
        assert!(ProductName::parse(&"é".repeat(200)).is_ok());
        assert_eq!(ProductName::parse(&"é".repeat(201)), Err(ValueError::TooLong { max: 200 }));
        assert_eq!(ProductName::parse("   "), Err(ValueError::Empty));
        assert_eq!(ProductName::parse("tab\there"), Err(ValueError::InvalidCharacters));
        assert_eq!(CancelReason::parse("line\nbreak"), Err(ValueError::InvalidCharacters));
    }

    #[test]
    fn countries_are_two_upper_case_letters() {
        assert!(CountryCode::parse("DE").is_ok());
        for refused in ["de", "DEU", "D", "D1"] {
            assert_eq!(CountryCode::parse(refused), Err(ValueError::InvalidCountry), "{refused}");
        }
    }

    #[test]
    fn ids_parse_uuids_only() {
        let text = "0190f5d2-7c3a-7b8e-9a41-2f6d8c1e5b07";
        assert_eq!(OrderId::parse(text).map(|id| id.to_string()), Ok(text.to_owned()));
        assert_eq!(CustomerId::parse("nope"), Err(ValueError::InvalidUuid));
    }
}
