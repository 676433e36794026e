"""The language server: a thin adapter from LSP messages to the engine and back."""

import gc


def serve() -> None:
    """Run the language server over stdio until the client ends the session."""
    # The server's imports (lsprotocol's 570 classes, pygls) make objects that live as long as
    # the process: a full collection among them only scans them (30-40 ms of a 350 ms start).
    # The younger collections go on: they free the classes attrs replaces (9 MB). Frozen,
    # later collections skip what the imports made.
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], 10**9)
    try:
        from .generated_code import forget_generated_sources
        from .server import serve as run

        forget_generated_sources()
    finally:
        gc.freeze()
        gc.set_threshold(*thresholds)
    run()
