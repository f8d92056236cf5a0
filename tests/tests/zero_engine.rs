//! The real ZERO engine as a test dependency: the harness starts and stops it, and the
//! predecessor's doctor, the oracle for the zero-paper profile, passes on it.

use evidence_tests::zero_engine::{self, ZeroEngine};

#[test]
fn the_engine_starts_answers_and_the_predecessor_doctor_passes_on_it() {
    let Some(doctor) = zero_engine::predecessor_script("railway_doctor.py") else {
        return;
    };
    let Some(engine) = ZeroEngine::start() else {
        return;
    };
    let (status, body) = engine.get("/health");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let out = zero_engine::run_predecessor(
        &engine.python,
        &doctor,
        &[&engine.url, "--token", zero_engine::TOKEN],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("zero railway doctor: warn (17 ok, 1 warn, 0 fail)"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
