//! SMS through SNS, as transactional messages.
//!
//! The SNS client is built at the first text a container sends, not at
//! start-up: the nine functions that never text neither build it at each
//! cold start nor link the SNS SDK's client and endpoint rules (a few tens of
//! KiB of each zipped binary, measured in docs/benchmarks.md's sizes).

use std::sync::OnceLock;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client as SnsClient;

use crate::adapters::aws_calls::CallRecorder;
use crate::types::Phone;

/// Why a text was not handed to SNS (the SNS error, for the log only).
#[derive(Debug, thiserror::Error)]
#[error("SNS Publish: {0}")]
pub struct SmsError(String);

pub struct SmsSender {
    sdk: SdkConfig,
    timeouts: TimeoutConfig,
    recorder: CallRecorder,
    client: OnceLock<SnsClient>,
    sender_id: Option<String>,
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, SmsError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SmsError(e.to_string()))
}

impl SmsSender {
    pub fn new(
        sdk: SdkConfig,
        timeouts: TimeoutConfig,
        recorder: CallRecorder,
        sender_id: Option<String>,
    ) -> Self {
        Self {
            sdk,
            timeouts,
            recorder,
            client: OnceLock::new(),
            sender_id,
        }
    }

    fn client(&self) -> &SnsClient {
        self.client.get_or_init(|| {
            // A publish is not idempotent: a retried one can text the code
            // twice, so SNS gets one attempt.
            let config = aws_sdk_sns::config::Builder::from(&self.sdk)
                .timeout_config(self.timeouts.clone())
                .retry_config(RetryConfig::disabled())
                .interceptor(self.recorder.clone())
                .build();
            SnsClient::from_conf(config)
        })
    }

    /// Sends one SMS.
    pub async fn send(&self, to: &Phone, text: &str) -> Result<(), SmsError> {
        let mut req = self
            .client()
            .publish()
            .phone_number(to.expose())
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute("Transactional")?);
        if let Some(sender) = &self.sender_id {
            req = req.message_attributes("AWS.SNS.SMS.SenderID", string_attribute(sender)?);
        }
        req.send()
            .await
            .map_err(|e| SmsError(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
