"""`python -m torchwire` starts the language server (editors add `--stdio`);
`python -m torchwire check ...` and the other commands work as with `torchwire`."""

import os
import sys


def _run() -> int:
    # `python -m` puts the current folder first on the search path, and an editor starts the
    # server in the user's workspace: its `tokenize.py` or `json/` would be imported in place of
    # Python's own, and run (torchwire never runs the code it reads). This package is imported.
    if not getattr(sys.flags, "safe_path", False) and sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    if sys.argv[1:] in ([], ["--stdio"], ["serve"], ["serve", "--stdio"]):  # how editors start it
        from .lsp import serve  # the command line's parser and reports are not needed

        serve()
        return 0
    from .cli import main

    return main(default_command="serve")


sys.exit(_run())
