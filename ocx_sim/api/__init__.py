"""The OCX REST surface: thin Starlette handlers, one module per area (docs/architecture.md
"Above the engine")."""
