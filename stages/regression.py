import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "regression", *sys.argv[1:]]))
