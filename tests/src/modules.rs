//! The dependency graph between `evidence-core`'s top-level modules, read from the source.
//!
//! An edge `a -> b` means some non-test code under `src/a.rs` or `src/a/` names `crate::b`
//! (in a `use` or inline path). Test code is left out: files named `tests.rs`, folders named
//! `tests`, an inline `#[cfg(test)] mod tests` block, which by house rule ends its file, and the
//! test-only top-level module `testing`.
//!
//! Every module belongs to one layer of [`LAYERS`] (ARCHITECTURE.md explains them). A module
//! may depend on modules of its own layer or below, never above, and the whole graph must be
//! acyclic. `cargo run -p evidence-tests --bin module-graph` prints the graph;
//! `docs/module-graph.txt` holds the printed graph and a test keeps it current.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The layers, lowest first: a module may import from its own layer or a lower one.
pub const LAYERS: &[(&str, &[&str])] = &[
    (
        "ground",
        &[
            "atomic",
            "digest",
            "path",
            "text",
            "json",
            "canonical",
            "pyjson",
            "timestamp",
            "hash",
            "tree",
            "tar_read",
            "report",
        ],
    ),
    (
        "formats",
        &["keys", "dsse", "openpgp", "sums", "sbom", "provenance"],
    ),
    ("evidence", &["redact", "bundle", "journal", "scan"]),
    (
        "flows",
        &[
            "release", "capture", "identity", "rollback", "incident", "legacy",
        ],
    ),
    ("registry", &["codes"]),
];

/// The top-level module that only tests compile (`#[cfg(test)] mod testing;` in `lib.rs`).
const TEST_ONLY: &str = "testing";

/// Module name -> the modules it imports.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// Reads the graph of the crate whose `src/` folder is `src`.
pub fn read_graph(src: &Path) -> std::io::Result<Graph> {
    let mut modules = BTreeSet::new();
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            modules.insert(name);
        } else if let Some(stem) = name.strip_suffix(".rs")
            && stem != "lib"
            && stem != TEST_ONLY
        {
            modules.insert(stem.to_owned());
        }
    }
    let mut graph = Graph::new();
    for module in &modules {
        let mut sources = Vec::new();
        let file = src.join(format!("{module}.rs"));
        if file.is_file() {
            sources.push(fs::read_to_string(&file)?);
        }
        let dir = src.join(module);
        if dir.is_dir() {
            collect_sources(&dir, &mut sources)?;
        }
        let mut deps = BTreeSet::new();
        for text in &sources {
            for dep in crate_references(&without_tests(&without_comments(text))) {
                if dep != *module && modules.contains(&dep) {
                    deps.insert(dep);
                }
            }
        }
        graph.insert(module.clone(), deps);
    }
    Ok(graph)
}

fn collect_sources(dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            if name != "tests" {
                collect_sources(&path, out)?;
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(fs::read_to_string(&path)?);
        }
    }
    Ok(())
}

/// Drops `//` and `/* */` comments and the contents of string and character literals, so
/// that a path named in a doc comment or a message is not an import and a `'{'` is not a
/// brace. Line breaks are kept, so line numbers and lengths stay those of the source.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let skipped = if rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else if rest.starts_with("/*") {
            rest.find("*/").map_or(rest.len(), |end| end + 2)
        } else if let Some(len) = char_literal(rest) {
            out.push_str("' '");
            len
        } else if rest.starts_with("r#\"") {
            out.push_str("\"\"");
            rest.find("\"#").map_or(rest.len(), |end| end + 2)
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() {
                match rest.as_bytes()[j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            out.push_str("\"\"");
            (j + 1).min(rest.len())
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
            continue;
        };
        let skipped = skipped.min(rest.len());
        out.extend(rest[..skipped].chars().filter(|&c| c == '\n'));
        i += skipped;
    }
    out
}

