//! voicegate: serverless authentication for LiveKit voice assistants.
//!
//! Data flows one way, and the folders show it:
//! - [`edge`]: HTTP, as Lambda and the local API deliver it: routes, request
//!   parsing, handlers, problem+json ([`ApiError`]). Every Lambda and the local
//!   API run the same [`App::handle`].
//! - [`domain`]: the rules: accounts and login, one-time codes, phone
//!   verification, auth sessions and tokens, LiveKit, limits, audit. It takes
//!   typed values and speaks its own [`domain::Error`].
//! - [`adapters`]: DynamoDB, SNS, Secrets Manager, argon2, each with its own
//!   error type.
//! - [`types`]: the vocabulary every layer shares (ids, emails, codes, text rules).
//!
//! Nothing imports from a layer above it. [`config`], [`state`] (the adapters
//! built once per container), [`clock`] and [`telemetry`] sit beside them.

pub mod adapters;
pub mod clock;
pub mod config;
pub mod domain;
pub mod edge;
pub mod lambda;
pub mod state;
pub mod telemetry;
pub mod types;

pub use edge::error::ApiError;
pub use edge::functions;
pub use edge::{App, Route};
pub use state::AppState;
