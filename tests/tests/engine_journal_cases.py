"""Builds real zero.journal.v1 chains and roots with the installed zero_engine, tampers with
them, and records the engine's own verdict on each case (engine_journal.rs reads verdicts.json).

Usage: python engine_journal_cases.py DIR
"""
import base64
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from zero_engine.journal_chain import (
    JournalChainError,
    build_chain,
    build_entry,
    canonical_json,
    generate_root,
    read_jsonl,
    verify_chain,
    verify_payload_binding,
    verify_root,
)

out = Path(sys.argv[1])
STREAM = "decisions"
signer = Ed25519PrivateKey.generate()
stranger = Ed25519PrivateKey.generate()
(out / "signer.pub").write_bytes(signer.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

records = [
    {"event": "decision", "seq_hint": i, "ts": f"2026-11-22T09:{i:02d}:00Z", "score": i / 3,
     "note": "café ☕ 😀" if i == 3 else "paper", "nested": {"b": [1, 2.5, None], "a": True}}
    for i in range(12)
]


def write_jsonl(path, rows):
    path.write_text("".join(canonical_json(r) + "\n" for r in rows), encoding="utf-8")


def chain(signed):
    return build_chain(records, stream=STREAM, deployment_id="dep-7",
                       signing_key=signer if signed else None,
                       signing_key_id="deployment-ed25519-v1" if signed else None)


def root_for(entries, signed, count_delta=0):
    result = verify_chain(entries, stream=STREAM)
    if count_delta:
        result = type(result)(result.stream, result.count + count_delta, result.head_hash,
                              result.first_ts, result.last_ts)
    return generate_root([result], generated_at="2026-11-22T10:00:00Z", deployment_id="dep-7",
                         signing_key=signer if signed else None,
                         signing_key_id="deployment-ed25519-v1" if signed else None)


def case(name, entries, root, raw=None, lines=None):
    d = out / name
    d.mkdir()
    if lines is None:
        write_jsonl(d / "journal.jsonl", entries)
    else:
        (d / "journal.jsonl").write_text(lines, encoding="utf-8")
    write_jsonl(d / "raw.jsonl", raw if raw is not None else records)
    (d / "root.json").write_text(json.dumps(root, indent=2, sort_keys=True), encoding="utf-8")


def verdicts(name):
    d = out / name
    v = {}
    try:
        entries = read_jsonl(d / "journal.jsonl")
        result = verify_chain(entries, stream=STREAM)
        v["chain"] = "ok"
        v["count"] = result.count
        v["head_hash"] = result.head_hash
    except JournalChainError as e:
        v["chain"] = str(e)
        entries = None
    try:
        if entries is not None:
            verify_payload_binding(entries, read_jsonl(d / "raw.jsonl"), stream=STREAM)
            v["payloads"] = "ok"
    except JournalChainError as e:
        v["payloads"] = str(e)
    try:
        verify_root(json.loads((d / "root.json").read_text()))
        v["root"] = "ok"
    except JournalChainError as e:
        v["root"] = str(e)
    return v


plain, signed = chain(False), chain(True)
case("plain", plain, root_for(plain, False))
case("signed", signed, root_for(signed, True))

edited = [dict(e) for e in signed]
edited[3]["payload_hash"] = "sha256:" + "ab" * 32
case("payload_hash_edited", edited, root_for(signed, True))

case("line_dropped", signed[:4] + signed[5:], root_for(signed, True))
case("reordered", signed[:2] + [signed[3], signed[2]] + signed[4:], root_for(signed, True))
case("root_count_wrong", signed, root_for(signed, True, count_delta=1))

# Entry 2 rebuilt and signed by a stranger's key (embedded in the entry): the hash chain holds.
by_stranger = list(signed)
by_stranger[1] = build_entry(records[1], stream=STREAM, seq=2, prev_hash=signed[0]["entry_hash"],
                             ts=signed[1]["ts"], deployment_id="dep-7",
                             signing_key=stranger, signing_key_id="deployment-ed25519-v1")
case("stranger_signed", by_stranger, root_for(signed, True))

# Entry 2 keeps its signature, but its embedded key is swapped for the stranger's.
swapped = [dict(e) for e in signed]
swapped[1]["signing_public_key_b64"] = base64.b64encode(stranger.public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
case("embedded_key_swapped", swapped, root_for(signed, True))

raw_edited = [dict(r) for r in records]
raw_edited[6]["score"] = 99
case("raw_record_edited", signed, root_for(signed, True), raw=raw_edited)

root_edited = root_for(signed, True)
root_edited["generated_at"] = "2026-11-23T10:00:00Z"
case("root_edited", signed, root_edited)

# The same chain as the engine's sidecar writes it (ensure_ascii=True, so no raw U+2029).
case("sidecar_form", signed, root_for(signed, True),
     lines="".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in signed))

# A raw record holding U+2029, which canonical_json writes as itself: the engine's read_jsonl
# (str.splitlines) cuts that line in two, so its own payload check fails on its own output.
separated = [dict(r) for r in records]
separated[3]["note"] = "end of paragraph \u2029 here"
separated_chain = build_chain(separated, stream=STREAM, deployment_id="dep-7")
case("raw_paragraph_separator", separated_chain, root_for(separated_chain, False), raw=separated)

all_verdicts = {d.name: verdicts(d.name) for d in sorted(out.iterdir()) if d.is_dir()}
(out / "verdicts.json").write_text(json.dumps(all_verdicts, indent=2, sort_keys=True))
