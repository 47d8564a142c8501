//! The contract's demo users, local stage only.

use voicegate::adapters::store::users::{CreateUserError, PhoneSlot, User};
use voicegate::state::AppState;
use voicegate::types::{Email, FullName, PasswordHash, Phone, UserId};

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

/// u001: a customer without MFA who may read, transact and configure.
pub const JOHN: DemoUser = DemoUser {
    user_id: "u001",
    full_name: "John Doe",
    email: "john@example.com",
    password: "correct-horse-battery",
    phone: "+15555550100",
    roles: &["customer"],
    permissions: &["read", "transact", "configure"],
    mfa: false,
};

/// u002: a read-only customer with SMS as a second factor at login.
pub const JANE: DemoUser = DemoUser {
    user_id: "u002",
    full_name: "Jane Roe",
    email: "jane@example.com",
    password: "jane-secret-passphrase",
    phone: "+15555550101",
    roles: &["customer"],
    permissions: &["read"],
    mfa: true,
};

/// u003: an admin, who may mint admin LiveKit tokens.
pub const ADA: DemoUser = DemoUser {
    user_id: "u003",
    full_name: "Ada Admin",
    email: "ada@example.com",
    password: "ada-admin-passphrase",
    phone: "+15555550102",
    roles: &["admin"],
    permissions: &["read", "configure"],
    mfa: false,
};

pub const DEMO_USERS: [DemoUser; 3] = [JOHN, JANE, ADA];

pub type Error = Box<dyn std::error::Error + Send + Sync>;

impl DemoUser {
    /// The user record, with `phone` overriding the demo number (tests give
    /// each run its own numbers so their SMS outboxes do not mix). Demo
    /// numbers count as verified.
    pub async fn seed(
        &self,
        state: &AppState,
        password_hash: PasswordHash,
        phone: Option<&str>,
    ) -> Result<(), Error> {
        let secrets = state.secrets().await?;
        let user_id = UserId::parse(self.user_id)?;
        let phone = Phone::parse(phone.unwrap_or(self.phone))?;
        let index = secrets.phones.index(&phone);
        let user = User {
            phone: Some(secrets.phones.seal(&user_id, &phone)),
            pending_phone: None,
            user_id,
            email: Email::parse(self.email)?,
            full_name: FullName::parse(self.full_name)?,
            password_hash,
            roles: self.roles.iter().map(|s| s.to_string()).collect(),
            permissions: self.permissions.iter().map(|s| s.to_string()).collect(),
            mfa_enabled: self.mfa,
            // When first seeded: seeding again keeps the stored user.
            created_at: state.now(),
            suspended_at: None,
        };
        let slot = PhoneSlot {
            index: &index,
            max_accounts: state.config.limits.accounts_per_phone,
        };
        // Seeding is idempotent: an existing demo user stays as it is.
        match state.db.create_user(&user, Some(slot), None).await {
            Ok(()) | Err(CreateUserError::EmailTaken) | Err(CreateUserError::IdTaken) => Ok(()),
            Err(e) => Err(format!("seeding {}: {e}", self.user_id).into()),
        }
    }
}

/// Seeds the three demo users with fresh argon2id hashes.
pub async fn seed_demo_users(state: &AppState) -> Result<(), Error> {
    for demo in &DEMO_USERS {
        let hash = voicegate::adapters::password::hash(demo.password.to_owned()).await?;
        demo.seed(state, hash, None).await?;
    }
    Ok(())
}
