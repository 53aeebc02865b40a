"""A local JWKS endpoint and Google-like ID tokens signed with keys the test makes."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.services import free_port

GOOGLE_ISSUER = "https://accounts.google.com"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class JwksServer:
    """Serves ``{"keys": [...]}`` for the public halves of the given keys at ``/certs``."""

    def __init__(self, keys: dict[str, rsa.RSAPrivateKey]) -> None:
        self.keys = keys
        self.port = free_port()
        self.requests = 0
        document = {
            "keys": [
                {
                    **json.loads(RSAAlgorithm.to_jwk(key.public_key())),
                    "kid": kid,
                    "alg": "RS256",
                    "use": "sig",
                }
                for kid, key in keys.items()
            ]
        }
        body = json.dumps(document).encode()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "public, max-age=300")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/certs"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def id_token(
    key: rsa.RSAPrivateKey,
    *,
    kid: str,
    aud: str,
    sub: str,
    iss: str = GOOGLE_ISSUER,
    expires_in: int = 600,
    email: str | None = None,
    algorithm: str = "RS256",
    signing_key: Any = None,
) -> str:
    """A Google-shaped ID token."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": iss,
        "aud": aud,
        "sub": sub,
        "iat": now - 10,
        "exp": now + expires_in,
    }
    if email is not None:
        claims["email"] = email
        claims["email_verified"] = True
    return jwt.encode(
        claims,
        signing_key if signing_key is not None else key,
        algorithm=algorithm,
        headers={"kid": kid},
    )
