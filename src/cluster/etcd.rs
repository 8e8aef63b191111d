//! The [`Store`] on etcd, through etcd's v3 gRPC API and the maintained
//! client crate (etcd-client): TLS (rustls) with etcd's CA and this
//! node's client certificate, and etcd's users with a token that is
//! renewed when etcd says it expired.
//!
//! One client per endpoint, tried in turn from the last one that
//! answered, each request bounded by [`CALL`]: an endpoint that does not
//! answer costs a second, never a hang, and a dead majority reads as no
//! quorum (EAGAIN). What no retry can mend — a certificate etcd or this
//! node does not trust, a wrong password, a user without the permission
//! — is EACCES at once, so that a misconfigured node is refused before it
//! mounts instead of waiting for an etcd that will never answer it.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, GetOptions, Identity, PutOptions,
    TlsOptions, Txn, TxnOp, TxnOpResponse, WatchOptions, WatchStream,
};
use tonic::Code;

use super::options::{EtcdOptions, TlsFiles};
use super::store::{Changes, Health, Kv, LeaseId, Store, CALL};
use crate::error::{Error, Result};
use crate::sync::lock;

/// HTTP/2 pings on a connection: a member that stops answering
/// (killed, frozen, cut off) ends the watch on it within these, and the
/// watch moves to another member.
const PING_EVERY: Duration = Duration::from_secs(2);

/// etcd through its endpoints.
pub struct Etcd {
    members: Vec<Member>,
    /// The credentials (never shown: it holds the password).
    connect: ConnectOptions,
    tls: Option<TlsOptions>,
    /// The files of `tls`, for [`super::tls_check`].
    tls_files: Option<TlsFiles>,
    user: Option<String>,
    /// The member that answered last: asked first.
    preferred: AtomicUsize,
}

/// One endpoint and its client, made at the first request.
struct Member {
    url: String,
    client: Mutex<Option<Client>>,
}

/// Why a request to one member failed.
enum Failure {
    /// Another member may answer (no answer, no leader, connection lost).
    Transient(String),
    /// No member will answer otherwise (TLS, credentials, permission, a
    /// lease that is gone).
    Final(Error),
}

impl Etcd {
    /// A client of the endpoints with these TLS files and credentials;
    /// nothing is sent before the first request.
    pub fn new(options: &EtcdOptions) -> Etcd {
        let mut connect = ConnectOptions::new();
        let tls = options.tls.as_ref().map(|tls| {
            let config = match &tls.cacert {
                Some(pem) => TlsOptions::new().ca_certificate(Certificate::from_pem(pem)),
                None => TlsOptions::new().with_native_roots(),
            };
            match &tls.identity {
                Some((cert, key)) => config.identity(Identity::from_pem(cert, key)),
                None => config,
            }
        });
        if let Some((user, password)) = &options.user {
            connect = connect.with_user(user.clone(), password.reveal());
        }
        Etcd {
            members: options
                .endpoints
                .iter()
                .map(|url| Member {
                    url: url.clone(),
                    client: Mutex::new(None),
                })
                .collect(),
            connect,
            tls,
            tls_files: options.tls.clone(),
            user: options.user.as_ref().map(|(user, _)| user.clone()),
            preferred: AtomicUsize::new(0),
        }
    }

