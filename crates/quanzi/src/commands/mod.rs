//! One module per subcommand.

pub mod bench;
pub mod key;
pub mod migrate;
pub mod serve;
pub mod workspace;
