//! Voice sessions (`VOICE#<session_id>`/`VOICE`), listed by user through
//! `gsi1` (`USER#<user_id>` / `VOICE#<started_at>#<session_id>`).
//! Status moves issued → active → ended by conditional updates, so late or
//! repeated webhook deliveries cannot move a session backwards.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::{
    b, build_failed, get_bool, get_list, get_n, get_s, list, n, parsed, require, s, Db, Item,
    StoreError, Transacted, Written,
};
use crate::clock::UnixTime;
use crate::types::{
    AuthSessionId, CallerProof, ClientId, Platform, UserId, VoiceSessionId, VoiceStatus,
};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VoiceSession {
    pub session_id: VoiceSessionId,
    /// The caller, once known: from the app that asked for the connection
    /// details, or proven in the call by a spoken code.
    pub user_id: Option<UserId>,
    pub caller_proof: Option<CallerProof>,
    /// The app sign-in behind the session, whose revocation ends what the
    /// agent may do in it.
    pub auth_session_id: Option<AuthSessionId>,
    pub room_name: String,
    /// The caller's participant identity in the room.
    pub identity: String,
    pub platform: Option<Platform>,
    pub status: VoiceStatus,
    pub started_at: UnixTime,
    /// End of the session's usefulness: no code, step-up or tool token after it.
    pub expires_at: UnixTime,
    pub joined_at: Option<UnixTime>,
    pub ended_at: Option<UnixTime>,
    pub duration_seconds: Option<i64>,
    /// The agents dispatched to the room (connection details).
    pub agents: Vec<String>,
    /// The agent client that opened the session (a caller without the app).
    pub opened_by: Option<ClientId>,
    /// The user an in-call code was last asked for.
    pub pending_user: Option<UserId>,
    /// The last transaction the caller confirmed in the call.
    pub step_up: Option<StepUp>,
}

/// A transaction the caller confirmed by code: usable once, until it expires.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StepUp {
    pub id: String,
    /// The transaction, canonical (`types::Transaction::canonical`).
    pub transaction: String,
    pub expires_at: UnixTime,
    pub used: bool,
}

impl VoiceSession {
    /// Whether the session still allows anything: not ended, not expired.
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.status != VoiceStatus::Ended && now < self.expires_at
    }

    fn from_item(item: &Item) -> Result<Self, StoreError> {
        const KIND: &str = "voice session";
        let f = |k: &str| require(get_s(item, k), KIND, k);
        let user = |k: &str| {
            get_s(item, k)
                .map(|u| parsed(UserId::parse(&u), KIND, k))
                .transpose()
        };
        let step_up = match get_s(item, "step_up_id") {
            Some(id) => Some(StepUp {
                id,
                transaction: f("step_up_txn")?,
                expires_at: require(get_n(item, "step_up_expires"), KIND, "step_up_expires")?,
                used: get_bool(item, "step_up_used").unwrap_or(true),
            }),
            None => None,
        };
        Ok(Self {
            session_id: parsed(VoiceSessionId::parse(&f("session_id")?), KIND, "session_id")?,
            user_id: user("user_id")?,
            caller_proof: get_s(item, "caller_proof")
                .as_deref()
                .and_then(CallerProof::parse),
            auth_session_id: get_s(item, "auth_sid")
                .map(|sid| parsed(AuthSessionId::parse(&sid), KIND, "auth_sid"))
                .transpose()?,
            room_name: f("room_name")?,
            identity: f("identity")?,
            platform: get_s(item, "platform").as_deref().and_then(Platform::parse),
            status: require(VoiceStatus::parse(&f("status")?), KIND, "status")?,
            started_at: get_n(item, "started_at").unwrap_or(0),
            expires_at: get_n(item, "expires_at").unwrap_or(0),
            joined_at: get_n(item, "joined_at"),
            ended_at: get_n(item, "ended_at"),
            duration_seconds: get_n(item, "duration_seconds"),
            agents: get_list(item, "agents"),
            opened_by: get_s(item, "opened_by")
                .map(|c| parsed(ClientId::parse(&c), KIND, "opened_by"))
                .transpose()?,
            pending_user: user("pending_user")?,
            step_up,
        })
    }

    fn to_item(&self, retain_until: UnixTime) -> Item {
        let mut item = Item::from([
            ("pk".to_owned(), s(pk(&self.session_id))),
            ("sk".to_owned(), s("VOICE")),
            ("session_id".to_owned(), s(self.session_id.as_str())),
            ("room_name".to_owned(), s(&self.room_name)),
            ("identity".to_owned(), s(&self.identity)),
            ("status".to_owned(), s(self.status.as_str())),
            ("started_at".to_owned(), n(self.started_at)),
            ("expires_at".to_owned(), n(self.expires_at)),
            ("ttl".to_owned(), n(retain_until)),
        ]);
        if let Some(user) = &self.user_id {
            item.extend(listing(user, self.started_at, &self.session_id));
            item.insert("user_id".into(), s(user.as_str()));
        }
        let optional = [
            (
                "caller_proof",
                self.caller_proof.map(|p| p.as_str().to_owned()),
            ),
            (
                "auth_sid",
                self.auth_session_id.as_ref().map(|a| a.to_string()),
            ),
            ("platform", self.platform.map(|p| p.as_str().to_owned())),
            ("opened_by", self.opened_by.as_ref().map(|c| c.to_string())),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                item.insert(key.into(), s(v));
            }
        }
        if !self.agents.is_empty() {
            item.insert("agents".into(), list(&self.agents));
        }
        item
    }
}

