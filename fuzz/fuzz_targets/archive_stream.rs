//! The streaming archive verifier never panics and writes nothing. The first byte chooses
//! how the rest is used: as the `.tar.gz` bytes themselves, or as tar bytes that are gzip'd
//! here (with tar header checksums fixed first, half the time), so mutations reach the tar
//! and bundle checks instead of stopping at the gzip CRC.
#![no_main]

use std::io::Write;

use evidence_core::bundle::VerifyOptions;
use evidence_core::bundle::archive::verify_archive_reader;
use evidence_core::keys::{PrivateKey, TrustPolicy};
use evidence_fuzz::fix_tar_checksums;
use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let archive = match mode % 3 {
        0 => rest.to_vec(),
        fix => {
            let mut tar = rest.to_vec();
            if fix == 2 {
                fix_tar_checksums(&mut tar);
            }
            let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
            gz.write_all(&tar).expect("in memory");
            gz.finish().expect("in memory")
        }
    };
    let key = PrivateKey::from_seed(&[1; 32]);
    let policy = TrustPolicy::single("fuzz", key.public());
    let capture = ["payload/status.json"];
    let opts = VerifyOptions {
        trust: (mode & 0x80 != 0).then_some(&policy),
        capture: &capture,
        ..VerifyOptions::default()
    };
    let v = verify_archive_reader(archive.as_slice(), "fuzz.tar.gz", &opts);
    // A verified bundle only comes with a passing report.
    assert!(v.bundle.is_none() || v.report.ok(), "{}", v.report.to_text(true));
    let _ = v.report.to_json_pretty();
});
