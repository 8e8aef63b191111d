//! What svcfs asks of etcd, as a trait ([`Store`]) so that placement is
//! tested against the in-memory [`super::fake::FakeStore`], and its
//! implementation over etcd 3.4's JSON gateway ([`Gateway`]): `POST
//! /v3/kv/range`, `/v3/kv/txn`, `/v3/lease/...` with base64 keys and values,
//! over the HTTP/1.1 client already in the tree.
//!
//! Every request is bounded ([`CALL`] per endpoint, endpoints tried in
//! turn); a store that gives no answer is EAGAIN ("no quorum"): svcfs
//! cannot tell a dead majority from a slow one, and must not act on
//! either. Reads are linearizable (etcd's default), so they too fail
//! without a quorum instead of serving a stale member's view.

use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use crate::error::{Error, Result};

/// Bound on one request to one endpoint.
pub const CALL: Duration = Duration::from_secs(1);

/// An etcd lease id.
pub type LeaseId = i64;

/// One key as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: String,
    /// The lease it is bound to (0: none).
    pub lease: LeaseId,
}

/// The health of one endpoint, as `cluster/etcd` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// It answers and its cluster has a leader.
    Healthy,
    /// It answers but has no leader (no quorum on its side).
    NoQuorum,
    /// No answer within the bound.
    Unreachable,
}

impl Health {
    /// The word of `cluster/etcd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::NoQuorum => "no-quorum",
            Health::Unreachable => "unreachable",
        }
    }
}

/// What placement needs from the store.
#[async_trait]
pub trait Store: Send + Sync {
    /// Every key under `prefix`, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<Kv>>;
    /// Write `key` (bound to `lease` unless 0).
    async fn put(&self, key: &str, value: &str, lease: LeaseId) -> Result<()>;
    /// Create `key` only if it does not exist (etcd: `create_revision ==
    /// 0`). `Ok(None)` when created, `Ok(Some(existing))` when not.
    async fn create(&self, key: &str, value: &str, lease: LeaseId) -> Result<Option<Kv>>;
    /// Delete `key`; with `only_if`, only while it holds that value.
    /// Whether it was deleted.
    async fn delete(&self, key: &str, only_if: Option<&str>) -> Result<bool>;
    /// A new lease of `ttl`.
    async fn grant(&self, ttl: Duration) -> Result<LeaseId>;
    /// Renew `lease`: its TTL as granted again, `None` when it is gone
    /// (expired or revoked).
    async fn keep_alive(&self, lease: LeaseId) -> Result<Option<Duration>>;
    /// End `lease` now, dropping its keys.
    async fn revoke(&self, lease: LeaseId) -> Result<()>;
    /// What `lease` has left, `None` when it is gone.
    async fn time_to_live(&self, lease: LeaseId) -> Result<Option<Duration>>;
    /// Each endpoint and its health.
    async fn health(&self) -> Vec<(String, Health)>;
}

/// The smallest key greater than every key starting with `prefix`:
/// etcd's `range_end` for a prefix read.
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xff: the whole key space ("\0").
    vec![0]
}

/// Parse `--cluster`'s comma-separated endpoints: `http://host:port`
/// (`host:port` alone means http). EINVAL for an empty list or another
/// scheme (TLS is not supported by this client).
pub fn parse_endpoints(text: &str) -> Result<Vec<String>> {
    let mut endpoints = Vec::new();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let url = if word.contains("://") {
            word.to_string()
        } else {
            format!("http://{word}")
        };
        if !url.starts_with("http://") {
            return Err(Error::invalid(format!(
                "--cluster: {word}: only http:// endpoints are supported"
            )));
        }
        endpoints.push(url.trim_end_matches('/').to_string());
    }
    if endpoints.is_empty() {
        return Err(Error::invalid(
            "--cluster needs at least one etcd endpoint (http://HOST:PORT,...)",
        ));
    }
    Ok(endpoints)
}

