//! Passkeys (WebAuthn Level 3, through webauthn-rs): a signed-in user
//! registers and removes theirs; anyone signs in with one, username-less
//! (discoverable credentials), user verification required.
//!
//! Each ceremony's state is stored at its start and taken once at its
//! finish (a conditional write), so a challenge is answered at most once;
//! its expiry is checked here as well as in the write. A sign-in's counter
//! must move forward (webauthn-rs checks it against the stored passkey, and
//! the store's conditional write against a racing sign-in).

use serde::Serialize;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Uuid,
    WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::adapters::store::passkeys::{AddPasskeyError, Ceremony, CeremonyKind, StoredPasskey};
use crate::adapters::store::users::User;
use crate::clock::UnixTime;
use crate::domain::audit::{self, Outcome};
use crate::domain::auth_sessions::{self, Authenticated, Proof, TokenResponse};
use crate::domain::error::{Error, Result};
use crate::domain::throttle::{self, Limit};
use crate::state::AppState;
use crate::types::{CeremonyId, PasskeyId, PasskeyName, Platform, SourceIp, UserId};

/// How recent a sign-in must be to add a passkey: a stolen session must not
/// be able to plant a lasting second factor of its own.
pub const FRESH_SIGN_IN_SECONDS: i64 = 15 * 60;

/// What a ceremony's start answers: the options for
/// `navigator.credentials.create()` / `.get()` and the id to finish with.
#[derive(Debug, Serialize)]
pub struct Started<O> {
    pub ceremony_id: CeremonyId,
    pub expires_in: i64,
    pub options: O,
}

/// A passkey as its owner sees it in their list.
#[derive(Debug, Serialize)]
pub struct PasskeySummary {
    pub id: PasskeyId,
    pub name: PasskeyName,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub backup_eligible: bool,
    pub backed_up: bool,
}

impl From<&StoredPasskey> for PasskeySummary {
    fn from(p: &StoredPasskey) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
            backup_eligible: p.backup_eligible,
            backed_up: p.backed_up,
        }
    }
}

