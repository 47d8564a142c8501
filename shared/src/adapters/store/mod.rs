//! DynamoDB access. One table holds every item; `docs/data-model.md` lists
//! the keys and access patterns. Invariants (uniqueness, counters, single
//! use, rotation) are conditional writes or transactions here, never a read
//! followed by a write: every module states its condition and reads the
//! outcome through the one helper below ([`Db::write`], [`Db::transact`]).

pub mod auth_sessions;
pub mod challenges;
pub mod federation;
pub mod passkeys;
pub mod users;
pub mod voice_sessions;
pub mod webhook_events;
pub mod windows;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};
use aws_sdk_dynamodb::Client;

use crate::clock::UnixTime;

pub type Item = HashMap<String, AttributeValue>;

/// Why the store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB failed, throttled or timed out: the caller may retry.
    #[error("DynamoDB {operation}: {detail}")]
    Unavailable {
        operation: &'static str,
        detail: String,
    },
    /// An item does not have the shape this code writes.
    #[error("a stored {kind} item is malformed: {detail}")]
    Corrupt { kind: &'static str, detail: String },
    /// A request could not be built (a bug, not an outage).
    #[error("a DynamoDB request could not be built: {0}")]
    Build(String),
    /// A counter kept changing under contention past the retries allowed.
    #[error("{0} kept changing under contention")]
    Contended(&'static str),
}

/// The attribute holding the last conditional write's mark (see [`Db::write`]).
const MARK_ATTRIBUTE: &str = "write_mark";
const MARK_NAME: &str = "#write_mark";
const MARK_VALUE: &str = ":write_mark";

/// 128 random bits, unique to one write and shared by its retries.
fn write_mark() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{:032x}", u128::from_be_bytes(bytes))
}

/// Whether `item` carries `mark`: the write that set it was applied.
fn carries(item: &Item, mark: &str) -> bool {
    matches!(item.get(MARK_ATTRIBUTE), Some(AttributeValue::S(m)) if m == mark)
}

/// `expression` with the mark set in its SET clause (added if it has none).
fn with_mark(expression: &str) -> String {
    const SET_MARK: &str = "#write_mark = :write_mark";
    let words: Vec<&str> = expression.split(' ').collect();
    match words.iter().position(|w| *w == "SET") {
        Some(at) => {
            let (before, after) = words.split_at(at + 1);
            format!("{} {SET_MARK}, {}", before.join(" "), after.join(" "))
        }
        None => format!("SET {SET_MARK} {expression}"),
    }
}

fn unavailable<E, R>(operation: &'static str, err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable {
        operation,
        detail: DisplayErrorContext(err).to_string(),
    }
}

/// The outcome of a write with a condition.
#[derive(Debug)]
pub enum Written {
    /// Applied: the item as it now is (empty for puts).
    Applied(Item),
    /// The condition did not hold: the item as it was, if it existed.
    Refused(Option<Item>),
}

impl Written {
    pub fn applied(&self) -> bool {
        matches!(self, Written::Applied(_))
    }
}

/// The outcome of a transaction.
#[derive(Debug)]
pub enum Transacted {
    Applied,
    /// These parts' conditions did not hold (by position); nothing was written.
    Refused(Vec<usize>),
}

