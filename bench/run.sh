#!/usr/bin/env bash
# Throughput and memory benchmark. Builds its own data under bench/work (or $BENCH_DIR), then
# prints, side by side in one run: release-verify against `sha256sum -c` and against two
# parallel `openssl dgst -sha256` processes; `evidence bundle verify` on a folder and on its
# .tar.gz against `sha256sum -c` inside the bundle; `evidence journal` on a large JSONL file
# against `sha256sum` and `wc -l`; each with peak RSS.
#
#   bash bench/run.sh            # 2 GiB in 8 files, 100,000 files of 1 KiB, a 1 GiB bundle,
#                                # a 1 GiB journal
#   BENCH_SMALL=1 bash bench/run.sh   # 256 MiB, 10,000 files, 128 MiB bundle, 64 MiB journal
#   BENCH_SECTIONS="bundle journal" bash bench/run.sh   # some of: release bundle journal capture
#
# Every figure is the best of $BENCH_RUNS runs (default 3) with a warm page cache, so it
# measures hashing and file system overhead, not the disk.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${BENCH_DIR:-$root/bench/work}
runs=${BENCH_RUNS:-3}
sections=${BENCH_SECTIONS:-release bundle journal capture}
if [[ -n "${BENCH_SMALL:-}" ]]; then big_mib=32; small_count=10000; bundle_mib=16; journal_mib=64
else big_mib=256; small_count=100000; bundle_mib=128; journal_mib=1024; fi

# GNU time (peak RSS) is the Debian package `time`; install it when missing.
if [[ ! -x /usr/bin/time ]]; then
  echo "installing GNU time (Debian package time)..." >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq time >/dev/null
fi
for tool in sha256sum openssl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 2; }
done

echo "building release-verify and evidence (release profile)..." >&2
cargo build --release --locked -q -p release-verify -p evidence-cli
rv="$root/target/release/release-verify"
ev="$root/target/release/evidence"

row() { printf '%-22s %-34s %9s %11s %9s\n' "$@"; }

large="$work/large-8x${big_mib}MiB"
small="$work/small-${small_count}x1KiB"
mkdir -p "$work"
has_section() { [[ " $sections " == *" $1 "* ]]; }

