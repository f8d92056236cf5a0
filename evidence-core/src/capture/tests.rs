use std::time::{Duration, Instant};

use serde_json::json;

use super::logs::{LOGS_DRAIN_GRACE, run_logs};
use super::profile::{Endpoint, Predicate};
use super::*;

fn endpoint() -> Endpoint {
    Endpoint {
        name: "health".into(),
        path: "/health".into(),
        auth: false,
        assertions: vec![],
    }
}

fn fetched(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Fetched {
    Fetched {
        status: Some(status),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.to_vec(),
        ..Fetched::default()
    }
}

#[test]
fn packets_keep_the_body_in_its_form() {
    let p = packet(
        &endpoint(),
        "http://h/health",
        &fetched(
            200,
            &[
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
                ("content-type", "application/json"),
            ],
            br#"{"status":"ok"}"#,
        ),
        false,
    );
    assert_eq!(p["body_format"], "json");
    assert_eq!(p["payload"]["status"], "ok");
    assert_eq!(p["headers"]["set-cookie"], json!(["a=1", "b=2"]));
    assert_eq!(p["headers"]["content-type"], "application/json");
    let text = packet(&endpoint(), "u", &fetched(500, &[], b"<html>oops"), false);
    assert_eq!(text["body_format"], "text");
    assert_eq!(text["payload"], "<html>oops");
    let binary = packet(&endpoint(), "u", &fetched(200, &[], b"\xff\xfe"), false);
    assert_eq!(binary["body_format"], "base64");
    // Duplicate members are not JSON evidence can rely on: kept as text.
    let dup = packet(
        &endpoint(),
        "u",
        &fetched(200, &[], br#"{"a":1,"a":2}"#),
        false,
    );
    assert_eq!(dup["body_format"], "text");
    let none = packet(
        &endpoint(),
        "u",
        &Fetched {
            error: Some("refused".into()),
            ..Fetched::default()
        },
        false,
    );
    assert_eq!(none["body_format"], "none");
    assert_eq!(none["status"], Value::Null);
    assert_eq!(none["error"], "refused");
}

#[test]
fn predicates_say_what_they_saw() {
    let p = packet(
        &endpoint(),
        "u",
        &fetched(
            200,
            &[("content-type", "application/json")],
            br#"{"ready":false,"live_mode":"refused","n":3,"trace":"trace-1"}"#,
        ),
        false,
    );
    let ok = |pred: Predicate| evaluate(&pred, &p);
    assert_eq!(ok(Predicate::Status { any_of: vec![200] }), Ok(()));
    assert_eq!(
        ok(Predicate::Status {
            any_of: vec![401, 403]
        }),
        Err("status was 200".into())
    );
    assert_eq!(
        ok(Predicate::HeaderPresent {
            name: "Content-Type".into()
        }),
        Ok(())
    );
    assert!(
        ok(Predicate::HeaderPresent {
            name: "x-other".into()
        })
        .is_err()
    );
    assert_eq!(
        ok(Predicate::JsonFalse {
            pointer: "/ready".into()
        }),
        Ok(())
    );
    assert_eq!(
        ok(Predicate::JsonTrue {
            pointer: "/ready".into()
        }),
        Err("found false".into())
    );
    assert_eq!(
        ok(Predicate::JsonEquals {
            pointer: "/live_mode".into(),
            value: json!("refused")
        }),
        Ok(())
    );
    assert_eq!(
        ok(Predicate::JsonEquals {
            pointer: "/n".into(),
            value: json!(4)
        }),
        Err("found 3".into())
    );
    assert_eq!(
        ok(Predicate::JsonExists {
            pointer: "/missing".into()
        }),
        Err("nothing there".into())
    );
    assert_eq!(
        ok(Predicate::BodyExcludes {
            strings: vec!["trace-".into(), "private_key".into()]
        }),
        Err("the body contains [\"trace-\"]".into())
    );
    let text = packet(&endpoint(), "u", &fetched(200, &[], b"not json"), false);
    assert_eq!(
        evaluate(
            &Predicate::JsonFalse {
                pointer: "/ready".into()
            },
            &text
        ),
        Err("the body is not JSON".into())
    );
    let dead = packet(&endpoint(), "u", &Fetched::default(), false);
    assert_eq!(
        evaluate(&Predicate::Status { any_of: vec![200] }, &dead),
        Err("no response".into())
    );
}

#[test]
fn the_logs_command_is_bounded() {
    let (checks, files) = run_logs("echo hello; echo oops >&2", &LogsOptions::default());
    assert_eq!(checks[0].status, Status::Pass, "{checks:?}");
    assert_eq!(files.len(), 2);
    let (checks, _) = run_logs(
        "sleep 5",
        &LogsOptions {
            timeout: Duration::from_millis(200),
            ..LogsOptions::default()
        },
    );
    assert_eq!(checks[0].status, Status::Fail);
    assert!(checks[0].detail.contains("timed out"), "{checks:?}");
    let (checks, files) = run_logs(
        "head -c 5000 /dev/zero",
        &LogsOptions {
            max_bytes: 100,
            ..LogsOptions::default()
        },
    );
    assert!(checks[0].detail.contains("cut at 100 bytes"), "{checks:?}");
    match &files[0] {
        Input::Bytes { bytes, .. } => assert_eq!(bytes.len(), 100),
        other => panic!("{other:?}"),
    }
    let (checks, _) = run_logs("exit 3", &LogsOptions::default());
    assert_eq!(checks[0].status, Status::Fail);
}

#[test]
fn a_background_child_holding_the_pipes_does_not_hang_the_capture() {
    // The shell exits at once; `sleep` keeps stdout and stderr open. Its process group is
    // killed with the shell, so the output ends and the check passes, long before the sleep
    // or the timeout would end.
    let started = Instant::now();
    let (checks, files) = run_logs("sleep 1000 & echo hi", &LogsOptions::default());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(checks[0].code, CAPTURE_LOGS.code);
    assert_eq!(checks[0].status, Status::Pass, "{checks:?}");
    match &files[0] {
        Input::Bytes { bytes, .. } => assert_eq!(bytes, b"hi\n"),
        other => panic!("{other:?}"),
    }
    // The same at the deadline: the shell itself still runs.
    let started = Instant::now();
    let (checks, _) = run_logs(
        "sleep 1000 & echo hi; wait",
        &LogsOptions {
            timeout: Duration::from_millis(300),
            ..LogsOptions::default()
        },
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(checks[0].code, CAPTURE_LOGS.code);
    assert_eq!(checks[0].status, Status::Fail);
    assert!(checks[0].detail.contains("timed out"), "{checks:?}");
}

#[test]
fn a_process_that_leaves_the_group_is_not_waited_for() {
    // `setsid` puts the sleep beyond the group kill; it holds stdout open for 6 s. The capture
    // stops waiting after the grace, keeps what was read and fails the check. (The sleep ends
    // by itself.)
    let started = Instant::now();
    let (checks, files) = run_logs(
        "echo before; setsid sleep 6 &",
        &LogsOptions {
            timeout: Duration::from_secs(1),
            ..LogsOptions::default()
        },
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1) + LOGS_DRAIN_GRACE + Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(checks[0].code, CAPTURE_LOGS.code);
    assert_eq!(checks[0].status, Status::Fail, "{checks:?}");
    assert!(checks[0].detail.contains("still held open"), "{checks:?}");
    match &files[0] {
        Input::Bytes { bytes, .. } => assert_eq!(bytes, b"before\n"),
        other => panic!("{other:?}"),
    }
}
