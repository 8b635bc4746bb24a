"""`python -m edxbench` is the `edxbench` command."""

from edxbench.cli import main

raise SystemExit(main())
