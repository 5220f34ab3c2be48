"""What the command line writes about a world as it runs: the server's line per notable event
(`ocx-sim serve --log-events`). Nothing here changes a world; each module only reads its
exchange, event log and fault hits.
"""
