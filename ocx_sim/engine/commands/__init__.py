"""The exchange's commands: one command = admit → match → settle, and what it did.

`admission.py` holds every check an order meets, once, in one order; `execution.py` matches an
admitted order and settles the result (`settlement.py`, with the take-profit/stop-loss
bookkeeping of `brackets.py` and the order records of `records.py`); `trading.py`, `quotes.py`
and `preview.py` are the order commands built on them, `wallet.py` the money's. A command never
calls a reaction: it records its facts in `state.facts` and returns (reactions/__init__.py).
"""
