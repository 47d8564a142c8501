//! End-to-end tests over HTTP against the AWS emulator (`make test`).

mod accounts;
mod edge;
mod logs;
mod otp;
mod tokens;
mod voice;
