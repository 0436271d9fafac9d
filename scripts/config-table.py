#!/usr/bin/env python3
"""Prints the README's configuration table from otelix's ENV_VARS list (crates/otelix/src/config/mod.rs).

Usage: python3 scripts/config-table.py [--write]   (--write replaces the table in README.md)
The test crates/otelix/tests/readme.rs fails when the README and the code disagree.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
src = (root / "crates/otelix/src/config/mod.rs").read_text()
rows = re.findall(r'EnvVar \{\s*name: "([^"]+)",\s*default: "([^"]*)",\s*meaning: "([^"]*)",?\s*\}', src)
table = "| Variable | Default | Meaning |\n|---|---|---|\n" + "\n".join(
    f"| `{n}` | {d} | {m} |" for n, d, m in rows
)
if "--write" in sys.argv:
    readme = root / "README.md"
    text = readme.read_text()
    new = re.sub(r"\| Variable \| Default \| Meaning \|\n\|---\|---\|---\|\n(?:\|[^\n]*\n)+", table + "\n", text)
    readme.write_text(new)
else:
    print(table)
