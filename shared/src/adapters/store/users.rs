//! Users, by id (`USER#<id>`/`PROFILE`), by normalised email (`EMAIL#<email>`/
//! `EMAIL`, a uniqueness guard pointing at the id), by the email's confusable
//! skeleton (`EMAILSKEL#<skeleton>`/`EMAILSKEL`, so a lookalike of an existing
//! email cannot register), and the count of accounts each verified phone
//! number serves (`PHONE#<index>`/`PHONE`).

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

use super::federation::ExternalIdentity;
use super::{
    b, build_failed, get_bool, get_list, get_n, get_s, list, n, parsed, require, s, Db, Item,
    StoreError, Transacted,
};
use crate::adapters::vault::SealedPhone;
use crate::types::{Email, FullName, PasswordHash, PhoneIndex, UserId};

#[derive(Clone, Debug)]
pub struct User {
    pub user_id: UserId,
    pub email: Email,
    pub full_name: FullName,
    /// The verified number: the only one codes are sent to.
    pub phone: Option<SealedPhone>,
    /// A number waiting for its owner to prove it.
    pub pending_phone: Option<SealedPhone>,
    /// argon2id PHC string.
    pub password_hash: PasswordHash,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
    pub mfa_enabled: bool,
    pub created_at: i64,
    /// Set by an operator (docs/operations.md): no sign-in succeeds, no
    /// refresh rotates, while it is there.
    pub suspended_at: Option<i64>,
}

/// Why a new user could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The email, or a lookalike of it, is registered.
    #[error("the email or a lookalike of it is registered")]
    EmailTaken,
    /// The generated id collided; the caller draws another.
    #[error("the user id is taken")]
    IdTaken,
    /// The seeded phone number already serves as many accounts as allowed.
    #[error("the phone number serves as many accounts as allowed")]
    PhoneFull,
    /// The external identity was linked to another user meanwhile.
    #[error("the external identity is linked already")]
    IdentityLinked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a pending phone number could not become the verified one.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmPhoneError {
    /// The number already serves as many accounts as allowed.
    #[error("the phone number serves as many accounts as allowed")]
    PhoneFull,
    /// The pending number changed (or went) since the code was sent.
    #[error("the pending phone number changed")]
    PendingChanged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A phone number's slot in the accounts-per-number count.
#[derive(Clone, Copy, Debug)]
pub struct PhoneSlot<'a> {
    pub index: &'a PhoneIndex,
    pub max_accounts: i64,
}

pub(super) fn user_pk(id: &UserId) -> String {
    format!("USER#{id}")
}

fn email_pk(email: &Email) -> String {
    format!("EMAIL#{email}")
}

fn skeleton_pk(email: &Email) -> String {
    format!("EMAILSKEL#{}", email.skeleton())
}

fn phone_pk(index: &PhoneIndex) -> String {
    format!("PHONE#{index}")
}

fn sealed(item: &Item, prefix: &str) -> Option<SealedPhone> {
    Some(SealedPhone {
        ciphertext: get_s(item, &format!("{prefix}_enc"))?,
        masked: get_s(item, &format!("{prefix}_masked"))?,
    })
}

/// Adds one account to a number's count, up to its maximum.
fn claim_phone(table: &str, slot: PhoneSlot<'_>) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(phone_pk(slot.index)))
        .key("sk", s("PHONE"))
        .update_expression("ADD accounts :one")
        .condition_expression("attribute_not_exists(accounts) OR accounts < :max")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":max", n(slot.max_accounts))
        .build()
        .map_err(build_failed)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl User {
    fn to_item(&self) -> Item {
        let mut item = Item::new();
        item.insert("pk".into(), s(user_pk(&self.user_id)));
        item.insert("sk".into(), s("PROFILE"));
        item.insert("user_id".into(), s(self.user_id.as_str()));
        item.insert("email".into(), s(self.email.as_str()));
        item.insert("full_name".into(), s(self.full_name.as_str()));
        for (prefix, phone) in [
            ("phone", &self.phone),
            ("pending_phone", &self.pending_phone),
        ] {
            if let Some(p) = phone {
                item.insert(format!("{prefix}_enc"), s(&p.ciphertext));
                item.insert(format!("{prefix}_masked"), s(&p.masked));
            }
        }
        item.insert("password_hash".into(), s(self.password_hash.expose()));
        item.insert("roles".into(), list(&self.roles));
        item.insert("permissions".into(), list(&self.permissions));
        item.insert("mfa_enabled".into(), b(self.mfa_enabled));
        item.insert("created_at".into(), n(self.created_at));
        if let Some(at) = self.suspended_at {
            item.insert("suspended_at".into(), n(at));
        }
        item
    }

    pub(super) fn from_item(item: &Item) -> Result<Self, StoreError> {
        const KIND: &str = "user";
        let field = |k: &str| require(get_s(item, k), KIND, k);
        Ok(Self {
            user_id: parsed(UserId::parse(&field("user_id")?), KIND, "user_id")?,
            email: parsed(Email::parse(&field("email")?), KIND, "email")?,
            full_name: parsed(FullName::parse(&field("full_name")?), KIND, "full_name")?,
            phone: sealed(item, "phone"),
            pending_phone: sealed(item, "pending_phone"),
            password_hash: PasswordHash::from_phc(field("password_hash")?),
            roles: get_list(item, "roles"),
            permissions: get_list(item, "permissions"),
            mfa_enabled: get_bool(item, "mfa_enabled").unwrap_or(false),
            created_at: get_n(item, "created_at").unwrap_or(0),
            suspended_at: get_n(item, "suspended_at"),
        })
    }
}