    /// The endpoints, as given.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.url.clone()).collect()
    }

    /// The member's client, connected (and authenticated) now if it is
    /// not yet.
    async fn client_of(&self, member: &Member) -> std::result::Result<Client, Failure> {
        if let Some(client) = lock(&member.client).clone() {
            return Ok(client);
        }
        let channel = self
            .channel_to(&member.url)
            .map_err(|e| self.classify(&member.url, e))?;
        let client = Client::from_channel(channel, Some(self.connect.clone()))
            .await
            .map_err(|e| self.classify(&member.url, e))?;
        *lock(&member.client) = Some(client.clone());
        Ok(client)
    }

    /// A channel to one endpoint, connected at its first request (and
    /// again after a loss), with TLS for https://.
    fn channel_to(
        &self,
        url: &str,
    ) -> std::result::Result<etcd_client::Channel, etcd_client::Error> {
        let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
            .map_err(|e| etcd_client::Error::InvalidArgs(format!("{url}: {e}")))?
            .connect_timeout(CALL)
            .http2_keep_alive_interval(PING_EVERY)
            .keep_alive_timeout(CALL)
            .keep_alive_while_idle(true);
        if url.starts_with("https://") {
            let tls = self
                .tls
                .clone()
                .unwrap_or_else(|| TlsOptions::new().with_native_roots());
            endpoint = endpoint.tls_config(tls)?;
        }
        Ok(etcd_client::Channel::Tonic(endpoint.connect_lazy()))
    }

    /// `op` on one member; once more after authenticating again when etcd
    /// says the token expired (its TTL, a member that restarted).
    async fn call_on<T, F, Fut>(&self, member: &Member, op: &F) -> std::result::Result<T, Failure>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = std::result::Result<T, etcd_client::Error>>,
    {
        let client = self.client_of(member).await?;
        match op(client.clone()).await {
            Err(e) if token_expired(&e) => {
                tracing::info!(endpoint = %member.url, "the etcd auth token expired: authenticating again");
                client
                    .refresh_token()
                    .await
                    .map_err(|e| self.classify(&member.url, e))?;
                op(client).await.map_err(|e| self.classify(&member.url, e))
            }
            other => other.map_err(|e| self.classify(&member.url, e)),
        }
    }

    /// `op` on each member in turn, from the one that answered last, each
    /// bounded by [`CALL`], until one answers.
    async fn call<T, F, Fut>(&self, what: &str, op: F) -> Result<T>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = std::result::Result<T, etcd_client::Error>>,
    {
        let count = self.members.len();
        let first = self.preferred.load(Ordering::Relaxed);
        let mut trouble = Vec::new();
        for i in 0..count {
            let index = (first + i) % count;
            let member = &self.members[index];
            let started = std::time::Instant::now();
            let outcome = tokio::time::timeout(CALL, self.call_on(member, &op)).await;
            tracing::debug!(endpoint = %member.url, what, took = ?started.elapsed(), ok = matches!(outcome, Ok(Ok(_))), "etcd request");
            match outcome {
                Ok(Ok(value)) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(value);
                }
                Ok(Err(Failure::Final(e))) => return Err(e),
                Ok(Err(Failure::Transient(why))) => trouble.push(format!("{}: {why}", member.url)),
                Err(_) => trouble.push(format!(
                    "{}: no answer within {}",
                    member.url,
                    crate::bounded::seconds(CALL)
                )),
            }
        }
        Err(Error::no_quorum(format!(
            "etcd has no quorum or cannot be reached ({what}): {}",
            trouble.join("; ")
        )))
    }

    /// What an error of the client means here.
    fn classify(&self, url: &str, e: etcd_client::Error) -> Failure {
        let cause: &(dyn std::error::Error + 'static) = match &e {
            // etcd-client's error does not name its cause: the status does.
            etcd_client::Error::GRpcStatus(status) => status,
            etcd_client::Error::TransportError(transport) => transport,
            other => other,
        };
        if let Some(tls) = tls_cause(cause) {
            return Failure::Final(self.tls_refused(url, &tls));
        }
        let user = self.user.as_deref().unwrap_or("(none)");
        match &e {
            etcd_client::Error::GRpcStatus(status) => {
                let message = status.message();
                match status.code() {
                    Code::Unavailable
                    | Code::DeadlineExceeded
                    | Code::Cancelled
                    | Code::Aborted
                    | Code::ResourceExhausted
                    | Code::Unknown
                    | Code::Internal => Failure::Transient(chain(status)),
                    Code::Unauthenticated | Code::InvalidArgument
                        if self.user.is_none() || message.contains("auth") || message.contains("user") =>
                    {
                        Failure::Final(Error::access(format!(
                            "{url} refused etcd user {user}: {message} (check --etcd-user and --etcd-password-file)"
                        )))
                    }
                    Code::PermissionDenied => Failure::Final(Error::access(format!(
                        "{url}: etcd user {user} may not do this: {message} (its role needs readwrite on the prefix /svcfs/v1/: docs/cluster.md)"
                    ))),
                    Code::FailedPrecondition => Failure::Final(Error::access(format!(
                        "{url}: {message} (--etcd-user is given: etcd's authentication must be enabled, or drop the option)"
                    ))),
                    Code::NotFound => Failure::Final(Error::not_found(format!("{url}: {message}"))),
                    _ => Failure::Final(Error::backend(format!("{url}: {message}"))),
                }
            }
            etcd_client::Error::LeaseKeepAliveError(message) if message.contains("not found") => {
                Failure::Final(Error::not_found(format!("{url}: lease {message}")))
            }
            etcd_client::Error::InvalidArgs(message) => {
                Failure::Final(Error::invalid(format!("{url}: {message}")))
            }
            etcd_client::Error::InvalidUri(e) => {
                Failure::Final(Error::invalid(format!("{url}: {e}")))
            }
            other => Failure::Transient(chain(other)),
        }
    }

    fn tls_refused(&self, url: &str, why: &str) -> Error {
        Error::access(format!(
            "TLS with {url} failed: {why} (check --etcd-cacert, --etcd-cert and --etcd-key against etcd's --trusted-ca-file and certificates)"
        ))
    }

    async fn member_health(&self, member: &Member) -> Health {
        let status = tokio::time::timeout(CALL, async {
            let mut client = self.client_of(member).await?;
            client
                .status()
                .await
                .map_err(|e| self.classify(&member.url, e))
        })
        .await;
        match status {
            // A member answers Status without a quorum: its leader field
            // says whether its side has one.
            Ok(Ok(status)) if status.leader() != 0 => Health::Healthy,
            Ok(Ok(_)) => Health::NoQuorum,
            Ok(Err(Failure::Final(e))) if e.errno() == libc::EACCES && tls_free(&e) => {
                Health::Unknown
            }
            _ => Health::Unreachable,
        }
    }
}

