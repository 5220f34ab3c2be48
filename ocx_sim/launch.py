"""The `ocx-sim` command's first step, before anything heavy is imported: a server runs under
the C library's allocator.

Python's own allocator keeps the memory freed objects leave for its next objects, in arenas it
gives back only when wholly empty, and one long-lived object among a burst of freed orders
keeps its arena. So a sandbox that forgot a burst of 200,000 orders (docs/fidelity.md
"Retention") would hold most of their memory for good. Under glibc's `malloc`, which a world
asks to give free pages back once it has forgotten a lot (worlds/memory.py), it returns to
within a few percent of where it was (`bench/retention.py`), and the order path runs as fast.
So on Linux `ocx-sim serve` starts itself again with `PYTHONMALLOC=malloc`, unless
`PYTHONMALLOC` is set already (set it to choose another allocator). Every other command runs
as it was started.
"""

from __future__ import annotations

import os
import sys

SERVER_ALLOCATOR = "malloc"


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["serve"] and sys.platform == "linux" and "PYTHONMALLOC" not in os.environ:
        environment = {**os.environ, "PYTHONMALLOC": SERVER_ALLOCATOR}
        # The same command line, interpreter options (`-X`, `-W`) included.
        os.execve(sys.executable, sys.orig_argv, environment)
    from ocx_sim.cli import main as run

    return run(argv)
