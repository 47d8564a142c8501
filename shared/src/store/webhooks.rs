//! Webhook idempotency keys (`WEBHOOK#<event id>`/`WEBHOOK`), kept a week.

use aws_sdk_dynamodb::operation::put_item::PutItemError;

use super::{n, s, unavailable, Db};
use crate::clock::UnixTime;
use crate::error::ApiError;

const KEEP_SECONDS: i64 = 7 * 86_400;

impl Db {
    /// Claims an event id; false if it was processed before.
    pub async fn claim_webhook_event(
        &self,
        event_id: &str,
        event: &str,
        now: UnixTime,
    ) -> Result<bool, ApiError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("WEBHOOK#{event_id}")))
            .item("sk", s("WEBHOOK"))
            .item("event", s(event))
            .item("received_at", n(now))
            .item("ttl", n(now + KEEP_SECONDS))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable("PutItem")(e)),
        }
    }

    /// Releases a claim whose processing failed, so LiveKit's retry is processed.
    pub async fn release_webhook_event(&self, event_id: &str) -> Result<(), ApiError> {
        self.delete(&format!("WEBHOOK#{event_id}"), "WEBHOOK").await
    }
}
