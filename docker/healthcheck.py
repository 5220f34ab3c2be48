"""The image's HEALTHCHECK: healthy when the server answers `GET /perps/markets` with 200.

It asks the port the server was started with: the last `--port` on the command line of the
container's first process (the server, or an init such as `docker run --init` that carries the
server's command line), else 8000. Standard library only: the image has no curl.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

DEFAULT_PORT = 8000


def server_port(argv: list[str]) -> int:
    port = DEFAULT_PORT
    for i, arg in enumerate(argv):
        if arg == "--port" and i + 1 < len(argv):
            port = int(argv[i + 1])
        elif arg.startswith("--port="):
            port = int(arg.split("=", 1)[1])
    return port


def main() -> int:
    try:
        argv = Path("/proc/1/cmdline").read_bytes().decode().split("\0")
    except OSError:
        argv = []
    url = f"http://127.0.0.1:{server_port(argv)}/perps/markets"
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return 0 if answer.status == 200 else 1
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
