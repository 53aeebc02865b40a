"""The application factory: plugins, routes, dependencies and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from piccolo.engine.base import Engine
from valkey.asyncio import Valkey

from storyhub import __version__
from storyhub.accounts.auth import PUBLIC_PATHS, BearerAuthMiddleware
from storyhub.accounts.tokens import TokenService
from storyhub.lib import database
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.heap import HeapPolicy, heap_lifespan
from storyhub.lib.kv import open_valkey
from storyhub.lib.logging import configure_logging, request_id_middleware
from storyhub.lib.problems import EXCEPTION_HANDLERS
from storyhub.lib.text import refuse_nul_text
from storyhub.piccolo_app import TABLES
from storyhub.settings import Settings, load_settings

MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Services:
    """Long-lived resources owned by one app's lifespan."""

    settings: Settings
    engine: Engine[Any]
    cipher: FieldCipher
    valkey: Valkey | None = None


def _services(state: State) -> Services:
    services: Services = state.services
    return services


def _settings(state: State) -> Settings:
    return _services(state).settings


def _cipher(state: State) -> FieldCipher:
    return _services(state).cipher


def _valkey(state: State) -> Valkey | None:
    return _services(state).valkey


def _tokens(state: State) -> TokenService:
    tokens: TokenService = state.tokens
    return tokens


def _store(settings: Settings, valkey: Valkey | None, namespace: str) -> Store:
    if valkey is None:
        return MemoryStore()
    # RedisStore works against Redis 7 and Valkey; ValkeyStore needs Valkey 8.
    return RedisStore(valkey, namespace=f"storyhub:{namespace}")  # type: ignore[arg-type]


def create_app(settings: Settings | None = None) -> Litestar:
    """Build a storyhub app; resources open in its lifespan, never at import."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    engine = database.build_engine(settings.database_url)
    database.install_engine(engine, TABLES)
    valkey = open_valkey(settings.valkey_url) if settings.valkey_url else None
    services = Services(
        settings=settings, engine=engine, cipher=FieldCipher(settings.secret_key), valkey=valkey
    )

    tokens = TokenService(
        settings.secret_key,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl_seconds=settings.access_token_ttl,
    )

    @asynccontextmanager
    async def resources(_: Litestar) -> AsyncIterator[None]:
        await database.open_pool(engine)
        try:
            await database.migrate(engine, TABLES)
            yield
        finally:
            await database.close_pool(engine)
            if valkey is not None:
                await valkey.aclose()

    from storyhub.accounts import identity_wiring as identity
    from storyhub.accounts.controllers import ROUTE_HANDLERS as ACCOUNT_ROUTES
    from storyhub.accounts.events import log_sessions_revoked
    from storyhub.books.controllers import ROUTE_HANDLERS as BOOK_ROUTES
    from storyhub.datarights.controllers import ROUTE_HANDLERS as DATA_RIGHTS_ROUTES
    from storyhub.health import HealthController
    from storyhub.jobs.controllers import ROUTE_HANDLERS as JOB_ROUTES
    from storyhub.media.controllers import ROUTE_HANDLERS as MEDIA_ROUTES
    from storyhub.safety.moderation_controllers import ROUTE_HANDLERS as MODERATION_ROUTES
    from storyhub.safety.room_filter import safety_lifespan
    from storyhub.sessions import wiring as sessions
    from storyhub.sessions.ai_seat import ai_seat_lifespan
    from storyhub.stories.controllers import LISTENERS as STORY_LISTENERS
    from storyhub.stories.controllers import StoryController
    from storyhub.stories.memory_controllers import ROUTE_HANDLERS as MEMORY_ROUTES
    from storyhub.stories.tickets import build_ticket_book

    route_handlers: list[Any] = [
        HealthController,
        *ACCOUNT_ROUTES,
        *identity.ROUTE_HANDLERS,
        StoryController,
        *sessions.ROUTE_HANDLERS,
        *MODERATION_ROUTES,
        *BOOK_ROUTES,
        *MEDIA_ROUTES,
        *JOB_ROUTES,
        *MEMORY_ROUTES,
        *DATA_RIGHTS_ROUTES,
    ]
    listeners: list[Any] = [log_sessions_revoked, *STORY_LISTENERS, *sessions.LISTENERS]
    # safety_lifespan sets app.state.content_filter before the sessions registry starts.
    lifespans: list[Any] = [
        resources,
        *identity.LIFESPANS,
        safety_lifespan,
        ai_seat_lifespan,  # the narrator's seat, also read by the sessions registry
        sessions.session_lifespan,
        # Last: freezes what every lifespan above built, then keeps freezing survivors.
        heap_lifespan(
            HeapPolicy(
                settings.gc_freeze_seconds, settings.gc_sweep_seconds, settings.gc_young_threshold
            )
        ),
    ]

    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.auth_rate_limit),
        check_throttle_handler=lambda request: request.url.path.startswith("/auth/"),
        store="rate_limit",
    )
    cors = (
        CORSConfig(allow_origins=list(settings.allowed_origins), allow_credentials=False)
        if settings.allowed_origins
        else None
    )
    return Litestar(
        route_handlers=[Router(path="/", route_handlers=route_handlers)],
        dependencies={
            "settings": Provide(_settings, sync_to_thread=False),
            "cipher": Provide(_cipher, sync_to_thread=False),
            "valkey": Provide(_valkey, sync_to_thread=False),
            "tokens": Provide(_tokens, sync_to_thread=False),
        },
        state=State(
            {"services": services, "tokens": tokens, "ws_tickets": build_ticket_book(valkey)}
        ),
        lifespan=lifespans,
        listeners=listeners,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_request=refuse_nul_text,
        middleware=[
            request_id_middleware,
            rate_limit.middleware,
            DefineMiddleware(BearerAuthMiddleware, exclude=PUBLIC_PATHS),
        ],
        stores={
            "rate_limit": _store(settings, valkey, "rate_limit"),
            "tickets": _store(settings, valkey, "tickets"),
        },
        cors_config=cors,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="storyhub",
            version=__version__,
            description="Collaborative, AI-assisted storytelling in real time.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        logging_config=None,  # configure_logging owns the handlers
        debug=False,
    )
