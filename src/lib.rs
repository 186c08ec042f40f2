//! caredesk: the support console and bulk-credit tool for a cloud data-loss incident.
//! The library holds everything; `main.rs` only parses the command line and dispatches.

pub mod audit;
// The benchmarks ship behind the `bench` feature; their unit tests run with every `cargo test`.
#[cfg(any(test, feature = "bench"))]
pub mod bench;
pub mod cli;
pub mod demo;
pub mod desk;
pub mod domain;
pub mod error;
pub mod import;
pub mod paths;
pub mod server;
pub mod service;
pub mod store;
pub mod tui;

pub use error::{Error, Result};
