"""What the command line writes about a world as it runs: a scenario run's event trace, its
result as JSON and its HTML report (`ocx-sim run --trace/--json/--report`), and the server's
line per notable event (`ocx-sim serve --log-events`). Nothing here changes a world; each
module only reads its exchange, event log, scenario runs and fault hits.
"""
