"""The /_sim control API (docs/control-api.md): worlds, clock, accounts, deposits, market moves."""
