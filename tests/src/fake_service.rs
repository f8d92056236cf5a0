//! A small HTTP/1.1 server on 127.0.0.1 for capture tests: canned responses per path, every
//! request recorded (with its `Authorization` header), and misbehaviour on demand.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the server answers on one path.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status, extra headers and a body.
    Body {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// 200 with the body when a bearer token is sent, 401 without.
    Paid(Vec<u8>),
    /// 200 echoing the request's `Authorization` header in a JSON body.
    EchoAuthorization,
    /// A redirect (302) to this location.
    Redirect(String),
    /// Wait this long, then answer 200 `{}`.
    Slow(Duration),
    /// Close the connection without answering.
    Hang,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json(value: serde_json::Value) -> Self {
        Reply::Body {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// A status with a raw body.
    pub fn raw(status: u16, body: &[u8]) -> Self {
        Reply::Body {
            status,
            headers: vec![],
            body: body.to_vec(),
        }
    }
}

/// One request the server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Path and query.
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

/// A running server; it stops when dropped (its thread ends with the test process).
#[derive(Debug)]
pub struct FakeService {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeService {
    /// Starts a server answering `routes` (others: 404).
    pub fn start(routes: HashMap<String, Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let routes = Arc::new(Mutex::new(routes));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (routes.clone(), seen.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, s) = (r.clone(), s.clone());
                thread::spawn(move || serve(stream, &r, &s));
            }
        });
        Self { url, routes, seen }
    }

    /// Replaces or adds the reply for `path`.
    pub fn set(&self, path: &str, reply: Reply) {
        self.routes
            .lock()
            .expect("routes lock")
            .insert(path.to_owned(), reply);
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen lock").clone()
    }
}

fn serve(stream: TcpStream, routes: &Mutex<HashMap<String, Reply>>, seen: &Mutex<Vec<Seen>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut authorization = None;
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_owned());
        }
    }
    seen.lock().expect("seen lock").push(Seen {
        path: path.clone(),
        authorization: authorization.clone(),
    });
    let reply = routes.lock().expect("routes lock").get(&path).cloned();
    let (status, headers, body) = match reply {
        None => (404, vec![], b"not found".to_vec()),
        Some(Reply::Body {
            status,
            headers,
            body,
        }) => (status, headers, body),
        Some(Reply::Paid(body)) => match &authorization {
            Some(a) if a.starts_with("Bearer ") => (200, json_type(), body),
            _ => (401, json_type(), br#"{"error":"token required"}"#.to_vec()),
        },
        Some(Reply::EchoAuthorization) => (
            200,
            json_type(),
            serde_json::json!({"you_sent": authorization})
                .to_string()
                .into_bytes(),
        ),
        Some(Reply::Redirect(to)) => (302, vec![("Location".to_owned(), to)], vec![]),
        Some(Reply::Slow(d)) => {
            thread::sleep(d);
            (200, json_type(), b"{}".to_vec())
        }
        Some(Reply::Hang) => return,
    };
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&body);
    let _ = out.flush();
    // Let the client read everything before the socket closes.
    let _ = out.shutdown(std::net::Shutdown::Write);
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
}

fn json_type() -> Vec<(String, String)> {
    vec![("Content-Type".into(), "application/json".into())]
}

/// The commit a healthy zero-paper service reports.
pub const COMMIT: &str = "3f2c1e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e";
/// The deployment id a healthy zero-paper service reports.
pub const DEPLOYMENT_ID: &str = "dep-2026-11-24-01";

/// The routes of a healthy paper-trading engine, as the `zero-paper` profile expects it.
pub fn zero_paper_routes() -> HashMap<String, Reply> {
    use serde_json::json;
    let paid =
        |what: &str| Reply::Paid(json!({"scope": what, "items": []}).to_string().into_bytes());
    HashMap::from([
        (
            "/health".to_owned(),
            Reply::json(
                json!({"status": "ok", "commit": COMMIT, "deployment_id": DEPLOYMENT_ID, "version": "v1.4.2"}),
            ),
        ),
        (
            "/v2/status".to_owned(),
            Reply::json(
                json!({"mode": "paper", "commit": COMMIT, "release_tag": "v1.4.2", "uptime_s": 86400}),
            ),
        ),
        (
            "/metrics".to_owned(),
            Reply::Body {
                status: 200,
                headers: vec![("Content-Type".into(), "text/plain".into())],
                body: b"zero_up 1\nzero_orders_total{mode=\"paper\"} 42\n".to_vec(),
            },
        ),
        ("/audit/export?limit=100".to_owned(), paid("audit")),
        (
            "/immune".to_owned(),
            Reply::json(
                json!({"risk_increasing_allowed": false, "blocked": ["open_position", "raise_limit"]}),
            ),
        ),
        (
            "/live/preflight".to_owned(),
            Reply::json(
                json!({"ready": false, "live_mode": "refused", "reasons": ["paper deployment"]}),
            ),
        ),
        ("/live/cockpit".to_owned(), paid("cockpit")),
        ("/live/certification".to_owned(), paid("certification")),
        ("/live/receipts".to_owned(), paid("receipts")),
        (
            "/deployment/claim".to_owned(),
            Reply::json(json!({
                "schema": "zero.deployment.claim.v1",
                "deployment": {"deployment_id": DEPLOYMENT_ID, "commit": COMMIT},
                "claimed_at": "2026-11-24T08:00:00Z"
            })),
        ),
        (
            "/deployment/heartbeat".to_owned(),
            Reply::json(json!({
                "schema": "zero.deployment.heartbeat.v1",
                "deployment": {"deployment_id": DEPLOYMENT_ID},
                "mode": "paper",
                "observed_at": "2026-11-24T09:00:00Z"
            })),
        ),
        (
            "/network/profile".to_owned(),
            Reply::json(json!({"egress": "restricted", "exchanges": []})),
        ),
        ("/intelligence/snapshot".to_owned(), paid("snapshot")),
        ("/v1/intelligence/snapshots".to_owned(), paid("snapshots")),
    ])
}
