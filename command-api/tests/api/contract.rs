//! Contracts with files outside the crate: compose.yaml's `command-api` service and the README's problem table.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::CommandFactory;
use command_api::ProblemType;
use command_api::Settings;

fn repository_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// Every environment variable compose.yaml gives `command-api` is one `Settings` reads, and the container
/// port is the port of the default `LISTEN_ADDR`.
#[test]
fn compose_contract() {
    let compose: serde_yaml::Value =
        serde_yaml::from_str(&repository_file("compose.yaml")).expect("compose.yaml is YAML");
    let service = &compose["services"]["command-api"];
    assert!(service.is_mapping(), "compose.yaml has a command-api service");

    let read_by_settings: BTreeSet<String> = Settings::command()
        .get_arguments()
        .filter_map(|argument| argument.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    let environment = service["environment"].as_mapping().expect("an environment mapping");
    assert!(!environment.is_empty());
    for key in environment.keys() {
        let key = key.as_str().expect("a string key");
        assert!(
            read_by_settings.contains(key),
            "compose sets {key}, which Settings does not read ({read_by_settings:?})"
        );
    }

    let default_port = command_api::DEFAULT_LISTEN_ADDR.parse::<SocketAddr>().expect("a socket address").port();
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

/// The README's "Command API" section lists every problem type with its status.
#[test]
fn the_readme_documents_every_problem_type() {
    let readme = repository_file("README.md");
    let section = readme.split("## Command API").nth(1).expect("a \"## Command API\" section in README.md");
    let section = section.split("\n## ").next().unwrap_or(section);
    for problem in ProblemType::ALL {
        let row = section
            .lines()
            .find(|line| line.contains(&format!("`{}`", problem.uri())))
            .unwrap_or_else(|| panic!("{} is not in the README table", problem.uri()));
        assert!(row.contains(&problem.status().as_u16().to_string()), "{row} lacks its status");
    }
}
