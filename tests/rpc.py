"""A minimal JSON-RPC peer over the server's stdio, for the protocol details pytest-lsp hides
(two messages in one write, exit codes, a parent process that dies)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from typing import Any


class RawServer:
    def __init__(self, cwd: str | None = None, command: list[str] | None = None):
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "torchwire", "--stdio"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
        )
        self.next_id = 0
        self.messages: queue.Queue = queue.Queue()
        self._reading = threading.Thread(target=self._reader, daemon=True)
        self._reading.start()

    def _reader(self) -> None:
        stream = self.proc.stdout
        while True:
            headers = b""
            while not headers.endswith(b"\r\n\r\n"):
                byte = stream.read(1)
                if not byte:
                    self.messages.put(None)
                    return
                headers += byte
            length = int(next(h for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
            self.messages.put(json.loads(stream.read(length)))

    @staticmethod
    def frame(message: dict) -> bytes:
        body = json.dumps(message).encode("utf-8")
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    def send(self, *messages: dict) -> None:
        """All messages in one write, as a fast client may send them."""
        self.proc.stdin.write(b"".join(self.frame(m) for m in messages))
        self.proc.stdin.flush()

    def request(self, method: str, params: Any) -> dict:
        self.next_id += 1
        return {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}

    @staticmethod
    def notification(method: str, params: Any) -> dict:
        return {"jsonrpc": "2.0", "method": method, "params": params}

    def read(self, timeout: float = 10) -> dict:
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no message from the server") from None
        if message is None:
            raise EOFError("the server closed its output")
        return message

    def response_to(self, request_id: int, timeout: float = 10) -> dict:
        while True:
            message = self.read(timeout)
            if message.get("id") == request_id and "method" not in message:
                return message

    def initialize(self, process_id: int | None = None, options: dict | None = None) -> dict:
        request = self.request("initialize", {"processId": process_id, "rootUri": None, "capabilities": {}, "initializationOptions": options or {}})
        self.send(request)
        result = self.response_to(request["id"])
        self.send(self.notification("initialized", {}))
        return result

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self._reading.join(5)  # it stops at the end of the server's output
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()