/// How long items outlive the moment they stop mattering, before DynamoDB's
/// TTL removes them: a late read still sees them expired (not absent), and
/// recent codes and sessions can be audited.
pub mod keep {
    /// Rate-limit windows after they close.
    pub const WINDOW_SECONDS: i64 = 60;
    /// Codes after they expire.
    pub const CHALLENGE_SECONDS: i64 = 86_400;
    /// Auth sessions after their absolute end.
    pub const SESSION_SECONDS: i64 = 86_400;
    /// Webhook event ids, against LiveKit's retries.
    pub const WEBHOOK_EVENT_SECONDS: i64 = 7 * 86_400;
}

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
    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(out.item)
    }

    /// Strongly consistent reads of `N` items in one BatchGetItem, in the order of `keys`
    /// (which must differ): one round trip where `N` GetItems sent together are `N`.
    ///
    /// DynamoDB may leave keys unprocessed (throttling, a partition over its limit) with
    /// the request still a success; those are asked again after a short backoff, and if
    /// any are still left after that the read fails as unavailable, never as "absent".
    pub async fn get_together<const N: usize>(
        &self,
        keys: [(&str, &str); N],
    ) -> Result<[Option<Item>; N], StoreError> {
        let mut found = self.get_many(&keys).await?.into_iter();
        Ok(std::array::from_fn(|_| found.next().flatten()))
    }

    /// [`get_together`](Self::get_together) for a number of keys known at run time
    /// (at most 100, BatchGetItem's limit); no keys is no call.
    pub async fn get_many(&self, keys: &[(&str, &str)]) -> Result<Vec<Option<Item>>, StoreError> {
        const UNPROCESSED_RETRIES: u32 = 3;
        let mut found: Vec<Option<Item>> = vec![None; keys.len()];
        if keys.is_empty() {
            return Ok(found);
        }
        let mut ask: Vec<Item> = keys
            .iter()
            .map(|(pk, sk)| HashMap::from([("pk".into(), s(*pk)), ("sk".into(), s(*sk))]))
            .collect();
        for retry in 0..=UNPROCESSED_RETRIES {
            if retry > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20 << retry)).await;
            }
            let asked = KeysAndAttributes::builder()
                .set_keys(Some(ask))
                .consistent_read(true)
                .build()
                .map_err(build_failed)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, asked)
                .send()
                .await
                .map_err(|e| unavailable("BatchGetItem", e))?;
            for item in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                let key = (get_s(&item, "pk"), get_s(&item, "sk"));
                let at = keys.iter().position(|(pk, sk)| {
                    key.0.as_deref() == Some(pk) && key.1.as_deref() == Some(sk)
                });
                if let Some(at) = at {
                    found[at] = Some(item);
                }
            }
            ask = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if ask.is_empty() {
                return Ok(found);
            }
        }
        Err(StoreError::Unavailable {
            operation: "BatchGetItem",
            detail: format!(
                "{} keys left unprocessed after {UNPROCESSED_RETRIES} retries",
                ask.len()
            ),
        })
    }

    pub async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem", e))?;
        Ok(())
    }

    /// An UpdateItem of one item, ready for its expressions.
    fn update(&self, pk: impl Into<String>, sk: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
    }

    /// A PutItem into the table.
    fn put(&self) -> PutItemFluentBuilder {
        self.client.put_item().table_name(&self.table)
    }

    /// Sends a conditional UpdateItem, asking for the item as it now is on
    /// success and as it was on a failed condition.
    ///
    /// Every update also stamps the item with a random write mark. When
    /// DynamoDB applied an attempt whose answer was lost (an attempt timeout,
    /// a dropped connection), the SDK's retry fails the condition the first
    /// attempt satisfied (a code already spent, a token already rotated) and
    /// finds its own mark: that is this write, done, not another's.
    async fn write(&self, req: UpdateItemFluentBuilder) -> Result<Written, StoreError> {
        let mark = write_mark();
        let expression = with_mark(req.get_update_expression().as_deref().unwrap_or(""));
        let res = req
            .update_expression(expression)
            .expression_attribute_names(MARK_NAME, MARK_ATTRIBUTE)
            .expression_attribute_values(MARK_VALUE, AttributeValue::S(mark.clone()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => Ok(Written::Applied(out.attributes.unwrap_or_default())),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    Ok(match c.item.clone() {
                        Some(found) if carries(&found, &mark) => Written::Applied(found),
                        found => Written::Refused(found),
                    })
                }
                _ => Err(unavailable("UpdateItem", e)),
            },
        }
    }

    /// Sends a conditional PutItem.
    async fn write_new(&self, req: PutItemFluentBuilder) -> Result<Written, StoreError> {
        match req.send().await {
            Ok(_) => Ok(Written::Applied(Item::new())),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Written::Refused(c.item.clone()))
                }
                _ => Err(unavailable("PutItem", e)),
            },
        }
    }

    /// Puts a new item under a key this request drew at random (a session, a
    /// voice session, a ceremony), on condition that the key is unused. The
    /// condition can fail on the request's own earlier attempt: DynamoDB
    /// applied it, the answer was lost (an attempt timeout, a dropped
    /// connection) and the SDK retried. Shown the item it collided with, it
    /// takes its own write for done; any other item under a fresh key is a
    /// broken id source or store.
    async fn put_fresh(
        &self,
        req: PutItemFluentBuilder,
        kind: &'static str,
    ) -> Result<(), StoreError> {
        let sent = req.get_item().clone();
        let req = req
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match self.write_new(req).await? {
            Written::Applied(_) => Ok(()),
            Written::Refused(Some(found)) if sent.as_ref() == Some(&found) => Ok(()),
            Written::Refused(_) => Err(StoreError::Corrupt {
                kind,
                detail: format!("a new {kind} id already exists"),
            }),
        }
    }

    /// Claims a key once (a webhook event, a spent ID or tool token): true
    /// for the one request that wrote it, false for every other. The claim
    /// carries a write mark (see [`Db::write`]), so the SDK's retry of an
    /// attempt that DynamoDB applied but whose answer was lost still wins,
    /// instead of being refused as a replay of itself.
    async fn claim_once(&self, req: PutItemFluentBuilder) -> Result<bool, StoreError> {
        let mark = write_mark();
        let req = req
            .item(MARK_ATTRIBUTE, AttributeValue::S(mark.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        Ok(match self.write_new(req).await? {
            Written::Applied(_) => true,
            Written::Refused(found) => found.is_some_and(|f| carries(&f, &mark)),
        })
    }

    /// Sends a transaction. A cancellation for failed conditions names the
    /// parts that failed; any other cancellation (a conflict with another
    /// transaction) is an outage the caller may retry.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Transacted, StoreError> {
        let res = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let err = match res {
            Ok(_) => return Ok(Transacted::Applied),
            Err(e) => e,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
            err.as_service_error()
        {
            let codes: Vec<Option<&str>> =
                c.cancellation_reasons().iter().map(|r| r.code()).collect();
            let failed: Vec<usize> = codes
                .iter()
                .enumerate()
                .filter(|(_, code)| **code == Some("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect();
            let only_conditions = codes
                .iter()
                .all(|c| matches!(c, None | Some("None") | Some("ConditionalCheckFailed")));
            if !failed.is_empty() && only_conditions {
                return Ok(Transacted::Refused(failed));
            }
        }
        let code = err.code().unwrap_or("").to_owned();
        Err(StoreError::Unavailable {
            operation: "TransactWriteItems",
            detail: format!("{code}: {}", DisplayErrorContext(err)),
        })
    }
}

/// A request builder's refusal (a missing required field: a bug).
fn build_failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Build(e.to_string())
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
pub fn require<T>(value: Option<T>, kind: &'static str, field: &str) -> Result<T, StoreError> {
    value.ok_or_else(|| StoreError::Corrupt {
        kind,
        detail: format!("lacks `{field}`"),
    })
}

/// A field that must parse into its type.
pub fn parsed<T, E>(value: Result<T, E>, kind: &'static str, field: &str) -> Result<T, StoreError> {
    value.map_err(|_| StoreError::Corrupt {
        kind,
        detail: format!("has a malformed `{field}`"),
    })
}

/// The item's TTL for something that stops mattering at `until`.
fn ttl(until: UnixTime, keep_seconds: i64) -> AttributeValue {
    n(until + keep_seconds)
}

#[cfg(test)]
mod write_mark_tests {
    use super::*;

    #[test]
    fn the_mark_joins_the_set_clause_or_opens_one() {
        assert_eq!(
            with_mark("SET a = :a ADD b :one"),
            "SET #write_mark = :write_mark, a = :a ADD b :one"
        );
        assert_eq!(
            with_mark("ADD hits :one"),
            "SET #write_mark = :write_mark ADD hits :one"
        );
        assert_eq!(
            with_mark("ADD x :y SET a = :a REMOVE c"),
            "ADD x :y SET #write_mark = :write_mark, a = :a REMOVE c"
        );
    }

    #[test]
    fn an_item_carries_only_its_own_mark() {
        let mark = write_mark();
        assert_eq!(mark.len(), 32);
        assert_ne!(mark, write_mark());
        let item: Item = [(MARK_ATTRIBUTE.to_owned(), AttributeValue::S(mark.clone()))].into();
        assert!(carries(&item, &mark));
        assert!(!carries(&item, &write_mark()));
        assert!(!carries(&Item::new(), &mark));
    }
}
