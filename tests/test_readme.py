"""The README's Python example runs as written and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_engine_example_runs_and_prints_what_it_claims() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a Python example"
    example = blocks[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    claims = [c.strip() for c in re.findall(r"print\(.*\)\s+#(.*)", example)]
    # Every commented print shows its output, except the last: the digest, described in words.
    assert lines[: len(claims) - 1] == claims[:-1]
    assert re.fullmatch(r"[0-9a-f]{64}", lines[-1])
