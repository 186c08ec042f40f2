//! The command-line face (docs/commands.md): the clap contract (`args`), the dispatch that resolves
//! the database and the acting agent (`dispatch`), one file per command group that calls the
//! service and prints its answer, and the printing itself (`print`). It decides no rule.

mod accounts;
mod admin;
mod agents;
mod args;
mod audit;
mod batch;
#[cfg(feature = "bench")]
mod bench;
mod contact;
mod credit;
mod demo;
pub mod dispatch;
pub mod failure;
mod help;
mod import;
mod incident;
mod manual;
pub mod print;
mod privacy;
mod restore;
mod serve;
mod session_file;

pub use args::*;
pub use dispatch::{data_dir, default_db, default_demo_db, default_init_db, run};
