//! The Elasticsearch side: the explicit mapping of the order document, the alias and its concrete index,
//! reading current documents (real-time `_mget`) and writing folded ones with `_bulk`.
//!
//! Every write uses the order's stream version as an external version, so a replayed or late write is
//! refused with 409 and can never overwrite newer data; 409 therefore counts as success.

use std::collections::HashMap;
use std::time::Duration;

use elasticsearch::http::request::JsonBody;
use elasticsearch::http::transport::Transport;
use elasticsearch::indices::{
    IndicesCreateParts, IndicesDeleteParts, IndicesExistsAliasParts, IndicesGetAliasParts, IndicesGetParts,
    IndicesPutSettingsParts, IndicesRefreshParts,
};
use elasticsearch::params::Refresh;
use elasticsearch::{BulkParts, Elasticsearch, MgetParts};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::Error;
use crate::view::OrderView;

/// How long one Elasticsearch request may take before it counts as a transient failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The search index of orders: an alias (what readers and the live projector use) in front of a concrete index.
#[derive(Debug, Clone)]
pub struct SearchIndex {
    client: Elasticsearch,
    alias: String,
    index_prefix: String,
    refresh_interval: String,
    /// Where reads and writes go: the alias, or a concrete index during a rebuild.
    target: String,
    /// Whether a write waits until it is searchable (`refresh=wait_for`); off while a rebuild fills an
    /// index whose refresh is disabled.
    wait_for_refresh: bool,
}

impl SearchIndex {
    /// A handle on `alias` at `url`; concrete indices are named `<index_prefix>-<UTC timestamp>`.
    /// Does no IO; call [`SearchIndex::ensure`] before projecting.
    pub fn new(url: &str, alias: &str, index_prefix: &str) -> Result<Self, Error> {
        let transport = Transport::single_node(url)
            .map_err(|error| Error::Config(format!("ELASTICSEARCH_URL {url:?}: {error}")))?;
        Ok(Self {
            client: Elasticsearch::new(transport),
            alias: alias.to_owned(),
            index_prefix: index_prefix.to_owned(),
            refresh_interval: "250ms".to_owned(),
            target: alias.to_owned(),
            wait_for_refresh: true,
        })
    }

    /// Sets the refresh interval of indices this handle creates (default `250ms`): the upper bound of the
    /// time a write waits until it is searchable.
    pub fn with_refresh_interval(mut self, refresh_interval: &str) -> Self {
        refresh_interval.clone_into(&mut self.refresh_interval);
        self
    }

    /// The alias.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The refresh interval of new indices.
    pub fn refresh_interval(&self) -> &str {
        &self.refresh_interval
    }

    /// The underlying client (for searches and administration).
    pub fn client(&self) -> &Elasticsearch {
        &self.client
    }

    /// A handle that reads and writes the concrete `index` without waiting for refreshes (rebuilds).
    pub(crate) fn writing_to_index(&self, index: &str) -> Self {
        Self { target: index.to_owned(), wait_for_refresh: false, ..self.clone() }
    }

