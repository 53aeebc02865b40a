"""Mail building, retry schedule, consent-link tokens and document checks (no I/O)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyhub.accounts import consent
from storyhub.accounts.verification import (
    MAX_DOCUMENT_BYTES,
    PayloadTooLarge,
    UnsupportedDocument,
    check_document,
)
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import InvalidInput
from storyhub.mail.message import BACKOFF_CAP_SECONDS, backoff_seconds, build_message
from storyhub.settings import SettingsError, load_settings

# A secret key given means load_settings writes no key file: no I/O here.
NO_FILES = {"STORYHUB_DATA_DIR": "/nonexistent/storyhub", "STORYHUB_SECRET_KEY": "k" * 40}


class TestBackoff:
    def test_doubles_from_thirty_seconds(self) -> None:
        assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]

    def test_is_capped_at_an_hour(self) -> None:
        assert backoff_seconds(30) == BACKOFF_CAP_SECONDS

    @given(st.integers(1, 40), st.floats(0, 0.999))
    def test_jitter_stretches_by_at_most_a_quarter(self, attempts: int, jitter: float) -> None:
        base = backoff_seconds(attempts)
        assert base <= backoff_seconds(attempts, jitter) <= base * 1.25

    def test_attempts_count_from_one(self) -> None:
        with pytest.raises(ValueError):
            backoff_seconds(0)


class TestMessage:
    def test_headers_and_body(self) -> None:
        message = build_message(
            mail_from="storyhub <no-reply@storyhub.test>",
            recipient="parent@example.test",
            subject="Consent",
            body="Hello\n",
            message_id="abc",
        )
        assert message["To"] == "parent@example.test"
        assert message["X-Storyhub-Outbox-Id"] == "abc"
        assert message["Message-ID"].endswith("@storyhub.test>")
        assert message.get_content() == "Hello\n"

    @pytest.mark.parametrize("field", ["recipient", "subject"])
    def test_header_injection_is_refused(self, field: str) -> None:
        values = {"recipient": "p@example.test", "subject": "S"}
        values[field] += "\r\nBcc: victim@example.test"
        with pytest.raises(ValueError):
            build_message(mail_from="a@b.test", body="x", message_id="1", **values)


class TestLinkTokens:
    def test_tokens_are_random_and_map_to_their_link_id(self) -> None:
        a, b = consent.new_link_token(), consent.new_link_token()
        assert a != b
        assert a.startswith("shc_")
        assert len(a) >= 40
        assert consent.link_id_for(a) == consent.link_id_for(a)
        assert consent.link_id_for(a) != consent.link_id_for(b)
        assert str(consent.link_id_for(a)) not in a

    def test_mask_email(self) -> None:
        assert consent.mask_email("parent@example.org") == "p***@example.org"

    def test_parse_scopes(self) -> None:
        assert consent.parse_scopes(["participate", "aiFeatures"]) == {"participate", "aiFeatures"}
        with pytest.raises(InvalidInput) as missing:
            consent.parse_scopes(["aiFeatures"])
        assert missing.value.code == "participateRequired"
        with pytest.raises(InvalidInput) as unknown:
            consent.parse_scopes(["participate", "nope"])
        assert unknown.value.code == "unknownScope"


class TestDocuments:
    @pytest.mark.parametrize(
        ("content_type", "data"),
        [
            ("image/jpeg", b"\xff\xd8\xff\xe0rest"),
            ("image/png", b"\x89PNG\r\n\x1a\nrest"),
            ("application/pdf; charset=binary", b"%PDF-1.4 rest"),
            ("IMAGE/PNG", b"\x89PNG\r\n\x1a\nrest"),
        ],
    )
    def test_allowed(self, content_type: str, data: bytes) -> None:
        assert check_document(content_type, data) == content_type.split(";")[0].lower()

    @pytest.mark.parametrize(
        ("content_type", "data"),
        [
            ("text/plain", b"hello"),
            ("image/gif", b"GIF89a"),
            (None, b"%PDF-"),
            ("image/png", b"%PDF-1.4"),  # the declaration must match the bytes
            ("application/pdf", b"<html>"),
        ],
    )
    def test_refused(self, content_type: str | None, data: bytes) -> None:
        with pytest.raises(UnsupportedDocument):
            check_document(content_type, data)

    def test_size_limit_and_empty(self) -> None:
        with pytest.raises(PayloadTooLarge):
            check_document("application/pdf", b"%PDF-" + b"0" * MAX_DOCUMENT_BYTES)
        with pytest.raises(InvalidInput):
            check_document("application/pdf", b"")


class TestSealedBytes:
    def test_round_trip_bound_to_context(self) -> None:
        cipher = FieldCipher("s" * 40)
        sealed = cipher.seal_bytes(b"\x89PNG secret", context="verification-document:1")
        assert b"secret" not in sealed
        assert cipher.open_bytes(sealed, context="verification-document:1") == b"\x89PNG secret"
        with pytest.raises(ValueError):
            cipher.open_bytes(sealed, context="verification-document:2")
        with pytest.raises(ValueError):
            cipher.open_bytes(
                sealed[:-1] + bytes([sealed[-1] ^ 1]), context="verification-document:1"
            )

    def test_old_keys_still_open(self) -> None:
        old = FieldCipher("o" * 40)
        sealed = old.seal_bytes(b"doc")
        assert FieldCipher("n" * 40, previous=("o" * 40,)).open_bytes(sealed) == b"doc"


class TestSettings:
    def _load(self, **env: str) -> object:
        return load_settings({**NO_FILES, **env})

    @pytest.mark.parametrize(
        ("env", "names"),
        [
            ({"STORYHUB_SMTP_PORT": "25"}, "STORYHUB_SMTP_HOST"),
            ({"STORYHUB_SMTP_HOST": "h", "STORYHUB_SMTP_PORT": "x"}, "STORYHUB_SMTP_PORT"),
            ({"STORYHUB_SMTP_HOST": "h", "STORYHUB_SMTP_PORT": "70000"}, "STORYHUB_SMTP_PORT"),
            (
                {"STORYHUB_SMTP_HOST": "h", "STORYHUB_SMTP_STARTTLS": "sometimes"},
                "STORYHUB_SMTP_STARTTLS",
            ),
            ({"STORYHUB_SMTP_HOST": "h", "STORYHUB_SMTP_USERNAME": "u"}, "STORYHUB_SMTP_PASSWORD"),
            ({"STORYHUB_MAIL_FROM": "not an address"}, "STORYHUB_MAIL_FROM"),
            ({"STORYHUB_PUBLIC_URL": "storyhub.example"}, "STORYHUB_PUBLIC_URL"),
            ({"STORYHUB_GOOGLE_JWKS_URL": "https://x.example/certs"}, "STORYHUB_GOOGLE_CLIENT_ID"),
            (
                {
                    "STORYHUB_GOOGLE_CLIENT_ID": "c",
                    "STORYHUB_GOOGLE_JWKS_URL": "file:///etc/passwd",
                },
                "STORYHUB_GOOGLE_JWKS_URL",
            ),
        ],
    )
    def test_bad_values_name_the_variable(self, env: dict[str, str], names: str) -> None:
        with pytest.raises(SettingsError, match=names):
            self._load(**env)

    def test_defaults_are_embedded(self) -> None:
        settings = load_settings({**NO_FILES})
        assert settings.smtp is None
        assert settings.google is None

    def test_smtp_settings(self) -> None:
        settings = load_settings(
            {
                **NO_FILES,
                "STORYHUB_SMTP_HOST": "mail.example",
                "STORYHUB_SMTP_PORT": "2525",
                "STORYHUB_SMTP_USERNAME": "u",
                "STORYHUB_SMTP_PASSWORD": "p w",
                "STORYHUB_SMTP_STARTTLS": "false",
            }
        )
        assert settings.smtp is not None
        assert (settings.smtp.port, settings.smtp.password, settings.smtp.starttls) == (
            2525,
            "p w",
            False,
        )
