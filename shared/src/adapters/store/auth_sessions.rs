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

use aws_sdk_dynamodb::types::AttributeValue;

use super::users::{user_pk, User};
use super::{
    b, get_bool, get_list, get_n, get_s, keep, list, n, parsed, require, s, ttl, Db, Item,
    StoreError, Written,
};
use crate::clock::UnixTime;
use crate::types::{AuthMethod, AuthSessionId, Platform, RefreshHash, RevocationReason, UserId};

#[derive(Clone)]
pub struct AuthSession {
    pub sid: AuthSessionId,
    pub user_id: UserId,
    /// SHA-256 of the current refresh token.
    pub refresh_hash: RefreshHash,
    /// SHA-256 of the token the current one replaced, and when.
    pub prev_hash: Option<RefreshHash>,
    pub rotated_at: Option<UnixTime>,
    pub created_at: UnixTime,
    /// Absolute end of the session, whatever the rotations.
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub amr: Vec<AuthMethod>,
    pub platform: Option<Platform>,
    pub two_factor_verified: bool,
    /// The external identity provider of a federated sign-in.
    pub idp: Option<String>,
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

    fn from_item(item: &Item) -> Result<Self, StoreError> {
        const KIND: &str = "session";
        let text = |k: &str| require(get_s(item, k), KIND, k);
        Ok(Self {
            sid: parsed(AuthSessionId::parse(&text("sid")?), KIND, "sid")?,
            user_id: parsed(UserId::parse(&text("user_id")?), KIND, "user_id")?,
            refresh_hash: RefreshHash::from_hex(text("refresh_hash")?),
            prev_hash: get_s(item, "prev_hash").map(RefreshHash::from_hex),
            rotated_at: get_n(item, "rotated_at"),
            created_at: get_n(item, "created_at").unwrap_or(0),
            expires_at: require(get_n(item, "expires_at"), KIND, "expires_at")?,
            revoked_at: get_n(item, "revoked_at"),
            amr: get_list(item, "amr")
                .iter()
                .filter_map(|m| AuthMethod::parse(m))
                .collect(),
            platform: get_s(item, "platform").as_deref().and_then(Platform::parse),
            two_factor_verified: get_bool(item, "two_factor_verified").unwrap_or(false),
            idp: get_s(item, "idp"),
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

fn pk(sid: &AuthSessionId) -> String {
    format!("SESSION#{sid}")
}

impl Db {
    pub async fn create_session(&self, session: &AuthSession) -> Result<(), StoreError> {
        let amr: Vec<String> = session.amr.iter().map(|m| m.as_str().to_owned()).collect();
        let mut req = self
            .put()
            .item("pk", s(pk(&session.sid)))
            .item("sk", s("SESSION"))
            .item("sid", s(session.sid.as_str()))
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
            .item("refresh_hash", s(session.refresh_hash.as_str()))
            .item("created_at", n(session.created_at))
            .item("expires_at", n(session.expires_at))
            .item("ttl", ttl(session.expires_at, keep::SESSION_SECONDS))
            .item("amr", list(&amr))
            .item("two_factor_verified", b(session.two_factor_verified));
        if let Some(p) = session.platform {
            req = req.item("platform", s(p.as_str()));
        }
        if let Some(idp) = &session.idp {
            req = req.item("idp", s(idp));
        }
        self.put_fresh(req, "session").await
    }

    pub async fn session(&self, sid: &AuthSessionId) -> Result<Option<AuthSession>, StoreError> {
        self.get(&pk(sid), "SESSION")
            .await?
            .map(|i| AuthSession::from_item(&i))
            .transpose()
    }

    /// A session and a user in one consistent read: the bearer check of an access
    /// token, which names both (one round trip, not two sent together).
    pub async fn session_and_user(
        &self,
        sid: &AuthSessionId,
        user: &UserId,
    ) -> Result<(Option<AuthSession>, Option<User>), StoreError> {
        let [session, user] = self
            .get_together([(&pk(sid), "SESSION"), (&user_pk(user), "PROFILE")])
            .await?;
        Ok((
            session.map(|i| AuthSession::from_item(&i)).transpose()?,
            user.map(|i| User::from_item(&i)).transpose()?,
        ))
    }

    /// Swaps the current refresh hash for `next`, atomically, if `presented`
    /// is the current one and the session is live.
    pub async fn rotate_refresh(
        &self,
        sid: &AuthSessionId,
        presented: &RefreshHash,
        next: &RefreshHash,
        now: UnixTime,
    ) -> Result<Rotation, StoreError> {
        let req = self
            .update(pk(sid), "SESSION")
            .update_expression("SET refresh_hash = :next, prev_hash = :presented, rotated_at = :now ADD rotated_hashes :presented_set")
            .condition_expression(
                "attribute_exists(pk) AND refresh_hash = :presented AND attribute_not_exists(revoked_at) AND expires_at > :now",
            )
            .expression_attribute_values(":next", s(next.as_str()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":presented", s(presented.as_str()))
            .expression_attribute_values(":presented_set", AttributeValue::Ss(vec![presented.as_str().to_owned()]));
        let old = match self.write(req).await? {
            Written::Applied(item) => return Ok(Rotation::Rotated(AuthSession::from_item(&item)?)),
            Written::Refused(None) => return Ok(Rotation::Unknown),
            Written::Refused(Some(old)) => old,
        };
        let was_rotated = old
            .get("rotated_hashes")
            .and_then(|v| v.as_ss().ok())
            .is_some_and(|set| set.iter().any(|h| h == presented.as_str()));
        Ok(Rotation::NotCurrent {
            session: AuthSession::from_item(&old)?,
            was_rotated,
        })
    }

    /// Revokes a session (idempotent: the first revocation stays).
    pub async fn revoke_session(
        &self,
        sid: &AuthSessionId,
        now: UnixTime,
        reason: RevocationReason,
    ) -> Result<bool, StoreError> {
        self.revoke(sid, None, now, reason).await
    }

    /// Revokes a session that is still live and `user`'s, in one conditional
    /// write (logout): false when it was not (revoked, expired, not theirs).
    pub async fn revoke_live_session(
        &self,
        sid: &AuthSessionId,
        user: &str,
        now: UnixTime,
        reason: RevocationReason,
    ) -> Result<bool, StoreError> {
        self.revoke(sid, Some(user), now, reason).await
    }

    /// Sets `revoked_at` unless already set; with `owner`, only on a live
    /// session of that user.
    async fn revoke(
        &self,
        sid: &AuthSessionId,
        owner: Option<&str>,
        now: UnixTime,
        reason: RevocationReason,
    ) -> Result<bool, StoreError> {
        let mut condition = "attribute_exists(pk) AND attribute_not_exists(revoked_at)".to_owned();
        let mut req = self
            .update(pk(sid), "SESSION")
            .update_expression("SET revoked_at = :now, revoked_reason = :reason")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":reason", s(reason.as_str()));
        if let Some(user) = owner {
            condition.push_str(" AND user_id = :user AND expires_at > :now");
            req = req.expression_attribute_values(":user", s(user));
        }
        Ok(self
            .write(req.condition_expression(condition))
            .await?
            .applied())
    }
}
