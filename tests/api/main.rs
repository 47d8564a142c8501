//! End-to-end tests over HTTP against the AWS emulator (`make test`).

mod accounts;
mod edge;
mod lambdas;
mod logs;
mod otp;
mod tokens;
mod voice;