/// Whether an EACCES is etcd's refusal rather than TLS's.
fn tls_free(e: &Error) -> bool {
    !e.message().starts_with("TLS")
}

/// Whether etcd refused a request for its token: expired (etcd's
/// `--auth-token-ttl`, 300 s by default, or a JWT's `ttl`), or unknown to
/// a member that restarted.
fn token_expired(e: &etcd_client::Error) -> bool {
    matches!(e, etcd_client::Error::GRpcStatus(status)
        if status.code() == Code::Unauthenticated
            || status.message() == "etcdserver: invalid auth token")
}

/// The error and its causes, as one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

/// What rustls's errors say first, for the one that reaches here as the
/// text of an I/O error (the alert of a peer that refused this node's
/// certificate does).
const RUSTLS_TEXTS: [&str; 4] = [
    "invalid peer certificate",
    "received fatal alert",
    "peer sent no certificates",
    "peer is incompatible",
];

/// The TLS failure among an error's causes: rustls's error, found by its
/// type (an I/O error carries it as its inner error), or by its text in
/// an I/O error of invalid data.
pub(super) fn tls_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(e);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return Some(tls.to_string());
            }
            let text = io.to_string();
            if io.kind() == std::io::ErrorKind::InvalidData
                && RUSTLS_TEXTS.iter().any(|t| text.starts_with(t))
            {
                return Some(text);
            }
        }
        next = cause.source();
    }
    None
}

fn kv_of(kv: &etcd_client::KeyValue) -> std::result::Result<Kv, etcd_client::Error> {
    Ok(Kv {
        key: kv.key_str()?.to_string(),
        value: kv.value_str()?.to_string(),
        lease: kv.lease(),
    })
}

