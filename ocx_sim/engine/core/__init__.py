"""The engine's state-free structures and arithmetic: money, markets, orders, events, the book
and matching, the ledger, accounts and positions, fees, the tape, the index, prices and risk.

Nothing here imports another part of the engine: commands and reactions build on these, never
the other way round (import-linter checks it, docs/architecture.md "The engine")."""
