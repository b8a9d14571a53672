#!/usr/bin/env python3
"""Checks ComputeBank's per-stream hash chains on your own machine, with only the Python 3 standard library.

Input: the CSV that samples/verify-chain/export.sql writes (psql ... -f export.sql > ledger-chain.csv), or standard
input when the file is "-". The algorithm is the one docs/audit.md describes:

    hash(event) = lowercase hex SHA-256 of the UTF-8 bytes of
        stream_id "\\n" version "\\n" type "\\n" canonical(data) "\\n" canonical(metadata) "\\n"
        timestamp (UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ) "\\n" previous_hash ("" for version 1)

where canonical() is PostgreSQL's text form of a jsonb value (recomputed here from the JSON, not trusted as given).
Per stream, versions run 1, 2, 3, ... without a hole, version 1 has no previous hash, each later event's previous hash
is the hash of the event before it, every stored hash equals the recomputed one, and the stream row's version and
head hash are those of the last event.

  python3 verify_chain.py ledger-chain.csv                       # exit 0: every chain intact; 1: breaks listed
  python3 verify_chain.py ledger-chain.csv --write-heads heads.csv   # also keep every stream's head for next time
  python3 verify_chain.py ledger-chain.csv --expect-heads heads.csv  # and check that history up to them is unchanged

A chain shows edits and deletions made without recomputing the hashes. Someone able to rewrite the tables can also
recompute every hash after an edit; --expect-heads, with heads kept outside the database from an earlier check,
catches that too (the events up to each kept head must still hash to it).
Exit status 2: the input could not be read.
"""

import argparse
import csv
import hashlib
import json
import re
import sys
from decimal import Decimal, InvalidOperation

COLUMNS = ["stream_id", "version", "type", "data", "metadata", "timestamp", "hash", "previous_hash",
           "stream_version", "stream_last_hash"]
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
NUMBER = re.compile(r"^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$")


class BadInput(Exception):
    pass


class _Number:
    """A JSON number kept as its text, so that 1200.00 is not turned into 1200.0 or 1200."""

    def __init__(self, text):
        self.text = text


def canonical(text):
    """PostgreSQL's jsonb output for the JSON document `text`."""
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_float=_Number, parse_int=_Number,
                           parse_constant=_refuse)
    except (ValueError, RecursionError) as error:
        raise BadInput(f"not JSON: {error}") from None
    return _write(value)


def _refuse(name):
    raise ValueError(f"{name} is not JSON")


class _Object:
    """A JSON object with its keys in jsonb's order."""

    def __init__(self, items):
        self.items = items


def _object(pairs):
    # jsonb keeps the last of duplicate keys and orders keys by their length in bytes, then bytewise.
    merged = dict(pairs)
    return _Object(sorted(merged.items(), key=lambda kv: (len(kv[0].encode("utf-8")), kv[0].encode("utf-8"))))


def _write(value):
    if isinstance(value, _Object):
        return "{" + ", ".join(_string(k) + ": " + _write(v) for k, v in value.items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_write(v) for v in value) + "]"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, _Number):
        return _numeric(value.text)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    raise BadInput(f"unexpected JSON value {value!r}")


def _string(text):
    """PostgreSQL's escape_json: quote, backslash, \\b \\f \\n \\r \\t, other control characters as \\u00xx."""
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _numeric(text):
    """PostgreSQL's numeric output: plain notation, the scale the input implies (1.50 stays 1.50, 1e2 is 100)."""
    match = NUMBER.match(text)
    if not match:
        raise BadInput(f"bad JSON number {text}")
    fraction = match.group(2) or ""
    exponent = int(match.group(3) or "0")
    scale = max(0, len(fraction) - exponent)
    try:
        rendered = format(Decimal(text), f".{scale}f")
    except InvalidOperation:
        raise BadInput(f"bad JSON number {text}") from None
    return rendered[1:] if rendered.startswith("-") and Decimal(rendered) == 0 else rendered


def event_hash(stream_id, version, type_name, data, metadata, timestamp, previous_hash):
    text = "\n".join([stream_id, str(version), type_name, canonical(data), canonical(metadata), timestamp,
                      previous_hash or ""])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_rows(handle):
    reader = csv.DictReader(handle)
    if reader.fieldnames != COLUMNS:
        raise BadInput(f"expected the columns {','.join(COLUMNS)} (samples/verify-chain/export.sql), got {reader.fieldnames}")
    return list(reader)


