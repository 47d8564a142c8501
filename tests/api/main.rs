//! End-to-end tests over HTTP against the AWS emulator (`make test`).

mod accounts;
mod edge;
mod jwt;
mod lambdas;
mod logs;
mod otp;
mod phone;
mod tokens;
mod voice;