/// The WebAuthn user handle of a user: derived from the user id (no
/// personal data in it, as WebAuthn asks), the same for all their passkeys.
pub fn user_handle(user: &UserId) -> Uuid {
    let digest = Sha256::digest(format!("voicegate passkey user handle\0{user}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

fn audit_ceremony(event: &str, user: Option<&UserId>, outcome: Outcome, reason: &str) {
    audit::record(event, user.map(UserId::as_str), outcome, reason, None);
}

/// One ceremony start per source under the shared limit.
async fn take_ceremony_slot(state: &AppState, event: &str, source: &SourceIp) -> Result<()> {
    let limit = Limit::PasskeyCeremoniesPerIp(source);
    if let Err(err) = throttle::take(state, limit, state.now()).await {
        audit_ceremony(event, None, Outcome::Failure, "rate_limited");
        return Err(err);
    }
    Ok(())
}

async fn store_ceremony<S: Serialize>(
    state: &AppState,
    kind: CeremonyKind,
    user_id: Option<UserId>,
    ceremony_state: &S,
) -> Result<(CeremonyId, i64)> {
    let ttl = state.config.passkey_challenge_ttl.as_secs() as i64;
    let id = CeremonyId::new_random();
    let ceremony = Ceremony {
        id: id.clone(),
        kind,
        user_id,
        state: serde_json::to_string(ceremony_state)
            .map_err(|e| Error::internal(format!("ceremony state: {e}")))?,
        expires_at: state.now() + ttl,
    };
    state.db.put_ceremony(&ceremony).await?;
    Ok((id, ttl))
}

/// Takes the ceremony for its finish, once; `None` if it is unknown, used,
/// expired (judged here too, by our clock) or of another kind.
async fn take(state: &AppState, id: &CeremonyId, kind: CeremonyKind) -> Result<Option<Ceremony>> {
    let now = state.now();
    let ceremony = state.db.take_ceremony(id, kind, now).await?;
    Ok(ceremony.filter(|c| c.expires_at > now))
}

/// Starts adding a passkey to the signed-in user.
pub async fn start_registration(
    state: &AppState,
    auth: &Authenticated,
    user: &User,
    source: &SourceIp,
) -> Result<Started<CreationChallengeResponse>> {
    const EVENT: &str = "passkey_registration_started";
    if state.now() - auth.session.created_at > FRESH_SIGN_IN_SECONDS {
        audit_ceremony(
            EVENT,
            Some(&user.user_id),
            Outcome::Failure,
            "stale_sign_in",
        );
        return Err(Error::ReauthenticationRequired);
    }
    take_ceremony_slot(state, EVENT, source).await?;
    let existing = state.db.passkeys_of(&user.user_id).await?;
    if existing.len() as i64 >= state.config.passkeys_per_user {
        audit_ceremony(
            EVENT,
            Some(&user.user_id),
            Outcome::Failure,
            "passkey_limit",
        );
        return Err(Error::refused(format!(
            "This account already has {} passkeys; remove one first.",
            existing.len()
        )));
    }
    // The authenticator refuses to make a second passkey for the same account.
    let exclude = existing
        .iter()
        .map(|p| stored_passkey(p).map(|k| k.cred_id().clone()))
        .collect::<Result<Vec<_>>>()?;
    let (mut options, registration) = state
        .config
        .passkeys
        .webauthn
        .start_passkey_registration(
            user_handle(&user.user_id),
            user.email.as_str(),
            user.full_name.as_str(),
            Some(exclude),
        )
        .map_err(|e| Error::internal(format!("passkey registration start: {e}")))?;
    // Username-less sign-in needs a discoverable credential.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    let (ceremony_id, expires_in) = store_ceremony(
        state,
        CeremonyKind::Register,
        Some(user.user_id.clone()),
        &registration,
    )
    .await?;
    audit_ceremony(EVENT, Some(&user.user_id), Outcome::Success, "started");
    Ok(Started {
        ceremony_id,
        expires_in,
        options,
    })
}

/// The flags webauthn-rs keeps inside a passkey, read from its serialised form.
fn flags_of(passkey: &Passkey) -> (bool, bool) {
    let value = serde_json::to_value(passkey).unwrap_or_default();
    let flag = |name: &str| value["cred"][name].as_bool().unwrap_or(false);
    (flag("backup_eligible"), flag("backup_state"))
}

fn stored_passkey(p: &StoredPasskey) -> Result<Passkey> {
    serde_json::from_str(&p.credential)
        .map_err(|e| Error::internal(format!("stored passkey {}: {e}", p.id)))
}

fn refused_by(e: &WebauthnError) -> &'static str {
    match e {
        WebauthnError::InvalidRPOrigin | WebauthnError::InvalidRPIDHash => "wrong_origin_or_rp",
        WebauthnError::UserNotVerified => "user_not_verified",
        WebauthnError::CredentialPossibleCompromise => "counter_regression",
        WebauthnError::MismatchedChallenge => "wrong_challenge",
        _ => "verification_failed",
    }
}

/// Finishes adding a passkey: the ceremony must be this user's, unused and
/// unexpired, and the authenticator's attestation must verify (origin, RP
/// id, challenge, user verification).
pub async fn finish_registration(
    state: &AppState,
    user: &User,
    ceremony_id: &CeremonyId,
    credential: &RegisterPublicKeyCredential,
    name: Option<PasskeyName>,
) -> Result<PasskeySummary> {
    const EVENT: &str = "passkey_registered";
    let refuse = |reason: &str| {
        audit_ceremony(EVENT, Some(&user.user_id), Outcome::Failure, reason);
        Error::PasskeyRefused
    };
    let ceremony = take(state, ceremony_id, CeremonyKind::Register)
        .await?
        .ok_or_else(|| refuse("ceremony_unknown_used_or_expired"))?;
    if ceremony.user_id.as_ref() != Some(&user.user_id) {
        return Err(refuse("ceremony_of_another_user"));
    }
    let registration: PasskeyRegistration = serde_json::from_str(&ceremony.state)
        .map_err(|e| Error::internal(format!("ceremony state: {e}")))?;
    let passkey = state
        .config
        .passkeys
        .webauthn
        .finish_passkey_registration(credential, &registration)
        .map_err(|e| refuse(refused_by(&e)))?;
    let (backup_eligible, backed_up) = flags_of(&passkey);
    let stored = StoredPasskey {
        id: PasskeyId::from_bytes(passkey.cred_id()),
        user_id: user.user_id.clone(),
        name: name.unwrap_or_else(PasskeyName::unnamed),
        credential: serde_json::to_string(&passkey)
            .map_err(|e| Error::internal(format!("passkey: {e}")))?,
        counter: 0,
        backup_eligible,
        backed_up,
        created_at: state.now(),
        last_used_at: None,
    };
    match state
        .db
        .add_passkey(&stored, state.config.passkeys_per_user)
        .await
    {
        Ok(()) => {}
        Err(AddPasskeyError::Full) => {
            audit_ceremony(
                EVENT,
                Some(&user.user_id),
                Outcome::Failure,
                "passkey_limit",
            );
            return Err(Error::refused(
                "This account has as many passkeys as allowed.",
            ));
        }
        Err(AddPasskeyError::Exists) => {
            audit_ceremony(
                EVENT,
                Some(&user.user_id),
                Outcome::Failure,
                "already_registered",
            );
            return Err(Error::refused("This passkey is already registered."));
        }
        Err(AddPasskeyError::UserGone) => return Err(Error::InvalidToken),
        Err(AddPasskeyError::Store(e)) => return Err(e.into()),
    }
    audit::record(
        EVENT,
        Some(user.user_id.as_str()),
        Outcome::Success,
        "registered",
        Some(&format!("passkey={}", stored.id)),
    );
    Ok(PasskeySummary::from(&stored))
}

pub async fn list(state: &AppState, user: &UserId) -> Result<Vec<PasskeySummary>> {
    let passkeys = state.db.passkeys_of(user).await?;
    Ok(passkeys.iter().map(PasskeySummary::from).collect())
}

pub async fn remove(state: &AppState, user: &UserId, id: &PasskeyId) -> Result<()> {
    if !state.db.delete_passkey(user, id).await? {
        return Err(Error::NotFound);
    }
    audit::record(
        "passkey_removed",
        Some(user.as_str()),
        Outcome::Success,
        "removed",
        Some(&format!("passkey={id}")),
    );
    Ok(())
}

/// Starts a username-less sign-in: any of the RP's passkeys may answer.
pub async fn start_sign_in(
    state: &AppState,
    source: &SourceIp,
) -> Result<Started<RequestChallengeResponse>> {
    const EVENT: &str = "passkey_sign_in_started";
    take_ceremony_slot(state, EVENT, source).await?;
    let (options, authentication) = state
        .config
        .passkeys
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| Error::internal(format!("passkey sign-in start: {e}")))?;
    let (ceremony_id, expires_in) =
        store_ceremony(state, CeremonyKind::SignIn, None, &authentication).await?;
    audit_ceremony(EVENT, None, Outcome::Success, "started");
    Ok(Started {
        ceremony_id,
        expires_in,
        options,
    })
}

