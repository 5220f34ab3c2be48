"""Server-Sent Events: the OCX streams (docs/fidelity.md "Streams")."""
