//! Who you are and what you may do: password hashing now; sessions, auth sources and the
//! authorization point as they arrive.

pub mod authz;
pub mod password;
