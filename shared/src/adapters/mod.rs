//! What voicegate talks to: DynamoDB ([`store`]), SNS ([`sms`]), Secrets
//! Manager ([`secrets`]), argon2 ([`password`]), AES-GCM for phone numbers at
//! rest ([`vault`]), the recorder of every AWS call ([`aws_calls`]) and the HTTPS client they share ([`aws_https`]). Each
//! returns its own error; none knows about HTTP or the rules above it.

pub mod aws_calls;
pub mod aws_https;
pub mod jwks;
pub mod password;
pub mod secrets;
pub mod sms;
pub mod store;
pub mod vault;
