//! Validation of JSON documents against the embedded schemas, with errors located by JSON pointer.
//!
//! Validators are compiled once, on first use, with format assertions switched on: in draft 2020-12
//! `format` is only an annotation unless the validator is told to assert it, and the contract relies on
//! `uuid` and `date-time` being checked.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::Value;

use crate::catalog::all_schemas;
use crate::catalog::SchemaKind;
use crate::problem::FieldError;

type ValidatorKey = (SchemaKind, &'static str, u32);

/// Compiled validators, or the reason a schema did not compile (a defect the contract tests catch).
///
/// A list rather than a map: there are a few dozen schemas, and a scan avoids a key type that borrows.
fn validators() -> &'static [(ValidatorKey, Result<Validator, String>)] {
    static VALIDATORS: OnceLock<Vec<(ValidatorKey, Result<Validator, String>)>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        all_schemas()
            .iter()
            .map(|schema| {
                let compiled = serde_json::from_str::<Value>(schema.text)
                    .map_err(|error| format!("{} is not JSON: {error}", schema.path))
                    .and_then(|document| {
                        jsonschema::draft202012::options()
                            .should_validate_formats(true)
                            .build(&document)
                            .map_err(|error| format!("{} does not compile: {error}", schema.path))
                    });
                ((schema.kind, schema.name, schema.version), compiled)
            })
            .collect()
    })
}

/// Validates an event payload against the schema of `event_type` at `schema_version`.
///
/// Returns every violation, each located by a JSON pointer into `payload`.
/// An unknown type or version is reported as one error at the empty pointer (the whole document).
pub fn validate_event(event_type: &str, schema_version: u32, payload: &Value) -> Result<(), Vec<FieldError>> {
    validate(SchemaKind::Event, event_type, schema_version, payload)
}

/// Validates a command body against the schema of `command_name` at `version`.
///
/// Returns every violation, each located by a JSON pointer into `body`: a missing required member is
/// reported at the pointer of that member, and an unexpected member at its own pointer.
/// An unknown command or version is reported as one error at the empty pointer.
pub fn validate_command(command_name: &str, version: u32, body: &Value) -> Result<(), Vec<FieldError>> {
    validate(SchemaKind::Command, command_name, version, body)
}

fn validate(kind: SchemaKind, name: &str, version: u32, instance: &Value) -> Result<(), Vec<FieldError>> {
    let Some(compiled) = validators()
        .iter()
        .find(|((candidate_kind, candidate_name, candidate_version), _)| {
            *candidate_kind == kind && *candidate_name == name && *candidate_version == version
        })
        .map(|(_, compiled)| compiled)
    else {
        let what = match kind {
            SchemaKind::Command => "command",
            SchemaKind::Event => "event type",
        };
        return Err(vec![FieldError::new("", format!("no schema for {what} `{name}` version {version}"))]);
    };
    let validator = compiled.as_ref().map_err(|reason| vec![FieldError::new("", reason.clone())])?;
    let mut errors: Vec<FieldError> = validator
        .iter_errors(instance)
        .flat_map(|error| {
            let base = error.instance_path.as_str().to_owned();
            match &error.kind {
                // Point at the missing or unexpected member itself, so a client can highlight that field.
                ValidationErrorKind::Required { property } => {
                    let member = property.as_str().map(str::to_owned).unwrap_or_else(|| property.to_string());
                    vec![FieldError::new(format!("{base}/{}", escape_pointer_token(&member)), "is required")]
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                    .iter()
                    .map(|member| {
                        FieldError::new(format!("{base}/{}", escape_pointer_token(member)), "is not an allowed member")
                    })
                    .collect(),
                _ => vec![FieldError::new(base, error.to_string())],
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        errors.sort_by(|left, right| left.field.cmp(&right.field));
        errors.dedup();
        Err(errors)
    }
}

/// Escapes one reference token as RFC 6901 requires (`~` then `/`).
fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
