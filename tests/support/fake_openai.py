"""A tiny OpenAI-compatible chat server for end-to-end tests (stdlib ``http.server``).

It answers ``POST /v1/chat/completions`` — streamed (server-sent events) or
not, as the client asks — with scripted replies, and counts the calls. A
script is keyed by a marker (e.g. a story's title) found in the request's
messages, so tests sharing one server never see each other's replies or
counts. Requests matching no script get :data:`DEFAULT_REPLY`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_REPLY = "The wind turned the pages of the old map."


class FakeOpenAI:
    """Start with :meth:`start`; point ``STORYHUB_OPENAI_BASE_URL`` at :attr:`base_url`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, list[str]] = {}
        self._calls: defaultdict[str, int] = defaultdict(int)
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, marker: str, replies: list[str]) -> None:
        """Answer requests mentioning ``marker`` with ``replies`` in turn (the last repeats)."""
        with self._lock:
            self._scripts[marker] = list(replies)
            self._calls[marker] = 0

    def calls(self, marker: str) -> int:
        """How many chat requests mentioned ``marker``."""
        with self._lock:
            return self._calls[marker]

    def _reply_for(self, body: dict[str, Any]) -> str:
        text = json.dumps(body.get("messages", []))
        with self._lock:
            self.requests.append(body)
            for marker, replies in self._scripts.items():
                if marker in text:
                    index = self._calls[marker]
                    self._calls[marker] += 1
                    return replies[min(index, len(replies) - 1)]
            self._calls[""] += 1
        return DEFAULT_REPLY

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:  # the stdlib names it so
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    error = {"error": {"message": "not here", "type": "invalid_request_error"}}
                    self._send(404, "application/json", json.dumps(error).encode())
                    return
                reply = fake._reply_for(body)
                model = str(body.get("model", "fake-model"))
                common = {"id": "chatcmpl-fake", "created": int(time.time()), "model": model}
                if not body.get("stream"):
                    answer = {
                        **common,
                        "object": "chat.completion",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                    self._send(200, "application/json", json.dumps(answer).encode())
                    return
                chunks = [
                    {"index": 0, "delta": {"role": "assistant", "content": reply}},
                    {"index": 0, "delta": {}, "finish_reason": "stop"},
                ]
                events = [
                    "data: "
                    + json.dumps({**common, "object": "chat.completion.chunk", "choices": [c]})
                    for c in chunks
                ]
                payload = ("\n\n".join([*events, "data: [DONE]"]) + "\n\n").encode()
                self._send(200, "text/event-stream", payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
