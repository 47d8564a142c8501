//! End-to-end tests over HTTP against the AWS emulator (`make test`).

mod accounts;
mod agents;
mod edge;
mod faults;
mod jwt;
mod lambdas;
mod logs;
mod ops;
mod otp;
mod phone;
mod races;
mod round_trips;
mod template;
mod tokens;
mod voice;
