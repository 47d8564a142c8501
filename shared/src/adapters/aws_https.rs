//! The HTTPS client every AWS SDK client shares: rustls on aws-lc-rs (the
//! one TLS stack in the binary), trusting only Amazon Trust Services' roots.
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

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Amazon Root CA 1–4 and Starfield Services Root CA G2, as AWS publishes
/// them (https://www.amazontrust.com/repository/).
const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("amazon_trust_services.pem");

/// The client for every AWS SDK client of the process.
pub fn client() -> SharedHttpClient {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("the bundled Amazon Trust Services roots parse");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_roots_are_amazon_trust_services_five() {
        let pem = std::str::from_utf8(super::AMAZON_TRUST_SERVICES_ROOTS).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        // Building the client parses them; a corrupt file panics here.
        let _ = super::client();
    }
}