def verify(rows):
    """Returns (events checked, streams, breaks as (stream, version, kind, detail), heads as {stream: (version, hash)})."""
    streams = {}
    for row in rows:
        streams.setdefault(row["stream_id"], []).append(row)
    breaks, heads, events = [], {}, 0
    for stream_id in sorted(streams):
        chain = [r for r in streams[stream_id] if r["version"] != ""]
        stream_row = streams[stream_id][0]
        stream_version = int(stream_row["stream_version"]) if stream_row["stream_version"] else 0
        stream_head = stream_row["stream_last_hash"] or None
        prior_version, prior_hash, broken = 0, None, False
        events += len(chain)
        for row in chain:
            version = int(row["version"])
            if not TIMESTAMP.match(row["timestamp"]):
                raise BadInput(f"{stream_id} v{version}: timestamp {row['timestamp']!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
            previous = row["previous_hash"] or None
            recomputed = event_hash(stream_id, version, row["type"], row["data"], row["metadata"], row["timestamp"], previous)
            if version != prior_version + 1:
                breaks.append((stream_id, version, "event_missing", f"version {version} follows version {prior_version}"))
            elif previous != prior_hash:
                breaks.append((stream_id, version, "previous_hash_mismatch", "previous hash is not the hash of the event before"))
            elif recomputed != row["hash"]:
                breaks.append((stream_id, version, "content_altered", f"stored hash {row['hash']} but the content hashes to {recomputed}"))
            else:
                prior_version, prior_hash = version, row["hash"]
                continue
            broken = True
            break
        if chain:
            heads[stream_id] = (int(chain[-1]["version"]), chain[-1]["hash"])
        if not broken:
            last_version, last_hash = (int(chain[-1]["version"]), chain[-1]["hash"]) if chain else (0, None)
            if stream_version != last_version or stream_head != last_hash:
                breaks.append((stream_id, stream_version, "tail_mismatch",
                               f"stream row (version {stream_version}, head {stream_head or '-'}) does not match the last "
                               f"stored event (version {last_version}, hash {last_hash or '-'})"))
    return events, len(streams), breaks, heads, streams


def check_heads(expected_file, streams):
    """Every head kept earlier must still be in its chain: the event at that version has that hash."""
    breaks = []
    with open(expected_file, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stream_id, version, kept = row["stream_id"], int(row["version"]), row["hash"]
            found = next((r["hash"] for r in streams.get(stream_id, []) if r["version"] and int(r["version"]) == version), None)
            if found != kept:
                breaks.append((stream_id, version, "head_changed",
                               f"kept head {kept} but the event at version {version} now has {found or 'no event'}"))
    return breaks


def main(argv):
    parser = argparse.ArgumentParser(description="Check ComputeBank's hash chains (see docs/audit.md).")
    parser.add_argument("file", help="CSV written by samples/verify-chain/export.sql, or - for standard input")
    parser.add_argument("--write-heads", metavar="FILE", help="write every stream's head (stream_id,version,hash) to FILE")
    parser.add_argument("--expect-heads", metavar="FILE", help="heads written by an earlier run; each must still be in its chain")
    args = parser.parse_args(argv)
    try:
        if args.file == "-":
            rows = read_rows(sys.stdin)
        else:
            with open(args.file, newline="", encoding="utf-8") as handle:
                rows = read_rows(handle)
        events, stream_count, breaks, heads, streams = verify(rows)
        if args.expect_heads:
            breaks += check_heads(args.expect_heads, streams)
    except (BadInput, OSError, KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.write_heads:
        with open(args.write_heads, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["stream_id", "version", "hash"])
            for stream_id in sorted(heads):
                writer.writerow([stream_id, heads[stream_id][0], heads[stream_id][1]])
    for stream_id, version, kind, detail in breaks:
        print(f"BROKEN {stream_id} v{version} {kind}: {detail}")
    verdict = "OK" if not breaks else "BROKEN"
    print(f"{verdict}: {events} events in {stream_count} streams checked, {len(breaks)} broken chains")
    return 0 if not breaks else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
