#!/usr/bin/env bash
# The ZERO engine's envelope journals: `evidence journal verify` against the engine's own
# verifier (`read_jsonl` + `verify_chain` from zero_engine.journal_chain) on the same file,
# side by side in one run, with peak RSS.
#
#   ZERO_PYTHON=/path/to/venv/bin/python bash bench/engine_journal.sh   # a 1 GiB journal
#   ENGINE_JOURNAL_MIB=256 bash bench/engine_journal.sh                 # a smaller one
#   EVIDENCE=target/release/evidence bash bench/engine_journal.sh       # no cargo build
#
# The journal is written by the engine's own build_entry (unsigned, like its sidecar without a
# signing key), in its canonical form, into bench/work (or $BENCH_DIR), and reused when it
# exists. The engine's verifier reads the whole file into memory (read_jsonl): expect its
# peak RSS to be several times the journal's size.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${BENCH_DIR:-$root/bench/work}
mib=${ENGINE_JOURNAL_MIB:-1024}
python=${ZERO_PYTHON:-${EVIDENCE_ZERO_PYTHON:-python3}}
"$python" -c 'import zero_engine' 2>/dev/null || {
  echo "needs a python with zero-engine==0.1.6: set ZERO_PYTHON" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time (/usr/bin/time, Debian package time)" >&2; exit 2; }
mkdir -p "$work"
journal=$work/engine-journal-${mib}m.jsonl
# EVIDENCE=path/to/evidence skips the release build.
evidence=${EVIDENCE:-}
if [[ -z $evidence ]]; then
  cargo build --release --locked -q -p evidence-cli
  evidence=$root/target/release/evidence
fi

if [[ ! -s $journal ]]; then
  echo "writing a ${mib} MiB envelope journal with zero_engine.journal_chain.build_entry..." >&2
  "$python" - "$journal" "$mib" <<'PY'
import sys
from zero_engine.journal_chain import ZERO_HASH, build_entry, canonical_json
path, limit = sys.argv[1], int(sys.argv[2]) << 20
prev, seq, size = ZERO_HASH, 0, 0
with open(path + ".tmp", "w", encoding="utf-8") as out:
    while size < limit:
        seq += 1
        record = {"event": "decision", "id": f"dec-{seq:09d}", "symbol": "BTC-PERP",
                  "side": "buy" if seq % 2 else "sell", "size": seq % 97 / 8, "reason": "paper ✓",
                  "ts": f"2026-11-22T{seq // 3600 % 24:02d}:{seq // 60 % 60:02d}:{seq % 60:02d}Z"}
        entry = build_entry(record, stream="decisions", seq=seq, prev_hash=prev,
                            ts=record["ts"], deployment_id="dep-bench")
        line = canonical_json(entry) + "\n"
        out.write(line)
        size += len(line.encode())
        prev = entry["entry_hash"]
import os
os.replace(path + ".tmp", path)
PY
fi
bytes=$(stat -c %s "$journal")
lines=$(wc -l < "$journal")

measure() { # label, command...: one run; seconds, MiB/s and peak RSS
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -o "$tf" -f '%e %M' "$@" >/dev/null || { echo "$label failed" >&2; exit 1; }
  awk -v l="$label" -v n="$bytes" '{ s = ($1 > 0 ? $1 : 0.01)
    printf "%-40s %8.2f s %9.1f MiB/s %8.0f MiB peak RSS\n", l, s, n / s / 1048576, $2 / 1024 }' "$tf"
  rm -f "$tf"
}

echo "journal: $journal, $bytes bytes, $lines entries"
measure "evidence journal verify (release)" "$evidence" journal verify "$journal" --quiet
measure "zero_engine read_jsonl + verify_chain" "$python" -c '
import sys
from zero_engine.journal_chain import read_jsonl, verify_chain
r = verify_chain(read_jsonl(sys.argv[1]), stream="decisions")
print(r.count, r.head_hash)' "$journal"
