"""Running the app under uvicorn (httptools, uvloop; access log off by default)."""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette


def serve(
    app: Starlette, host: str = "127.0.0.1", port: int = 8000, access_log: bool = False
) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        http="httptools",
        loop="uvloop",
        access_log=access_log,
        log_level="info",
    )
