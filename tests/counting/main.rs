//! The counting core and `yishi tally`, tested as a council would use them.

mod cases;
mod cli;
mod elections;
mod properties;
