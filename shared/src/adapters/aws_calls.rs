//! Which AWS access a request uses, as IAM names it, recorded by an SDK
//! interceptor on every client. `App::handle` collects them per request and
//! holds them against what its route declares ([`crate::functions`]), which
//! is also what template.yaml grants the route's function: so the IAM policy,
//! the table in the code and the calls the code really makes cannot drift
//! apart unnoticed.

use std::sync::Mutex;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// One kind of AWS access, at IAM's granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    GetItem,
    /// Strongly consistent reads of several items in one call (a session and its user).
    BatchGetItem,
    PutItem,
    UpdateItem,
    DeleteItem,
    /// A Query of one partition of the table (a user's passkeys).
    Query,
    /// `sns:Publish` straight to a phone number.
    PublishSms,
    /// `secretsmanager:GetSecretValue` on the app secret.
    AppSecret,
    /// `secretsmanager:GetSecretValue` on the LiveKit secret.
    LiveKitSecret,
    /// `secretsmanager:GetSecretValue` on the agent clients secret.
    AgentClientsSecret,
    /// Anything else: never declared, so always reported.
    Other(&'static str),
}

impl Access {
    /// The IAM action that allows it.
    pub fn iam_action(self) -> &'static str {
        match self {
            Access::GetItem => "dynamodb:GetItem",
            Access::BatchGetItem => "dynamodb:BatchGetItem",
            Access::PutItem => "dynamodb:PutItem",
            Access::UpdateItem => "dynamodb:UpdateItem",
            Access::DeleteItem => "dynamodb:DeleteItem",
            Access::Query => "dynamodb:Query",
            Access::PublishSms => "sns:Publish",
            Access::AppSecret | Access::LiveKitSecret | Access::AgentClientsSecret => {
                "secretsmanager:GetSecretValue"
            }
            Access::Other(name) => name,
        }
    }
}

/// What one request sent to AWS.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Every access at IAM's granularity (a transaction counts as its parts).
    pub accesses: Vec<Access>,
    /// Every attempt sent, by operation name (`GetItem`, `TransactWriteItems`,
    /// `Publish`, ...): the round trips the request waited for.
    pub round_trips: Vec<String>,
}

tokio::task_local! {
    static CALLS: Mutex<Recorded>;
}

/// Runs `fut`, returning its output and the AWS calls it made.
pub async fn recorded<F: std::future::Future>(fut: F) -> (F::Output, Recorded) {
    CALLS
        .scope(Mutex::new(Recorded::default()), async move {
            let out = fut.await;
            let calls =
                CALLS.with(|c| std::mem::take(&mut *c.lock().unwrap_or_else(|e| e.into_inner())));
            (out, calls)
        })
        .await
}

fn record(operation: &str, accesses: Vec<Access>) {
    // Outside a request (start-up, seeding) there is nothing to record into.
    let _ = CALLS.try_with(|c| {
        let mut calls = c.lock().unwrap_or_else(|e| e.into_inner());
        calls.round_trips.push(operation.to_owned());
        calls.accesses.extend(accesses);
    });
}

/// What a request body says about the items a transaction writes.
fn transaction_parts(body: &[u8]) -> Vec<Access> {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return vec![Access::Other("dynamodb:TransactWriteItems")];
    };
    let items = doc["TransactItems"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|item| {
            if item.get("Put").is_some() {
                Access::PutItem
            } else if item.get("Update").is_some() {
                Access::UpdateItem
            } else if item.get("Delete").is_some() {
                Access::DeleteItem
            } else {
                Access::Other("dynamodb:ConditionCheckItem")
            }
        })
        .collect()
}

/// Records every attempt each AWS client sends, in the request it belongs to.
#[derive(Debug, Clone)]
pub struct CallRecorder {
    app_secret_id: String,
    livekit_secret_id: String,
    agent_clients_secret_id: Option<String>,
}

impl CallRecorder {
    pub fn new(
        app_secret_id: &str,
        livekit_secret_id: &str,
        agent_clients_secret_id: Option<&str>,
    ) -> Self {
        Self {
            app_secret_id: app_secret_id.to_owned(),
            livekit_secret_id: livekit_secret_id.to_owned(),
            agent_clients_secret_id: agent_clients_secret_id.map(str::to_owned),
        }
    }

    fn accesses(&self, service: &str, operation: &str, body: &[u8]) -> Vec<Access> {
        match (service, operation) {
            ("DynamoDB", "GetItem") => vec![Access::GetItem],
            ("DynamoDB", "BatchGetItem") => vec![Access::BatchGetItem],
            ("DynamoDB", "PutItem") => vec![Access::PutItem],
            ("DynamoDB", "UpdateItem") => vec![Access::UpdateItem],
            ("DynamoDB", "DeleteItem") => vec![Access::DeleteItem],
            ("DynamoDB", "Query") => vec![Access::Query],
            ("DynamoDB", "TransactWriteItems") => transaction_parts(body),
            ("SNS", "Publish") => vec![Access::PublishSms],
            ("Secrets Manager" | "SecretsManager", "GetSecretValue") => {
                let id = serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|d| d["SecretId"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                if id == self.app_secret_id {
                    vec![Access::AppSecret]
                } else if id == self.livekit_secret_id {
                    vec![Access::LiveKitSecret]
                } else if self.agent_clients_secret_id.as_deref() == Some(id.as_str()) {
                    vec![Access::AgentClientsSecret]
                } else {
                    vec![Access::Other(
                        "secretsmanager:GetSecretValue (another secret)",
                    )]
                }
            }
            _ => vec![Access::Other("another AWS operation")],
        }
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "voicegate.CallRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let body = context.request().body().bytes().unwrap_or_default();
        record(
            meta.name(),
            self.accesses(meta.service(), meta.name(), body),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_are_recorded_as_their_parts() {
        let body = br#"{"TransactItems":[{"Put":{}},{"Update":{}},{"ConditionCheck":{}}]}"#;
        assert_eq!(
            transaction_parts(body),
            [
                Access::PutItem,
                Access::UpdateItem,
                Access::Other("dynamodb:ConditionCheckItem")
            ]
        );
    }

    #[test]
    fn secrets_are_told_apart_by_id() {
        let r = CallRecorder::new("s/app", "s/livekit", Some("s/agents"));
        assert_eq!(
            r.accesses(
                "Secrets Manager",
                "GetSecretValue",
                br#"{"SecretId":"s/agents"}"#
            ),
            [Access::AgentClientsSecret]
        );
        assert_eq!(
            r.accesses(
                "Secrets Manager",
                "GetSecretValue",
                br#"{"SecretId":"s/app"}"#
            ),
            [Access::AppSecret]
        );
        assert_eq!(
            r.accesses(
                "Secrets Manager",
                "GetSecretValue",
                br#"{"SecretId":"s/livekit"}"#
            ),
            [Access::LiveKitSecret]
        );
        assert!(matches!(
            r.accesses("DynamoDB", "Scan", b"{}")[0],
            Access::Other(_)
        ));
    }
}
