//! The module layering of `evidence-core` (ARCHITECTURE.md): no import cycles, no upward
//! imports, every module placed in a layer, and `docs/module-graph.txt` current.

use evidence_tests::{modules, workspace_root};

#[test]
fn the_library_modules_are_layered_without_cycles() {
    let graph = modules::read_graph(&workspace_root().join("evidence-core/src")).unwrap();
    assert!(graph.len() > 20, "read only {} modules", graph.len());
    let violations = modules::violations(&graph);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_committed_module_graph_is_current() {
    let graph = modules::read_graph(&workspace_root().join("evidence-core/src")).unwrap();
    let committed =
        std::fs::read_to_string(workspace_root().join("docs/module-graph.txt")).unwrap();
    assert_eq!(
        committed,
        modules::render(&graph),
        "docs/module-graph.txt is stale: cargo run -p evidence-tests --bin module-graph > docs/module-graph.txt"
    );
}

#[test]
fn every_layered_module_exists() {
    let graph = modules::read_graph(&workspace_root().join("evidence-core/src")).unwrap();
    for (layer, members) in modules::LAYERS {
        for m in *members {
            assert!(
                graph.contains_key(*m),
                "LAYERS lists `{m}` ({layer}), which is not a module"
            );
        }
    }
}
