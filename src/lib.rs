//! Yishi (议事): residents' council voting and deliberation.
//!
//! # Layout
//! - [`domain`]: the pure counting core (rules, tallies, elections, ledger hashing, lifecycle).
//! - [`store`]: redb persistence; every table in `store/tables.rs`.
//! - [`vote`]: the write path: one writer task committing ballots in durable batches.
//! - [`live`]: per-proposal latest-tally channels that readers and WebSockets subscribe to.
//! - [`auth`]: passwords, sessions, roles, activation codes, login limits.
//! - [`http`]: the axum API, its errors and OpenAPI document.
//! - [`config`], [`clock`], [`cli`]: configuration, time and ids, the command line.
//! - [`admin`]: `yishi admin` tasks run on the server's machine (creating the first admin).
//! - [`backup`]: `yishi backup` and `yishi restore`.

pub mod admin;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod live;
pub mod store;
pub mod vote;
