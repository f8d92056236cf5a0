//! SPDX judgement against the reference validator: spdx/tools-python (`pyspdxtools` 0.8),
//! found through `EVIDENCE_PYSPDXTOOLS` (or on `PATH`).
//!
//! Our verifier (`evidence_core::sbom::verify_sbom`, what `release-verify` runs on an SBOM) and
//! `pyspdxtools -i FILE` judge the same bytes: the official SPDX 2.3 example, three real
//! documents (syft, cargo-sbom, trivy; all with fractional seconds in `created`), and every
//! case of `fixtures/sbom-cases/`. Verdicts must be equal except for the documented
//! disagreements (`docs/FORMAT.md` section 9): fractional seconds (we warn, pyspdxtools fails)
//! and the SPDX 2.2 verification code (we fail, pyspdxtools does not check it). For the real
//! documents the fraction is also removed, and on those copies the verdicts must agree.
//!
//! With `EVIDENCE_SPDX_TABLE=FILE` the test also writes the verdict table to FILE (Markdown).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use evidence_core::report::{Report, Status};
use evidence_core::sbom::{SbomLimits, verify_sbom};
use evidence_tests::fixtures::sbom::{self, SbomExpectation};
use evidence_tests::{need_interop, need_tool, workspace_root};

const FRACTIONAL: &str = "sbom-created-fractional-seconds";

/// pyspdxtools' verdict on `path`: `Ok(())` when it accepts, `Err(first message)` when not.
fn pyspdxtools(tool: &Path, path: &Path) -> Result<(), String> {
    let out = Command::new(tool)
        .arg("-i")
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("run pyspdxtools");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        return Ok(());
    }
    // A refusal names its issues; anything else (a crash, a usage error) is not a verdict.
    assert!(
        text.contains("The document is invalid") || text.contains("issues while parsing"),
        "pyspdxtools did not judge {}: {text}",
        path.display()
    );
    let first = text
        .lines()
        .find(|l| !l.starts_with("ERROR:root") && !l.trim().is_empty())
        .unwrap_or_default();
    Err(first.chars().take(120).collect())
}

fn ours(bytes: &[u8]) -> Report {
    verify_sbom(bytes, None, &SbomLimits::default())
}

fn codes(report: &Report, status: Status) -> Vec<String> {
    let mut codes: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status == status)
        .map(|c| c.code.to_string())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

/// One row of the verdict table.
struct Row {
    document: String,
    theirs: Result<(), String>,
    ours: Report,
    agree_expected: bool,
}

impl Row {
    fn render(&self) -> String {
        let verdict = |ok: bool| if ok { "pass" } else { "fail" };
        let theirs = match &self.theirs {
            Ok(()) => "pass".to_owned(),
            Err(why) => format!("fail: {}", why.replace('|', "\\|")),
        };
        let mut ours = verdict(self.ours.ok()).to_owned();
        let fails = codes(&self.ours, Status::Fail);
        let warns = codes(&self.ours, Status::Warn);
        if !fails.is_empty() {
            ours.push_str(&format!(" ({})", fails.join(", ")));
        }
        if !warns.is_empty() {
            ours.push_str(&format!(" warn {}", warns.join(", ")));
        }
        let agree = self.theirs.is_ok() == self.ours.ok();
        let note = match (agree, self.agree_expected) {
            (true, _) => "yes",
            (false, false) => "no (documented)",
            (false, true) => "NO (unexpected)",
        };
        format!("| {} | {theirs} | {ours} | {note} |", self.document)
    }
}

/// The real documents with `created` made whole seconds: same bytes otherwise, re-serialised.
fn without_fraction(bytes: &[u8]) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let created = doc["creationInfo"]["created"].as_str().unwrap().to_owned();
    let (seconds, _) = created.split_once('.').expect("a fractional created");
    doc["creationInfo"]["created"] = format!("{seconds}Z").into();
    serde_json::to_vec_pretty(&doc).unwrap()
}