fn put_options(lease: LeaseId) -> Option<PutOptions> {
    (lease != 0).then(|| PutOptions::new().with_lease(lease))
}

/// A watch on etcd.
struct EtcdChanges {
    stream: WatchStream,
}

#[async_trait]
impl Changes for EtcdChanges {
    async fn next(&mut self) -> Result<()> {
        loop {
            match self.stream.message().await {
                Ok(Some(response)) if response.canceled() => {
                    return Err(Error::no_quorum(format!(
                        "etcd ended the watch: {}",
                        response.cancel_reason()
                    )))
                }
                Ok(Some(response)) if !response.events().is_empty() => return Ok(()),
                // Progress notifications, the creation's answer.
                Ok(Some(_)) => continue,
                Ok(None) => return Err(Error::no_quorum("the etcd watch stream ended")),
                Err(e) => {
                    return Err(Error::no_quorum(format!(
                        "the etcd watch failed: {}",
                        chain(&e)
                    )))
                }
            }
        }
    }
}

/// Open a watch on `prefix` and wait for etcd to say it is in place.
async fn open_watch(
    client: &mut Client,
    prefix: &str,
) -> std::result::Result<WatchStream, etcd_client::Error> {
    let mut stream = client
        .watch(prefix, Some(WatchOptions::new().with_prefix()))
        .await?;
    match stream.message().await? {
        Some(response) if response.created() && !response.canceled() => Ok(stream),
        Some(response) => Err(etcd_client::Error::WatchError(format!(
            "etcd refused the watch: {}",
            response.cancel_reason()
        ))),
        None => Err(etcd_client::Error::WatchError(
            "the watch ended before etcd answered".to_string(),
        )),
    }
}

#[async_trait]
impl Store for Etcd {
    async fn list(&self, prefix: &str) -> Result<Vec<Kv>> {
        self.call("read", |mut client| async move {
            let response = client
                .get(prefix, Some(GetOptions::new().with_prefix()))
                .await?;
            response.kvs().iter().map(kv_of).collect()
        })
        .await
    }

    async fn put(&self, key: &str, value: &str, lease: LeaseId) -> Result<()> {
        self.call("write", |mut client| async move {
            client.put(key, value, put_options(lease)).await.map(drop)
        })
        .await
    }

    async fn create(&self, key: &str, value: &str, lease: LeaseId) -> Result<Option<Kv>> {
        self.call("claim", |mut client| async move {
            let txn = Txn::new()
                .when([Compare::create_revision(key, CompareOp::Equal, 0)])
                .and_then([TxnOp::put(key, value, put_options(lease))])
                .or_else([TxnOp::get(key, None)]);
            let response = client.txn(txn).await?;
            if response.succeeded() {
                return Ok(None);
            }
            let existing = response.op_responses().into_iter().find_map(|op| match op {
                TxnOpResponse::Get(get) => get.kvs().first().map(kv_of),
                _ => None,
            });
            Ok(Some(existing.transpose()?.unwrap_or(Kv {
                // Deleted between the compare and the read: still not ours.
                key: key.to_string(),
                value: String::new(),
                lease: 0,
            })))
        })
        .await
    }

    async fn delete(&self, key: &str, only_if: Option<&str>) -> Result<bool> {
        self.call("delete", |mut client| async move {
            let Some(expected) = only_if else {
                return Ok(client.delete(key, None).await?.deleted() > 0);
            };
            let txn = Txn::new()
                .when([Compare::value(key, CompareOp::Equal, expected)])
                .and_then([TxnOp::delete(key, None)]);
            Ok(client.txn(txn).await?.succeeded())
        })
        .await
    }

