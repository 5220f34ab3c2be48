"""The API tests' fixtures (a world, its in-process client, funded accounts) for the streams."""

from tests.api.conftest import client, config, other, trader, world, worlds

__all__ = ["client", "config", "other", "trader", "world", "worlds"]
