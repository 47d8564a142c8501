//! The rules of voicegate, below the HTTP edge and above the adapters: what a
//! request means, never how it arrived. Functions here take typed values and
//! answer [`error::Error`].
//!
//! - Signing in: [`accounts`] (register, password login with lockout and
//!   second factor), [`sms_sign_in`] (a code alone), [`codes`] (the one-time
//!   codes both use), [`phone`] (proving a number).
//! - Staying signed in: [`auth_sessions`] (token pairs, refresh rotation,
//!   logout, bearer checks), [`access_tokens`] (our ES256 JWTs).
//! - The call: [`voice_sessions`] (connection details, webhooks),
//!   [`admin_tokens`], [`livekit`] (LiveKit tokens and signatures).
//! - Across all of them: [`throttle`] (every rate limit), [`audit`].

pub mod access_tokens;
pub mod accounts;
pub mod admin_tokens;
pub mod agent_calls;
pub mod audit;
pub mod auth_sessions;
pub mod codes;
pub mod error;
pub mod livekit;
pub mod oidc;
pub mod passkeys;
pub mod phone;
pub mod sms_sign_in;
pub mod throttle;
pub mod tool_tokens;
pub mod voice_sessions;
