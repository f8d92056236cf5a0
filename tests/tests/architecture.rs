//! The shape ARCHITECTURE.md describes: `evidence-core`'s modules layered without import
//! cycles, every module placed in a layer, `docs/module-graph.txt` current, no library function
//! a reader cannot hold, and CLI commands that import the library and the shared CLI modules,
//! never another command.

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

/// No library function is over 150 lines (ARCHITECTURE.md, "Functions a reader can hold").
#[test]
fn no_library_function_is_over_150_lines() {
    let long = modules::long_functions(&workspace_root().join("evidence-core/src"), 150).unwrap();
    assert!(long.is_empty(), "split these: {long:#?}");
}

/// The measure itself: a known function is found with its length, a declaration without a
/// body and braces inside literals do not count.
#[test]
fn function_lengths_are_measured_from_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let body = "    let brace = '{';\n    let text = \"}}}\n}\";\n".repeat(10);
    std::fs::write(
        dir.path().join("a.rs"),
        format!("trait T {{\n    fn declared(&self);\n}}\npub(crate) fn long() {{\n{body}}}\nfn short() {{}}\n"),
    )
    .unwrap();
    let found = modules::long_functions(dir.path(), 5).unwrap();
    assert_eq!(
        found,
        vec![modules::LongFunction {
            file: "a.rs".into(),
            name: "long".into(),
            lines: 32,
        }]
    );
}

/// Every CLI command module imports the library and the shared modules under
/// `evidence-cli/src/`, never another command (`crate::commands::...`, or `super::...` from a
/// file directly under `commands/`), and fits on a screen or two.
#[test]
fn cli_commands_import_no_other_command() {
    let commands = workspace_root().join("evidence-cli/src/commands");
    let mut offences = Vec::new();
    for entry in walkdir::WalkDir::new(&commands) {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let name = entry
            .path()
            .strip_prefix(&commands)
            .unwrap()
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            // A file in a command's own folder (`commands/journal/envelope.rs`) may reach its
            // parent with `super::`: that is the same command. Nothing reaches a sibling.
            let nested = name.contains('/');
            let upward = code.contains("super::super::") || (!nested && code.contains("super::"));
            if code.contains("crate::commands") || (upward && code.trim() != "use super::*;") {
                offences.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
        let lines = text.lines().count();
        if lines > 250 {
            offences.push(format!("{name}: {lines} lines (at most 250)"));
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}
