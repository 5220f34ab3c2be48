"""The /_sim control API (CONTROL-API.md): worlds, clock, accounts, deposits, market moves."""