fn pk(session_id: &VoiceSessionId) -> String {
    format!("VOICE#{session_id}")
}

fn room_pk(room_name: &str) -> String {
    format!("ROOM#{room_name}")
}

/// The `gsi1` keys that list a session under its user.
fn listing(
    user: &UserId,
    started_at: UnixTime,
    sid: &VoiceSessionId,
) -> [(String, AttributeValue); 2] {
    [
        ("gsi1pk".to_owned(), s(format!("USER#{user}"))),
        (
            "gsi1sk".to_owned(),
            s(format!("VOICE#{started_at:012}#{sid}")),
        ),
    ]
}

/// Why an agent could not open a voice session.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the room already has a voice session")]
    RoomTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Conditions every move of a live session shares (with `:now`).
const LIVE: &str = "attribute_exists(pk) AND #status <> :ended AND expires_at > :now";

impl Db {
    /// Records a newly issued session; `retain_until` is the TTL for history.
    pub async fn create_voice_session(
        &self,
        v: &VoiceSession,
        retain_until: UnixTime,
    ) -> Result<(), StoreError> {
        let req = self.put().set_item(Some(v.to_item(retain_until)));
        self.put_fresh(req, "voice session").await
    }

    /// Records a session an agent opened for a room, with the room's pointer
    /// to it, in one transaction: one room never has two open sessions.
    pub async fn open_room_voice_session(
        &self,
        v: &VoiceSession,
        retain_until: UnixTime,
    ) -> Result<(), OpenError> {
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(build_failed)
        };
        let pointer = Item::from([
            ("pk".to_owned(), s(room_pk(&v.room_name))),
            ("sk".to_owned(), s("ROOM")),
            ("session_id".to_owned(), s(v.session_id.as_str())),
            ("ttl".to_owned(), n(retain_until)),
        ]);
        match self
            .transact(vec![put(v.to_item(retain_until))?, put(pointer)?])
            .await?
        {
            Transacted::Applied => Ok(()),
            Transacted::Refused(_) => Err(OpenError::RoomTaken),
        }
    }

    /// The session an agent opened for this room, if any.
    pub async fn voice_session_of_room(
        &self,
        room_name: &str,
    ) -> Result<Option<VoiceSessionId>, StoreError> {
        let Some(item) = self.get(&room_pk(room_name), "ROOM").await? else {
            return Ok(None);
        };
        let id = require(get_s(&item, "session_id"), "room", "session_id")?;
        Ok(Some(parsed(
            VoiceSessionId::parse(&id),
            "room",
            "session_id",
        )?))
    }

    /// Notes whom the latest in-call code was asked for, while the session is
    /// live; the updated session, or `None` when it is not.
    pub async fn set_pending_caller(
        &self,
        session_id: &VoiceSessionId,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Option<VoiceSession>, StoreError> {
        self.transition(
            session_id,
            "SET pending_user = :user",
            LIVE,
            &[(":user", s(user.as_str())), (":now", n(now))],
        )
        .await
    }

    /// Binds the caller proven by an in-call code to a live session that has
    /// no caller yet or has exactly this one; `None` when it may not.
    pub async fn bind_caller(
        &self,
        session: &VoiceSession,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Option<VoiceSession>, StoreError> {
        let [(_, v1), (_, v2)] = listing(user, session.started_at, &session.session_id);
        self.transition(
            &session.session_id,
            "SET user_id = :user, caller_proof = if_not_exists(caller_proof, :proof), \
             gsi1pk = :g1, gsi1sk = :g2 REMOVE pending_user",
            &format!("{LIVE} AND (attribute_not_exists(user_id) OR user_id = :user)"),
            &[
                (":user", s(user.as_str())),
                (":proof", s(CallerProof::InCallCode.as_str())),
                (":g1", v1),
                (":g2", v2),
                (":now", n(now)),
            ],
        )
        .await
    }

    /// Records a confirmed step-up on a live session of this user, replacing
    /// any earlier one.
    pub async fn confirm_step_up(
        &self,
        session_id: &VoiceSessionId,
        user: &UserId,
        step_up: &StepUp,
        now: UnixTime,
    ) -> Result<Option<VoiceSession>, StoreError> {
        self.transition(
            session_id,
            "SET step_up_id = :id, step_up_txn = :txn, step_up_expires = :exp, step_up_used = :f",
            &format!("{LIVE} AND user_id = :user"),
            &[
                (":id", s(&step_up.id)),
                (":txn", s(&step_up.transaction)),
                (":exp", n(step_up.expires_at)),
                (":f", b(false)),
                (":user", s(user.as_str())),
                (":now", n(now)),
            ],
        )
        .await
    }

    /// Uses the confirmed step-up `id` once: true for exactly one caller, and
    /// only while it and the session are live.
    pub async fn use_step_up(
        &self,
        session_id: &VoiceSessionId,
        id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        Ok(self
            .transition(
                session_id,
                "SET step_up_used = :t",
                &format!(
                    "{LIVE} AND step_up_id = :id AND step_up_used = :f AND step_up_expires > :now"
                ),
                &[
                    (":id", s(id)),
                    (":t", b(true)),
                    (":f", b(false)),
                    (":now", n(now)),
                ],
            )
            .await?
            .is_some())
    }

    /// Spends a single-use tool token by its `jti`: true the first time only.
    pub async fn spend_tool_token(
        &self,
        jti: &str,
        keep_until: UnixTime,
    ) -> Result<bool, StoreError> {
        let req = self
            .put()
            .item("pk", s(format!("TOOLTOKEN#{jti}")))
            .item("sk", s("SPENT"))
            .item("ttl", n(keep_until));
        self.claim_once(req).await
    }

    pub async fn voice_session(
        &self,
        session_id: &VoiceSessionId,
    ) -> Result<Option<VoiceSession>, StoreError> {
        self.get(&pk(session_id), "VOICE")
            .await?
            .map(|i| VoiceSession::from_item(&i))
            .transpose()
    }

    /// A user's sessions, newest first.
    pub async fn voice_sessions_of(
        &self,
        user: &UserId,
        limit: i32,
    ) -> Result<Vec<VoiceSession>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :prefix)")
            .expression_attribute_values(":pk", s(format!("USER#{user}")))
            .expression_attribute_values(":prefix", s("VOICE#"))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(|e| super::unavailable("Query", e))?;
        out.items().iter().map(VoiceSession::from_item).collect()
    }

    /// issued → active; the session as it now is, or `None` when it is unknown
    /// or already past `issued`.
    pub async fn mark_voice_joined(
        &self,
        session_id: &VoiceSessionId,
        at: UnixTime,
    ) -> Result<Option<VoiceSession>, StoreError> {
        self.transition(
            session_id,
            "SET #status = :active, joined_at = :at",
            "#status = :issued",
            &[
                (":active", s(VoiceStatus::Active.as_str())),
                (":issued", s(VoiceStatus::Issued.as_str())),
                (":at", n(at)),
            ],
        )
        .await
    }

    /// issued/active → ended with its duration, counted from the join (or,
    /// for a session nobody joined, zero). `None` when unknown or already ended.
    pub async fn mark_voice_ended(
        &self,
        session_id: &VoiceSessionId,
        at: UnixTime,
    ) -> Result<Option<VoiceSession>, StoreError> {
        let Some(current) = self.voice_session(session_id).await? else {
            return Ok(None);
        };
        let duration = current.joined_at.map_or(0, |joined| (at - joined).max(0));
        // The condition pins the state read above, so a concurrent join or end
        // makes this update fail instead of writing a stale duration.
        let joined_guard = match current.joined_at {
            Some(j) => ("joined_at = :joined", Some(n(j))),
            None => ("attribute_not_exists(joined_at)", None),
        };
        let condition = format!(
            "#status <> :ended AND #status = :current AND {}",
            joined_guard.0
        );
        let mut values = vec![
            (":ended", s(VoiceStatus::Ended.as_str())),
            (":current", s(current.status.as_str())),
            (":at", n(at)),
            (":duration", n(duration)),
        ];
        if let Some(j) = joined_guard.1 {
            values.push((":joined", j));
        }
        self.transition(
            session_id,
            "SET #status = :ended, ended_at = :at, duration_seconds = :duration",
            &condition,
            &values,
        )
        .await
    }

    /// Applies a conditional update; the updated session, or `None` when the
    /// condition did not hold.
    async fn transition(
        &self,
        session_id: &VoiceSessionId,
        update: &str,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<Option<VoiceSession>, StoreError> {
        let mut req = self
            .update(pk(session_id), "VOICE")
            .update_expression(update)
            .condition_expression(format!("attribute_exists(pk) AND {condition}"))
            .expression_attribute_names("#status", "status");
        for (k, v) in values {
            req = req.expression_attribute_values(*k, v.clone());
        }
        if condition.contains(":ended") && !values.iter().any(|(k, _)| *k == ":ended") {
            req = req.expression_attribute_values(":ended", s(VoiceStatus::Ended.as_str()));
        }
        match self.write(req).await? {
            Written::Applied(item) => Ok(Some(VoiceSession::from_item(&item)?)),
            Written::Refused(_) => Ok(None),
        }
    }
}
