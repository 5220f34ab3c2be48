"""Testing helpers for ocx-sim users and its own tests: an in-process client (more to come
with the testing-tool issue: fixtures, factories and the pytest plugin)."""
