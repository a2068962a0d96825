//! The HTTP API, tested against a real server on a free port with its own database.

mod abuse;
mod accounts;
mod authz;
mod certificates;
mod communities;
mod deliberation;
mod durability;
mod elections;
mod live;
mod operations;
mod proposals;
mod support;