/// The length of the character literal `rest` starts with (`'x'`, `'\n'`, `'\u{7f}'`), or
/// `None` for anything else, a lifetime such as `'a` included.
fn char_literal(rest: &str) -> Option<usize> {
    let body = rest.strip_prefix('\'')?;
    if let Some(escaped) = body.strip_prefix('\\') {
        return escaped.find('\'').map(|end| end + 3);
    }
    let c = body.chars().next()?;
    body[c.len_utf8()..]
        .starts_with('\'')
        .then_some(c.len_utf8() + 2)
}

/// Cuts an inline test module (it ends its file by house rule).
fn without_tests(text: &str) -> String {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

/// The first path segment after every `crate::`, including each member of a `crate::{...}`
/// group (only the group's own top level counts: `crate::{a::{x, y}, b}` names `a` and `b`).
fn crate_references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `evidence_crate::`, or `$crate::` inside a macro (which names itself)
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut at_start = true;
            let mut ident = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => at_start = true,
                    c if at_start && depth == 1 && (c.is_alphanumeric() || c == '_') => {
                        ident.push(c);
                    }
                    _ => {
                        if !ident.is_empty() {
                            found.push(std::mem::take(&mut ident));
                        }
                        if depth == 1 && !c.is_whitespace() {
                            at_start = false;
                        }
                    }
                }
            }
            if !ident.is_empty() {
                found.push(ident);
            }
        } else {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !ident.is_empty() {
                found.push(ident);
            }
        }
    }
    found
}

/// The layer index of a module, if it has one.
pub fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, members)| members.contains(&module))
}

/// Every way the graph breaks the rules: modules without a layer, imports from a higher
/// layer, and cycles (each reported as the modules it passes through).
pub fn violations(graph: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    for (module, deps) in graph {
        let Some(layer) = layer_of(module) else {
            found.push(format!(
                "module `{module}` has no layer: add it to LAYERS in tests/src/modules.rs and to ARCHITECTURE.md"
            ));
            continue;
        };
        for dep in deps {
            if let Some(dep_layer) = layer_of(dep)
                && dep_layer > layer
            {
                found.push(format!(
                    "`{module}` ({}) imports `{dep}` from the higher layer {}",
                    LAYERS[layer].0, LAYERS[dep_layer].0
                ));
            }
        }
    }
    for cycle in cycles(graph) {
        found.push(format!("import cycle: {}", cycle.join(" -> ")));
    }
    found
}

/// Strongly connected components of more than one module, found by repeated depth-first
/// search (the graph has a few dozen nodes).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let reaches = |from: &str, to: &str| -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(m) = stack.pop() {
            if let Some(deps) = graph.get(&m) {
                for d in deps {
                    if d == to {
                        return true;
                    }
                    if seen.insert(d.clone()) {
                        stack.push(d.clone());
                    }
                }
            }
        }
        false
    };
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for module in graph.keys() {
        if done.contains(module) || !reaches(module, module) {
            continue;
        }
        let component: Vec<String> = graph
            .keys()
            .filter(|other| *other == module || (reaches(module, other) && reaches(other, module)))
            .cloned()
            .collect();
        done.extend(component.iter().cloned());
        out.push(component);
    }
    out
}

