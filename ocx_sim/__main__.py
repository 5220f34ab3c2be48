"""`python -m ocx_sim`."""

from ocx_sim.cli import main

raise SystemExit(main())