    /// The index settings and explicit (strict) mapping of the order document.
    pub fn index_definition(refresh_interval: &str) -> Value {
        let keyword = json!({ "type": "keyword" });
        let long = json!({ "type": "long" });
        let integer = json!({ "type": "integer" });
        let date = json!({ "type": "date" });
        let text = json!({ "type": "text" });
        let text_and_keyword =
            json!({ "type": "text", "fields": { "keyword": { "type": "keyword", "ignore_above": 256 } } });
        json!({
            "settings": {
                "index": { "number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": refresh_interval }
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "order_id": keyword, "customer_id": keyword, "status": keyword, "currency": keyword,
                    "item_count": integer, "line_count": integer,
                    "total_minor": long, "paid_minor": long, "refund_due_minor": long, "refunded_minor": long,
                    "items": { "properties": {
                        "sku": { "type": "keyword", "fields": { "text": { "type": "text" } } },
                        "name": text_and_keyword,
                        "unit_price_minor": long, "quantity": integer, "line_total_minor": long, "version": long,
                    } },
                    "recipient_name": text, "address_line1": text, "address_line2": text,
                    "city": text_and_keyword, "region": keyword, "postal_code": keyword, "country": keyword,
                    "payment_reference": keyword, "carrier": keyword, "tracking_number": keyword,
                    "cancel_reason": text, "refund_reason": text,
                    "created_at": date, "placed_at": date, "paid_at": date, "shipped_at": date,
                    "delivered_at": date, "cancelled_at": date, "refunded_at": date, "updated_at": date,
                    "version": long, "last_position": long,
                }
            }
        })
    }

    /// Makes sure the alias exists, creating a new concrete index behind it if not, and gives the index
    /// this handle's refresh interval; returns the index name.
    pub async fn ensure(&self) -> Result<String, Error> {
        if let Some(index) = self.aliased_index().await? {
            self.set_refresh_interval(&index, &self.refresh_interval).await?;
            return Ok(index);
        }
        let index = self.new_index_name();
        let mut definition = Self::index_definition(&self.refresh_interval);
        definition["aliases"] = json!({ self.alias.clone(): { "is_write_index": true } });
        let response = self
            .client
            .indices()
            .create(IndicesCreateParts::Index(&index))
            .body(definition)
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status_code().is_success() {
            // Another projector may have created it first.
            if let Some(existing) = self.aliased_index().await? {
                return Ok(existing);
            }
            return Err(failed_response("creating the search index", response).await);
        }
        Ok(index)
    }

    /// A fresh concrete index name: `<prefix>-<yyyymmddhhmmssSSS>` (UTC).
    pub(crate) fn new_index_name(&self) -> String {
        format!("{}-{}", self.index_prefix, chrono::Utc::now().format("%Y%m%d%H%M%S%3f"))
    }

    /// Whether `name` is one of [`Self::new_index_name`]'s names: the prefix, a dash and digits only.
    fn is_own_index(&self, name: &str) -> bool {
        name.strip_prefix(self.index_prefix.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|stamp| !stamp.is_empty() && stamp.bytes().all(|byte| byte.is_ascii_digit()))
    }

    /// The concrete index behind the alias, if the alias exists.
    pub async fn aliased_index(&self) -> Result<Option<String>, Error> {
        let exists = self
            .client
            .indices()
            .exists_alias(IndicesExistsAliasParts::Name(&[&self.alias]))
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        if !exists.status_code().is_success() {
            return Ok(None);
        }
        let response = self
            .client
            .indices()
            .get_alias(IndicesGetAliasParts::Name(&[&self.alias]))
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        let body: Value = response.json().await.map_err(transport_error)?;
        Ok(body.as_object().and_then(|indices| indices.keys().next().cloned()))
    }

    /// Creates a concrete index with the mapping and the given refresh interval, without any alias.
    pub(crate) async fn create_index(&self, index: &str, refresh_interval: &str) -> Result<(), Error> {
        let response = self
            .client
            .indices()
            .create(IndicesCreateParts::Index(index))
            .body(Self::index_definition(refresh_interval))
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status_code().is_success() {
            return Err(failed_response("creating a search index", response).await);
        }
        Ok(())
    }

    /// Sets an index's refresh interval to this handle's and refreshes it.
    pub(crate) async fn finish_index(&self, index: &str) -> Result<(), Error> {
        self.set_refresh_interval(index, &self.refresh_interval).await?;
        self.refresh(index).await
    }

    async fn set_refresh_interval(&self, index: &str, refresh_interval: &str) -> Result<(), Error> {
        let response = self
            .client
            .indices()
            .put_settings(IndicesPutSettingsParts::Index(&[index]))
            .body(json!({ "index": { "refresh_interval": refresh_interval } }))
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status_code().is_success() {
            return Err(failed_response("setting the refresh interval", response).await);
        }
        Ok(())
    }

    /// Makes everything written to `index` searchable now.
    pub async fn refresh(&self, index: &str) -> Result<(), Error> {
        let response = self
            .client
            .indices()
            .refresh(IndicesRefreshParts::Index(&[index]))
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status_code().is_success() {
            return Err(failed_response("refreshing the search index", response).await);
        }
        Ok(())
    }

    /// Points the alias at `new_index` in one atomic `_aliases` request (removing it from `old_index`).
    pub(crate) async fn move_alias(&self, old_index: Option<&str>, new_index: &str) -> Result<(), Error> {
        let mut actions = Vec::new();
        if let Some(old_index) = old_index {
            actions.push(json!({ "remove": { "index": old_index, "alias": self.alias } }));
        }
        actions.push(json!({ "add": { "index": new_index, "alias": self.alias, "is_write_index": true } }));
        let response = self
            .client
            .indices()
            .update_aliases()
            .body(json!({ "actions": actions }))
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status_code().is_success() {
            return Err(failed_response("moving the search alias", response).await);
        }
        Ok(())
    }

    /// Deletes concrete indices (an old index after a rebuild, or a test's index).
    pub async fn delete_index(&self, index: &str) -> Result<(), Error> {
        let response = self
            .client
            .indices()
            .delete(IndicesDeleteParts::Index(&[index]))
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status_code().is_success() && response.status_code().as_u16() != 404 {
            return Err(failed_response("deleting a search index", response).await);
        }
        Ok(())
    }

    /// Names of the concrete indices of this handle (`<index_prefix>-<UTC timestamp>`), sorted.
    ///
    /// Only names whose suffix is the timestamp count: another handle whose prefix extends this one (an
    /// `ordersctl projections verify` scratch index, `<index_prefix>-verify-<timestamp>`) is not ours to delete.
    pub async fn concrete_indices(&self) -> Result<Vec<String>, Error> {
        let pattern = format!("{}-*", self.index_prefix);
        let response = self
            .client
            .indices()
            .get(IndicesGetParts::Index(&[&pattern]))
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status_code().is_success() {
            return Err(failed_response("listing search indices", response).await);
        }
        let body: Value = response.json().await.map_err(transport_error)?;
        let mut names: Vec<String> = body
            .as_object()
            .map(|indices| indices.keys().filter(|name| self.is_own_index(name)).cloned().collect())
            .unwrap_or_default();
        names.sort();
        Ok(names)
    }

    /// Deletes every concrete index of this prefix that the alias does not point to; returns their names.
    ///
    /// Only safe under the projection's [`crate::MaintenanceLock`]: an index no alias points to is then
    /// left over from an interrupted rebuild, or an old copy kept on purpose.
    pub async fn delete_unaliased_indices(&self) -> Result<Vec<String>, Error> {
        let aliased = self.aliased_index().await?;
        let mut deleted = Vec::new();
        for name in self.concrete_indices().await? {
            if Some(&name) != aliased.as_ref() {
                self.delete_index(&name).await?;
                deleted.push(name);
            }
        }
        Ok(deleted)
    }

    /// The current documents of the given orders (absent orders are missing from the map).
    pub(crate) async fn load(&self, order_ids: &[Uuid]) -> Result<HashMap<Uuid, OrderView>, Error> {
        let mut views = HashMap::with_capacity(order_ids.len());
        if order_ids.is_empty() {
            return Ok(views);
        }
        let ids: Vec<String> = order_ids.iter().map(Uuid::to_string).collect();
        let response = self
            .client
            .mget(MgetParts::Index(&self.target))
            .body(json!({ "ids": ids }))
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status_code().is_success() {
            return Err(failed_response("reading search documents", response).await);
        }
        let body: Value = response.json().await.map_err(transport_error)?;
        for document in body["docs"].as_array().into_iter().flatten() {
            if document["found"] != Value::Bool(true) {
                continue;
            }
            let view: OrderView = serde_json::from_value(document["_source"].clone()).map_err(|error| {
                Error::search(format!("search document {} does not parse: {error}", document["_id"]), false)
            })?;
            views.insert(view.order_id, view);
        }
        Ok(views)
    }

    /// Writes documents with their stream version as external version; returns the orders Elasticsearch
    /// refused for good (mapping errors and the like), with the reason. Overload and server errors are
    /// returned as a transient [`Error`]; version conflicts (an equal or newer document) count as written.
    pub(crate) async fn write<'a>(
        &self,
        views: impl Iterator<Item = &'a OrderView>,
    ) -> Result<Vec<(Uuid, String)>, Error> {
        let mut body: Vec<JsonBody<Value>> = Vec::new();
        for view in views {
            body.push(
                json!({ "index": { "_id": view.order_id, "version": view.version, "version_type": "external" } })
                    .into(),
            );
            let document = serde_json::to_value(view)
                .map_err(|error| Error::search(format!("encoding a document: {error}"), false))?;
            body.push(document.into());
        }
        if body.is_empty() {
            return Ok(Vec::new());
        }
        let refresh = if self.wait_for_refresh { Refresh::WaitFor } else { Refresh::False };
        let response = self
            .client
            .bulk(BulkParts::Index(&self.target))
            .refresh(refresh)
            .body(body)
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status_code().is_success() {
            return Err(failed_response("writing search documents", response).await);
        }
        let body: Value = response.json().await.map_err(transport_error)?;
        let mut refused = Vec::new();
        if body["errors"] != Value::Bool(true) {
            return Ok(refused);
        }
        for item in body["items"].as_array().into_iter().flatten() {
            let result = &item["index"];
            let status = result["status"].as_u64().unwrap_or(0);
            match status {
                200..=299 | 409 => {}
                429 | 500..=599 => {
                    return Err(Error::search(format!("bulk item refused with {status}: {}", result["error"]), true))
                }
                _ => {
                    let order_id = result["_id"].as_str().and_then(|id| id.parse().ok()).unwrap_or_default();
                    refused.push((
                        order_id,
                        format!("Elasticsearch refused the document ({status}): {}", result["error"]),
                    ));
                }
            }
        }
        Ok(refused)
    }
}

fn transport_error(error: elasticsearch::Error) -> Error {
    Error::search(error.to_string(), true)
}

async fn failed_response(what: &str, response: elasticsearch::http::response::Response) -> Error {
    let status = response.status_code().as_u16();
    let body = response.text().await.unwrap_or_default();
    let transient = status == 429 || status >= 500;
    Error::search(format!("{what}: status {status}: {}", body.chars().take(500).collect::<String>()), transient)
}

#[cfg(test)]
mod tests {
    use super::SearchIndex;

    #[test]
    fn only_timestamped_names_of_the_prefix_are_the_handles_indices() {
        let index = SearchIndex::new("http://127.0.0.1:9200", "orders", "orders-v1").expect("a URL");
        assert!(index.is_own_index(&index.new_index_name()));
        assert!(index.is_own_index("orders-v1-20261121101010123"));
        for other in
            ["orders-v1-verify-20261121101010123", "orders-v1-", "orders-v1", "orders-v10-2026", "orders-v2-2026"]
        {
            assert!(!index.is_own_index(other), "{other}");
        }
    }
}
