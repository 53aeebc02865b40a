"""Application-level encryption of sensitive fields, and keyed lookup hashes.

Values are sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the
secret key. Each ciphertext names the key id that sealed it, so a new secret
can be introduced while old values stay readable (pass the old secrets as
``previous``) and re-sealed at leisure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"storyhub", info=purpose).derive(
        secret.encode()
    )


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


class FieldCipher:
    """Seal and open short strings (birth dates, emails, subjects, evidence keys)."""

    def __init__(self, secret: str, previous: tuple[str, ...] = ()) -> None:
        current = _derive(secret, b"field-encryption-v1")
        self._current_id = _key_id(current)
        self._keys = {self._current_id: AESGCM(current)}
        for old in previous:
            key = _derive(old, b"field-encryption-v1")
            self._keys.setdefault(_key_id(key), AESGCM(key))
        self._lookup_key = _derive(secret, b"lookup-hash-v1")

    def seal(self, plaintext: str, context: str = "") -> str:
        """Encrypt ``plaintext``; ``context`` binds it to where it is stored."""
        nonce = os.urandom(12)
        blob = self._keys[self._current_id].encrypt(nonce, plaintext.encode(), context.encode())
        return f"v1.{self._current_id}.{base64.urlsafe_b64encode(nonce + blob).decode()}"

    def open(self, sealed: str, context: str = "") -> str:
        """Decrypt a value from :meth:`seal`; raises ``ValueError`` if tampered."""
        try:
            version, key_id, payload = sealed.split(".", 2)
            if version != "v1":
                raise ValueError("unknown ciphertext version")
            raw = base64.urlsafe_b64decode(payload)
            return self._keys[key_id].decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (KeyError, ValueError) as exc:
            raise ValueError("cannot decrypt a stored field") from exc
        except Exception as exc:  # cryptography's InvalidTag
            raise ValueError("cannot decrypt a stored field") from exc

    def seal_bytes(self, plaintext: bytes, context: str = "") -> bytes:
        """Encrypt a file's bytes (e.g. an uploaded ID document) like :meth:`seal`.

        Layout: ``b"v1." + key id (8 ASCII hex) + b"." + nonce (12) + ciphertext``.
        """
        nonce = os.urandom(12)
        blob = self._keys[self._current_id].encrypt(nonce, plaintext, context.encode())
        return b"v1." + self._current_id.encode() + b"." + nonce + blob

    def open_bytes(self, sealed: bytes, context: str = "") -> bytes:
        """Decrypt bytes from :meth:`seal_bytes`; raises ``ValueError`` if tampered."""
        try:
            if sealed[:3] != b"v1." or sealed[11:12] != b".":
                raise ValueError("unknown ciphertext version")
            key = self._keys[sealed[3:11].decode()]
            return key.decrypt(sealed[12:24], sealed[24:], context.encode())
        except (KeyError, ValueError) as exc:
            raise ValueError("cannot decrypt a stored file") from exc
        except Exception as exc:  # cryptography's InvalidTag
            raise ValueError("cannot decrypt a stored file") from exc

    def lookup_hash(self, value: str) -> str:
        """A keyed, deterministic hash for finding a row by a secret value."""
        return hmac.new(self._lookup_key, value.encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy opaque token (refresh tokens, tickets, links)."""
    return hashlib.sha256(token.encode()).hexdigest()
