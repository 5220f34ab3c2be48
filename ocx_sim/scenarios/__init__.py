"""YAML scenarios: the model, the loader with path-qualified errors, the player and the
bundled library (docs/scenarios.md). No web stack here; the world is reached through the
player's `Host` protocol, which `ocx_sim/worlds` implements."""
