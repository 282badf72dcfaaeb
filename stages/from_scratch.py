"""DVC stages `from_scratch_{mlp,conv2d}`: a thin entry point; the work is `annstudy stage from_scratch <step>`."""

import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "from_scratch", *sys.argv[1:]]))
