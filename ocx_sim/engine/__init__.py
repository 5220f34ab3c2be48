"""The pure, deterministic exchange engine: no HTTP, YAML or asyncio (DESIGN.md)."""
