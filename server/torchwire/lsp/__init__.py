"""The language server: a thin adapter from LSP messages to the engine and back."""

import gc
import sys
from contextlib import contextmanager

# asyncio imports ssl, for TLS streams, and hashlib OpenSSL, for its digests: a server over
# stdio opens no TLS stream, and the digests it takes (blake2b, sha256) are built into Python.
# OpenSSL's libraries are 5 MB of the resident set.
OPENSSL_MODULES = ("ssl", "_ssl", "_hashlib")


def serve() -> None:
    """Run the language server over stdio until the client ends the session."""
    # The server's imports (lsprotocol's 570 classes, pygls) make objects that live as long as
    # the process: a full collection among them only scans them (30-40 ms of a 350 ms start).
    # The younger collections go on: they free the classes attrs replaces (9 MB). Frozen,
    # later collections skip what the imports made.
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], 10**9)
    try:
        with without_openssl():  # hashlib too, imported by generated_code: Python's own digests
            from .generated_code import forget_generated_sources
            from .server import serve as run

        forget_generated_sources()
    finally:
        gc.freeze()
        gc.set_threshold(*thresholds)
    run()


@contextmanager
def without_openssl():
    """While the block runs, OpenSSL's modules read as absent: what imports them then goes
    without (asyncio's TLS, hashlib's OpenSSL digests). They import as usual afterwards."""
    blocked = [name for name in OPENSSL_MODULES if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
