//! DynamoDB access. One table holds every item; `docs/data-model.md` lists
//! the keys and access patterns. Invariants (uniqueness, counters, single
//! use, rotation) are conditional writes or transactions here, never a read
//! followed by a write.

pub mod limits;
pub mod otp;
pub mod sessions;
pub mod users;
pub mod voice;
pub mod webhooks;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::error::ApiError;

pub type Item = HashMap<String, AttributeValue>;

/// The table and the client that reaches it.
#[derive(Clone, Debug)]
pub struct Db {
    pub client: Client,
    pub table: String,
}

impl Db {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A strongly consistent read of one item.
    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("GetItem"))?;
        Ok(out.item)
    }

    pub async fn delete(&self, pk: &str, sk: &str) -> Result<(), ApiError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(unavailable("DeleteItem"))?;
        Ok(())
    }
}

/// Maps an SDK failure to 503 with the SDK's own description for the log.
pub fn unavailable<E, R>(op: &'static str) -> impl FnOnce(SdkError<E, R>) -> ApiError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |e| ApiError::unavailable(format!("DynamoDB {op}: {}", DisplayErrorContext(e)))
}

/// Is this SDK error a failed condition (as opposed to an outage)?
pub fn is_conditional_failure<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> bool {
    matches!(
        err.as_service_error(),
        Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_))
    )
}

/// The outcome of a conditional UpdateItem: `true` when it was applied,
/// `false` when its condition failed; any other failure is an outage.
pub fn update_applied<T, R>(
    res: Result<T, SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>>,
) -> Result<bool, ApiError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match res {
        Ok(_) => Ok(true),
        Err(e) if is_conditional_failure(&e) => Ok(false),
        Err(e) => Err(unavailable("UpdateItem")(e)),
    }
}

/// The item DynamoDB returned with a failed condition (ReturnValuesOnConditionCheckFailure=ALL_OLD).
pub fn old_item_of_update<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> Option<Item> {
    match err.as_service_error() {
        Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e)) => {
            e.item.clone()
        }
        _ => None,
    }
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

pub fn list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.clone())).collect())
}

pub fn get_s(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

pub fn get_n(item: &Item, key: &str) -> Option<i64> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub fn get_bool(item: &Item, key: &str) -> Option<bool> {
    item.get(key).and_then(|v| v.as_bool().ok()).copied()
}

pub fn get_list(item: &Item, key: &str) -> Vec<String> {
    item.get(key)
        .and_then(|v| v.as_l().ok())
        .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}

/// A field an item must have; its absence means the stored item is corrupt.
pub fn require<T>(value: Option<T>, item_kind: &str, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::internal(format!("{item_kind} item lacks `{field}`")))
}
