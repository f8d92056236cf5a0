#!/usr/bin/env bash
# Writes the committed seed corpora (fuzz/corpus/<target>/) from the project's own fixtures
# (fixtures/ and the built-in capture profiles) only; no third-party samples are copied in.
# Seeds are small on purpose (a few KiB per target): libFuzzer grows its own corpus from
# them, and what it adds stays out of git unless someone commits it on purpose.
set -euo pipefail
cd "$(dirname "$0")"
fx=../fixtures
out=corpus

seed() { # seed TARGET NAME FILE...
  local target=$1 name=$2
  shift 2
  mkdir -p "$out/$target"
  cat "$@" >"$out/$target/$name"
}

# A seed with one leading selector byte (targets that read their first byte as a mode).
seed_with_byte() { # seed_with_byte TARGET NAME OCTAL-BYTE FILE
  mkdir -p "$out/$1"
  { printf "\\$3"; cat "$4"; } >"$out/$1/$2"
}

seed sums_lines sample-release $fx/sample-release/SHA256SUMS
for case in bsd-tagged openssl-form crlf-line-ends mixed-formats malformed-line weak-algorithm \
  nfc-collision duplicate-entry; do
  seed sums_lines "$case" "$fx/release-cases/$case/SHA256SUMS"
done

seed strict_json manifest $fx/sample-bundle/manifest.json
seed strict_json claim $fx/identity-cases/claim.json
seed strict_json heartbeat $fx/identity-cases/heartbeat.json

seed bundle_manifest sample-bundle $fx/sample-bundle/manifest.json
seed bundle_manifest identity $fx/identity-cases/good/manifest.json

seed dsse_envelope bundle-manifest $fx/sample-bundle/manifest.dsse.json
seed dsse_envelope release-sums $fx/sample-release/SHA256SUMS.dsse.json

for key in fixture-signer fixture-cosigner; do
  seed keys "$key.pub" "$fx/keys/$key.pub"
done
python3 - "$fx/keys" "$out/keys" <<'PY'
import base64, json, sys
keys, out = sys.argv[1], sys.argv[2]
pem = lambda n: open(f"{keys}/{n}.pub").read()
ring = {"schema": "evidence.keyring/v1", "threshold": 2,
        "keys": [{"name": "signer", "public_key": pem("fixture-signer")},
                 {"name": "cosigner", "public_key": pem("fixture-cosigner")}]}
open(f"{out}/keyring.json", "w").write(json.dumps(ring, indent=2) + "\n")
# PKCS#8 Ed25519 private key for the public test seed [7; 32] (the fuzz targets' own key).
# Written as a hidden file, which git ignores: a private-key block in the repository would be
# a finding for every secret scanner, ours included.
der = bytes.fromhex("302e020100300506032b657004220420") + bytes([7] * 32)
body = base64.b64encode(der).decode()
open(f"{out}/.private.pem", "w").write(
    f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
PY

# archive_stream: selector 0 = the .tar.gz bytes as they are, 2 = tar bytes gzip'd by the
# target after fixing header checksums (see fuzz_targets/archive_stream.rs).
seed_with_byte archive_stream sample-bundle.tar.gz 000 $fx/sample-bundle.tar.gz
gzip -dc $fx/sample-bundle.tar.gz >"$out/archive_stream/.tmp.tar"
seed_with_byte archive_stream sample-bundle.tar 002 "$out/archive_stream/.tmp.tar"
rm "$out/archive_stream/.tmp.tar"

seed spdx_document sample-release $fx/sample-release/SBOM.spdx.json

seed intoto_statement release.intoto.jsonl $fx/sample-release/release.intoto.jsonl
seed intoto_statement PROVENANCE.json $fx/sample-release/PROVENANCE.json

# journal_lines: the first byte seeds the read sizes; odd selects small limits.
for case in good-events crlf-line-ends duplicate-idempotency-key truncated-last-line; do
  seed_with_byte journal_lines "$case" 000 "$fx/journal-cases/$case.jsonl"
done
seed_with_byte journal_lines small-limits 001 "$fx/journal-cases/good-events.jsonl"

seed redaction heartbeat $fx/identity-cases/heartbeat.json

seed capture_profile health ../evidence-core/src/capture/profiles/health.json
