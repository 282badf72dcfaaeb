import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "signals", *sys.argv[1:]]))
