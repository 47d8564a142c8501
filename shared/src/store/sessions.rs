//! Auth sessions (`SESSION#<sid>`/`SESSION`, listed by user through `gsi1`
//! as `USER#<user_id>` / `SESSION#<created_at>#<sid>`): one per sign-in, holding the
//! hash of the current refresh token, the hash it replaced (`prev_hash`, with
//! `rotated_at`) and the hashes of every rotated one.
//!
//! Rotation is a single conditional update: it succeeds only if the presented
//! hash is still the current one and the session is live, so of N parallel
//! refreshes exactly one rotates. When the condition fails, the item as it
//! was tells the caller whether the token was rotated before (reuse, or a
//! retry within the grace window).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{
    b, get_bool, get_list, get_n, get_s, is_conditional_failure, n, old_item_of_update, require, s,
    unavailable, update_applied, Db, Item,
};
use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::tokens::AuthMethod;
use crate::types::{Platform, UserId};

/// Kept this long past its absolute end, for audits of recent sessions.
const KEEP_AFTER_EXPIRY_SECONDS: i64 = 86_400;

#[derive(Clone)]
pub struct AuthSession {
    pub sid: String,
    pub user_id: UserId,
    /// SHA-256 of the current refresh token.
    pub refresh_hash: String,
    /// SHA-256 of the token the current one replaced, and when.
    pub prev_hash: Option<String>,
    pub rotated_at: Option<UnixTime>,
    pub created_at: UnixTime,
    /// Absolute end of the session, whatever the rotations.
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub amr: Vec<AuthMethod>,
    pub platform: Option<Platform>,
    pub two_factor_verified: bool,
}

impl std::fmt::Debug for AuthSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSession")
            .field("sid", &self.sid)
            .field("user_id", &self.user_id)
            .field("refresh_hash", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("amr", &self.amr)
            .finish_non_exhaustive()
    }
}

impl AuthSession {
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    fn from_item(item: &Item) -> Result<Self, ApiError> {
        let user_id = require(get_s(item, "user_id"), "session", "user_id")?;
        Ok(Self {
            sid: require(get_s(item, "sid"), "session", "sid")?,
            user_id: UserId::parse(&user_id)
                .map_err(|_| ApiError::internal("session has a malformed user_id"))?,
            refresh_hash: require(get_s(item, "refresh_hash"), "session", "refresh_hash")?,
            prev_hash: get_s(item, "prev_hash"),
            rotated_at: get_n(item, "rotated_at"),
            created_at: get_n(item, "created_at").unwrap_or(0),
            expires_at: require(get_n(item, "expires_at"), "session", "expires_at")?,
            revoked_at: get_n(item, "revoked_at"),
            amr: get_list(item, "amr")
                .iter()
                .filter_map(|m| AuthMethod::parse(m))
                .collect(),
            platform: get_s(item, "platform").as_deref().and_then(Platform::parse),
            two_factor_verified: get_bool(item, "two_factor_verified").unwrap_or(false),
        })
    }
}

/// What a refresh attempt found.
#[derive(Debug)]
pub enum Rotation {
    Rotated(AuthSession),
    /// The session exists but the presented hash is not its current one.
    NotCurrent {
        /// The session as it was.
        session: AuthSession,
        /// The presented hash was rotated away earlier.
        was_rotated: bool,
    },
    /// No such session.
    Unknown,
}

fn pk(sid: &str) -> String {
    format!("SESSION#{sid}")
}

impl Db {
    pub async fn create_session(&self, session: &AuthSession) -> Result<(), ApiError> {
        let amr: Vec<String> = session.amr.iter().map(|m| m.as_str().to_owned()).collect();
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk(&session.sid)))
            .item("sk", s("SESSION"))
            .item("sid", s(&session.sid))
            // Listed by user, for on-call (revoke every session of a user).
            .item("gsi1pk", s(format!("USER#{}", session.user_id)))
            .item(
                "gsi1sk",
                s(format!(
                    "SESSION#{:012}#{}",
                    session.created_at, session.sid
                )),
            )
            .item("user_id", s(session.user_id.as_str()))
            .item("refresh_hash", s(&session.refresh_hash))
            .item("created_at", n(session.created_at))
            .item("expires_at", n(session.expires_at))
            .item("ttl", n(session.expires_at + KEEP_AFTER_EXPIRY_SECONDS))
            .item("amr", super::list(&amr))
            .item("two_factor_verified", b(session.two_factor_verified))
            .condition_expression("attribute_not_exists(pk)");
        if let Some(p) = session.platform {
            req = req.item("platform", s(p.as_str()));
        }
        req.send().await.map_err(unavailable("PutItem"))?;
        Ok(())
    }

    pub async fn session(&self, sid: &str) -> Result<Option<AuthSession>, ApiError> {
        self.get(&pk(sid), "SESSION")
            .await?
            .map(|i| AuthSession::from_item(&i))
            .transpose()
    }

    /// Swaps the current refresh hash for `next`, atomically, if `presented`
    /// is the current one and the session is live.
    pub async fn rotate_refresh(
        &self,
        sid: &str,
        presented: &str,
        next: &str,
        now: UnixTime,
    ) -> Result<Rotation, ApiError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(sid)))
            .key("sk", s("SESSION"))
            .update_expression("SET refresh_hash = :next, prev_hash = :presented, rotated_at = :now ADD rotated_hashes :presented_set")
            .condition_expression(
                "attribute_exists(pk) AND refresh_hash = :presented AND attribute_not_exists(revoked_at) AND expires_at > :now",
            )
            .expression_attribute_values(":next", s(next))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":presented", s(presented))
            .expression_attribute_values(":presented_set", AttributeValue::Ss(vec![presented.to_owned()]))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match res {
            Ok(out) => {
                let item = out
                    .attributes
                    .ok_or_else(|| ApiError::internal("UpdateItem returned no attributes"))?;
                return Ok(Rotation::Rotated(AuthSession::from_item(&item)?));
            }
            Err(e) if is_conditional_failure(&e) => e,
            Err(e) => return Err(unavailable("UpdateItem")(e)),
        };
        let Some(old) = old_item_of_update(&err) else {
            return Ok(Rotation::Unknown);
        };
        let was_rotated = old
            .get("rotated_hashes")
            .and_then(|v| v.as_ss().ok())
            .is_some_and(|set| set.iter().any(|h| h == presented));
        Ok(Rotation::NotCurrent {
            session: AuthSession::from_item(&old)?,
            was_rotated,
        })
    }

    /// Revokes a session (idempotent: the first revocation time stays).
    pub async fn revoke_session(
        &self,
        sid: &str,
        now: UnixTime,
        reason: &str,
    ) -> Result<bool, ApiError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(sid)))
            .key("sk", s("SESSION"))
            .update_expression("SET revoked_at = :now, revoked_reason = :reason")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":reason", s(reason))
            .send()
            .await;
        update_applied(res)
    }
}
