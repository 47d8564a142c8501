//! End-to-end tests over HTTP against the AWS emulator (`make test`).

mod accounts;
mod agents;
mod edge;
mod faults;
mod jwt;
mod lambdas;
mod logs;
mod oidc;
mod ops;
mod otp;
mod passkeys;
mod phone;
mod races;
mod round_trips;
mod template;
mod tokens;
mod voice;
