//! The rules of SPEC §2–§5, each a small pure function citing its id.
