//! The HTTP API, tested against a real server on a free port with its own database.

mod accounts;
mod authz;
mod backup;
mod certificates;
mod communities;
mod crash;
mod durability;
mod faults;
mod live;
mod proposals;
mod read_only;
mod support;
