//! voicegate: serverless authentication for LiveKit voice assistants.
//!
//! Every Lambda in `functions/` and the local API in `infra/local` run the
//! same [`App::handle`]: one request path, one error type, one store.

pub mod app;
pub mod audit;
pub mod auth;
pub mod aws_calls;
pub mod clock;
pub mod config;
pub mod error;
pub mod functions;
mod handlers;
pub mod http;
pub mod lambda;
pub mod livekit;
pub mod otp;
pub mod password;
pub mod phone;
pub mod secrets;
pub mod sms;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod text;
pub mod throttle;
pub mod tokens;
pub mod types;
pub mod vault;

pub use app::{App, Route};
pub use error::ApiError;
pub use state::AppState;
