"""`python -m annstudy` is the same as the `annstudy` command."""

from annstudy.cli import main

raise SystemExit(main())
