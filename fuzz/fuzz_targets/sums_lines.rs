//! SHA256SUMS parsing never panics, and write/parse round-trips: the entries of any parsed
//! file, written back, parse to the same names and digests, in GNU text form, and writing
//! those again gives the same bytes.
#![no_main]

use std::collections::BTreeMap;

use evidence_core::sums::{self, LineForm, SumsLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = SumsLimits::default();
    let Ok(parsed) = sums::parse(data, &limits) else {
        return;
    };
    let _ = sums::parse_checks(&parsed, "SHA256SUMS", true);
    let _ = parsed.mixed_forms();
    let _ = parsed.forms();

    let mut map = BTreeMap::new();
    for entry in &parsed.entries {
        if map.insert(entry.name.clone(), entry.digest).is_some() {
            // Duplicates are a finding of the parsed file; a map cannot hold them.
            return;
        }
    }
    let written = sums::write(&map);
    let again = sums::parse(&written, &limits).expect("a written file parses");
    assert!(
        again.bad_lines.is_empty(),
        "written file has bad lines: {:?}\n{:?}",
        again.bad_lines,
        String::from_utf8_lossy(&written)
    );
    assert!(again.entries.iter().all(|e| e.form == LineForm::GnuText));
    let back: BTreeMap<_, _> = again
        .entries
        .iter()
        .map(|e| (e.name.clone(), e.digest))
        .collect();
    assert_eq!(back, map, "write/parse changed the entries");
    assert_eq!(sums::write(&back), written, "write is not a fixed point");
});
