//! The OpenAPI 3.1 document, generated from the handlers' annotations (so it lists exactly the routes
//! the router serves), with each request body replaced by the command's JSON Schema from `schemas`
//! (so the document and the edge validation can never disagree).

use std::collections::BTreeMap;

use serde_json::json;
use serde_json::Value;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::RefOr;
use utoipa::openapi::ResponseBuilder;

use crate::error::ProblemType;
use crate::extract::COMMAND_SCHEMA_VERSION;

/// The document's static parts; the paths come from the router (`utoipa_axum`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Order command API", description = "Commands of the event-sourced order system. Errors are RFC 9457 problem+json."),
    components(schemas(ProblemDoc, FieldErrorDoc)),
    tags((name = "orders", description = "Commands on orders"), (name = "operations", description = "Health, metrics and this document"))
)]
pub(crate) struct ApiDoc;

/// `schemas::Problem` as documented (the wire type itself lives in `schemas`, which knows no OpenAPI).
#[derive(utoipa::ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)]
pub(crate) struct ProblemDoc {
    /// Stable URI reference of the kind of problem, for example `/problems/validation-failed`.
    #[schema(rename = "type")]
    problem_type: String,
    /// Fixed summary of the type.
    title: String,
    /// The HTTP status.
    status: u16,
    /// This occurrence, in words a client may show.
    detail: String,
    /// The request that failed.
    instance: Option<String>,
    /// Rule name for business refusals, for example `payment_amount_mismatch`.
    code: Option<String>,
    /// One entry per offending field (validation failures).
    errors: Option<Vec<FieldErrorDoc>>,
}

/// `schemas::FieldError` as documented.
#[derive(utoipa::ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)]
pub(crate) struct FieldErrorDoc {
    /// RFC 6901 JSON pointer into the request body.
    field: String,
    /// What is wrong with it.
    message: String,
}

/// Request headers shared by every command.
#[derive(utoipa::IntoParams, serde::Deserialize)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(crate) struct CommandHeaderParams {
    /// Expected order version (the `ETag` of an earlier answer, `"3"`): 412 when the order moved on.
    /// Without it, conflicting commands are decided again a bounded number of times.
    #[serde(rename = "If-Match")]
    if_match: Option<String>,
    /// Makes a retried request return the first response without appending again (1 to 255 characters).
    /// Reusing a key for another request is a 422.
    #[serde(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
    /// Correlation id stored with the events and returned in the response; generated when absent.
    #[serde(rename = "X-Correlation-Id")]
    correlation_id: Option<String>,
    /// W3C trace context; its trace id is the correlation id when `X-Correlation-Id` is absent.
    #[serde(rename = "traceparent")]
    traceparent: Option<String>,
    /// Who issues the command, stored with the events; `anonymous` when absent.
    #[serde(rename = "X-Actor")]
    actor: Option<String>,
}

/// The problem responses a command can answer with.
pub(crate) struct CommandProblems;

impl utoipa::IntoResponses for CommandProblems {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        let mut by_status: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
        for problem in ProblemType::ALL {
            if matches!(problem, ProblemType::NotFound | ProblemType::MethodNotAllowed) {
                continue;
            }
            by_status.entry(problem.status().as_u16()).or_default().push(problem.uri());
        }
        by_status
            .into_iter()
            .map(|(status, types)| {
                let content =
                    ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("Problem"))).build();
                let response = ResponseBuilder::new()
                    .description(format!("problem+json: {}", types.join(", ")))
                    .content(schemas::PROBLEM_CONTENT_TYPE, content)
                    .build();
                (status.to_string(), RefOr::T(response))
            })
            .collect()
    }
}

/// The command name of each operation with a request body.
fn command_of(operation_id: &str) -> Option<&'static str> {
    use schemas::order::command_name;
    Some(match operation_id {
        "create_order" => command_name::CREATE_ORDER,
        "add_item" => command_name::ADD_ITEM,
        "remove_item" => command_name::REMOVE_ITEM,
        "change_item_quantity" => command_name::CHANGE_ITEM_QUANTITY,
        "set_shipping_address" => command_name::SET_SHIPPING_ADDRESS,
        "place_order" => command_name::PLACE_ORDER,
        "confirm_payment" | "pay" => command_name::CONFIRM_PAYMENT,
        "ship_order" | "ship" => command_name::SHIP_ORDER,
        "confirm_delivery" | "deliver" => command_name::CONFIRM_DELIVERY,
        "cancel_order" => command_name::CANCEL_ORDER,
        "refund_order" => command_name::REFUND_ORDER,
        _ => return None,
    })
}

/// Serialises the generated document and puts each command's JSON Schema in as its request body.
pub(crate) fn finish(api: utoipa::openapi::OpenApi) -> Value {
    let mut document = serde_json::to_value(&api).unwrap_or_else(|_| json!({}));
    let mut command_schemas = serde_json::Map::new();
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
            let Some(command) = operation.get("operationId").and_then(Value::as_str).and_then(command_of) else {
                continue;
            };
            let Some(schema) = schemas::command_schema(command, COMMAND_SCHEMA_VERSION) else { continue };
            let Ok(mut schema_json) = serde_json::from_str::<Value>(schema.text) else { continue };
            if let Some(object) = schema_json.as_object_mut() {
                object.remove("$schema");
                object.remove("$id");
            }
            let component = format!("{command}.v{COMMAND_SCHEMA_VERSION}");
            let empty_allowed = schema_json.get("required").and_then(Value::as_array).is_some_and(Vec::is_empty);
            command_schemas.insert(component.clone(), schema_json);
            operation["requestBody"] = json!({
                "description": format!("`{command}` v{COMMAND_SCHEMA_VERSION}, validated against this schema before the domain sees it"),
                "required": !empty_allowed,
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{component}")}}},
            });
        }
    }
    if let Some(components) = document
        .as_object_mut()
        .map(|root| root.entry("components").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    {
        let schemas_entry = components.entry("schemas").or_insert_with(|| json!({}));
        if let Some(existing) = schemas_entry.as_object_mut() {
            existing.extend(command_schemas);
        }
    }
    document
}
