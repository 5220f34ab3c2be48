"""The six OCX streams (Server-Sent Events): docs/fidelity.md "Streams". Loading the package
lends the scenarios what their `stream` expectation needs (lens.py)."""

from ocx_sim.streams import lens as lens
