//! SMS through SNS, as transactional messages.

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client as SnsClient;

/// Why a text was not handed to SNS (the SNS error, for the log only).
#[derive(Debug, thiserror::Error)]
#[error("SNS Publish: {0}")]
pub struct SmsError(String);
use crate::types::Phone;

#[derive(Clone, Debug)]
pub struct SmsSender {
    client: SnsClient,
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
    pub fn new(client: SnsClient, sender_id: Option<String>) -> Self {
        Self { client, sender_id }
    }

    /// Sends one SMS.
    pub async fn send(&self, to: &Phone, text: &str) -> Result<(), SmsError> {
        let mut req = self
            .client
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
