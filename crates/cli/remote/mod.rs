//! The client side of a served log (docs/SERVER.md): a verified local copy
//! that every read command works on, and appends signed on this machine.
//!
//! Nothing the server says is trusted: entries are verified into the copy
//! as `trail verify` would verify them, the server's checkpoint must match
//! the copy's own Merkle tree, and a receipt is checked against the
//! operator keys the copy's verified registry holds.

mod cache;
mod http;
pub mod mirror;
mod submit;

pub use cache::{open_copy, sync};
pub use http::Server;
pub use submit::{Submitted, append};
