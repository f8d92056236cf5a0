//! The README's GitHub Actions workflow can be copied as it stands: valid YAML with a trigger
//! and permissions, a pinned install, the signing key removed by a `trap` whether sealing works
//! or not, and only the key file written under a restrictive umask.

use evidence_tests::workspace_root;
use yaml_rust2::YamlLoader;

/// The README's first fenced block of the given language.
fn block(readme: &str, language: &str) -> String {
    let fence = format!("```{language}\n");
    let start = readme.find(&fence).expect("no such block") + fence.len();
    let end = start + readme[start..].find("```\n").expect("unterminated block");
    readme[start..end].to_owned()
}

fn readme() -> String {
    std::fs::read_to_string(workspace_root().join("README.md")).unwrap()
}

#[test]
fn the_github_actions_workflow_is_valid_and_safe_to_copy() {
    let text = block(&readme(), "yaml");
    let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("invalid YAML: {e}"));
    let workflow = &docs[0];
    assert!(!workflow["on"].is_badvalue(), "no `on:` trigger");
    assert!(!workflow["permissions"].is_badvalue(), "no `permissions:`");
    let steps = workflow["jobs"]["release"]["steps"]
        .as_vec()
        .expect("jobs.release.steps is a list");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let step_names: Vec<&str> = steps.iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(
        step_names.iter().any(|n| n.starts_with("Gate: verify")),
        "{step_names:?}"
    );

    let install = runs.iter().find(|r| r.contains("cargo install")).unwrap();
    assert!(
        install.contains("--locked") && install.contains("--tag "),
        "{install}"
    );

    let seal = runs.iter().find(|r| r.contains("release seal")).unwrap();
    let trap = seal.find("trap ").expect("the key is removed by a trap");
    let written = seal.find("> \"$key\"").expect("the key is written to $key");
    assert!(
        trap < written,
        "the trap is set before the key is written:\n{seal}"
    );
    assert!(
        seal.contains("(umask 077 &&"),
        "umask only for the key file:\n{seal}"
    );
    assert!(
        !seal.contains("\numask"),
        "a bare umask changes the published files' modes"
    );

    let gate = runs.iter().find(|r| r.contains("release verify")).unwrap();
    assert!(gate.contains("--trusted-key release.pub"), "{gate}");
}

#[test]
fn the_readme_says_where_the_pinned_key_comes_from() {
    let text = readme();
    assert!(text.contains("`release.pub` is the public half"));
    assert!(text.contains("evidence key generate --out release"));
}
