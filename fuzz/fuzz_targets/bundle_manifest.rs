//! Manifest parsing never panics. A parsed manifest's canonical bytes are exactly the bytes
//! read (a manifest has one byte form) and parse back to the same manifest. A manifest built
//! from fuzz input that passes `check` and has canonical bytes parses back to itself.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::{Result, Unstructured};
use evidence_core::bundle::{FileEntry, Manifest, ManifestLimits, RedactionSummary, ToolInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ManifestLimits::default();
    if let Ok(manifest) = Manifest::parse(data, &limits) {
        let bytes = manifest.to_canonical_bytes().expect("a parsed manifest serialises");
        assert_eq!(bytes, data, "a parsed manifest has another byte form");
        let back = Manifest::parse(&bytes, &limits).expect("canonical bytes parse");
        assert_eq!(back, manifest);
    }

    let mut u = Unstructured::new(data);
    let Ok(manifest) = built(&mut u) else {
        return;
    };
    if manifest.check(&limits).is_err() {
        return;
    }
    let Ok(bytes) = manifest.to_canonical_bytes() else {
        return;
    };
    let back = Manifest::parse(&bytes, &limits).unwrap_or_else(|e| {
        panic!(
            "a checked manifest's canonical bytes are refused: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(back, manifest);
    assert_eq!(back.to_canonical_bytes().ok(), Some(bytes));
});

/// Mostly well-formed field values, with arbitrary strings mixed in.
fn built(u: &mut Unstructured<'_>) -> Result<Manifest> {
    let kind = pick(u, &["deployment", "incident", "release", "journal-seal"])?;
    let created_at = if u.ratio(7, 8)? {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            u.int_in_range(1970..=2200)?,
            u.int_in_range(1..=12)?,
            u.int_in_range(1..=28)?,
            u.int_in_range(0..=23)?,
            u.int_in_range(0..=59)?,
            u.int_in_range(0..=59)?
        )
    } else {
        u.arbitrary()?
    };
    let mut subject = BTreeMap::new();
    for _ in 0..u.int_in_range(0..=4)? {
        let key = pick(u, &["target", "commit", "release_tag", "deployment_id"])?;
        subject.insert(key, u.arbitrary::<String>()?);
    }
    let mut paths: Vec<String> = Vec::new();
    for _ in 0..u.int_in_range(0..=6)? {
        let tail: String = u.arbitrary()?;
        paths.push(if u.ratio(1, 8)? {
            tail
        } else {
            format!("payload/{tail}")
        });
    }
    paths.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    paths.dedup();
    let mut files = Vec::new();
    for path in paths {
        let digest: [u8; 32] = u.arbitrary()?;
        files.push(FileEntry {
            path,
            size: if u.ratio(1, 16)? {
                u.arbitrary()?
            } else {
                u.int_in_range(0..=1 << 40)?
            },
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        });
    }
    let mut counts = BTreeMap::new();
    for _ in 0..u.int_in_range(0..=3)? {
        counts.insert(
            pick(u, &["github-token", "bearer-token", "forbidden-token"])?,
            u.int_in_range(0..=1 << 50)?,
        );
    }
    let mut parents = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        let digest: [u8; 32] = u.arbitrary()?;
        parents.push(format!(
            "sha256:{}",
            digest.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
    }
    parents.sort();
    parents.dedup();
    Ok(Manifest {
        schema: "evidence.bundle/v1".to_owned(),
        kind,
        created_at,
        tool: ToolInfo {
            name: u.arbitrary()?,
            version: u.arbitrary()?,
        },
        subject,
        files,
        redaction: RedactionSummary {
            applied: u.arbitrary()?,
            counts,
        },
        parents,
    })
}

/// One of `choices`, or (one time in eight) an arbitrary string.
fn pick(u: &mut Unstructured<'_>, choices: &[&str]) -> Result<String> {
    if u.ratio(1, 8)? {
        u.arbitrary()
    } else {
        Ok((*u.choose(choices)?).to_owned())
    }
}