/// Finishes a passkey sign-in and starts an auth session whose tokens say
/// `amr: ["hwk", "user"]`, second factor and biometric verified.
pub async fn finish_sign_in(
    state: &AppState,
    ceremony_id: &CeremonyId,
    credential: &PublicKeyCredential,
    platform: Option<Platform>,
) -> Result<TokenResponse> {
    const EVENT: &str = "login";
    let refuse = |user: Option<&UserId>, outcome: Outcome, reason: &str| {
        audit::record(
            EVENT,
            user.map(UserId::as_str),
            outcome,
            reason,
            Some("method=passkey"),
        );
        Error::PasskeyRefused
    };
    let ceremony = take(state, ceremony_id, CeremonyKind::SignIn)
        .await?
        .ok_or_else(|| refuse(None, Outcome::Failure, "ceremony_unknown_used_or_expired"))?;
    let authentication: DiscoverableAuthentication = serde_json::from_str(&ceremony.state)
        .map_err(|e| Error::internal(format!("ceremony state: {e}")))?;
    let webauthn = &state.config.passkeys.webauthn;
    let (handle, credential_id) = webauthn
        .identify_discoverable_authentication(credential)
        .map_err(|_| refuse(None, Outcome::Failure, "no_user_handle"))?;
    let passkey_id = PasskeyId::from_bytes(credential_id);
    let owner = state
        .db
        .passkey_owner(&passkey_id)
        .await?
        .ok_or_else(|| refuse(None, Outcome::Failure, "unknown_passkey"))?;
    if handle != user_handle(&owner) {
        return Err(refuse(
            Some(&owner),
            Outcome::Failure,
            "user_handle_mismatch",
        ));
    }
    let (stored, user) = tokio::join!(state.db.passkey(&owner, &passkey_id), state.db.user(&owner));
    let stored =
        stored?.ok_or_else(|| refuse(Some(&owner), Outcome::Failure, "unknown_passkey"))?;
    let user = match user? {
        Some(u) if u.suspended_at.is_none() => u,
        Some(_) => return Err(refuse(Some(&owner), Outcome::Locked, "suspended")),
        None => return Err(refuse(Some(&owner), Outcome::Failure, "user_gone")),
    };
    let mut passkey = stored_passkey(&stored)?;
    let result = webauthn
        .finish_discoverable_authentication_v2(credential, authentication, &passkey)
        .map_err(|e| {
            let reason = refused_by(&e);
            let outcome = if reason == "counter_regression" {
                Outcome::Locked
            } else {
                Outcome::Failure
            };
            refuse(Some(&owner), outcome, reason)
        })?;
    if !result.user_verified() {
        return Err(refuse(Some(&owner), Outcome::Failure, "user_not_verified"));
    }
    passkey.update_credential(&result);
    let credential_json =
        serde_json::to_string(&passkey).map_err(|e| Error::internal(format!("passkey: {e}")))?;
    let recorded = state
        .db
        .record_passkey_use(
            &stored,
            result.counter(),
            result.backup_state(),
            &credential_json,
            state.now(),
        )
        .await?;
    if !recorded {
        // Another sign-in moved the counter first (a cloned authenticator),
        // or the passkey was removed meanwhile.
        return Err(refuse(Some(&owner), Outcome::Locked, "counter_regression"));
    }
    audit::record(
        EVENT,
        Some(owner.as_str()),
        Outcome::Success,
        "authenticated",
        Some(&format!("method=passkey passkey={passkey_id}")),
    );
    auth_sessions::start(state, &user, Proof::passkey(platform)).await
}
