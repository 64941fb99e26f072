//! The `relay` and `projections` services of compose.yaml only set environment variables that the
//! binaries' settings read, and publish the ports the settings listen on by default.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use clap::CommandFactory;
use projections::{ProjectionsSettings, RelaySettings};
use serde_yaml::Value;

fn compose() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../compose.yaml");
    let text = std::fs::read_to_string(path).expect("compose.yaml is readable");
    serde_yaml::from_str(&text).expect("compose.yaml is YAML")
}

fn env_names<Settings: CommandFactory>() -> BTreeSet<String> {
    Settings::command()
        .get_arguments()
        .filter_map(|argument| argument.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

fn default_listen_port<Settings: CommandFactory>() -> u16 {
    let command = Settings::command();
    let argument =
        command.get_arguments().find(|argument| argument.get_id() == "listen_addr").expect("a listen_addr setting");
    let default = argument.get_default_values().first().expect("a default listen address");
    default.to_string_lossy().parse::<SocketAddr>().expect("the default is a socket address").port()
}

fn check_service<Settings: CommandFactory>(name: &str) {
    let compose = compose();
    let service = &compose["services"][name];
    let environment = service["environment"].as_mapping().unwrap_or_else(|| panic!("{name} has an environment map"));
    let read = env_names::<Settings>();
    for key in environment.keys() {
        let key = key.as_str().expect("environment keys are strings");
        assert!(
            read.contains(key),
            "compose sets {key} for {name}, which its settings do not read (they read {read:?})"
        );
    }
    assert!(environment.keys().any(|key| key.as_str() == Some("DATABASE_URL")), "{name} gets a DATABASE_URL");
    let database_url = environment[&Value::from("DATABASE_URL")].as_str().expect("a string");
    assert!(database_url.starts_with("postgres://orders_projections:"), "{name} connects as orders_projections");
    let ports = service["ports"].as_sequence().unwrap_or_else(|| panic!("{name} publishes ports"));
    let port = default_listen_port::<Settings>();
    for mapping in ports {
        let mapping = mapping.as_str().expect("port mappings are strings");
        let container_port = mapping.rsplit(':').next().expect("a container port");
        assert_eq!(
            container_port,
            port.to_string(),
            "{name}: container port of {mapping} is the default LISTEN_ADDR port"
        );
    }
    let listen_addr = environment[&Value::from("LISTEN_ADDR")].as_str().expect("compose sets LISTEN_ADDR");
    assert_eq!(listen_addr.parse::<SocketAddr>().expect("a socket address").port(), port);
}

#[test]
fn the_relay_service_sets_only_variables_the_relay_reads_and_publishes_its_port() {
    check_service::<RelaySettings>("relay");
}

#[test]
fn the_projections_service_sets_only_variables_the_projections_read_and_publishes_its_port() {
    check_service::<ProjectionsSettings>("projections");
}

#[test]
fn the_settings_parse_from_their_defaults() {
    use clap::Parser;
    RelaySettings::try_parse_from(["relay"]).expect("defaults parse");
    let projections = ProjectionsSettings::try_parse_from(["projections", "--projections", "order_views,order_search"])
        .expect("defaults parse");
    projections.validate().expect("known projections");
    let unknown = ProjectionsSettings::try_parse_from(["projections", "--projections", "nope"]).expect("parses");
    assert!(unknown.validate().is_err());
}
