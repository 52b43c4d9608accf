#!/usr/bin/env python3
"""Checks that the README's code blocks headed "from [examples/X.cpp]" still quote X.cpp.

Every line of such a block (leading/trailing blanks ignored; a line of just "…" skips lines) must
appear in the example file, in the same order. Exits 1 with the first line that does not.
usage: readme_quotes.py README.md
"""
import pathlib
import re
import sys

readme = pathlib.Path(sys.argv[1])
root = readme.parent
text = readme.read_text(encoding="utf-8")
quote = re.compile(r"^#+ .*from \[(examples/[^\]]+)\]", re.M)
checked = 0
failures = []
for m in quote.finditer(text):
    src = root / m.group(1)
    block = re.search(r"```cpp\n(.*?)```", text[m.end():], re.S)
    if block is None:
        failures.append(f"{m.group(1)}: no ```cpp block after the heading")
        continue
    lines = [l.strip() for l in src.read_text(encoding="utf-8").splitlines()]
    pos = 0
    for q in block.group(1).splitlines():
        q = q.strip()
        if not q or q == "…":
            continue
        try:
            pos = lines.index(q, pos) + 1
        except ValueError:
            failures.append(f"{m.group(1)}: README quotes a line the program does not have (in this order):\n    {q}")
            break
    checked += 1
if checked == 0:
    failures.append("no quoted example blocks found")
for f in failures:
    print("readme_quotes:", f)
if failures:
    sys.exit(1)
print(f"readme_quotes: {checked} blocks match their examples")
