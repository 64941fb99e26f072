//! Contracts with files and crates outside this one: compose.yaml's `query-api` service, the README's
//! problem table, and the checkpoint names of the projections crate.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::CommandFactory;
use query_api::ProblemType;
use query_api::Projection;
use query_api::Settings;

fn repository_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// Every environment variable compose.yaml gives `query-api` is one `Settings` reads, and the container
/// port is the port of the default `LISTEN_ADDR`.
#[test]
fn compose_contract() {
    let compose: serde_yaml::Value =
        serde_yaml::from_str(&repository_file("compose.yaml")).expect("compose.yaml is YAML");
    let service = &compose["services"]["query-api"];
    assert!(service.is_mapping(), "compose.yaml has a query-api service");

    let read_by_settings: BTreeSet<String> = Settings::command()
        .get_arguments()
        .filter_map(|argument| argument.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    for expected in [
        "DATABASE_URL",
        "ELASTICSEARCH_URL",
        "LISTEN_ADDR",
        "LOG_FORMAT",
        "RUST_LOG",
        "SEARCH_ALIAS",
        "CONSISTENCY_WAIT_MS",
        "REQUEST_TIMEOUT_MS",
        "DB_MAX_CONNECTIONS",
    ] {
        assert!(read_by_settings.contains(expected), "Settings reads {expected}");
    }
    let environment = service["environment"].as_mapping().expect("an environment mapping");
    assert!(!environment.is_empty());
    for key in environment.keys() {
        let key = key.as_str().expect("a string key");
        assert!(
            read_by_settings.contains(key),
            "compose sets {key}, which Settings does not read ({read_by_settings:?})"
        );
    }
    let database_url = environment.get("DATABASE_URL").and_then(|value| value.as_str()).expect("a DATABASE_URL");
    assert!(database_url.starts_with("postgres://orders_query:"), "the query API connects as the read-only role");

    let default_port = query_api::DEFAULT_LISTEN_ADDR.parse::<SocketAddr>().expect("a socket address").port();
    let ports = service["ports"].as_sequence().expect("a ports list");
    let container_ports: Vec<u16> = ports
        .iter()
        .map(|port| {
            let text =
                port.as_str().map(str::to_owned).unwrap_or_else(|| format!("{}", port.as_u64().unwrap_or_default()));
            let container = text.rsplit(':').next().unwrap_or_default().split('/').next().unwrap_or_default();
            container.parse().expect("a numeric container port")
        })
        .collect();
    assert_eq!(container_ports, vec![default_port]);
    if let Some(listen) = environment.get("LISTEN_ADDR").and_then(|value| value.as_str()) {
        assert_eq!(listen.parse::<SocketAddr>().expect("LISTEN_ADDR parses").port(), default_port);
    }
}

/// The README's "Query API" section lists every problem type with its status.
#[test]
fn the_readme_documents_every_problem_type() {
    let readme = repository_file("README.md");
    let section = readme.split("## Query API").nth(1).expect("a \"## Query API\" section in README.md");
    let section = section.split("\n## ").next().unwrap_or(section);
    for problem in ProblemType::ALL {
        let row = section
            .lines()
            .find(|line| line.contains(&format!("`{}`", problem.uri())))
            .unwrap_or_else(|| panic!("{} is not in the README table", problem.uri()));
        assert!(row.contains(&problem.status().as_u16().to_string()), "{row} lacks its status");
    }
}

#[test]
fn the_checkpoint_names_are_those_the_projections_write() {
    assert_eq!(Projection::Views.checkpoint_name(), projections::ORDER_VIEWS);
    assert_eq!(Projection::Search.checkpoint_name(), projections::ORDER_SEARCH);
}

#[test]
fn the_default_search_alias_is_the_shared_one() {
    let settings = Settings::for_database("postgres://unused");
    assert_eq!(settings.search_alias, schemas::ELASTICSEARCH_ALIAS);
}