    async fn grant(&self, ttl: Duration) -> Result<LeaseId> {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let id = self
            .call("lease grant", |mut client| async move {
                Ok(client.lease_grant(ttl, None).await?.id())
            })
            .await?;
        match id {
            0 => Err(Error::backend("etcd granted no lease id")),
            id => Ok(id),
        }
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<bool> {
        let renewed = self
            .call("lease renewal", |mut client| async move {
                // One renewal: the stream is opened, asked once, and closed.
                client.lease_keep_alive(lease).await.map(drop)
            })
            .await;
        match renewed {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == libc::ENOENT => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn revoke(&self, lease: LeaseId) -> Result<()> {
        let revoked = self
            .call("lease revoke", |mut client| async move {
                client.lease_revoke(lease).await.map(drop)
            })
            .await;
        match revoked {
            Err(e) if e.errno() == libc::ENOENT => Ok(()),
            other => other,
        }
    }

    async fn time_to_live(&self, lease: LeaseId) -> Result<Option<Duration>> {
        let ttl = self
            .call("lease time to live", |mut client| async move {
                Ok(client.lease_time_to_live(lease, None).await?.ttl())
            })
            .await?;
        // A lease that is gone has TTL -1.
        Ok(u64::try_from(ttl).ok().map(Duration::from_secs))
    }

    async fn health(&self) -> Vec<(String, Health)> {
        let checks = self
            .members
            .iter()
            .map(|member| async move { (member.url.clone(), self.member_health(member).await) });
        futures_util::future::join_all(checks).await
    }

    async fn watch(&self, prefix: &str) -> Result<Box<dyn Changes>> {
        let stream = self
            .call("watch", |mut client| async move {
                match open_watch(&mut client, prefix).await {
                    // etcd cancels a watch whose token it no longer
                    // knows ("permission denied"): authenticate again,
                    // once, before calling it a refusal.
                    Err(etcd_client::Error::WatchError(_)) if self.user.is_some() => {
                        client.refresh_token().await?;
                        open_watch(&mut client, prefix).await
                    }
                    other => other,
                }
            })
            .await?;
        Ok(Box::new(EtcdChanges { stream }))
    }

    async fn refusal(&self) -> Option<Error> {
        let files = self.tls_files.as_ref()?;
        for member in &self.members {
            if let Some(tls) = super::tls_check::refusal(&member.url, files, CALL).await {
                return Some(self.tls_refused(&member.url, &tls));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::options::EtcdArgs;

    fn etcd(endpoints: &str) -> Etcd {
        let options = EtcdArgs {
            endpoints: endpoints.to_string(),
            ..EtcdArgs::default()
        }
        .check()
        .unwrap()
        .load()
        .unwrap();
        Etcd::new(&options)
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
        let etcd = etcd(&format!("http://{addr}"));
        let started = std::time::Instant::now();
        let e = etcd.list("/svcfs/").await.unwrap_err();
        assert_eq!(e.errno(), libc::EAGAIN, "{e}");
        assert!(e.message().contains("no quorum"), "{e}");
        assert!(started.elapsed() < 3 * CALL, "{:?}", started.elapsed());
        assert_eq!(etcd.health().await[0].1, Health::Unreachable);
        hold.abort();
    }

    #[tokio::test]
    async fn every_endpoint_is_tried_and_named() {
        // Nothing listens on these (ports of listeners just closed).
        let ports: Vec<u16> = (0..2)
            .map(|_| {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            })
            .collect();
        let etcd = etcd(&format!(
            "http://127.0.0.1:{},http://127.0.0.1:{}",
            ports[0], ports[1]
        ));
        let e = etcd.put("/svcfs/k", "v", 0).await.unwrap_err();
        assert_eq!(e.errno(), libc::EAGAIN, "{e}");
        for port in ports {
            assert!(e.message().contains(&format!("127.0.0.1:{port}")), "{e}");
        }
    }

    #[test]
    fn a_tls_failure_is_found_among_the_causes() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let found = tls_cause(&io).expect("rustls inside an io::Error");
        assert!(found.contains("invalid peer certificate"), "{found}");
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(tls_cause(&plain), None);
        // As a refused client certificate reaches here.
        let alert = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "received fatal alert: BadCertificate",
        );
        assert_eq!(
            tls_cause(&alert).as_deref(),
            Some("received fatal alert: BadCertificate")
        );
    }
}
