"""The OCX REST surface: thin Starlette handlers, one module per area (DESIGN.md)."""
