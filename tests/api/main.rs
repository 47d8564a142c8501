//! End-to-end tests over HTTP against the AWS emulator (`make test`).

mod accounts;
mod edge;
mod faults;
mod jwt;
mod lambdas;
mod logs;
mod otp;
mod phone;
mod races;
mod tokens;
mod voice;
