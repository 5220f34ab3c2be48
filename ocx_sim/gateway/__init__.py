"""The gateway every HTTP endpoint goes through (the OCX API's and the /_sim control API's):
world routing, credentials, rate limits, body parsing and error rendering, the jobs OCX gives
its own gateway (https://docs.ocx.global/get-started/architecture)."""
