//! Identities at trusted external providers linked to users
//! (`FEDID#<provider>#<subject>`/`FEDID` → `user_id`), and the ID tokens
//! already exchanged (`IDTOKEN#<SHA-256 of the token>`/`IDTOKEN`, kept until
//! the token expires), so one ID token signs in once.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::{build_failed, get_s, keep, n, parsed, require, s, ttl, Db, Item, StoreError, Written};
use crate::clock::UnixTime;
use crate::types::UserId;

/// A user at an identity provider: the provider's name and its `sub`.
#[derive(Clone, Copy, Debug)]
pub struct ExternalIdentity<'a> {
    pub provider: &'a str,
    pub subject: &'a str,
}

impl ExternalIdentity<'_> {
    fn pk(&self) -> String {
        format!("FEDID#{}#{}", self.provider, self.subject)
    }

    fn item(&self, user: &UserId, now: UnixTime) -> Item {
        Item::from([
            ("pk".to_owned(), s(self.pk())),
            ("sk".to_owned(), s("FEDID")),
            ("user_id".to_owned(), s(user.as_str())),
            ("linked_at".to_owned(), n(now)),
        ])
    }

    /// The link's put, for the transaction that creates its user.
    pub(super) fn put(
        &self,
        table: &str,
        user: &UserId,
        now: UnixTime,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(self.item(user, now)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_failed)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl Db {
    /// The user this external identity is linked to.
    pub async fn linked_user(
        &self,
        id: ExternalIdentity<'_>,
    ) -> Result<Option<UserId>, StoreError> {
        let Some(item) = self.get(&id.pk(), "FEDID").await? else {
            return Ok(None);
        };
        let user = require(get_s(&item, "user_id"), "identity link", "user_id")?;
        Ok(Some(parsed(
            UserId::parse(&user),
            "identity link",
            "user_id",
        )?))
    }

    /// Links the identity to `user` unless it is linked already; the user
    /// it is linked to either way.
    pub async fn link_identity(
        &self,
        id: ExternalIdentity<'_>,
        user: &UserId,
        now: UnixTime,
    ) -> Result<UserId, StoreError> {
        let req = self
            .put()
            .set_item(Some(id.item(user, now)))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            );
        match self.write_new(req).await? {
            Written::Applied(_) => Ok(user.clone()),
            Written::Refused(Some(old)) => {
                let linked = require(get_s(&old, "user_id"), "identity link", "user_id")?;
                parsed(UserId::parse(&linked), "identity link", "user_id")
            }
            Written::Refused(None) => Err(StoreError::Corrupt {
                kind: "identity link",
                detail: "refused without an existing link".into(),
            }),
        }
    }

    /// Records an ID token as exchanged; false if it already was.
    pub async fn spend_id_token(
        &self,
        token_hash: &str,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        let req = self
            .put()
            .item("pk", s(format!("IDTOKEN#{token_hash}")))
            .item("sk", s("IDTOKEN"))
            .item("expires_at", n(expires_at))
            .item("ttl", ttl(expires_at, keep::CHALLENGE_SECONDS));
        self.claim_once(req).await
    }
}