/// The etcd cluster at some endpoints, through its JSON gateway.
pub struct Gateway {
    endpoints: Vec<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Gateway {
    /// A client of these endpoints (see [`parse_endpoints`]).
    pub fn new(endpoints: Vec<String>) -> Gateway {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CALL));
        connector.set_nodelay(true);
        Gateway {
            endpoints,
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// The endpoints, as given.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    async fn post_to(&self, endpoint: &str, path: &str, body: &Value) -> Result<Value> {
        let request = hyper::Request::post(format!("{endpoint}{path}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| Error::invalid(format!("{endpoint}{path}: {e}")))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| Error::no_quorum(format!("{endpoint}: {e}")))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| Error::no_quorum(format!("{endpoint}: {e}")))?
                .to_bytes();
            Ok::<_, Error>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(CALL, exchange).await.map_err(|_| {
            Error::no_quorum(format!(
                "{endpoint}: no answer within {}",
                crate::bounded::seconds(CALL)
            ))
        })??;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::backend(format!("{endpoint}{path}: not JSON ({status}): {e}")))?;
        if let Some(message) = value.get("error").and_then(Value::as_str) {
            // etcd's own refusals ("etcdserver: no leader", "request
            // timed out", "requested lease not found") are answers, but
            // only the lease one is definitive.
            return Err(if message.contains("lease not found") {
                Error::not_found(format!("{endpoint}: {message}"))
            } else {
                Error::no_quorum(format!("{endpoint}: {message}"))
            });
        }
        if !status.is_success() {
            return Err(Error::backend(format!("{endpoint}{path}: HTTP {status}")));
        }
        Ok(value)
    }

    /// One request, to each endpoint in turn until one answers.
    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let mut last = Error::no_quorum("no etcd endpoint");
        for endpoint in &self.endpoints {
            match self.post_to(endpoint, path, &body).await {
                Ok(value) => return Ok(value),
                Err(e) if e.errno() == libc::EAGAIN => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(Error::no_quorum(format!(
            "etcd has no quorum or cannot be reached: {}",
            last.message()
        )))
    }
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// An int64 of the gateway's JSON: a string, absent when 0.
fn int(value: &Value, field: &str) -> i64 {
    match value.get(field) {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn unb64(value: &Value, field: &str) -> Result<String> {
    let text = value.get(field).and_then(Value::as_str).unwrap_or("");
    let bytes = B64
        .decode(text)
        .map_err(|e| Error::backend(format!("etcd sent a bad base64 {field}: {e}")))?;
    String::from_utf8(bytes).map_err(|_| Error::backend(format!("etcd sent a non-UTF-8 {field}")))
}

/// The key-values of a range response.
pub fn kvs_of(response: &Value) -> Result<Vec<Kv>> {
    let Some(kvs) = response.get("kvs").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    kvs.iter()
        .map(|kv| {
            Ok(Kv {
                key: unb64(kv, "key")?,
                value: unb64(kv, "value")?,
                lease: int(kv, "lease"),
            })
        })
        .collect()
}

fn put_op(key: &str, value: &str, lease: LeaseId) -> Value {
    let mut put = json!({"key": b64(key.as_bytes()), "value": b64(value.as_bytes())});
    if lease != 0 {
        put["lease"] = json!(lease.to_string());
    }
    put
}

#[async_trait]
impl Store for Gateway {
    async fn list(&self, prefix: &str) -> Result<Vec<Kv>> {
        let body = json!({"key": b64(prefix.as_bytes()), "range_end": b64(&prefix_end(prefix))});
        kvs_of(&self.post("/v3/kv/range", body).await?)
    }

    async fn put(&self, key: &str, value: &str, lease: LeaseId) -> Result<()> {
        self.post("/v3/kv/put", put_op(key, value, lease))
            .await
            .map(drop)
    }

    async fn create(&self, key: &str, value: &str, lease: LeaseId) -> Result<Option<Kv>> {
        let k = b64(key.as_bytes());
        let body = json!({
            "compare": [{"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
            "success": [{"request_put": put_op(key, value, lease)}],
            "failure": [{"request_range": {"key": k}}],
        });
        let response = self.post("/v3/kv/txn", body).await?;
        if response.get("succeeded").and_then(Value::as_bool) == Some(true) {
            return Ok(None);
        }
        let range = response
            .pointer("/responses/0/response_range")
            .ok_or_else(|| Error::backend("etcd txn: no range in the failure branch"))?;
        Ok(kvs_of(range)?.into_iter().next().or(Some(Kv {
            // Deleted between the compare and the range: still not ours.
            key: key.to_string(),
            value: String::new(),
            lease: 0,
        })))
    }

    async fn delete(&self, key: &str, only_if: Option<&str>) -> Result<bool> {
        let k = b64(key.as_bytes());
        let Some(expected) = only_if else {
            let response = self.post("/v3/kv/deleterange", json!({"key": k})).await?;
            return Ok(int(&response, "deleted") > 0);
        };
        let body = json!({
            "compare": [{"key": k, "target": "VALUE", "result": "EQUAL", "value": b64(expected.as_bytes())}],
            "success": [{"request_delete_range": {"key": k}}],
        });
        let response = self.post("/v3/kv/txn", body).await?;
        Ok(response.get("succeeded").and_then(Value::as_bool) == Some(true))
    }

    async fn grant(&self, ttl: Duration) -> Result<LeaseId> {
        let response = self
            .post("/v3/lease/grant", json!({"TTL": ttl.as_secs().to_string()}))
            .await?;
        match int(&response, "ID") {
            0 => Err(Error::backend("etcd granted no lease id")),
            id => Ok(id),
        }
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<Option<Duration>> {
        let response = self
            .post("/v3/lease/keepalive", json!({"ID": lease.to_string()}))
            .await?;
        let result = response.get("result").unwrap_or(&response);
        // A lease that is gone is renewed to TTL 0 (the field is omitted).
        Ok(match int(result, "TTL") {
            ttl if ttl > 0 => Some(Duration::from_secs(ttl as u64)),
            _ => None,
        })
    }

    async fn revoke(&self, lease: LeaseId) -> Result<()> {
        match self
            .post("/v3/lease/revoke", json!({"ID": lease.to_string()}))
            .await
        {
            Err(e) if e.errno() == libc::ENOENT => Ok(()),
            other => other.map(drop),
        }
    }

    async fn time_to_live(&self, lease: LeaseId) -> Result<Option<Duration>> {
        let response = self
            .post("/v3/lease/timetolive", json!({"ID": lease.to_string()}))
            .await?;
        // A lease that is gone has TTL -1 (0 is omitted from the JSON).
        Ok(match int(&response, "TTL") {
            ttl if ttl < 0 => None,
            ttl => Some(Duration::from_secs(ttl as u64)),
        })
    }

    async fn health(&self) -> Vec<(String, Health)> {
        let checks = self.endpoints.iter().map(|endpoint| async move {
            // Status answers without a quorum; its `leader` says whether
            // the member's side has one.
            let health = match self
                .post_to(endpoint, "/v3/maintenance/status", &json!({}))
                .await
            {
                // A member id: a uint64, past i64's range.
                Ok(status)
                    if status
                        .get("leader")
                        .and_then(Value::as_str)
                        .is_some_and(|id| id.parse::<u64>().is_ok_and(|id| id != 0)) =>
                {
                    Health::Healthy
                }
                Ok(_) => Health::NoQuorum,
                Err(_) => Health::Unreachable,
            };
            (endpoint.clone(), health)
        });
        futures_util::future::join_all(checks).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_its_last_byte_plus_one() {
        assert_eq!(prefix_end("/svcfs/"), b"/svcfs0");
        assert_eq!(prefix_end("a"), b"b");
        assert_eq!(prefix_end(""), [0]);
    }

    #[test]
    fn endpoints_are_http_urls() {
        assert_eq!(
            parse_endpoints("127.0.0.1:23791, http://h:2379/").unwrap(),
            ["http://127.0.0.1:23791", "http://h:2379"]
        );
        for bad in ["", " , ", "https://h:2379"] {
            assert_eq!(
                parse_endpoints(bad).unwrap_err().errno(),
                libc::EINVAL,
                "{bad}"
            );
        }
    }

    #[test]
    fn gateway_answers_are_decoded() {
        // As etcd 3.4.23 answers a prefix range (int64 as strings).
        let response: Value = serde_json::from_str(
            r#"{"header":{"revision":"2"},"kvs":[{"key":"L3N2Y2ZzL293bmVyL2E=",
            "create_revision":"2","mod_revision":"2","version":"1","value":"bjE=",
            "lease":"6301558642399521799"}],"count":"1"}"#,
        )
        .unwrap();
        assert_eq!(
            kvs_of(&response).unwrap(),
            [Kv {
                key: "/svcfs/owner/a".into(),
                value: "n1".into(),
                lease: 6301558642399521799
            }]
        );
        assert!(kvs_of(&json!({"header": {}})).unwrap().is_empty());
        let bad = json!({"kvs": [{"key": "%%%"}]});
        assert_eq!(kvs_of(&bad).unwrap_err().errno(), libc::EIO);
        assert_eq!(put_op("k", "v", 0), json!({"key": "aw==", "value": "dg=="}));
        assert_eq!(put_op("k", "v", 7)["lease"], "7");
    }

    #[tokio::test]
    async fn an_endpoint_that_does_not_answer_is_eagain_within_the_bound() {
        // A listener that accepts and never answers: a member without
        // quorum holding the request.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let gateway = Gateway::new(vec![format!("http://{addr}")]);
        let e = gateway.list("/svcfs/").await.unwrap_err();
        assert_eq!(e.errno(), libc::EAGAIN, "{e}");
        assert!(e.message().contains("no quorum"), "{e}");
        assert_eq!(gateway.health().await[0].1, Health::Unreachable);
        hold.abort();
    }
}
