//! Prints the dependency graph between `evidence-core`'s top-level modules, by layer, and
//! exits 1 if it breaks the layering (an upward import, a module without a layer, a cycle).
//!
//! `cargo run -p evidence-tests --bin module-graph > docs/module-graph.txt`

use std::process::ExitCode;

use evidence_tests::modules;

fn main() -> ExitCode {
    let src = evidence_tests::workspace_root().join("evidence-core/src");
    let graph = match modules::read_graph(&src) {
        Ok(graph) => graph,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", src.display());
            return ExitCode::from(2);
        }
    };
    print!("{}", modules::render(&graph));
    let violations = modules::violations(&graph);
    for v in &violations {
        eprintln!("error: {v}");
    }
    if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
