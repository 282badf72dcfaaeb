import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "spiral", *sys.argv[1:]]))
