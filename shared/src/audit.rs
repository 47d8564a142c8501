//! Audit log lines for auth events: one JSON line each, with the event name,
//! user_id, outcome and reason; the request span adds `request_id`.
//! On-call filters them with `{ $.target = "audit" }`.

/// Outcome of an audited event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Locked,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Locked => "locked",
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
}
