//! End to end through all three parts, in one process: the command API takes real HTTP commands, the
//! projections library tails the event store into the views and the test's index, and a read through the
//! query API sent at once with the command's consistency token always sees that command's change.
//!
//! A test binary of its own, because the command API and the query API each install a global metrics
//! recorder and only the first one of a process wins.

use std::time::Duration;

use command_api::client::CommandClient;
use command_api::client::CommandOptions;
use projections::Projector;
use projections::SearchIndex;
use query_api::client::QueryClient;
use query_api::client::ReadOptions;
use query_api::client::SearchQuery;
use schemas::order as body;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use tokio::task::JoinHandle;
use uuid::Uuid;

fn service_url(variable: &str) -> String {
    std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is not set: run the tests with scripts/test, which starts the stack"))
}

/// Runs a projection the way its service does when NATS is quiet: catch up from the event store, poll again.
fn keep_projecting(projector: Projector) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = projector.catch_up(None).await {
                panic!("the {} projection failed: {error}", projector.name());
            }
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    })
}

#[sqlx::test(migrations = false)]
async fn a_command_followed_at_once_by_a_read_with_its_token_always_sees_the_change(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let admin = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options.clone())
        .await
        .expect("the test database connects");
    event_store::MIGRATOR.run(&admin).await.expect("the event store migrations run");
    projections::MIGRATOR.run(&admin).await.expect("the projections migrations run");
    let alias = format!("orders-test-{}", Uuid::new_v4().simple());
    let search = SearchIndex::new(&service_url("ELASTICSEARCH_URL"), &alias, &format!("{alias}-v1"))
        .expect("ELASTICSEARCH_URL is a URL")
        .with_refresh_interval("100ms");
    search.ensure().await.expect("the test index is created");

    let commands_state =
        command_api::AppState::new(admin.clone(), &command_api::Settings::for_database("postgres://unused"));
    let commands_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let commands = CommandClient::new(format!("http://{}", commands_listener.local_addr().expect("an address")));
    let commands_server = tokio::spawn(command_api::serve(
        commands_listener,
        commands_state,
        std::future::pending(),
        Duration::from_secs(1),
    ));

    let mut settings = query_api::Settings::for_database("postgres://unused");
    settings.elasticsearch_url = service_url("ELASTICSEARCH_URL");
    settings.search_alias = alias.clone();
    let query_options = options.clone().username("orders_query").password("orders_query");
    let queries_state = query_api::AppState::with_connect_options(query_options, &settings).expect("valid settings");
    let queries_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let queries = QueryClient::new(format!("http://{}", queries_listener.local_addr().expect("an address")));
    let queries_server =
        tokio::spawn(query_api::serve(queries_listener, queries_state, std::future::pending(), Duration::from_secs(1)));

    let views = keep_projecting(Projector::order_views(admin.clone()));
    let index = keep_projecting(Projector::order_search(admin.clone(), search.clone()));

    let none = CommandOptions::default();
    let customer_id = Uuid::now_v7();
    for round in 0..8 {
        let created = commands
            .create_order(&body::CreateOrderV1 { order_id: None, customer_id, currency: "EUR".to_owned() }, &none)
            .await
            .expect("created");
        let order_id = created.order_id();
        let token = created.body.consistency_token.clone().expect("a token");
        let order =
            queries.get_order(order_id, &ReadOptions::after(token)).await.expect("read").into_body().expect("a body");
        assert_eq!(
            (order.status.as_str(), order.version),
            ("draft", created.version()),
            "round {round}: the created order"
        );

        let sku = format!("SKU-{round}");
        let name = format!("Widget{round}x");
        let added = commands
            .add_item(
                order_id,
                &body::AddItemV1 { sku: sku.clone(), name: name.clone(), unit_price_minor: 250, quantity: 2 },
                &none,
            )
            .await
            .expect("added");
        let in_header = ReadOptions {
            consistency_token: added.body.consistency_token.clone(),
            token_in_header: true,
            ..ReadOptions::default()
        };
        let order = queries.get_order(order_id, &in_header).await.expect("read").into_body().expect("a body");
        assert_eq!(order.version, added.version(), "round {round}: the added line");
        assert_eq!(order.lines.iter().map(|line| line.sku.as_str()).collect::<Vec<_>>(), [sku.as_str()]);

        let found = queries
            .search_orders(
                &SearchQuery::text(name.to_lowercase()),
                &ReadOptions::after(added.body.consistency_token.clone().expect("a token")),
            )
            .await
            .expect("searched")
            .into_body()
            .expect("a body");
        assert_eq!(
            found.items.iter().map(|hit| hit.order_id).collect::<Vec<_>>(),
            [order_id],
            "round {round}: searchable at once"
        );

        let address = body::AddressV1 {
            recipient_name: "Ada Lovelace".to_owned(),
            line1: "12 St James's Square".to_owned(),
            line2: None,
            city: "London".to_owned(),
            region: None,
            postal_code: "SW1Y 4JH".to_owned(),
            country: "GB".to_owned(),
        };
        commands.set_shipping_address(order_id, &address, &none).await.expect("address set");
        let placed = commands.place_order(order_id, &none).await.expect("placed");
        let read = queries
            .get_order(order_id, &ReadOptions::after(placed.body.consistency_token.clone().expect("a token")))
            .await
            .expect("read");
        let reflects: event_store::LogPosition =
            read.consistency_token.clone().expect("a header").parse().expect("a position");
        let placed_token: event_store::LogPosition =
            placed.body.consistency_token.clone().expect("a token").parse().expect("a position");
        assert!(reflects.covers(&placed_token), "round {round}: the answer reflects at least the token");
        let order = read.into_body().expect("a body");
        assert_eq!((order.status.as_str(), order.version), ("placed", placed.version()), "round {round}: placed");

        let customer = queries
            .get_customer(customer_id, &ReadOptions::after(placed.body.consistency_token.clone().expect("a token")))
            .await
            .expect("read")
            .into_body()
            .expect("a body");
        assert_eq!(customer.figures[0].orders_placed, round + 1, "round {round}: the customer figures");
    }

    views.abort();
    index.abort();
    commands_server.abort();
    queries_server.abort();
    if let Ok(Some(concrete)) = search.aliased_index().await {
        search.delete_index(&concrete).await.expect("the test index is deleted");
    }
}
