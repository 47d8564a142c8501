//! One-time-code challenges (`OTP#<owner>`/`<purpose>`): one slot per owner
//! and purpose, so a new request replaces the previous code of that purpose
//! and no other.
//!
//! The code itself is never stored, only its MAC. A challenge is written
//! `pending` and becomes `active` only after the SMS went out, so a failed
//! send never leaves a usable code. Each verification first reserves an
//! attempt with a conditional `ADD` (N parallel tries count N), then
//! compares; spending is a second conditional update that only one caller can
//! win. Expiry is judged from `expires_at`, not DynamoDB TTL.

use super::{b, get_bool, get_n, get_s, keep, n, require, s, ttl, Db, Item, StoreError, Written};
use crate::clock::UnixTime;
use crate::types::CodeMac;

/// Where a challenge lives: whose it is and what it is for.
#[derive(Clone, Copy, Debug)]
pub struct Slot<'a> {
    pub owner: &'a str,
    pub purpose: &'static str,
}

impl Slot<'_> {
    fn pk(&self) -> String {
        format!("OTP#{}", self.owner)
    }
}

/// A challenge's life: pending until its SMS is out, then active until spent
/// or replaced; failed if its SMS never went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    Active,
    Spent,
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Spent => "spent",
            Status::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Challenge {
    pub challenge_id: String,
    /// What is kept of the code (see `domain::codes`).
    pub code_mac: CodeMac,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Attempts reserved so far, including the caller's.
    pub attempts: i64,
    /// A challenge stored for an unknown user id (or one without a verified
    /// phone) so that verification behaves exactly as for a real one; it can
    /// never succeed.
    pub decoy: bool,
    /// Text kept with the code and bound into its MAC (a step-up's transaction).
    pub remembered: Option<String>,
}

/// Outcome of reserving one verification attempt.
#[derive(Debug)]
pub enum Reservation {
    Reserved(Challenge),
    NoChallenge,
    Expired,
    Exhausted,
}

fn challenge_from(item: &Item) -> Result<Challenge, StoreError> {
    Ok(Challenge {
        challenge_id: require(get_s(item, "challenge_id"), "otp", "challenge_id")?,
        code_mac: CodeMac::from_hex(require(get_s(item, "code_mac"), "otp", "code_mac")?),
        created_at: get_n(item, "created_at").unwrap_or(0),
        expires_at: require(get_n(item, "expires_at"), "otp", "expires_at")?,
        attempts: get_n(item, "attempts").unwrap_or(0),
        decoy: get_bool(item, "decoy").unwrap_or(false),
        remembered: get_s(item, "remembered"),
    })
}

impl Db {
    /// Stores a new challenge as pending, replacing any previous one in the slot.
    pub async fn put_pending_challenge(
        &self,
        slot: &Slot<'_>,
        c: &Challenge,
    ) -> Result<(), StoreError> {
        let req = self
            .put()
            .item("pk", s(slot.pk()))
            .item("sk", s(slot.purpose))
            .item("challenge_id", s(&c.challenge_id))
            .item("code_mac", s(c.code_mac.as_str()))
            .item("created_at", n(c.created_at))
            .item("expires_at", n(c.expires_at))
            .item("attempts", n(0))
            .item("status", s(Status::Pending.as_str()))
            .item("decoy", b(c.decoy))
            .item("ttl", ttl(c.expires_at, keep::CHALLENGE_SECONDS));
        let req = match &c.remembered {
            Some(text) => req.item("remembered", s(text)),
            None => req,
        };
        self.write_new(req).await.map(|_| ())
    }

    /// Makes a pending challenge usable (after its SMS was accepted).
    pub async fn activate_challenge(
        &self,
        slot: &Slot<'_>,
        challenge_id: &str,
    ) -> Result<(), StoreError> {
        self.set_challenge_status(slot, challenge_id, Status::Pending, Status::Active)
            .await
            .map(|_| ())
    }

    /// Kills a pending challenge whose SMS failed. Losing the race to a newer
    /// challenge is fine: ours is already gone.
    pub async fn discard_challenge(
        &self,
        slot: &Slot<'_>,
        challenge_id: &str,
    ) -> Result<(), StoreError> {
        self.set_challenge_status(slot, challenge_id, Status::Pending, Status::Failed)
            .await
            .map(|_| ())
    }

    /// Marks the challenge spent; true for exactly one caller.
    pub async fn spend_challenge(
        &self,
        slot: &Slot<'_>,
        challenge_id: &str,
    ) -> Result<bool, StoreError> {
        self.set_challenge_status(slot, challenge_id, Status::Active, Status::Spent)
            .await
    }

    async fn set_challenge_status(
        &self,
        slot: &Slot<'_>,
        challenge_id: &str,
        from: Status,
        to: Status,
    ) -> Result<bool, StoreError> {
        let req = self
            .update(slot.pk(), slot.purpose)
            .update_expression("SET #status = :to")
            .condition_expression("challenge_id = :cid AND #status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":cid", s(challenge_id));
        Ok(self.write(req).await?.applied())
    }

    /// Reserves one attempt on the slot's active, unexpired challenge.
    pub async fn reserve_attempt(
        &self,
        slot: &Slot<'_>,
        max_attempts: i64,
        now: UnixTime,
    ) -> Result<Reservation, StoreError> {
        let req = self
            .update(slot.pk(), slot.purpose)
            .update_expression("ADD attempts :one")
            .condition_expression("attribute_exists(pk) AND #status = :active AND attempts < :max AND expires_at > :now")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":active", s(Status::Active.as_str()))
            .expression_attribute_values(":max", n(max_attempts))
            .expression_attribute_values(":now", n(now));
        let old = match self.write(req).await? {
            Written::Applied(item) => return Ok(Reservation::Reserved(challenge_from(&item)?)),
            Written::Refused(None) => return Ok(Reservation::NoChallenge),
            Written::Refused(Some(old)) => old,
        };
        if get_s(&old, "status").as_deref() != Some(Status::Active.as_str()) {
            return Ok(Reservation::NoChallenge);
        }
        if get_n(&old, "expires_at").is_none_or(|exp| exp <= now) {
            return Ok(Reservation::Expired);
        }
        Ok(Reservation::Exhausted)
    }
}
