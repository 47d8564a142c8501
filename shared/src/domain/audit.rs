//! Audit log lines for auth events: one JSON line each, with the event name,
//! user_id, outcome and reason; the request span adds `request_id`.
//! On-call filters them with `{ $.target = "audit" }`. Each is also counted
//! as the CloudWatch metric `AuthEvents` (dimensions `Event`, `Outcome`),
//! which the template's alarms and dashboard use.

/// Outcome of an audited event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Locked,
    /// A dependency failed (the caller got 503).
    Unavailable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Locked => "locked",
            Outcome::Unavailable => "unavailable",
        }
    }
}

/// Writes one audit line. `user_id` is the claimed or known id (never an
/// email or phone); `reason` is a fixed snake_case word; `detail` carries
/// already-safe extra context such as a masked phone number.
pub fn record(
    event: &str,
    user_id: Option<&str>,
    outcome: Outcome,
    reason: &str,
    detail: Option<&str>,
) {
    tracing::info!(
        target: "audit",
        event,
        user_id = user_id.unwrap_or("-"),
        outcome = outcome.as_str(),
        reason,
        detail = detail.unwrap_or(""),
    );
    crate::telemetry::count_auth_event(event, outcome.as_str());
}
