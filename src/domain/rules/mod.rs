//! The rules of SPEC §2–§5, each a small pure function citing its id.

pub mod em;
pub mod fht;
pub mod it;
