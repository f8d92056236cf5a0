//! The tool recorded in the bundles this CLI writes (the report's tool is stamped by
//! [`crate::output::emit`]).

use evidence_core::bundle::ToolInfo;

/// `evidence` at this crate's version.
pub fn info() -> ToolInfo {
    ToolInfo {
        name: "evidence".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}
