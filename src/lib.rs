//! Yishi (议事): residents' council voting and deliberation.
pub mod cli;
pub mod domain;
