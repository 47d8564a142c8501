//! The public keys of trusted identity providers, fetched from their JWKS
//! URLs and cached per container. A token naming a key id the cache lacks
//! refetches (the provider rotated), at most once per
//! [`REFETCH_AFTER_SECONDS`] per provider so random key ids cannot make us
//! hammer the provider; every set is refetched after [`MAX_AGE_SECONDS`], so
//! a key the provider withdrew stops being trusted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::{Mutex, OnceCell};

use crate::clock::UnixTime;

/// Least time between two fetches of one provider's keys for an unknown key id.
pub const REFETCH_AFTER_SECONDS: i64 = 30;
/// Longest a fetched key set is used.
pub const MAX_AGE_SECONDS: i64 = 3_600;
/// Largest key set accepted (Google's and Apple's are under 4 KiB).
const MAX_BODY_BYTES: usize = 64 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("fetching {url}: {detail}")]
    Fetch { url: String, detail: String },
}

struct Fetched {
    keys: Arc<JwkSet>,
    at: UnixTime,
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<bytes::Bytes>>;

/// Every provider's keys, by JWKS URL.
#[derive(Default)]
pub struct JwksCache {
    sets: Mutex<HashMap<String, Fetched>>,
    /// Built on first use, so containers that never federate never read the trust store.
    client: OnceCell<HttpsClient>,
}

impl JwksCache {
    /// The provider's keys, fresh enough to hold `kid` if the provider
    /// publishes it: the cached set, or a new fetch when the set is too old
    /// or lacks `kid` and the last fetch is not too recent.
    pub async fn keys_for(
        &self,
        url: &str,
        kid: &str,
        now: UnixTime,
    ) -> Result<Arc<JwkSet>, JwksError> {
        let mut sets = self.sets.lock().await;
        if let Some(cached) = sets.get(url) {
            let fresh = now - cached.at < MAX_AGE_SECONDS;
            let has_kid = cached.keys.find(kid).is_some();
            let may_refetch = now - cached.at >= REFETCH_AFTER_SECONDS;
            if fresh && (has_kid || !may_refetch) {
                return Ok(cached.keys.clone());
            }
        }
        let keys = Arc::new(self.fetch(url).await?);
        tracing::info!(event = "jwks_fetched", url, keys = keys.keys.len());
        sets.insert(
            url.to_owned(),
            Fetched {
                keys: keys.clone(),
                at: now,
            },
        );
        Ok(keys)
    }

    async fn fetch(&self, url: &str) -> Result<JwkSet, JwksError> {
        let failed = |detail: String| JwksError::Fetch {
            url: url.to_owned(),
            detail,
        };
        let client = self
            .client
            .get_or_try_init(|| async {
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
                    .map_err(|e| failed(format!("trust store: {e}")))?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok::<_, JwksError>(Client::builder(TokioExecutor::new()).build(https))
            })
            .await?;
        let uri: http::Uri = url.parse().map_err(|_| failed("not a URI".into()))?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, client.get(uri))
            .await
            .map_err(|_| failed("timed out".into()))?
            .map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        let body = tokio::time::timeout(
            FETCH_TIMEOUT,
            Limited::new(response.into_body(), MAX_BODY_BYTES).collect(),
        )
        .await
        .map_err(|_| failed("timed out".into()))?
        .map_err(|e| failed(e.to_string()))?
        .to_bytes();
        serde_json::from_slice(&body).map_err(|e| failed(format!("not a JWKS: {e}")))
    }
}