impl Db {
    /// Writes the user and claims its email and the email's skeleton in one
    /// transaction, so two registrations of the same email (or of two emails
    /// that look alike) can never both succeed. A user seeded with a verified
    /// phone also takes a slot of that number in the same transaction.
    /// A user created by a federated sign-in is linked to its external
    /// identity in the same transaction.
    pub async fn create_user(
        &self,
        user: &User,
        phone_slot: Option<PhoneSlot<'_>>,
        identity: Option<ExternalIdentity<'_>>,
    ) -> Result<(), CreateUserError> {
        let new = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map(|put| TransactWriteItem::builder().put(put).build())
                .map_err(build_failed)
        };
        let guard = |pk: String, sk: &str| {
            new(Item::from([
                ("pk".to_owned(), s(pk)),
                ("sk".to_owned(), s(sk)),
                ("user_id".to_owned(), s(user.user_id.as_str())),
            ]))
        };
        let mut items = vec![
            new(user.to_item())?,
            guard(email_pk(&user.email), "EMAIL")?,
            guard(skeleton_pk(&user.email), "EMAILSKEL")?,
        ];
        if let Some(slot) = phone_slot {
            items.push(claim_phone(&self.table, slot)?);
        }
        let link_at = identity.map(|_| items.len());
        if let Some(identity) = identity {
            items.push(identity.put(&self.table, &user.user_id, user.created_at)?);
        }
        match self.transact(items).await? {
            Transacted::Applied => Ok(()),
            Transacted::Refused(failed) if link_at.is_some_and(|i| failed.contains(&i)) => {
                Err(CreateUserError::IdentityLinked)
            }
            Transacted::Refused(failed) if failed.contains(&1) || failed.contains(&2) => {
                Err(CreateUserError::EmailTaken)
            }
            Transacted::Refused(failed) if failed.contains(&0) => Err(CreateUserError::IdTaken),
            Transacted::Refused(_) => Err(CreateUserError::PhoneFull),
        }
    }

    pub async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get(&user_pk(id), "PROFILE")
            .await?
            .map(|i| User::from_item(&i))
            .transpose()
    }

    /// The user registered with exactly this (normalised) email.
    pub async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let Some(guard) = self.get(&email_pk(email), "EMAIL").await? else {
            // Same number of reads as for a known email, so response time does
            // not tell whether an account exists.
            self.get("USER#", "PROFILE").await?;
            return Ok(None);
        };
        let id = require(get_s(&guard, "user_id"), "email", "user_id")?;
        let id = parsed(UserId::parse(&id), "email", "user_id")?;
        Ok(self.user(&id).await?.filter(|u| &u.email == email))
    }

    /// Records a number the user must still prove, replacing any earlier one.
    pub async fn set_pending_phone(
        &self,
        id: &UserId,
        phone: &SealedPhone,
    ) -> Result<bool, StoreError> {
        let req = self
            .update(user_pk(id), "PROFILE")
            .update_expression("SET pending_phone_enc = :enc, pending_phone_masked = :masked")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":enc", s(&phone.ciphertext))
            .expression_attribute_values(":masked", s(&phone.masked));
        Ok(self.write(req).await?.applied())
    }

    /// Makes the pending number (still `expected`) the verified one, taking a
    /// slot of the new number and giving back the old number's, in one
    /// transaction.
    pub async fn confirm_phone(
        &self,
        id: &UserId,
        expected: &SealedPhone,
        new_slot: PhoneSlot<'_>,
        old_index: Option<&PhoneIndex>,
    ) -> Result<(), ConfirmPhoneError> {
        let move_number = Update::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(id)))
            .key("sk", s("PROFILE"))
            .update_expression("SET phone_enc = :enc, phone_masked = :masked REMOVE pending_phone_enc, pending_phone_masked")
            .condition_expression("pending_phone_enc = :enc")
            .expression_attribute_values(":enc", s(&expected.ciphertext))
            .expression_attribute_values(":masked", s(&expected.masked))
            .build()
            .map_err(build_failed)?;
        let mut items = vec![TransactWriteItem::builder().update(move_number).build()];
        if old_index != Some(new_slot.index) {
            items.push(claim_phone(&self.table, new_slot)?);
            if let Some(old) = old_index {
                let release = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(phone_pk(old)))
                    .key("sk", s("PHONE"))
                    .update_expression("ADD accounts :minus_one")
                    .condition_expression("accounts > :zero")
                    .expression_attribute_values(":minus_one", n(-1))
                    .expression_attribute_values(":zero", n(0))
                    .build()
                    .map_err(build_failed)?;
                items.push(TransactWriteItem::builder().update(release).build());
            }
        }
        match self.transact(items).await? {
            Transacted::Applied => Ok(()),
            Transacted::Refused(failed) if failed.contains(&0) => {
                Err(ConfirmPhoneError::PendingChanged)
            }
            Transacted::Refused(failed) if failed.contains(&1) => Err(ConfirmPhoneError::PhoneFull),
            Transacted::Refused(_) => Err(ConfirmPhoneError::Store(StoreError::Corrupt {
                kind: "phone",
                detail: "the old number's count was already zero".into(),
            })),
        }
    }

    /// How many accounts a number serves.
    pub async fn accounts_on_phone(&self, index: &PhoneIndex) -> Result<i64, StoreError> {
        Ok(self
            .get(&phone_pk(index), "PHONE")
            .await?
            .and_then(|i| get_n(&i, "accounts"))
            .unwrap_or(0))
    }
}
