//! Deployment identity evidence: the engine's deployment claim and heartbeat packets.
//!
//! [`pyjson`] reproduces the engine's packet serialisation, on which its self-hashes rest.

pub mod pyjson;
