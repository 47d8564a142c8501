//! Passkeys and their ceremonies.
//!
//! - A passkey lives with its user (`USER#<user_id>`/`PASSKEY#<passkey id>`):
//!   the verifier's credential (public key, counter, flags) as webauthn-rs
//!   serialises it, plus its name and use times. A user's passkeys are one
//!   consistent Query of their partition.
//! - `PASSKEYID#<passkey id>`/`PASSKEYID` points a credential id at its user,
//!   for the username-less sign-in, and makes a credential id register once.
//! - The user's `PROFILE` counts them (`passkeys`), bounded in the same
//!   transaction that adds one.
//! - A ceremony (`CEREMONY#<id>`/`CEREMONY`) holds the state between a
//!   ceremony's start and finish. Finishing takes it with one conditional
//!   update, so a challenge is answered at most once, however many finishes race.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::{
    b, build_failed, get_bool, get_n, get_s, keep, n, parsed, require, s, ttl, Db, Item,
    StoreError, Transacted, Written,
};
use crate::clock::UnixTime;
use crate::types::{CeremonyId, PasskeyId, PasskeyName, UserId};

/// A registered passkey.
#[derive(Clone, Debug)]
pub struct StoredPasskey {
    pub id: PasskeyId,
    pub user_id: UserId,
    pub name: PasskeyName,
    /// webauthn-rs's `Passkey`, as JSON: public key, counter, flags.
    pub credential: String,
    /// The signature counter last seen (0 for authenticators that keep none).
    pub counter: u32,
    /// The authenticator may sync it to other devices (BE flag).
    pub backup_eligible: bool,
    /// It is synced now (BS flag, as last seen).
    pub backed_up: bool,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// What a ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyKind {
    Register,
    SignIn,
}

impl CeremonyKind {
    fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Register => "register",
            CeremonyKind::SignIn => "sign_in",
        }
    }
}

/// A ceremony's state between its start and its finish.
#[derive(Clone, Debug)]
pub struct Ceremony {
    pub id: CeremonyId,
    pub kind: CeremonyKind,
    /// Whose passkey is being registered (none for a sign-in).
    pub user_id: Option<UserId>,
    /// webauthn-rs's ceremony state, as JSON (holds the challenge).
    pub state: String,
    pub expires_at: UnixTime,
}

/// Why a passkey could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddPasskeyError {
    #[error("the user has as many passkeys as allowed")]
    Full,
    #[error("the credential is already registered")]
    Exists,
    #[error("the user is gone")]
    UserGone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn user_pk(user: &UserId) -> String {
    format!("USER#{user}")
}

fn passkey_sk(id: &PasskeyId) -> String {
    format!("PASSKEY#{id}")
}

fn pointer_pk(id: &PasskeyId) -> String {
    format!("PASSKEYID#{id}")
}

fn ceremony_pk(id: &CeremonyId) -> String {
    format!("CEREMONY#{id}")
}

impl StoredPasskey {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        const KIND: &str = "passkey";
        let text = |k: &str| require(get_s(item, k), KIND, k);
        Ok(Self {
            id: parsed(PasskeyId::parse(&text("passkey_id")?), KIND, "passkey_id")?,
            user_id: parsed(UserId::parse(&text("user_id")?), KIND, "user_id")?,
            name: parsed(PasskeyName::parse(&text("name")?), KIND, "name")?,
            credential: text("credential")?,
            counter: parsed(
                u32::try_from(require(get_n(item, "counter"), KIND, "counter")?),
                KIND,
                "counter",
            )?,
            backup_eligible: get_bool(item, "backup_eligible").unwrap_or(false),
            backed_up: get_bool(item, "backed_up").unwrap_or(false),
            created_at: get_n(item, "created_at").unwrap_or(0),
            last_used_at: get_n(item, "last_used_at"),
        })
    }
}

impl Db {
    /// Stores a ceremony's state; its id is fresh, so this never replaces one.
    pub async fn put_ceremony(&self, c: &Ceremony) -> Result<(), StoreError> {
        let mut req = self
            .put()
            .item("pk", s(ceremony_pk(&c.id)))
            .item("sk", s("CEREMONY"))
            .item("kind", s(c.kind.as_str()))
            .item("state", s(&c.state))
            .item("expires_at", n(c.expires_at))
            .item("ttl", ttl(c.expires_at, keep::CHALLENGE_SECONDS));
        if let Some(user) = &c.user_id {
            req = req.item("user_id", s(user.as_str()));
        }
        self.put_fresh(req, "ceremony").await
    }

    /// Takes the ceremony for its finish: marks it used if it is of `kind`,
    /// unused and unexpired at `now`, and returns it; `None` for exactly
    /// every other caller (unknown, used, expired, another kind).
    pub async fn take_ceremony(
        &self,
        id: &CeremonyId,
        kind: CeremonyKind,
        now: UnixTime,
    ) -> Result<Option<Ceremony>, StoreError> {
        let req = self
            .update(ceremony_pk(id), "CEREMONY")
            .update_expression("SET used_at = :now")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(used_at) AND kind = :kind AND expires_at > :now",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":kind", s(kind.as_str()));
        let item = match self.write(req).await? {
            Written::Applied(item) => item,
            Written::Refused(_) => return Ok(None),
        };
        const KIND: &str = "ceremony";
        let user_id = get_s(&item, "user_id")
            .map(|u| parsed(UserId::parse(&u), KIND, "user_id"))
            .transpose()?;
        Ok(Some(Ceremony {
            id: id.clone(),
            kind,
            user_id,
            state: require(get_s(&item, "state"), KIND, "state")?,
            expires_at: require(get_n(&item, "expires_at"), KIND, "expires_at")?,
        }))
    }

