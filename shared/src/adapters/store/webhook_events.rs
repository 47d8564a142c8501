//! Webhook idempotency keys (`WEBHOOK#<event id>`/`WEBHOOK`), kept a week.

use super::{keep, n, s, ttl, Db, StoreError};
use crate::clock::UnixTime;

impl Db {
    /// Claims an event id; false if it was processed before.
    pub async fn claim_webhook_event(
        &self,
        event_id: &str,
        event: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let req = self
            .put()
            .item("pk", s(format!("WEBHOOK#{event_id}")))
            .item("sk", s("WEBHOOK"))
            .item("event", s(event))
            .item("received_at", n(now))
            .item("ttl", ttl(now, keep::WEBHOOK_EVENT_SECONDS));
        self.claim_once(req).await
    }

    /// Releases a claim whose processing failed, so LiveKit's retry is processed.
    pub async fn release_webhook_event(&self, event_id: &str) -> Result<(), StoreError> {
        self.delete(&format!("WEBHOOK#{event_id}"), "WEBHOOK").await
    }
}