/// The graph as text: one line per module, grouped by layer, lowest first.
pub fn render(graph: &Graph) -> String {
    let mut out = String::from(
        "# evidence-core: top-level modules and what each imports (non-test code).\n\
         # Regenerate: cargo run -p evidence-tests --bin module-graph > docs/module-graph.txt\n",
    );
    for (name, members) in LAYERS {
        out.push_str(&format!("\n[{name}]\n"));
        let mut sorted: Vec<&&str> = members.iter().collect();
        sorted.sort();
        for module in sorted {
            if let Some(deps) = graph.get(*module) {
                let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                out.push_str(&format!("{module} -> {}\n", deps.join(" ")).replace(" \n", "\n"));
            }
        }
    }
    let unplaced: Vec<&String> = graph.keys().filter(|m| layer_of(m).is_none()).collect();
    if !unplaced.is_empty() {
        out.push_str("\n[no layer]\n");
        for module in unplaced {
            out.push_str(&format!("{module}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_from_paths_and_groups() {
        let text = "use crate::{report::{Check, Report}, json};\nlet x = crate::text::printable(a);\nuse crate::hash;\n$crate::report::X\n";
        assert_eq!(crate_references(text), ["report", "json", "text", "hash"]);
    }

    #[test]
    fn comments_strings_and_test_modules_are_not_imports() {
        let text = "// crate::a\n/* crate::b */ let s = \"crate::c\";\nuse crate::d;\n#[cfg(test)]\nmod tests { use crate::e; }\n";
        assert_eq!(
            crate_references(&without_tests(&without_comments(text))),
            ["d"]
        );
    }

    #[test]
    fn a_cycle_and_an_upward_import_are_violations() {
        let mut g = Graph::new();
        g.insert("json".into(), ["report".to_owned()].into());
        g.insert(
            "report".into(),
            ["json".to_owned(), "release".to_owned()].into(),
        );
        g.insert("release".into(), BTreeSet::new());
        let v = violations(&g);
        assert!(
            v.iter().any(|m| m.contains("import cycle: json -> report")),
            "{v:?}"
        );
        assert!(
            v.iter()
                .any(|m| m.contains("`report` (ground) imports `release`")),
            "{v:?}"
        );
    }
}

/// A function of non-test code longer than a limit: where it starts and how many lines it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongFunction {
    /// The file, relative to the folder searched.
    pub file: String,
    /// The function's name.
    pub name: String,
    /// Lines from the `fn` line to its closing brace, both included.
    pub lines: usize,
}

/// Every function under `src` (test files and inline test modules left out) longer than
/// `limit` lines, longest first.
pub fn long_functions(src: &Path, limit: usize) -> std::io::Result<Vec<LongFunction>> {
    let mut files = Vec::new();
    collect_paths(src, &mut files)?;
    let mut found = Vec::new();
    for path in files {
        let text = without_tests(&without_comments(&fs::read_to_string(&path)?));
        let file = path
            .strip_prefix(src)
            .unwrap_or(&path)
            .display()
            .to_string();
        let lines: Vec<&str> = text.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            let Some(name) = fn_name(line) else { continue };
            if let Some(length) = body_length(&lines[at..])
                && length > limit
            {
                found.push(LongFunction {
                    file: file.clone(),
                    name,
                    lines: length,
                });
            }
        }
    }
    found.sort_by(|a, b| b.lines.cmp(&a.lines).then_with(|| a.file.cmp(&b.file)));
    Ok(found)
}

/// The Rust files under `dir`, test files and `tests` folders left out.
fn collect_paths(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            if name != "tests" {
                collect_paths(&entry.path(), out)?;
            }
        } else if name.ends_with(".rs") && name != "tests.rs" && name != "testing.rs" {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// The name of the function a line declares (`pub(crate) async fn name<...>(`), if it does.
fn fn_name(line: &str) -> Option<String> {
    let mut words = line.split_whitespace().peekable();
    while let Some(word) = words.next_if(|w| {
        w.starts_with("pub") || matches!(*w, "const" | "async" | "unsafe" | "extern" | "\"C\"")
    }) {
        let _ = word;
    }
    if words.next()? != "fn" {
        return None;
    }
    let name: String = words
        .next()?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Lines from the first to the brace that closes the body opened on or after it, or `None`
/// for a declaration without a body (`fn f();` in a trait).
fn body_length(lines: &[&str]) -> Option<usize> {
    let mut depth = 0usize;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate() {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth = depth.saturating_sub(1),
                ';' if !opened => return None,
                _ => {}
            }
            if opened && depth == 0 {
                return Some(n + 1);
            }
        }
    }
    None
}
