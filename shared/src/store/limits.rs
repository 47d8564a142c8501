//! Rate-limit windows and locks.
//!
//! A window is anchored at its first hit and lasts `seconds`; it holds at
//! most `limit` hits, counted by a conditional `ADD`, so parallel callers can
//! never overshoot. An expired window is restarted by a conditional reset that
//! only one caller wins. Items carry a TTL for cleanup, but expiry is always
//! judged from `window_start` and the clock.

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::{
    get_n, is_conditional_failure, n, old_item_of_update, s, unavailable, update_applied, Db,
};
use crate::clock::UnixTime;
use crate::error::ApiError;

const SK: &str = "RATE";

#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub limit: i64,
    pub seconds: i64,
}

/// Usage of a window that is still open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub hits: i64,
    /// Seconds until the window closes.
    pub resets_in: u64,
}

fn pk(key: &str) -> String {
    format!("RATE#{key}")
}

impl Db {
    /// Counts one hit if the window has room. `Ok(Err(retry_after))` when full.
    pub async fn hit(
        &self,
        key: &str,
        w: Window,
        now: UnixTime,
    ) -> Result<Result<i64, u64>, ApiError> {
        // Two rounds cover losing a reset race to another caller.
        for _ in 0..3 {
            let res = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(pk(key)))
                .key("sk", s(SK))
                .update_expression("SET window_start = if_not_exists(window_start, :now), #ttl = if_not_exists(#ttl, :ttl) ADD hits :one")
                .condition_expression("attribute_not_exists(hits) OR (window_start > :expired_before AND hits < :limit)")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":ttl", n(now + w.seconds + 60))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":expired_before", n(now - w.seconds))
                .expression_attribute_values(":limit", n(w.limit))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let err = match res {
                Ok(out) => {
                    let hits = out
                        .attributes
                        .as_ref()
                        .and_then(|a| get_n(a, "hits"))
                        .unwrap_or(1);
                    return Ok(Ok(hits));
                }
                Err(e) if is_conditional_failure(&e) => e,
                Err(e) => return Err(unavailable("UpdateItem")(e)),
            };
            let old = old_item_of_update(&err).unwrap_or_default();
            let start = get_n(&old, "window_start").unwrap_or(now);
            if start > now - w.seconds {
                // Window open and full.
                return Ok(Err((start + w.seconds - now).max(1) as u64));
            }
            if self.restart_window(key, w, start, now).await? {
                return Ok(Ok(1));
            }
        }
        Err(ApiError::unavailable(
            "rate-limit window kept changing under contention",
        ))
    }

    /// Counts one hit whatever the count (a failure counter); returns the hits in the window.
    pub async fn count(&self, key: &str, seconds: i64, now: UnixTime) -> Result<i64, ApiError> {
        match self
            .hit(
                key,
                Window {
                    limit: i64::MAX,
                    seconds,
                },
                now,
            )
            .await?
        {
            Ok(hits) => Ok(hits),
            Err(_) => Err(ApiError::internal("unbounded window reported full")),
        }
    }

    /// Replaces an expired window by a fresh one holding this hit; false if
    /// another caller restarted it first.
    async fn restart_window(
        &self,
        key: &str,
        w: Window,
        old_start: UnixTime,
        now: UnixTime,
    ) -> Result<bool, ApiError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(key)))
            .key("sk", s(SK))
            .update_expression("SET window_start = :now, hits = :one, #ttl = :ttl")
            .condition_expression("window_start = :old_start")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(now + w.seconds + 60))
            .expression_attribute_values(":old_start", n(old_start))
            .send()
            .await;
        update_applied(res)
    }

    /// The usage of a window, or `None` when there is no open window.
    pub async fn usage(
        &self,
        key: &str,
        seconds: i64,
        now: UnixTime,
    ) -> Result<Option<Usage>, ApiError> {
        let Some(item) = self.get(&pk(key), SK).await? else {
            return Ok(None);
        };
        let (Some(start), Some(hits)) = (get_n(&item, "window_start"), get_n(&item, "hits")) else {
            return Ok(None);
        };
        if start <= now - seconds {
            return Ok(None);
        }
        Ok(Some(Usage {
            hits,
            resets_in: (start + seconds - now).max(1) as u64,
        }))
    }

    pub async fn clear_window(&self, key: &str) -> Result<(), ApiError> {
        self.delete(&pk(key), SK).await
    }

    /// Locks `key` until `until` (extending, never shortening, a current lock).
    pub async fn lock(&self, key: &str, until: UnixTime) -> Result<(), ApiError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("LOCK#{key}")))
            .key("sk", s("LOCK"))
            .update_expression("SET locked_until = :until, #ttl = :ttl")
            .condition_expression("attribute_not_exists(locked_until) OR locked_until < :until")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":ttl", n(until + 60))
            .send()
            .await;
        // A longer lock already in place is just as good.
        update_applied(res).map(|_| ())
    }

    /// Seconds left on a lock, if `key` is locked now.
    pub async fn locked_for(&self, key: &str, now: UnixTime) -> Result<Option<u64>, ApiError> {
        let item = self.get(&format!("LOCK#{key}"), "LOCK").await?;
        Ok(item
            .and_then(|i| get_n(&i, "locked_until"))
            .filter(|until| *until > now)
            .map(|until| (until - now) as u64))
    }
}
