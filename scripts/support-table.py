#!/usr/bin/env python3
"""Writes the README's SFU support table from what the tests verified.

Each end-to-end test that checks an adapter against a real server records its row in
tests/support-results/ (tests/src/support.rs). This script merges the rows by adapter and
server and replaces the table between the README's support-table markers. A capability no
test verified shows as "no". With --check it only compares: scripts/test.sh runs it so after
the tests, and fails when the committed table is not what the run verified.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "tests" / "support-results"
README = ROOT / "README.md"
BEGIN = "<!-- support-table: begin (written by scripts/support-table.py from the test run) -->"
END = "<!-- support-table: end -->"
COLUMNS = [("publish", "publish"), ("subscribe", "subscribe"), ("chat", "chat"),
           ("private_chat", "private chat"), ("reconnect", "reconnect")]


def main() -> int:
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for path in sorted(RESULTS.glob("*.json")):
        row = json.loads(path.read_text())
        cells = rows.setdefault((row["adapter"], row["server"]), {})
        for capability, words in row["capabilities"]:
            cells[capability] = words
    if not rows:
        print(f"no support results in {RESULTS}; run the tests first", file=sys.stderr)
        return 1
    lines = ["| adapter | server tested | " + " | ".join(c[1] for c in COLUMNS) + " |",
             "| --- | --- | " + " | ".join("---" for _ in COLUMNS) + " |"]
    for (adapter, server), cells in sorted(rows.items()):
        words = [cells.get(key, "no") for key, _ in COLUMNS]
        lines.append(f"| {adapter} | {server} | " + " | ".join(words) + " |")
    table = "\n".join(lines)
    text = README.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    written = text[:start] + "\n" + table + "\n" + text[end:]
    if "--check" in sys.argv[1:]:
        if written != text:
            print("The README's support table is not what this test run verified. This run's:\n"
                  f"{table}\nRun scripts/support-table.py and commit the README.", file=sys.stderr)
            return 1
        print("support table: the README matches this test run")
        return 0
    README.write_text(written)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
