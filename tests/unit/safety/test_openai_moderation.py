"""OpenAI moderation through the real SDK against a mocked HTTP transport."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from storyhub.safety.openai_moderation import CATEGORY_MAP, moderation_from_settings
from storyhub.safety.pipeline import FILTER_UNAVAILABLE, SafetyPipeline, Verdict, build_pipeline
from storyhub.settings import load_settings

SECRET = "s" * 40


def settings(key: str | None = "sk-test", tmp: str = "/tmp/storyhub-safety-test") -> Any:
    env = {"STORYHUB_DATA_DIR": tmp, "STORYHUB_SECRET_KEY": SECRET}
    if key:
        env["STORYHUB_OPENAI_API_KEY"] = key
        env["STORYHUB_OPENAI_BASE_URL"] = "http://moderation.test/v1"
    return load_settings(env)


def moderation_body(*flagged: str) -> dict[str, Any]:
    categories = {name: name in flagged for name in CATEGORY_MAP}
    return {
        "id": "modr-1",
        "model": "omni-moderation-latest",
        "results": [
            {
                "flagged": bool(flagged),
                "categories": categories,
                "category_scores": {
                    name: 0.9 if name in flagged else 0.01 for name in CATEGORY_MAP
                },
                "category_applied_input_types": {name: ["text"] for name in CATEGORY_MAP},
            }
        ],
    }


def pipeline_with(handler: Any) -> SafetyPipeline:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return build_pipeline(settings(), http_client=client)


class TestOpenAIModeration:
    """Requests go out as the SDK sends them; answers map onto our categories."""

    async def test_sends_the_text_and_maps_flags(self) -> None:
        seen: list[dict[str, Any]] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            seen.append({"url": str(request.url), "body": json.loads(request.content)})
            return httpx2.Response(200, json=moderation_body("sexual/minors"))

        pipeline = pipeline_with(handler)
        try:
            verdict = await pipeline.check("an innocent looking sentence", "mature")
        finally:
            await pipeline.aclose()
        assert verdict == Verdict("block", ["sexual"])
        assert seen == [
            {
                "url": "http://moderation.test/v1/moderations",
                "body": {
                    "model": "omni-moderation-latest",
                    "input": "an innocent looking sentence",
                },
            }
        ]

    async def test_unflagged_answer_allows(self) -> None:
        pipeline = pipeline_with(lambda request: httpx2.Response(200, json=moderation_body()))
        try:
            assert await pipeline.check("a dragon story", "allAges") == Verdict("allow")
        finally:
            await pipeline.aclose()

    @pytest.mark.parametrize("status", [429, 500, 503])
    async def test_error_answer_fails_closed(self, status: int) -> None:
        pipeline = pipeline_with(lambda request: httpx2.Response(status, json={"error": {}}))
        try:
            assert await pipeline.check("a dragon story", "allAges") == FILTER_UNAVAILABLE
        finally:
            await pipeline.aclose()

    async def test_unreachable_endpoint_fails_closed(self) -> None:
        def handler(request: httpx2.Request) -> httpx2.Response:
            raise httpx2.ConnectError("connection refused", request=request)

        pipeline = pipeline_with(handler)
        try:
            assert await pipeline.check("a dragon story", "allAges") == FILTER_UNAVAILABLE
        finally:
            await pipeline.aclose()

    def test_no_key_means_no_remote_moderation(self) -> None:
        assert moderation_from_settings(settings(key=None)) is None
        assert build_pipeline(settings(key=None)).moderation is None
