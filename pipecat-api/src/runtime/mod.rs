//! The runtime that sends one call: the client and its keys and settings,
//! the rules checked before sending, what it knows of an operation, the
//! transport (send, read, decode, retry), the answer and the error types.

pub(crate) mod auth;
pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod guard;
pub(crate) mod operation;
pub(crate) mod patterns;
pub(crate) mod ranges;
pub(crate) mod response;
pub(crate) mod retry;
pub(crate) mod rules;
pub(crate) mod transport;
