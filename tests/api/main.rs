//! The HTTP API, tested against a real server on a free port with its own database.

mod abuse;
mod accounts;
mod authz;
mod backup;
mod boundaries;
mod certificates;
mod communities;
mod crash;
mod deliberation;
mod demo;
mod durability;
mod elections;
mod faults;
mod live;
mod operations;
mod proposals;
mod read_only;
mod support;