    /// Adds a passkey: the passkey, its credential id's pointer and one more
    /// in the user's count (below `max`), in one transaction.
    pub async fn add_passkey(&self, p: &StoredPasskey, max: i64) -> Result<(), AddPasskeyError> {
        let passkey = Put::builder()
            .table_name(&self.table)
            .set_item(Some(Item::from([
                ("pk".to_owned(), s(user_pk(&p.user_id))),
                ("sk".to_owned(), s(passkey_sk(&p.id))),
                ("passkey_id".to_owned(), s(p.id.as_str())),
                ("user_id".to_owned(), s(p.user_id.as_str())),
                ("name".to_owned(), s(p.name.as_str())),
                ("credential".to_owned(), s(&p.credential)),
                ("counter".to_owned(), n(i64::from(p.counter))),
                ("backup_eligible".to_owned(), b(p.backup_eligible)),
                ("backed_up".to_owned(), b(p.backed_up)),
                ("created_at".to_owned(), n(p.created_at)),
            ])))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_failed)?;
        let pointer = Put::builder()
            .table_name(&self.table)
            .set_item(Some(Item::from([
                ("pk".to_owned(), s(pointer_pk(&p.id))),
                ("sk".to_owned(), s("PASSKEYID")),
                ("user_id".to_owned(), s(p.user_id.as_str())),
            ])))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_failed)?;
        let count = Update::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(&p.user_id)))
            .key("sk", s("PROFILE"))
            .update_expression("ADD passkeys :one")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(passkeys) OR passkeys < :max)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max))
            .build()
            .map_err(build_failed)?;
        let items = vec![
            TransactWriteItem::builder().put(passkey).build(),
            TransactWriteItem::builder().put(pointer).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        match self.transact(items).await? {
            Transacted::Applied => Ok(()),
            Transacted::Refused(failed) if failed.contains(&0) || failed.contains(&1) => {
                Err(AddPasskeyError::Exists)
            }
            Transacted::Refused(_) => match self.get(&user_pk(&p.user_id), "PROFILE").await? {
                Some(_) => Err(AddPasskeyError::Full),
                None => Err(AddPasskeyError::UserGone),
            },
        }
    }

    /// The user whose credential this is.
    pub async fn passkey_owner(&self, id: &PasskeyId) -> Result<Option<UserId>, StoreError> {
        let Some(item) = self.get(&pointer_pk(id), "PASSKEYID").await? else {
            return Ok(None);
        };
        let user = require(get_s(&item, "user_id"), "passkey pointer", "user_id")?;
        Ok(Some(parsed(
            UserId::parse(&user),
            "passkey pointer",
            "user_id",
        )?))
    }

    pub async fn passkey(
        &self,
        user: &UserId,
        id: &PasskeyId,
    ) -> Result<Option<StoredPasskey>, StoreError> {
        self.get(&user_pk(user), &passkey_sk(id))
            .await?
            .map(|i| StoredPasskey::from_item(&i))
            .transpose()
    }

    /// Every passkey of the user (at most `PASSKEYS_PER_USER`, so one page).
    pub async fn passkeys_of(&self, user: &UserId) -> Result<Vec<StoredPasskey>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :passkey)")
            .expression_attribute_values(":pk", s(user_pk(user)))
            .expression_attribute_values(":passkey", s("PASSKEY#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| super::unavailable("Query", e))?;
        out.items().iter().map(StoredPasskey::from_item).collect()
    }

    /// Records a sign-in with the passkey: the new counter, flags and
    /// credential, only if the counter moved forward from what is stored
    /// (or both are 0, for authenticators without one). Of two sign-ins
    /// racing with the same counter (a cloned key) one loses. False when
    /// refused or the passkey is gone.
    pub async fn record_passkey_use(
        &self,
        p: &StoredPasskey,
        counter: u32,
        backed_up: bool,
        credential: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let condition = if counter == 0 {
            "attribute_exists(pk) AND #counter = :counter"
        } else {
            "attribute_exists(pk) AND #counter < :counter"
        };
        let req = self
            .update(user_pk(&p.user_id), &passkey_sk(&p.id))
            .update_expression(
                "SET #counter = :counter, backed_up = :backed_up, credential = :credential, last_used_at = :now",
            )
            .condition_expression(condition)
            .expression_attribute_names("#counter", "counter")
            .expression_attribute_values(":counter", n(i64::from(counter)))
            .expression_attribute_values(":backed_up", b(backed_up))
            .expression_attribute_values(":credential", s(credential))
            .expression_attribute_values(":now", n(now));
        Ok(self.write(req).await?.applied())
    }

    /// Deletes the user's passkey, its pointer and its place in the count.
    /// False if the user has no such passkey.
    pub async fn delete_passkey(&self, user: &UserId, id: &PasskeyId) -> Result<bool, StoreError> {
        let passkey = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(user)))
            .key("sk", s(passkey_sk(id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(build_failed)?;
        let pointer = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(pointer_pk(id)))
            .key("sk", s("PASSKEYID"))
            .condition_expression("user_id = :user")
            .expression_attribute_values(":user", s(user.as_str()))
            .build()
            .map_err(build_failed)?;
        let count = Update::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(user)))
            .key("sk", s("PROFILE"))
            .update_expression("ADD passkeys :minus_one")
            .condition_expression("passkeys > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(build_failed)?;
        let items = vec![
            TransactWriteItem::builder().delete(passkey).build(),
            TransactWriteItem::builder().delete(pointer).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        Ok(matches!(self.transact(items).await?, Transacted::Applied))
    }
}
