//! SMS through SNS, as transactional messages.

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client as SnsClient;

use crate::error::ApiError;
use crate::types::Phone;

#[derive(Clone, Debug)]
pub struct SmsSender {
    client: SnsClient,
    sender_id: Option<String>,
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, ApiError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(ApiError::internal)
}

impl SmsSender {
    pub fn new(client: SnsClient, sender_id: Option<String>) -> Self {
        Self { client, sender_id }
    }

    /// Sends one SMS; any SNS failure is 503 (the SNS error goes to the log only).
    pub async fn send(&self, to: &Phone, text: &str) -> Result<(), ApiError> {
        let mut req = self
            .client
            .publish()
            .phone_number(to.expose())
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute("Transactional")?);
        if let Some(sender) = &self.sender_id {
            req = req.message_attributes("AWS.SNS.SMS.SenderID", string_attribute(sender)?);
        }
        req.send().await.map_err(|e| {
            ApiError::unavailable(format!(
                "SNS Publish: {}",
                aws_sdk_sns::error::DisplayErrorContext(e)
            ))
        })?;
        Ok(())
    }
}
