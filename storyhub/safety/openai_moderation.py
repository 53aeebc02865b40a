"""Optional second opinion: the OpenAI moderation endpoint (only with an API key).

Its categories are mapped onto ours with the same severities the curated rules
use, so the room's level decides what blocks. Errors and timeouts propagate: the
pipeline turns them into a fail-closed ``filterUnavailable`` block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storyhub.safety.levels import Category, Severity
from storyhub.safety.rules import Finding

if TYPE_CHECKING:
    import openai

    from storyhub.settings import Settings

CATEGORY_MAP: dict[str, tuple[Category, Severity]] = {
    "sexual/minors": ("sexual", "severe"),
    "sexual": ("sexual", "strong"),
    "hate": ("hate", "severe"),
    "hate/threatening": ("hate", "severe"),
    "harassment": ("profanity", "strong"),
    "harassment/threatening": ("violence", "strong"),
    "self-harm/instructions": ("selfHarm", "severe"),
    "self-harm/intent": ("selfHarm", "strong"),
    "self-harm": ("selfHarm", "strong"),
    "violence": ("violence", "strong"),
    "violence/graphic": ("violence", "strong"),
    "illicit": ("drugs", "strong"),
    "illicit/violent": ("violence", "strong"),
}
"""OpenAI's category (wire name) -> our category and severity."""

DEFAULT_MODEL = "omni-moderation-latest"


class OpenAIModeration:
    """Asks ``moderations.create`` about one text and returns :class:`Finding`s."""

    def __init__(self, client: openai.AsyncOpenAI, model: str = DEFAULT_MODEL) -> None:
        self.client = client
        self.model = model

    async def findings(self, text: str) -> list[Finding]:
        """Our findings for every category OpenAI flags in ``text``."""
        response = await self.client.moderations.create(model=self.model, input=text)
        found: list[Finding] = []
        for result in response.results:
            flags: dict[str, Any] = result.categories.model_dump(by_alias=True)
            for name, flagged in flags.items():
                if flagged and name in CATEGORY_MAP:
                    category, severity = CATEGORY_MAP[name]
                    found.append(Finding(category, severity, 0, 0, f"openai:{name}"))
        return found

    async def aclose(self) -> None:
        """Close the SDK's HTTP client."""
        await self.client.close()


def moderation_from_settings(
    settings: Settings, http_client: Any = None, timeout: float = 2.0
) -> OpenAIModeration | None:
    """An :class:`OpenAIModeration` when ``settings.openai_api_key`` is set, else ``None``.

    ``http_client`` (an ``httpx2.AsyncClient``) lets tests plug in a mock transport.
    """
    if not settings.openai_api_key:
        return None
    import openai

    client = openai.AsyncOpenAI(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout=timeout,
        # One attempt: the pipeline has its own deadline and fails closed.
        max_retries=0,
        http_client=http_client,
    )
    return OpenAIModeration(client)
