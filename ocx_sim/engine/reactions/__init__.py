"""What the exchange does on its own, and the one loop that runs it.

A command (commands/) never calls a reaction: it records what happened in `state.facts`.
After every command and after every timer, `Reactions.run` answers those facts, each round in
this declared order, until a round records no new facts:

1. the trigger watcher (triggers.py), when marks may have moved: fire the untriggered orders
   the marks now cross, oldest first;
2. the liquidation (liquidation.py): after marks moved (or funding), every account; after
   fills, the accounts whose positions they changed. It runs after the triggers, so a
   stop-loss may spare its account;
3. the price tick (ticker.py): wakes when something can now move with time: after marks
   moved, a cancel-all, or orders on a perpetual's book;
4. the keeper (keeper.py): schedules a deposit's confirmations and the withdrawal keeper's run
   for the records that now wait on the chain.

A reaction's own orders are commands too, so their facts are answered in the next round.
The others act on their own timers: funding (funding.py) and expiries (expiry.py) record that
marks moved, the price tick (ticker.py) stops where the watchers are owed a look and records
the same, and the liquidity agents (liquidity.py, option_liquidity.py) quote through the
bulk-quote command. A reaction with nothing to answer costs one attribute check.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from ocx_sim.engine.reactions.expiry import Expiries
from ocx_sim.engine.reactions.funding import Funding
from ocx_sim.engine.reactions.keeper import Keeper
from ocx_sim.engine.reactions.liquidation import Liquidation
from ocx_sim.engine.reactions.liquidity import LiquidityAgent, LiquiditySpec
from ocx_sim.engine.reactions.option_liquidity import OptionLiquidityAgent, OptionLiquiditySpec
from ocx_sim.engine.reactions.takers import TakerAgent, TakerSpec
from ocx_sim.engine.reactions.ticker import Refresher, Ticker
from ocx_sim.engine.reactions.triggers import TriggerWatcher
from ocx_sim.engine.state import Facts, State


class Reactions:
    def __init__(self, state: State) -> None:
        self._state = state
        # Expiry timers are scheduled before the first funding timer: at an instant where
        # both fall due (08:00 is a funding boundary), the expiry settles first.
        self.expiries = Expiries(state)
        self.funding = Funding(state)
        self.funding.start()
        self.triggers = TriggerWatcher(state)
        self.liquidation = Liquidation(state)
        self.refreshers: list[Refresher] = []
        self.takers: list[TakerAgent] = []
        """The liquidity agents, each at its deferrable timer's `order`."""
        self.ticker = Ticker(
            state, self.funding, (self.triggers, self.liquidation), self.refreshers
        )
        self.keeper = Keeper(state)
        self._spare = Facts()
        """The facts of the round being answered take turns with this one (cleared, not made
        anew: a command's facts are answered on the hot path of every order)."""
        # Every timer's callback is followed by the loop, whoever scheduled it.
        state.clock.after_timer = self.run

    def run(self) -> None:
        """Answer the recorded facts, round after round in the declared order (module
        docstring), until none are left."""
        state = self._state
        facts = state.facts
        # `Facts.__bool__` and `Facts.clear` written out: this runs after every order.
        while facts.filled or facts.perp_book or facts.marks or facts.wake or facts.chain:
            state.facts, self._spare = self._spare, facts
            try:
                if facts.marks:
                    self.triggers.check()
                    self.liquidation.check()
                elif facts.filled:
                    self.liquidation.check_users(facts.filled)
                if facts.marks or facts.wake or facts.perp_book:
                    self.ticker.wake()
                if facts.chain:
                    self.keeper.react(facts.chain)
            finally:
                facts.filled.clear()
                facts.perp_book = facts.marks = facts.wake = False
                facts.chain.clear()
            facts = state.facts

    def add_agent(self, user_id: str, spec: LiquiditySpec) -> None:
        """Start a house market maker (liquidity.py) for `user_id`'s account, after the others."""
        user = self._state.accounts.by_id[user_id]
        agent = LiquidityAgent(self._state, user, spec, len(self.refreshers))
        self.refreshers.append(agent)
        agent.start()

    def add_takers(self, user_id: str, spec: TakerSpec) -> None:
        """Start a house taker's order flow (takers.py) for `user_id`'s account."""
        agent = TakerAgent(self._state, self._state.accounts.by_id[user_id], spec)
        self.takers.append(agent)
        agent.start()

    def add_option_agent(self, user_id: str, spec: OptionLiquiditySpec) -> None:
        """Start a house options market maker (option_liquidity.py), after the others."""
        user = self._state.accounts.by_id[user_id]
        agent = OptionLiquidityAgent(self._state, user, spec, len(self.refreshers))
        self.refreshers.append(agent)
        agent.start()


class Reacting(Protocol):
    """An object whose commands the reaction loop follows (`Exchange`, `Sim`)."""

    _reactions: Reactions


SelfT = TypeVar("SelfT", bound=Reacting)
P = ParamSpec("P")
R = TypeVar("R")


def command(method: Callable[Concatenate[SelfT, P], R]) -> Callable[Concatenate[SelfT, P], R]:
    """Mark a method as a command: when it returns (or raises), the reaction loop answers the
    facts it recorded. Every state-changing method of `Exchange` and `Sim` is one; invariants.py
    reports facts left unanswered, which is what forgetting it would leave."""

    def run(self: SelfT, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        finally:
            self._reactions.run()

    functools.update_wrapper(run, method)
    return run
