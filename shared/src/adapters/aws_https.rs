//! The HTTP client every AWS SDK client shares: HTTP/1.1 over rustls on
//! aws-lc-rs (the one TLS stack in the binary), trusting only Amazon Trust
//! Services' roots, with the same pooled connections for every service.
//!
//! Why not the SDK's default client: it also carries an HTTP/2 engine, which
//! calls to DynamoDB, SNS and Secrets Manager do not need (their endpoints
//! answer HTTP/1.1), so `h2` and the client's own wrapper were weight in
//! every function (0.25 MiB of each zipped `bootstrap`, measured with `make
//! build`). This one is hyper's HTTP/1.1 client, already linked for the
//! Lambda runtime API and identity providers' keys. It reads no
//! `HTTPS_PROXY`: a function reaches AWS's endpoints directly, or through VPC
//! endpoints.
//!
//! Why not the system trust store: loading it reads and parses every file
//! under the OS's certificate directory at each cold start (about 5 ms of a
//! 20 ms init measured on Debian), and it trusts ~140 authorities where the
//! only servers these clients ever talk to, AWS's service endpoints, chain to
//! Amazon Root CA 1–4 or Starfield Services G2 (AWS's published list). A
//! certificate from any other authority, a mis-issued one included, is
//! refused. The local emulator speaks plain HTTP and needs no roots. Fetching
//! identity providers' keys (adapters/jwks.rs) is a different client that
//! keeps the system roots, loaded on its first use only.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

type BoxError = Box<dyn StdError + Send + Sync>;
type PooledClient = Client<HttpsConnector<TcpConnector>, SdkBody>;
/// The SDK's connect and read timeouts, which pick a pool.
type Timeouts = (Option<Duration>, Option<Duration>);

/// Amazon Root CA 1–4 and Starfield Services Root CA G2, as AWS publishes
/// them (https://www.amazontrust.com/repository/).
const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("amazon_trust_services.pem");

/// The client for every AWS SDK client of the process.
pub fn client() -> SharedHttpClient {
    SharedHttpClient::new(AwsHttpClient {
        tls: Arc::new(tls_config()),
        connectors: RwLock::new(HashMap::new()),
    })
}

fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS) {
        roots
            .add(cert.expect("the bundled Amazon Trust Services roots parse"))
            .expect("the bundled Amazon Trust Services roots are valid anchors");
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc-rs supports TLS 1.2 and 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth()
}

/// Hands the SDK one connector (one connection pool) per timeout setting;
/// every client of the process asks with the same settings, so in practice
/// there is one pool.
#[derive(Debug)]
struct AwsHttpClient {
    tls: Arc<rustls::ClientConfig>,
    connectors: RwLock<HashMap<Timeouts, SharedHttpConnector>>,
}

impl HttpClient for AwsHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        if let Some(connector) = self
            .connectors
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return connector.clone();
        }
        self.connectors
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert_with(|| SharedHttpConnector::new(Pool::new(&self.tls, key.0, key.1)))
            .clone()
    }
}

#[derive(Debug)]
struct Pool {
    client: PooledClient,
    read_timeout: Option<Duration>,
}

impl Pool {
    fn new(
        tls: &Arc<rustls::ClientConfig>,
        connect_timeout: Option<Duration>,
        read_timeout: Option<Duration>,
    ) -> Self {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        // Requests are small and answered at once: no Nagle delay.
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(connect_timeout);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(rustls::ClientConfig::clone(tls))
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            // Without a timer the pool never expires idle connections.
            .pool_timer(TokioTimer::new())
            .build(https);
        Self {
            client,
            read_timeout,
        }
    }
}

impl HttpConnector for Pool {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(err) => return HttpConnectorFuture::ready(Err(ConnectorError::user(err.into()))),
        };
        let sent = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => match tokio::time::timeout(limit, sent).await {
                    Ok(response) => response,
                    Err(elapsed) => return Err(ConnectorError::timeout(elapsed.into())),
                },
                None => sent.await,
            };
            match response {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|err| ConnectorError::other(err.into(), None)),
                Err(err) => Err(classify(err)),
            }
        })
    }
}

