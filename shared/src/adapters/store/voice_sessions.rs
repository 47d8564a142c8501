//! Voice sessions (`VOICE#<session_id>`/`VOICE`), listed by user through
//! `gsi1` (`USER#<user_id>` / `VOICE#<started_at>#<session_id>`).
//! Status moves issued → active → ended by conditional updates, so late or
//! repeated webhook deliveries cannot move a session backwards.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{get_n, get_s, n, parsed, require, s, Db, Item, StoreError, Written};
use crate::clock::UnixTime;
use crate::types::{Platform, UserId, VoiceSessionId, VoiceStatus};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VoiceSession {
    pub session_id: VoiceSessionId,
    pub user_id: UserId,
    pub room_name: String,
    /// The caller's participant identity in the room.
    pub identity: String,
    pub platform: Option<Platform>,
    pub status: VoiceStatus,
    pub started_at: UnixTime,
    /// End of the participant token's usefulness for this session.
    pub expires_at: UnixTime,
    pub joined_at: Option<UnixTime>,
    pub ended_at: Option<UnixTime>,
    pub duration_seconds: Option<i64>,
}

impl VoiceSession {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        const KIND: &str = "voice session";
        let f = |k: &str| require(get_s(item, k), KIND, k);
        Ok(Self {
            session_id: parsed(VoiceSessionId::parse(&f("session_id")?), KIND, "session_id")?,
            user_id: parsed(UserId::parse(&f("user_id")?), KIND, "user_id")?,
            room_name: f("room_name")?,
            identity: f("identity")?,
            platform: get_s(item, "platform").as_deref().and_then(Platform::parse),
            status: require(VoiceStatus::parse(&f("status")?), KIND, "status")?,
            started_at: get_n(item, "started_at").unwrap_or(0),
            expires_at: get_n(item, "expires_at").unwrap_or(0),
            joined_at: get_n(item, "joined_at"),
            ended_at: get_n(item, "ended_at"),
            duration_seconds: get_n(item, "duration_seconds"),
        })
    }
}

fn pk(session_id: &VoiceSessionId) -> String {
    format!("VOICE#{session_id}")
}

impl Db {
    /// Records a newly issued session; `retain_until` is the TTL for history.
    pub async fn create_voice_session(
        &self,
        v: &VoiceSession,
        retain_until: UnixTime,
    ) -> Result<(), StoreError> {
        let mut req = self
            .put()
            .item("pk", s(pk(&v.session_id)))
            .item("sk", s("VOICE"))
            .item("gsi1pk", s(format!("USER#{}", v.user_id)))
            .item(
                "gsi1sk",
                s(format!("VOICE#{:012}#{}", v.started_at, v.session_id)),
            )
            .item("session_id", s(v.session_id.as_str()))
            .item("user_id", s(v.user_id.as_str()))
            .item("room_name", s(&v.room_name))
            .item("identity", s(&v.identity))
            .item("status", s(v.status.as_str()))
            .item("started_at", n(v.started_at))
            .item("expires_at", n(v.expires_at))
            .item("ttl", n(retain_until))
            .condition_expression("attribute_not_exists(pk)");
        if let Some(p) = v.platform {
            req = req.item("platform", s(p.as_str()));
        }
        match self.write_new(req).await? {
            Written::Applied(_) => Ok(()),
            Written::Refused(_) => Err(StoreError::Corrupt {
                kind: "voice session",
                detail: "a new session id already exists".into(),
            }),
        }
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
        match self.write(req).await? {
            Written::Applied(item) => Ok(Some(VoiceSession::from_item(&item)?)),
            Written::Refused(_) => Ok(None),
        }
    }
}
