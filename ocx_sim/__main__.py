"""`python -m ocx_sim`."""

from ocx_sim.launch import main

raise SystemExit(main())
