//! One-time-code challenges (`OTP#<user_id>`/`OTP`): one slot per user id,
//! so a new request replaces the previous code.
//!
//! The code itself is never stored, only HMAC(pepper, challenge_id:code).
//! A challenge is written `pending` and becomes `active` only after the SMS
//! went out, so a failed send never leaves a usable code. Each verification
//! first reserves an attempt with a conditional `ADD` (N parallel tries count
//! N), then compares; spending is a second conditional update that only one
//! caller can win. Expiry is judged from `expires_at`, not DynamoDB TTL.

use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{
    b, get_bool, get_n, get_s, is_conditional_failure, n, old_item_of_update, require, s,
    unavailable, update_applied, Db, Item,
};
use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::types::UserId;

/// Wrong tries a code allows; the last one kills it.
pub const MAX_ATTEMPTS: i64 = 3;

#[derive(Clone, Debug)]
pub struct Challenge {
    pub challenge_id: String,
    /// Hex HMAC-SHA256 of `challenge_id:code` under the pepper.
    pub code_mac: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Attempts reserved so far, including the caller's.
    pub attempts: i64,
    /// A challenge stored for an unknown user id so that verification behaves
    /// exactly as for a real one; it can never succeed.
    pub decoy: bool,
}

/// Outcome of reserving one verification attempt.
#[derive(Debug)]
pub enum Reservation {
    Reserved(Challenge),
    NoChallenge,
    Expired,
    Exhausted,
}

fn pk(user: &UserId) -> String {
    format!("OTP#{user}")
}

fn challenge_from(item: &Item) -> Result<Challenge, ApiError> {
    Ok(Challenge {
        challenge_id: require(get_s(item, "challenge_id"), "otp", "challenge_id")?,
        code_mac: require(get_s(item, "code_mac"), "otp", "code_mac")?,
        created_at: get_n(item, "created_at").unwrap_or(0),
        expires_at: require(get_n(item, "expires_at"), "otp", "expires_at")?,
        attempts: get_n(item, "attempts").unwrap_or(0),
        decoy: get_bool(item, "decoy").unwrap_or(false),
    })
}

impl Db {
    /// Stores a new challenge as `pending`, replacing any previous one.
    pub async fn put_pending_challenge(
        &self,
        user: &UserId,
        c: &Challenge,
    ) -> Result<(), ApiError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk(user)))
            .item("sk", s("OTP"))
            .item("challenge_id", s(&c.challenge_id))
            .item("code_mac", s(&c.code_mac))
            .item("created_at", n(c.created_at))
            .item("expires_at", n(c.expires_at))
            .item("attempts", n(0))
            .item("status", s("pending"))
            .item("decoy", b(c.decoy))
            .item("ttl", n(c.expires_at + 86_400))
            .send()
            .await
            .map_err(unavailable("PutItem"))?;
        Ok(())
    }

    /// Makes a pending challenge usable (after its SMS was accepted).
    pub async fn activate_challenge(
        &self,
        user: &UserId,
        challenge_id: &str,
    ) -> Result<(), ApiError> {
        self.set_challenge_status(user, challenge_id, "pending", "active")
            .await
            .map(|_| ())
    }

    /// Kills a pending challenge whose SMS failed. Losing the race to a newer
    /// challenge is fine: ours is already gone.
    pub async fn discard_challenge(
        &self,
        user: &UserId,
        challenge_id: &str,
    ) -> Result<(), ApiError> {
        self.set_challenge_status(user, challenge_id, "pending", "failed")
            .await
            .map(|_| ())
    }

    /// Marks the challenge spent; true for exactly one caller.
    pub async fn spend_challenge(
        &self,
        user: &UserId,
        challenge_id: &str,
    ) -> Result<bool, ApiError> {
        self.set_challenge_status(user, challenge_id, "active", "spent")
            .await
    }

    async fn set_challenge_status(
        &self,
        user: &UserId,
        challenge_id: &str,
        from: &str,
        to: &str,
    ) -> Result<bool, ApiError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(user)))
            .key("sk", s("OTP"))
            .update_expression("SET #status = :to")
            .condition_expression("challenge_id = :cid AND #status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":cid", s(challenge_id))
            .send()
            .await;
        update_applied(res)
    }

    /// Reserves one attempt on the user's active, unexpired challenge.
    pub async fn reserve_attempt(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Reservation, ApiError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(user)))
            .key("sk", s("OTP"))
            .update_expression("ADD attempts :one")
            .condition_expression("attribute_exists(pk) AND #status = :active AND attempts < :max AND expires_at > :now")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":max", n(MAX_ATTEMPTS))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match res {
            Ok(out) => {
                let item = out
                    .attributes
                    .ok_or_else(|| ApiError::internal("UpdateItem returned no attributes"))?;
                return Ok(Reservation::Reserved(challenge_from(&item)?));
            }
            Err(e) if is_conditional_failure(&e) => e,
            Err(e) => return Err(unavailable("UpdateItem")(e)),
        };
        let Some(old) = old_item_of_update(&err) else {
            return Ok(Reservation::NoChallenge);
        };
        if get_s(&old, "status").as_deref() != Some("active") {
            return Ok(Reservation::NoChallenge);
        }
        if get_n(&old, "expires_at").is_none_or(|exp| exp <= now) {
            return Ok(Reservation::Expired);
        }
        Ok(Reservation::Exhausted)
    }
}
