//! The contract's demo users, local stage only.

use voicegate::store::users::{CreateUserError, User};
use voicegate::store::Db;
use voicegate::types::{Email, FullName, Phone, UserId};

pub struct DemoUser {
    pub user_id: &'static str,
    pub full_name: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub phone: &'static str,
    pub roles: &'static [&'static str],
    pub permissions: &'static [&'static str],
    pub mfa: bool,
}

pub const DEMO_USERS: [DemoUser; 3] = [
    DemoUser {
        user_id: "u001",
        full_name: "John Doe",
        email: "john@example.com",
        password: "correct-horse-battery",
        phone: "+15555550100",
        roles: &["customer"],
        permissions: &["read", "transact", "configure"],
        mfa: false,
    },
    DemoUser {
        user_id: "u002",
        full_name: "Jane Roe",
        email: "jane@example.com",
        password: "jane-secret-passphrase",
        phone: "+15555550101",
        roles: &["customer"],
        permissions: &["read"],
        mfa: true,
    },
    DemoUser {
        user_id: "u003",
        full_name: "Ada Admin",
        email: "ada@example.com",
        password: "ada-admin-passphrase",
        phone: "+15555550102",
        roles: &["admin"],
        permissions: &["read", "configure"],
        mfa: false,
    },
];

pub type Error = Box<dyn std::error::Error + Send + Sync>;

impl DemoUser {
    /// The user record, with `phone` overriding the demo number (tests give
    /// each run its own numbers so their SMS outboxes do not mix).
    pub fn to_user(&self, password_hash: String, phone: Option<&str>) -> Result<User, Error> {
        Ok(User {
            user_id: UserId::parse(self.user_id)?,
            email: Email::parse(self.email)?,
            full_name: FullName::parse(self.full_name)?,
            phone: Some(Phone::parse(phone.unwrap_or(self.phone))?),
            password_hash,
            roles: self.roles.iter().map(|s| s.to_string()).collect(),
            permissions: self.permissions.iter().map(|s| s.to_string()).collect(),
            mfa_enabled: self.mfa,
            created_at: 0,
        })
    }
}

/// Writes a user unless its id or email is taken (seeding is idempotent).
pub async fn ensure_user(db: &Db, user: &User) -> Result<(), Error> {
    match db.create_user(user).await {
        Ok(()) | Err(CreateUserError::EmailTaken) | Err(CreateUserError::IdTaken) => Ok(()),
        Err(CreateUserError::Store(e)) => Err(format!("seeding {}: {e}", user.user_id).into()),
    }
}

/// Seeds the three demo users with fresh argon2id hashes.
pub async fn seed_demo_users(db: &Db) -> Result<(), Error> {
    for demo in &DEMO_USERS {
        let hash = voicegate::password::hash(demo.password.to_owned()).await?;
        ensure_user(db, &demo.to_user(hash, None)?).await?;
    }
    Ok(())
}
