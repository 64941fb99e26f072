//! Elasticsearch helpers of the operator tool: reading every document of an index in `order_id` order
//! with `search_after`, so two indices can be compared by a merge in constant memory.

use std::collections::VecDeque;
use std::time::Duration;

use elasticsearch::indices::IndicesRefreshParts;
use elasticsearch::{Elasticsearch, SearchParts};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::Error;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const PAGE_SIZE: usize = 1_000;

fn search_error(what: &str) -> impl Fn(elasticsearch::Error) -> Error + '_ {
    move |error| Error::Search(format!("{what}: {error}"))
}

async fn json_body(what: &str, response: elasticsearch::http::response::Response) -> Result<Value, Error> {
    let status = response.status_code();
    let body: Value = response.json().await.map_err(search_error(what))?;
    if !status.is_success() {
        return Err(Error::Search(format!("{what}: status {status}: {body}")));
    }
    Ok(body)
}

/// Makes everything written to `target` (an index or alias) searchable.
pub(crate) async fn refresh(client: &Elasticsearch, target: &str) -> Result<(), Error> {
    let response = client
        .indices()
        .refresh(IndicesRefreshParts::Index(&[target]))
        .request_timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(search_error("refreshing"))?;
    json_body("refreshing", response).await.map(|_| ())
}

/// One document as the comparison sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    pub(crate) id: String,
    pub(crate) version: i64,
    pub(crate) source: Value,
    /// SHA-256 of the canonical JSON of `{"_id", "_version", "_source"}`.
    pub(crate) digest: [u8; 32],
}

impl Document {
    fn from_hit(hit: &Value) -> Result<Self, Error> {
        let id = hit["_id"].as_str().unwrap_or_default().to_owned();
        let version = hit["_version"].as_i64().unwrap_or(-1);
        let source = hit["_source"].clone();
        let canonical =
            serde_json_canonicalizer::to_vec(&json!({ "_id": id, "_version": version, "_source": source }))?;
        Ok(Self { id, version, source, digest: Sha256::digest(&canonical).into() })
    }
}

/// Reads all documents of an index or alias in `order_id` order, a page at a time.
pub(crate) struct DocumentCursor<'c> {
    client: &'c Elasticsearch,
    target: String,
    search_after: Option<Value>,
    buffer: VecDeque<Document>,
    exhausted: bool,
}

impl<'c> DocumentCursor<'c> {
    pub(crate) fn new(client: &'c Elasticsearch, target: &str) -> Self {
        Self { client, target: target.to_owned(), search_after: None, buffer: VecDeque::new(), exhausted: false }
    }

    pub(crate) async fn next(&mut self) -> Result<Option<Document>, Error> {
        if self.buffer.is_empty() && !self.exhausted {
            self.fetch_page().await?;
        }
        Ok(self.buffer.pop_front())
    }

    async fn fetch_page(&mut self) -> Result<(), Error> {
        let mut body = json!({
            "size": PAGE_SIZE,
            "version": true,
            "track_total_hits": false,
            "query": { "match_all": {} },
            "sort": [{ "order_id": "asc" }],
        });
        if let Some(after) = &self.search_after {
            body["search_after"] = after.clone();
        }
        let response = self
            .client
            .search(SearchParts::Index(&[&self.target]))
            .body(body)
            .request_timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(search_error("reading documents"))?;
        let body = json_body("reading documents", response).await?;
        let hits = body["hits"]["hits"].as_array().cloned().unwrap_or_default();
        if hits.len() < PAGE_SIZE {
            self.exhausted = true;
        }
        if let Some(last) = hits.last() {
            self.search_after = Some(last["sort"].clone());
        }
        for hit in &hits {
            self.buffer.push_back(Document::from_hit(hit)?);
        }
        Ok(())
    }
}
