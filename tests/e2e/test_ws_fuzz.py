"""Generated junk over a real WebSocket: every frame is answered or ignored, never fatal.

A seeded generator sends frames the protocol does not expect — garbage text,
binary, JSON of every shape, known commands with fields of the wrong type,
huge numbers, long and odd strings, NUL characters — paced under the
per-socket rate limit. The socket must stay open, the server must log no
error, and afterwards the same socket still joins and commits a turn.
``startVoteToEnd`` is left out: with one author present it would (rightly)
end the story.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from tests.support.server import ServerProcess
from tests.support.stories import create_story
from tests.support.users import create_user
from tests.support.wsclient import StoryClient

SEED = 20261207
FRAMES = 150
PACE_SECONDS = 1 / 16  # under the gateway's 20 messages a second
COMMANDS = [
    "joinStory",
    "leaveStory",
    "submitTurn",
    "sendChatMessage",
    "castVote",
    "ping",
    "regenerateAiSegment",
    "danceParty",
    "",
    "SUBMITTURN",
]
FIELDS = ["clientMsgId", "text", "lastSeq", "voteId", "inFavor", "batch", "type", "extra", ""]
ODD_TEXT = ["", " ", "\x00", "a\x00b", "\u202e", "\U0001f409" * 50, "x" * 5000, "\\u0000", "é"]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63 - 1, 2**63, 2**70, -(2**63) - 1])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e308, 3.0])
    if kind == 4:
        return rng.choice(ODD_TEXT)
    if kind == 5:
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(1, 40)))
    if kind == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(FIELDS): _value(rng, depth + 1) for _ in range(rng.randrange(4))}


def _well_typed(rng: random.Random) -> dict[str, Any]:
    """A command of the right shape whose values are odd: judged by the actor, not the decoder."""
    msg_id = f"w{rng.randrange(10**6)}"
    text = rng.choice(ODD_TEXT[1:3] + ODD_TEXT[4:] + ["Once upon a time.", "a" * 3999])
    return rng.choice(
        [
            {"type": "submitTurn", "clientMsgId": msg_id, "text": text},
            {"type": "sendChatMessage", "clientMsgId": msg_id, "text": text},
            {
                "type": "castVote",
                "clientMsgId": msg_id,
                "voteId": text[:64] or "v",
                "inFavor": True,
            },
            {"type": "joinStory", "clientMsgId": msg_id, "lastSeq": rng.randrange(0, 2**31)},
            {"type": "leaveStory", "clientMsgId": msg_id},
            {"type": "regenerateAiSegment", "clientMsgId": msg_id},
            {"type": "submitTurn", "clientMsgId": "same-id", "text": text},
        ]
    )


def _frame(rng: random.Random) -> str | bytes:
    roll = rng.random()
    if roll < 0.35:
        return json.dumps(_well_typed(rng))
    if roll < 0.08:
        return "".join(chr(rng.randrange(32, 0x7F)) for _ in range(rng.randrange(1, 80)))
    if roll < 0.12:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
    if roll < 0.16:
        return json.dumps(_value(rng))
    message: dict[str, Any] = {"type": rng.choice(COMMANDS)}
    for field in rng.sample(FIELDS, rng.randrange(len(FIELDS))):
        message[field] = _value(rng)
    if rng.random() < 0.5:  # often a well-formed id, so the command itself is judged
        message["clientMsgId"] = f"f{rng.randrange(10**6)}"
    return json.dumps(message)


def _log_size(server: ServerProcess) -> int:
    return server.log_path.stat().st_size


def _errors_since(server: ServerProcess, offset: int) -> list[str]:
    with server.log_path.open("rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode(errors="replace").splitlines()
    return [line for line in lines if '"level": "error"' in line or "Traceback" in line]


class TestWebSocketFuzz:
    async def test_junk_frames_never_break_the_socket_or_the_server(
        self, server: ServerProcess
    ) -> None:
        alice = create_user(server)
        story = create_story(server, alice)
        offset = _log_size(server)
        rng = random.Random(SEED)
        client = await StoryClient.open(server, story, alice.token)
        try:
            await client.join()
            for _ in range(FRAMES):
                await client.ws.send(_frame(rng))
                await asyncio.sleep(PACE_SECONDS)
            # Drain what the junk provoked, then the socket must still work.
            await asyncio.sleep(2.5)  # let the rate-limit bucket refill
            await client.send({"type": "ping"})
            await client.until("pong", timeout=15)
            await client.join()
            answer = await client.command({"type": "submitTurn", "text": "Still standing."})
            assert answer["type"] == "ack", answer
            assert answer["seq"] >= 1
        finally:
            await client.close()
        errors = [e for e in client.seen if e.get("type") == "error"]
        codes = {e["code"] for e in errors}
        assert "invalidMessage" in codes, codes  # the junk was judged, not ignored
        assert "internalError" not in codes, errors
        assert _errors_since(server, offset) == []