if has_section release && [[ ! -f "$large/SHA256SUMS" ]]; then
  echo "creating $large ..." >&2
  rm -rf "$large"; mkdir -p "$large"
  for i in 1 2 3 4 5 6 7 8; do
    head -c "$((big_mib << 20))" /dev/urandom > "$large/asset-$i.bin"
  done
  (cd "$large" && sha256sum asset-*.bin > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
fi
# The large release is also sealed, with an SBOM naming every asset, so that release-verify
# can be timed with signature, SBOM and provenance checks on top of the same hashing.
bench_key="$work/bench-signer"
if has_section release && [[ ! -f "$large/SHA256SUMS.dsse.json" ]]; then
  echo "sealing $large with an SBOM ..." >&2
  [[ -f "$bench_key.key" ]] || "$ev" key generate --out "$bench_key" >/dev/null
  python3 - "$large" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
names = sorted(n for n in os.listdir(root) if n.startswith("asset-"))
def sha256(name):
    h = hashlib.sha256()
    with open(os.path.join(root, name), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
doc = {
    "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
    "name": "bench", "documentNamespace": "https://example.com/spdx/bench",
    "creationInfo": {"creators": ["Tool: bench"], "created": "2026-11-22T09:30:00Z"},
    "packages": [{"SPDXID": f"SPDXRef-{i}", "name": n, "downloadLocation": "NOASSERTION",
                  "packageFileName": n, "filesAnalyzed": False, "licenseConcluded": "MIT",
                  "licenseDeclared": "MIT", "copyrightText": "NOASSERTION",
                  "checksums": [{"algorithm": "SHA256", "checksumValue": sha256(n)}]}
                 for i, n in enumerate(names)],
    "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                       "relatedSpdxElement": f"SPDXRef-{i}"} for i in range(len(names))],
}
with open(os.path.join(root, "SBOM.spdx.json"), "w") as f:
    json.dump(doc, f, indent=1)
PY
  "$ev" release seal "$large" --key "$bench_key.key" --builder-id https://bench.example/builder@v1 \
    --source-uri https://example.com/bench --source-ref refs/tags/v1 --quiet
fi
if has_section release && [[ ! -f "$small/SHA256SUMS" ]]; then
  echo "creating $small ..." >&2
  rm -rf "$small"; mkdir -p "$small"
  python3 - "$small" "$small_count" <<'PY'
import hashlib, os, sys
root, count = sys.argv[1], int(sys.argv[2])
lines = []
for i in range(count):
    folder = f"d{i // 1000:03d}"
    os.makedirs(os.path.join(root, folder), exist_ok=True)
    name = f"{folder}/f{i:06d}.bin"
    data = os.urandom(1024)
    with open(os.path.join(root, name), "wb") as f:
        f.write(data)
    lines.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
lines.sort()
with open(os.path.join(root, "SHA256SUMS"), "w") as f:
    f.writelines(lines)
PY
fi

# Reads every file of the current folder, so the next run measures hashing, not the disk.
# (Some hosts reclaim idle page cache within seconds, so this runs before every timed run.)
warm() { find . -type f -print0 | xargs -0 cat >/dev/null; }

# best_of CMD...: runs CMD $runs times in the current folder, each after warming the page
# cache; prints "seconds peak_rss_kib" of the fastest run.
best_of() {
  local best_t="" best_m=""
  for _ in $(seq "$runs"); do
    warm
    local out tf
    tf=$(mktemp)
    /usr/bin/time -o "$tf" -f '%e %M' "$@" >/dev/null 2>&1 || true
    out=$(tail -n 1 "$tf"); rm -f "$tf"
    local t=${out% *} m=${out#* }
    if [[ -z "$best_t" ]] || awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; best_m=$m; fi
  done
  echo "$best_t $best_m"
}

# Two parallel openssl processes, each hashing half of the files (the fastest shell baseline).
openssl_pair() {
  local dir=$1
  (cd "$dir" && find . -type f ! -name SHA256SUMS -print0 | sort -z |
     xargs -0 -n "$(( ( $(find . -type f | wc -l) + 1 ) / 2 ))" -P 2 openssl dgst -sha256 >/dev/null)
}
export -f openssl_pair


report() {
  local label=$1 dir=$2 signed=${3:-}
  read -r t_rv m_rv < <(cd "$dir" && best_of "$rv" . --quiet --allow-unsigned)
  if [[ -n "$signed" ]]; then
    read -r t_full m_full < <(cd "$dir" && best_of "$rv" . --quiet --trusted-key "$bench_key.pub" \
      --builder-id https://bench.example/builder@v1 --source-ref v1)
  fi
  read -r t_sum m_sum < <(cd "$dir" && best_of sha256sum -c --quiet SHA256SUMS)
  read -r t_ssl m_ssl < <(cd "$dir" && best_of bash -c "openssl_pair '$dir'")
  local ratio_sum ratio_ssl
  ratio_sum=$(awk "BEGIN{printf \"%.2fx\", $t_sum / ($t_rv > 0 ? $t_rv : 0.001)}")
  ratio_ssl=$(awk "BEGIN{printf \"%.2fx\", $t_ssl / ($t_rv > 0 ? $t_rv : 0.001)}")
  row "$label" "release-verify" "${t_rv}s" "$((m_rv / 1024)) MiB" "1.00x"
  if [[ -n "$signed" ]]; then
    row "" "  + signature, SBOM, provenance" "${t_full}s" "$((m_full / 1024)) MiB" \
      "$(awk "BEGIN{printf \"%.2fx\", $t_full / ($t_rv > 0 ? $t_rv : 0.001)}")"
  fi
  row "" "sha256sum -c" "${t_sum}s" "$((m_sum / 1024)) MiB" "$ratio_sum"
  row "" "2 x openssl dgst -sha256 (parallel)" "${t_ssl}s" "$((m_ssl / 1024)) MiB" "$ratio_ssl"
}

# The bundle: 8 files of $bundle_mib MiB of random bytes (incompressible: the archive is as
# large as the folder and gzip stores it), signed by a key made for the benchmark, as a
# folder and as the .tar.gz that `evidence bundle pack` writes. Each form lives in its own
# folder so that warming the cache reads only what is measured.
bundle_src="$work/bundle-src-8x${bundle_mib}MiB"
bundle="$work/bundle-8x${bundle_mib}MiB"
bundle_archive_dir="$work/bundle-8x${bundle_mib}MiB-archive"
bundle_archive="$bundle_archive_dir/bundle.tar.gz"
if has_section bundle && [[ ! -f "$bundle_archive" ]]; then
  echo "creating $bundle and its archive ..." >&2
  rm -rf "$bundle_src" "$bundle" "$bundle_archive_dir"; mkdir -p "$bundle_src" "$bundle_archive_dir"
  for i in 1 2 3 4 5 6 7 8; do
    head -c "$((bundle_mib << 20))" /dev/urandom > "$bundle_src/evidence-$i.bin"
  done
  [[ -f "$bench_key.key" ]] || "$ev" key generate --out "$bench_key" >/dev/null
  "$ev" bundle create --kind bench --out "$bundle" --created-at 2026-11-22T09:30:00Z \
    --sign "$bench_key.key" "$bundle_src" >/dev/null
  "$ev" bundle pack "$bundle" --out "$bundle_archive" >/dev/null
  rm -rf "$bundle_src"
fi

# bundle_report: the folder, the archive, and coreutils on the folder's SHA256SUMS.
bundle_report() {
  local label="8 x ${bundle_mib} MiB bundle"
  read -r t_dir m_dir < <(cd "$bundle" && best_of "$ev" bundle verify . --trusted-key "$bench_key.pub" --quiet)
  read -r t_tgz m_tgz < <(cd "$bundle_archive_dir" && best_of "$ev" bundle verify bundle.tar.gz --trusted-key "$bench_key.pub" --quiet)
  read -r t_sum m_sum < <(cd "$bundle" && best_of sha256sum -c --quiet SHA256SUMS)
  local r_tgz r_sum
  r_tgz=$(awk "BEGIN{printf \"%.2fx\", $t_tgz / ($t_dir > 0 ? $t_dir : 0.001)}")
  r_sum=$(awk "BEGIN{printf \"%.2fx\", $t_sum / ($t_dir > 0 ? $t_dir : 0.001)}")
  row "$label" "evidence bundle verify DIR" "${t_dir}s" "$((m_dir / 1024)) MiB" "1.00x"
  row "" "evidence bundle verify .tar.gz" "${t_tgz}s" "$((m_tgz / 1024)) MiB" "$r_tgz"
  row "" "sha256sum -c (in the bundle)" "${t_sum}s" "$((m_sum / 1024)) MiB" "$r_sum"
}

echo
echo "machine: $(nproc) cores, $(uname -m); best of $runs runs, page cache warmed before each run"
echo "ratio = other tool's time / the first row's time (above 1.00x: the first row is faster)"
echo
row "data" "tool" "time" "peak RSS" "ratio"
if has_section release; then
  report "8 x ${big_mib} MiB" "$large" signed
  report "${small_count} x 1 KiB" "$small"
fi
if has_section bundle; then
  bundle_report
fi

# ---- journals: `evidence journal` on one large JSONL file ----
if has_section journal; then
mkdir -p "$work"
journal="$work/journal-${journal_mib}MiB.jsonl"
if [[ ! -f "$journal" ]]; then
  echo "creating $journal ..." >&2
  python3 - "$journal.tmp" "$journal_mib" <<'PY'
import json, random, sys
path, mib = sys.argv[1], int(sys.argv[2])
target = mib << 20
rng = random.Random(42)
kinds = ["deploy", "heartbeat", "claim", "note", "rollback", "incident"]
words = "rollout canary api edge cache token refused drained pod node region \u00e9tape \"quoted\"".split()
written, seq, chunk = 0, 0, []
with open(path, "w", encoding="utf-8", newline="\n") as f:
    while written < target:
        seq += 1
        kind = kinds[seq % len(kinds)]
        event = {
            "type": kind, "seq": seq, "ts": f"2026-11-22T09:{seq // 60 % 60:02d}:{seq % 60:02d}Z",
            "idempotency_key": f"{kind[:2]}-{seq:010d}-{rng.getrandbits(32):08x}",
            "deployment_id": f"dep-{seq // 5000:05d}", "trace_id": f"{rng.getrandbits(128):032x}",
            "ok": seq % 17 != 0, "latency_ms": round(rng.random() * 250, 3),
            "message": " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))),
            "labels": {"region": rng.choice(["eu-west-1", "us-east-2"]), "tier": rng.randint(1, 3)},
        }
        if seq % 3 == 0:
            event["steps"] = [{"name": rng.choice(words), "ms": rng.randint(1, 900)} for _ in range(3)]
        line = json.dumps(event, separators=(",", ":")) + "\n"
        chunk.append(line)
        written += len(line.encode())
        if len(chunk) >= 10000:
            f.write("".join(chunk)); chunk = []
    f.write("".join(chunk))
PY
  mv "$journal.tmp" "$journal"
fi
jbytes=$(stat -c %s "$journal")
jlines=$(wc -l < "$journal")

# timed_v CMD...: runs CMD $runs times under `/usr/bin/time -v` with the journal in the page
# cache; prints "seconds peak_rss_kib" of the fastest run.
timed_v() {
  local best_t="" best_m=""
  for _ in $(seq "$runs"); do
    cat "$journal" >/dev/null
    local tf; tf=$(mktemp)
    /usr/bin/time -v -o "$tf" "$@" >/dev/null 2>&1 || true
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$tf")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
    rm -f "$tf"
    if [[ -z "$best_t" ]] || awk "BEGIN{exit !($wall < $best_t)}"; then best_t=$wall; best_m=$rss; fi
  done
  echo "$best_t $best_m"
}

jrow() {
  local label=$1; shift
  local t m
  read -r t m < <(timed_v "$@")
  local rate
  rate=$(awk "BEGIN{printf \"%.0f MB/s\", $jbytes / 1e6 / ($t > 0 ? $t : 0.001)}")
  row "" "$label" "${t}s" "$((m / 1024)) MiB" "$rate"
}

seal_dir=$(mktemp -d)
trap 'rm -rf "$seal_dir"' EXIT
"$ev" key generate --out "$seal_dir/bench" >/dev/null
seal_once() { rm -rf "$seal_dir/s"; "$ev" journal seal "$journal" --key "$seal_dir/bench.key" --out "$seal_dir/s" --quiet; }
export -f seal_once
export ev journal seal_dir

echo
echo "journal: $journal_mib MiB, $jlines lines; best of $runs runs under /usr/bin/time -v, page cache warm"
row "data" "tool" "time" "peak RSS" "throughput"
row "${journal_mib} MiB JSONL" "" "" "" ""
jrow "wc -l" wc -l "$journal"
jrow "sha256sum" sha256sum "$journal"
jrow "evidence journal verify" "$ev" journal verify "$journal" --quiet
jrow "  --unique-key idempotency_key" "$ev" journal verify "$journal" --quiet --unique-key idempotency_key
jrow "evidence journal seal" bash -c seal_once
seal_once
jrow "evidence journal check-append" "$ev" journal check-append "$seal_dir/s" "$journal" --trusted-key "$seal_dir/bench.pub" --quiet
fi

# ---- live capture: `evidence deploy capture` of the zero-paper profile (14 endpoints) ----
if has_section capture; then
  svc_out=$(mktemp)
  python3 "$root/bench/zero_paper_service.py" 0 >"$svc_out" &
  svc_pid=$!
  for _ in $(seq 50); do [[ -s "$svc_out" ]] && break; sleep 0.1; done
  port=$(head -n 1 "$svc_out")
  cap_dir=$(mktemp -d)
  "$ev" key generate --out "$cap_dir/ops" >/dev/null
  capture_once() {
    rm -rf "$cap_dir/pack"
    "$ev" deploy capture "http://127.0.0.1:$port" --profile zero-paper --sign "$cap_dir/ops.key" \
      --out "$cap_dir/pack" --quiet
  }
  export -f capture_once
  export ev port cap_dir
  read -r t_cap m_cap < <(cd "$cap_dir" && best_of bash -c capture_once)
  capture_once || { echo "bench: the capture failed" >&2; exit 1; }
  read -r t_ver m_ver < <(cd "$cap_dir" && best_of "$ev" bundle verify pack --trusted-key ops.pub --quiet)
  kill "$svc_pid" 2>/dev/null || true
  rm -rf "$cap_dir" "$svc_out"
  echo
  echo "capture: zero-paper profile (14 endpoints) from a local stand-in service; best of $runs runs"
  row "data" "tool" "time" "peak RSS" ""
  row "14 endpoints" "evidence deploy capture (signed)" "${t_cap}s" "$((m_cap / 1024)) MiB" ""
  row "" "evidence bundle verify (the pack)" "${t_ver}s" "$((m_ver / 1024)) MiB" ""
fi
