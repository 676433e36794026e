"""`python -m torchwire` starts the language server (editors add `--stdio`);
`python -m torchwire check ...` and the other commands work as with `torchwire`."""

import sys

from .cli import main

sys.exit(main(default_command="serve"))
