"""The pure, deterministic exchange engine: no HTTP, YAML or asyncio.

Inner layers, each importing only from those below it (import-linter checks them):
`exchange` | `sim` → `views` | `invariants` → `reactions` → `commands` → `state` → `core`.
docs/architecture.md "The engine" is the map.
"""
