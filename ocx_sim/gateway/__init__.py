"""The gateway every HTTP endpoint goes through (the OCX API's and the /_sim control API's):
world routing, credentials, rate limits, body parsing and error rendering (SPEC.md §12:
"API gateway: auth + routing + rate limits")."""
