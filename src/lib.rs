//! swarmsim: a discrete-event simulator of peer-to-peer file distribution.
//!
//! One server and N peers, each with its own upload and download capacity, distribute
//! one file cut into chunks. The crate runs the chunk exchange in virtual time under a
//! protocol (client-server, BitTorrent, an optimal scheduler) and sets the measured
//! distribution time beside the textbook lower bounds (see [`bounds`]).
//!
//! Layers, each importing only from itself and those below (docs/ARCHITECTURE.md):
//! [`engine`] (time, events, RNG, with the leaf modules [`files`], [`bounds`],
//! [`stats`]), [`network`] (bandwidth models), [`scenario`] (TOML to a checked
//! config), [`model`] (swarm and protocols, with [`memory`] and [`estimate`]),
//! [`output`] (result files), [`sweep`], [`validate`] and [`report`], [`app`] (the
//! use cases), [`cli`].
#![warn(missing_docs)]

#[cfg(all(target_os = "linux", feature = "hugepages"))]
pub mod alloc;
pub mod app;
pub mod bounds;
pub mod cli;
pub mod engine;
pub mod estimate;
pub mod files;
pub mod memory;
pub mod model;
pub mod network;
pub mod output;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod sweep;
pub mod validate;

#[cfg(test)]
mod test_util;
