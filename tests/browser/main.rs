//! The web app in a real browser: headless Debian Chromium driven through chromedriver against
//! a real server on a free port. A resident on a 360 × 640 phone activates, signs in, votes
//! (through a dropped connection), gets the receipt and watches the tally move; an officer on a
//! desktop uploads the roll, prints codes, creates, opens, closes and publishes a proposal;
//! every main screen is screenshotted to `target/screenshots/`, audited with axe-core and checked
//! for console errors and requests to other hosts. Skipped with a reason when Chromium is absent,
//! except under CI.

mod deliberation;
mod elections;
mod flows;
mod support;