/// What the SDK's retry policy needs to know about a failed call: a timeout
/// or a broken connection is retried (the request may not have reached AWS,
/// and every write voicegate makes is conditional, so a repeat is safe).
fn classify(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let io = find_source::<std::io::Error>(&err);
    let hyper_err = find_source::<hyper::Error>(&err);
    let timed_out = io.is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        || hyper_err.is_some_and(hyper::Error::is_timeout);
    if timed_out {
        return ConnectorError::timeout(err.into());
    }
    if err.is_connect() {
        return ConnectorError::io(err.into());
    }
    if let Some(hyper_err) = hyper_err {
        if hyper_err.is_user() {
            return ConnectorError::user(err.into());
        }
        if hyper_err.is_incomplete_message() {
            return ConnectorError::other(err.into(), Some(ErrorKind::TransientError));
        }
        if hyper_err.is_closed() || hyper_err.is_canceled() {
            return ConnectorError::io(err.into());
        }
    }
    if io.is_some() {
        return ConnectorError::io(err.into());
    }
    ConnectorError::other(BoxError::from(err), None)
}

/// The first error of type `E` in `err`'s chain of sources.
fn find_source<'a, E: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    std::iter::successors(Some(err), |&e| e.source()).find_map(|e| e.downcast_ref::<E>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty GET of `url` through `pool`, as the SDK would hand it over.
    fn get(pool: &Pool, url: &str) -> HttpConnectorFuture {
        let request = http::Request::builder()
            .uri(url)
            .body(SdkBody::empty())
            .unwrap();
        pool.call(HttpRequest::try_from(request).unwrap())
    }

    #[test]
    fn the_bundled_roots_are_amazon_trust_services_five() {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS)
            .collect::<Result<_, _>>()
            .expect("the bundled roots parse");
        assert_eq!(certs.len(), 5);
        // Building the client parses them again; a corrupt file panics here.
        let _ = client();
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error_the_sdk_retries() {
        // A port nothing listens on: bind, read the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pool = Pool::new(&Arc::new(tls_config()), Some(Duration::from_secs(1)), None);
        let err = get(&pool, &format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert!(err.is_io(), "{err:?}");
    }

    /// A server whose certificate no Amazon root signed (here one self-signed
    /// for `localhost`) is refused in the handshake: the client trusts the
    /// bundled roots only, never the OS store.
    #[tokio::test]
    async fn a_certificate_from_any_other_authority_is_refused() {
        use rustls::pki_types::PrivateKeyDer;
        let cert =
            CertificateDer::from_pem_slice(include_bytes!("testdata/untrusted_localhost.cert.pem"))
                .unwrap();
        let key =
            PrivateKeyDer::from_pem_slice(include_bytes!("testdata/untrusted_localhost.key.pem"))
                .unwrap();
        let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            acceptor.accept(tcp).await.map(|_| ())
        });
        let pool = Pool::new(&Arc::new(tls_config()), Some(Duration::from_secs(2)), None);
        let call = get(&pool, &format!("https://localhost:{port}/"));
        let err = tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("the handshake ends the call")
            .unwrap_err();
        let detail = format!("{err:?}");
        assert!(detail.contains("UnknownIssuer"), "{detail}");
        assert!(err.is_io(), "{detail}");
        let handshake = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
        assert!(handshake.is_err(), "the server saw a completed handshake");
    }

    #[tokio::test]
    async fn a_server_slower_than_the_read_timeout_is_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts and never answers.
        let held = tokio::spawn(async move { listener.accept().await });
        let pool = Pool::new(
            &Arc::new(tls_config()),
            Some(Duration::from_secs(1)),
            Some(Duration::from_millis(100)),
        );
        let call = get(&pool, &format!("http://127.0.0.1:{port}/"));
        let err = tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("the read timeout ends the call")
            .unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        held.abort();
    }
}
