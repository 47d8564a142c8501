//! Users, by id (`USER#<id>`/`PROFILE`) and by lower-cased email
//! (`EMAIL#<email>`/`EMAIL`, a uniqueness guard pointing at the id).

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::{b, get_bool, get_list, get_n, get_s, list, n, require, s, unavailable, Db, Item};
use crate::error::ApiError;
use crate::types::{Email, FullName, Phone, UserId};

#[derive(Clone, Debug)]
pub struct User {
    pub user_id: UserId,
    pub email: Email,
    pub full_name: FullName,
    pub phone: Option<Phone>,
    /// argon2id PHC string.
    pub password_hash: String,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
    pub mfa_enabled: bool,
    pub created_at: i64,
}

/// Why a new user could not be written.
#[derive(Debug)]
pub enum CreateUserError {
    EmailTaken,
    /// The generated id collided; the caller draws another.
    IdTaken,
    Store(ApiError),
}

fn user_pk(id: &UserId) -> String {
    format!("USER#{id}")
}

fn email_pk(email: &Email) -> String {
    format!("EMAIL#{email}")
}

impl User {
    fn to_item(&self) -> Item {
        let mut item = Item::new();
        item.insert("pk".into(), s(user_pk(&self.user_id)));
        item.insert("sk".into(), s("PROFILE"));
        item.insert("user_id".into(), s(self.user_id.as_str()));
        item.insert("email".into(), s(self.email.as_str()));
        item.insert("full_name".into(), s(self.full_name.as_str()));
        if let Some(phone) = &self.phone {
            item.insert("phone".into(), s(phone.expose()));
        }
        item.insert("password_hash".into(), s(&self.password_hash));
        item.insert("roles".into(), list(&self.roles));
        item.insert("permissions".into(), list(&self.permissions));
        item.insert("mfa_enabled".into(), b(self.mfa_enabled));
        item.insert("created_at".into(), n(self.created_at));
        item
    }

    fn from_item(item: &Item) -> Result<Self, ApiError> {
        let field = |k: &str| require(get_s(item, k), "user", k);
        let parse_err = |k: &'static str| {
            move |_| ApiError::internal(format!("user item has a malformed `{k}`"))
        };
        Ok(Self {
            user_id: UserId::parse(&field("user_id")?).map_err(parse_err("user_id"))?,
            email: Email::parse(&field("email")?).map_err(parse_err("email"))?,
            full_name: FullName::parse(&field("full_name")?).map_err(parse_err("full_name"))?,
            phone: get_s(item, "phone")
                .map(|p| Phone::parse(&p))
                .transpose()
                .map_err(parse_err("phone"))?,
            password_hash: field("password_hash")?,
            roles: get_list(item, "roles"),
            permissions: get_list(item, "permissions"),
            mfa_enabled: get_bool(item, "mfa_enabled").unwrap_or(false),
            created_at: get_n(item, "created_at").unwrap_or(0),
        })
    }
}

impl Db {
    /// Writes the user and claims its email in one transaction, so two
    /// registrations of the same email can never both succeed.
    pub async fn create_user(&self, user: &User) -> Result<(), CreateUserError> {
        let put_user = Put::builder()
            .table_name(&self.table)
            .set_item(Some(user.to_item()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| CreateUserError::Store(ApiError::internal(e)))?;
        let put_email = Put::builder()
            .table_name(&self.table)
            .item("pk", s(email_pk(&user.email)))
            .item("sk", s("EMAIL"))
            .item("user_id", s(user.user_id.as_str()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| CreateUserError::Store(ApiError::internal(e)))?;
        let res = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_user).build())
            .transact_items(TransactWriteItem::builder().put(put_email).build())
            .send()
            .await;
        let err = match res {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
            err.as_service_error()
        {
            let failed = |i: usize| {
                c.cancellation_reasons()
                    .get(i)
                    .and_then(|r| r.code())
                    .is_some_and(|code| code == "ConditionalCheckFailed")
            };
            if failed(1) {
                return Err(CreateUserError::EmailTaken);
            }
            if failed(0) {
                return Err(CreateUserError::IdTaken);
            }
        }
        Err(CreateUserError::Store(unavailable("TransactWriteItems")(
            err,
        )))
    }

    pub async fn user(&self, id: &UserId) -> Result<Option<User>, ApiError> {
        self.get(&user_pk(id), "PROFILE")
            .await?
            .map(|i| User::from_item(&i))
            .transpose()
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<User>, ApiError> {
        let Some(guard) = self.get(&email_pk(email), "EMAIL").await? else {
            // Same number of reads as for a known email, so response time does
            // not tell whether an account exists.
            self.get("USER#", "PROFILE").await?;
            return Ok(None);
        };
        let id = require(get_s(&guard, "user_id"), "email", "user_id")?;
        let id = UserId::parse(&id)
            .map_err(|_| ApiError::internal("email item has a malformed user_id"))?;
        self.user(&id).await
    }
}