#[test]
fn our_spdx_verdicts_match_pyspdxtools() {
    let Some(tool) = need_tool(
        "pyspdxtools",
        Some("EVIDENCE_PYSPDXTOOLS"),
        "pip install spdx-tools==0.8.5; set EVIDENCE_PYSPDXTOOLS to its pyspdxtools",
    ) else {
        return;
    };
    let Some(example) = need_interop("spdx/SPDXJSONExample-v2.3.spdx.json") else {
        return;
    };
    let Some(real_dir) = need_interop("spdx-real") else {
        return;
    };
    let mut rows = Vec::new();

    // The official example: both accept it.
    let bytes = std::fs::read(&example).unwrap();
    let row = Row {
        document: "SPDXJSONExample-v2.3 (official)".into(),
        theirs: pyspdxtools(&tool, &example),
        ours: ours(&bytes),
        agree_expected: true,
    };
    assert!(row.theirs.is_ok(), "{:?}", row.theirs);
    assert!(row.ours.ok(), "{}", row.ours.to_text(true));
    rows.push(row);

    // Real documents, as written (fractional seconds) and with the fraction removed.
    let scratch = tempfile::tempdir().unwrap();
    let mut real: Vec<PathBuf> = std::fs::read_dir(&real_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    real.sort();
    assert_eq!(real.len(), 3, "{real:?}");
    for path in real {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let as_written = Row {
            document: format!("{name} (as written)"),
            theirs: pyspdxtools(&tool, &path),
            ours: ours(&bytes),
            agree_expected: false,
        };
        // Documented: pyspdxtools refuses the fraction; we warn about it.
        let theirs = as_written.theirs.as_ref().unwrap_err();
        assert!(theirs.contains("does not match format"), "{name}: {theirs}");
        assert!(
            as_written
                .ours
                .checks
                .iter()
                .any(|c| c.code == FRACTIONAL && c.status == Status::Warn),
            "{name}: {}",
            as_written.ours.to_text(true)
        );
        let whole = scratch.path().join(&name);
        let whole_bytes = without_fraction(&bytes);
        std::fs::write(&whole, &whole_bytes).unwrap();
        let whole_row = Row {
            document: format!("{name} (fraction removed)"),
            theirs: pyspdxtools(&tool, &whole),
            ours: ours(&whole_bytes),
            agree_expected: true,
        };
        assert_eq!(
            whole_row.theirs.is_ok(),
            whole_row.ours.ok(),
            "{name} without the fraction: pyspdxtools {:?}, ours:\n{}",
            whole_row.theirs,
            whole_row.ours.to_text(true)
        );
        // The fraction alone never changes our verdict.
        assert_eq!(as_written.ours.ok(), whole_row.ours.ok(), "{name}");
        rows.push(as_written);
        rows.push(whole_row);
    }

    // The generated cases, each stating both verdicts.
    let dir = workspace_root().join("fixtures").join(sbom::CASES_DIR);
    let names = sbom::cases(&dir).unwrap();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        let expect = SbomExpectation::read(&dir, &name).unwrap();
        let path = dir.join(format!("{name}.spdx.json"));
        let bytes = std::fs::read(&path).unwrap();
        let row = Row {
            document: format!("sbom-cases/{name}"),
            theirs: pyspdxtools(&tool, &path),
            ours: ours(&bytes),
            agree_expected: expect.disagreement.is_none(),
        };
        let report = row.ours.to_text(true);
        assert_eq!(row.ours.ok(), expect.ok, "{name}: {report}");
        assert_eq!(
            row.theirs.is_ok(),
            expect.pyspdxtools_ok,
            "{name}: pyspdxtools {:?}",
            row.theirs
        );
        assert_eq!(
            expect.ok == expect.pyspdxtools_ok,
            expect.disagreement.is_none(),
            "{name}: a disagreement must be stated exactly when the verdicts differ"
        );
        for code in &expect.must_fail {
            assert!(
                codes(&row.ours, Status::Fail).contains(code),
                "{name}: {code} should fail: {report}"
            );
        }
        for code in &expect.must_warn {
            assert!(
                codes(&row.ours, Status::Warn).contains(code),
                "{name}: {code} should warn: {report}"
            );
        }
        rows.push(row);
    }

    if let Some(out) = std::env::var_os("EVIDENCE_SPDX_TABLE") {
        let mut table =
            String::from("| document | pyspdxtools 0.8 | ours | agree? |\n|---|---|---|---|\n");
        for row in &rows {
            table.push_str(&row.render());
            table.push('\n');
        }
        std::fs::write(out, table).unwrap();
    }
    let unexpected: Vec<String> = rows
        .iter()
        .filter(|r| r.agree_expected && r.theirs.is_ok() != r.ours.ok())
        .map(Row::render)
        .collect();
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}
