//! The health and metrics endpoint of both binaries: `GET /health/live`, `GET /health/ready`, `GET /metrics`.
//!
//! A deliberately tiny HTTP/1.1 responder on a tokio listener instead of axum (kept out of this crate by the
//! style guide) or a hand-wired hyper server: three fixed GET routes for probes and Prometheus, one request
//! per connection (`Connection: close`), bounded request size and read time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

const MAX_REQUEST_BYTES: usize = 8 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Readiness of a service and the details shown by `/health/ready`; cheap to clone and share.
#[derive(Debug, Clone, Default)]
pub struct Health {
    ready: Arc<AtomicBool>,
    detail: Arc<Mutex<Value>>,
}

impl Health {
    /// Marks the service ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// True once the service is ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Replaces the details shown by `/health/ready` (checkpoints, lag, parked orders, ...).
    pub fn set_detail(&self, detail: Value) {
        *self.detail.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = detail;
    }

    fn detail(&self) -> Value {
        self.detail.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

/// The process-wide Prometheus recorder, installed on first use; `None` if another recorder was installed.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE.get_or_init(|| metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().ok()).clone()
}

/// Serves the endpoint on `listener` until `shutdown`.
pub async fn serve_health(
    listener: TcpListener,
    health: Health,
    metrics: Option<PrometheusHandle>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let health = health.clone();
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    if let Err(error) = respond(stream, &health, metrics.as_ref()).await {
                        tracing::debug!(error = %error, "health endpoint connection failed");
                    }
                });
            }
            Err(error) => {
                tracing::warn!(error = %error, "accepting a health endpoint connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn respond(mut stream: TcpStream, health: &Health, metrics: Option<&PrometheusHandle>) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(512);
    let mut buffer = [0u8; 1024];
    let read = tokio::time::timeout(READ_TIMEOUT, async {
        while !request.windows(4).any(|window| window == b"\r\n\r\n") && request.len() < MAX_REQUEST_BYTES {
            let count = stream.read(&mut buffer).await?;
            if count == 0 {
                break;
            }
            request.extend_from_slice(&buffer[..count]);
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    if !matches!(read, Ok(Ok(()))) {
        return Ok(());
    }
    let request_line = request.split(|byte| *byte == b'\n').next().unwrap_or_default();
    let request_line = String::from_utf8_lossy(request_line);
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET", "/health/live") => ("200 OK", "application/json", json!({ "status": "live" }).to_string()),
        ("GET", "/health/ready") => {
            let ready = health.is_ready();
            let body = json!({ "status": if ready { "ready" } else { "starting" }, "detail": health.detail() });
            (if ready { "200 OK" } else { "503 Service Unavailable" }, "application/json", body.to_string())
        }
        ("GET", "/metrics") => match metrics {
            Some(handle) => {
                handle.run_upkeep();
                ("200 OK", "text/plain; version=0.0.4", handle.render())
            }
            None => ("503 Service Unavailable", "text/plain", "metrics recorder not installed\n".to_owned()),
        },
        ("GET", _) => ("404 Not Found", "application/json", json!({ "status": "not found" }).to_string()),
        _ => ("405 Method Not Allowed", "application/json", json!({ "status": "method not allowed" }).to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(address: std::net::SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
            .await
            .expect("request is sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("response is read");
        response
    }

    #[tokio::test]
    async fn probes_answer_with_readiness_and_unknown_paths_are_not_found() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let address = listener.local_addr().expect("has an address");
        let health = Health::default();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve_health(listener, health.clone(), None, shutdown.clone()));

        assert!(get(address, "/health/live").await.starts_with("HTTP/1.1 200 OK"));
        assert!(get(address, "/health/ready").await.starts_with("HTTP/1.1 503"));
        health.set_ready(true);
        health.set_detail(json!({ "parked_orders": 0 }));
        let ready = get(address, "/health/ready").await;
        assert!(ready.starts_with("HTTP/1.1 200 OK"), "{ready}");
        assert!(ready.contains("\"parked_orders\":0"), "{ready}");
        assert!(get(address, "/nope").await.starts_with("HTTP/1.1 404"));
        assert!(get(address, "/metrics").await.starts_with("HTTP/1.1 503"));

        shutdown.cancel();
        server.await.expect("server stops");
    }
}
