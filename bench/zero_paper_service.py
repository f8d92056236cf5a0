#!/usr/bin/env python3
"""A stand-in paper-trading engine on 127.0.0.1 for the capture benchmark and for trying the
operator walkthrough: it answers the 14 endpoints of the zero-paper capture profile as a
healthy engine would. Paid scopes answer 401 without a bearer token.

    python3 bench/zero_paper_service.py 8080        # serves until interrupted
    python3 bench/zero_paper_service.py 0           # any free port, printed on stdout
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "3f2c1e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
DEPLOYMENT = "dep-2026-11-24-01"

PUBLIC = {
    "/health": {"status": "ok", "commit": COMMIT, "deployment_id": DEPLOYMENT, "version": "v1.4.2"},
    "/v2/status": {"mode": "paper", "commit": COMMIT, "release_tag": "v1.4.2", "uptime_s": 86400},
    "/immune": {"risk_increasing_allowed": False, "blocked": ["open_position", "raise_limit"]},
    "/live/preflight": {"ready": False, "live_mode": "refused", "reasons": ["paper deployment"]},
    "/deployment/claim": {
        "schema": "zero.deployment.claim.v1",
        "deployment": {"deployment_id": DEPLOYMENT, "commit": COMMIT},
        "claimed_at": "2026-11-24T08:00:00Z",
    },
    "/deployment/heartbeat": {
        "schema": "zero.deployment.heartbeat.v1",
        "deployment": {"deployment_id": DEPLOYMENT},
        "mode": "paper",
        "observed_at": "2026-11-24T09:00:00Z",
    },
    "/network/profile": {"egress": "restricted", "exchanges": []},
}
PAID = [
    "/audit/export?limit=100",
    "/live/cockpit",
    "/live/certification",
    "/live/receipts",
    "/intelligence/snapshot",
    "/v1/intelligence/snapshots",
]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the standard library's name)
        if self.path == "/metrics":
            return self.reply(200, b"zero_up 1\n", "text/plain")
        if self.path in PUBLIC:
            return self.reply(200, json.dumps(PUBLIC[self.path]).encode())
        if self.path in PAID:
            if (self.headers.get("Authorization") or "").startswith("Bearer "):
                return self.reply(200, json.dumps({"scope": self.path, "items": []}).encode())
            return self.reply(401, b'{"error":"token required"}')
        return self.reply(404, b'{"error":"not found"}')

    def reply(self, status, body, kind="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
