"""`python -m analysis`: the command line (analysis.cli)."""

from analysis.cli import main

raise SystemExit(main())
