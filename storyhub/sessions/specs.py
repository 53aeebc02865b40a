"""``docs/protocol.md`` and ``docs/asyncapi.yaml``, generated from the protocol Structs.

``scripts/gen_asyncapi.py`` writes both files; a test regenerates them and
fails when the committed copies differ, so the documents cannot drift from
the code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
import yaml  # type: ignore[import-untyped]

from storyhub import __version__
from storyhub.sessions import protocol as p
from storyhub.sessions.connection import CLOSE_FORBIDDEN, CLOSE_SIGNED_OUT, CLOSE_SLOW_CONSUMER

_ALICE = UUID("0b6f2c1e-8a47-4c53-9d2a-3f1e5b7c9a01")
_BOB = UUID("5d0e3a9b-1c2f-4e6d-8b7a-9c0d1e2f3a4b")
_WHEN = datetime(2026, 11, 25, 18, 30, 0, tzinfo=UTC)
_VOTE = "c0ffee00c0ffee00c0ffee00c0ffee00"

EXAMPLES: dict[type[msgspec.Struct], msgspec.Struct] = {
    p.JoinStory: p.JoinStory(last_seq=41, client_msg_id="join-1"),
    p.LeaveStory: p.LeaveStory(),
    p.SubmitTurn: p.SubmitTurn(client_msg_id="turn-7f3a", text="The dragon yawned."),
    p.SendChatMessage: p.SendChatMessage(client_msg_id="chat-19", text="Love it!"),
    p.StartVoteToEnd: p.StartVoteToEnd(client_msg_id="vote-1"),
    p.CastVote: p.CastVote(client_msg_id="vote-2", vote_id=_VOTE, in_favor=True),
    p.RegenerateAiSegment: p.RegenerateAiSegment(client_msg_id="again-1"),
    p.Ping: p.Ping(),
    p.UserJoined: p.UserJoined(user_id=_BOB, display_name="Bob", role="author"),
    p.UserLeft: p.UserLeft(user_id=_BOB),
    p.Presence: p.Presence(
        users=[
            p.PresentUser(user_id=_ALICE, display_name="Alice", role="owner"),
            p.PresentUser(user_id=_BOB, display_name="Bob", role="author"),
        ]
    ),
    p.NewTurn: p.NewTurn(
        user_id=_BOB,
        deadline=_WHEN,
        reason="submitted",
        previous_user_id=_ALICE,
    ),
    p.StoryUpdated: p.StoryUpdated(
        segment=p.SegmentView(
            seq=42, author_id=_ALICE, content="The dragon yawned.", created_at=_WHEN
        )
    ),
    p.AiTurnSkipped: p.AiTurnSkipped(reason="contentBlocked", attempts=3),
    p.ChatMessageReceived: p.ChatMessageReceived(
        message=p.ChatView(
            id=7, author_id=_BOB, display_name="Bob", content="Love it!", created_at=_WHEN
        )
    ),
    p.VoteStarted: p.VoteStarted(
        vote_id=_VOTE, started_by=_ALICE, expires_at=_WHEN, in_favor=1, against=0, present_authors=3
    ),
    p.VoteUpdated: p.VoteUpdated(
        vote_id=_VOTE, status="passed", in_favor=2, against=0, present_authors=3
    ),
    p.StoryEnded: p.StoryEnded(reason="vote", last_seq=42, ended_at=_WHEN),
    p.MediaReady: p.MediaReady(
        seq=42, kind="image", url="/media/7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
    ),
    p.MediaFailed: p.MediaFailed(
        seq=42,
        kind="audio",
        code="providerUnavailable",
        message="Narration needs espeak-ng, which is not installed.",
        task_id="3f2a1b0c-9d8e-4f7a-a6b5-c4d3e2f1a0b9",
        requested_by=str(_ALICE),
    ),
    p.BookProgress: p.BookProgress(
        book_id="0b7e3c52-5d1a-4a8e-9f0e-2f6c1d9a7b11",
        format="epub",
        status="ready",
        requested_by=str(_ALICE),
    ),
    p.Ack: p.Ack(client_msg_id="turn-7f3a", seq=42),
    p.Error: p.Error(code="notYourTurn", message="It is not your turn.", client_msg_id="turn-7f3a"),
    p.Pong: p.Pong(),
    p.Batch: p.Batch(
        events=[
            p.UserLeft(user_id=_BOB),
            p.ChatMessageReceived(
                message=p.ChatView(
                    id=8, author_id=_ALICE, display_name="Alice", content="Bye!", created_at=_WHEN
                )
            ),
        ]
    ),
}


def _tag(cls: type[msgspec.Struct]) -> str:
    return str(cls.__struct_config__.tag)


def _doc(cls: type[Any]) -> str:
    return " ".join((cls.__doc__ or "").split())


def _example(cls: type[msgspec.Struct]) -> dict[str, Any]:
    value: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(EXAMPLES[cls]))
    return value


def _schemas() -> dict[str, Any]:
    types = [*p.CLIENT_COMMANDS, *p.SERVER_EVENTS]
    _, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    for schema in components.values():
        # msgspec copies docstrings verbatim; PyYAML releases quote and fold
        # multi-line strings differently, one-line ones all the same.
        if "description" in schema:
            schema["description"] = " ".join(schema["description"].split())
    return dict(sorted(components.items()))


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3 description of ``/ws/stories/{storyId}``."""
    messages: dict[str, Any] = {}
    for cls in [*p.CLIENT_COMMANDS, *p.SERVER_EVENTS]:
        messages[_tag(cls)] = {
            "name": _tag(cls),
            "title": cls.__name__,
            "summary": _doc(cls) or _tag(cls),
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
            "examples": [{"payload": _example(cls)}],
        }
    channel_messages = {tag: {"$ref": f"#/components/messages/{tag}"} for tag in messages}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "storyhub story sessions",
            "version": __version__,
            "description": (
                "Live collaborative storytelling over one WebSocket per story. JSON text "
                "frames, each an object with a `type`. See docs/protocol.md for the "
                "ordering, durability and resume guarantees."
            ),
        },
        "servers": {
            "local": {
                "host": "localhost:8000",
                "protocol": "ws",
                "description": "A local `storyhub serve` (use wss behind the TLS proxy).",
            }
        },
        "channels": {
            "story": {
                "address": "/ws/stories/{storyId}",
                "parameters": {"storyId": {"description": "The story's UUID."}},
                "messages": channel_messages,
                "bindings": {
                    "ws": {
                        "method": "GET",
                        "headers": {
                            "type": "object",
                            "properties": {
                                "Authorization": {
                                    "type": "string",
                                    "description": "Bearer <accessToken> (non-browser clients).",
                                },
                                "Origin": {
                                    "type": "string",
                                    "description": "Must be one of STORYHUB_ALLOWED_ORIGINS.",
                                },
                            },
                        },
                        "query": {
                            "type": "object",
                            "properties": {
                                "ticket": {
                                    "type": "string",
                                    "description": "Single-use ticket from POST "
                                    "/stories/{id}/ws-ticket (browsers).",
                                }
                            },
                        },
                    }
                },
            }
        },
        "operations": {
            "sendCommand": {
                "action": "receive",
                "channel": {"$ref": "#/channels/story"},
                "summary": "Commands the server receives from a client.",
                "messages": [
                    {"$ref": f"#/channels/story/messages/{_tag(c)}"} for c in p.CLIENT_COMMANDS
                ],
            },
            "receiveEvent": {
                "action": "send",
                "channel": {"$ref": "#/channels/story"},
                "summary": "Events the server sends to a client.",
                "messages": [
                    {"$ref": f"#/channels/story/messages/{_tag(e)}"} for e in p.SERVER_EVENTS
                ],
            },
        },
        "components": {"messages": messages, "schemas": _schemas()},
    }


def asyncapi_yaml() -> str:
    header = "# Generated by scripts/gen_asyncapi.py from storyhub/sessions/protocol.py.\n"
    body: str = yaml.safe_dump(asyncapi_document(), sort_keys=False, width=100)
    return header + body


def _type_name(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(_type_name(part) for part in prop["anyOf"])
    if "enum" in prop:
        return " or ".join(f"`{value}`" for value in prop["enum"])
    kind = str(prop.get("type", "any"))
    if kind == "array":
        return f"array of {_type_name(prop.get('items', {}))}"
    if "format" in prop:
        return f"{kind} ({prop['format']})"
    return kind


def _fields(cls: type[msgspec.Struct]) -> list[str]:
    schema = _schemas()[cls.__name__]
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        if name == "type":
            continue
        flag = "yes" if name in required else "no"
        rows.append(f"| `{name}` | {_type_name(prop)} | {flag} |")
    return rows


def _section(cls: type[msgspec.Struct]) -> str:
    lines = [f"### `{_tag(cls)}`", "", _doc(cls) or "(no fields)", ""]
    fields = _fields(cls)
    if fields:
        lines += ["| field | type | required |", "|---|---|---|", *fields, ""]
    lines += ["```json", json.dumps(_example(cls)), "```", "", ""]
    return "\n".join(lines)


_INTRO = """\
# The story session protocol

<!-- Generated by scripts/gen_asyncapi.py from storyhub/sessions/protocol.py; do not edit. -->

One WebSocket per client per story: `GET /ws/stories/{storyId}`. Frames are
JSON **text** frames, each one object with a `type`. The machine-readable
description is [`asyncapi.yaml`](asyncapi.yaml) (AsyncAPI 3).

## Connecting

* **Authentication** — `Authorization: Bearer <accessToken>` (non-browser
  clients) or `?ticket=<ticket>` from `POST /stories/{id}/ws-ticket` (browsers;
  single use, at most 60 s).
* **Origin** — a request carrying an `Origin` header must name one of
  `STORYHUB_ALLOWED_ORIGINS` exactly; no `Origin` means a non-browser client.
* **Who** — an active account that collaborates on the story with an age tier
  allowed for its rating (`child`: allAges; `teen`/`olderTeen`: allAges, teen;
  `adult`: all).
* A refused upgrade is an HTTP problem-details answer, not a socket:
  `403 originNotAllowed`, `401 unauthenticated`/`invalidToken`/`invalidTicket`,
  `403 accountInactive`, `404 notFound` (no such story, not a collaborator, or
  rating above the tier — deliberately indistinguishable), `503 unavailable`.

Then send `joinStory`. Commands other than `ping` and `joinStory` are refused
with `notJoined` before it.

## Roles

Owners (the creator), authors and editors are *writers*: they take turns,
chat and vote. Viewers read and receive every event; their commands answer
`forbidden`. Roles are re-checked on every message; a removed collaborator's
sockets are closed at once (4403) and a logout or password change closes all
of the user's sockets (4401).

## Guarantees

* **Exactly one answer** — every command with a `clientMsgId` gets exactly one
  `ack` or `error` carrying that id (`joinStory`/`leaveStory` only when they
  carry one). Malformed frames get `error {code: "invalidMessage"}` (with the
  `clientMsgId` when it could be read) and the socket stays open; so do frames
  whose text holds a NUL character (`\\u0000`, which PostgreSQL cannot store)
  and a `lastSeq` above 2147483647.
* **Durability** — a segment is committed to the database (unique on story +
  `seq`) before its `ack` and before any `storyUpdated`. An acknowledged segment
  is never lost, even if the server is killed right after. A chat message is
  committed before its `ack` and its `chatMessageReceived` too; with
  PostgreSQL its commit does not wait for the disk flush, so a crash of the
  database server itself (not of storyhub) may lose the last fraction of a
  second of chat, never a segment.
* **Order** — `seq` starts at 1 and grows by one per segment with no gaps. All
  events of a story are produced by one actor, in one order, and every socket
  receives them in that order. The sender of a turn sees its `ack` before the
  `storyUpdated` for it.
* **Idempotency** — a retried `submitTurn`/`sendChatMessage`/vote with the same
  `clientMsgId` answers the original result (same `seq`) and creates nothing.
  The same `clientMsgId` with different content answers `clientMsgIdReused`.
  Retry after a lost ack (reconnect first) with the same id and text. Turns
  and chat are checked against the database; vote commands are remembered by
  the story's session while it stays active.
* **Resume** — `joinStory {lastSeq: N}` replays every segment with `seq > N`
  from the database, in order (`storyUpdated` with `replay: true`), then live
  events follow with no gap and no duplicate: the replay and the subscription
  happen in one step of the story's actor, and a socket never receives a
  segment twice. After the replay come `presence`, the current `newTurn`, an
  open vote (`voteStarted`), `storyEnded` if the story is over, and the `ack`.
* **Turns** — round-robin over present writers in the order they first joined,
  plus the AI narrator's seat (last) when the story has `aiNarrator`. A turn not
  used before its `deadline` is skipped; a writer who leaves keeps the turn
  until the deadline. While no writer is present nobody holds the turn and any
  writer may add a segment (e.g. over `POST /stories/{id}/turns`). Whose turn
  it is and the deadline survive a restart.
* **The AI narrator** — when its seat gets the turn (`newTurn` with `aiSeat:
  true`), the narrator's text is written in the background and passes the same
  safety filter as everyone's, for the room's youngest member. Accepted text is
  a segment like any other (`storyUpdated` with `authorId: null`). Text the
  filter blocks is written again (`STORYHUB_AI_MAX_REGENERATIONS` times, 2 by
  default); then, or when writing fails, the seat passes with `aiTurnSkipped`
  and `newTurn {reason: "aiPassed"}`. Its deadline skips it like anyone.
  A writer may send `regenerateAiSegment` while the story's last segment is
  the AI's: the seat takes the turn back (`reason: "aiRegenerating"`) and its
  new text replaces that segment under the same `seq` (`storyUpdated` with
  `revised: true`, `segment.revision` one higher, and `imageUrl`, `audioUrl`
  and `videoUrl` null: the old text's media no longer belongs to it; media
  asked for again is made from the new text, and a request still running for
  the old text ends with `mediaFailed {code: "segmentRevised"}`). A client resuming with
  `joinStory {lastSeq: N}` gets segment N again (`revised: true`) when it was
  rewritten, so the new text is never missed.
* **Vote to end** — any present writer starts one (their vote counts in
  favour); it passes with more than half of the present writers in favour,
  fails once that is impossible, and expires after the story's vote time. A
  passed vote, or `POST /stories/{id}/end` by the owner, ends the story:
  `storyEnded`, no more turns.
* **Batches** — a client that joins with `batch: true` may receive a `batch`
  frame holding several events, in order, when it falls behind (the server
  then writes one frame instead of many). Other clients never see `batch`.
* **Limits** — frames over 64 KB close the socket with 1009. Each socket may
  send 20 messages per second (bursts of 40); beyond that commands answer
  `rateLimited`. A socket that cannot keep up with the room (256 events
  waiting) is closed with 4008 — or, when its peer stopped reading altogether,
  dropped without a close frame (1006) — and never slows the others;
  reconnect and resume with `joinStory {lastSeq}`.

## A short session, frame by frame

```text
→ {"type":"joinStory","lastSeq":41,"clientMsgId":"j1"}
← {"type":"storyUpdated","segment":{"seq":42,...},"replay":true}      (missed while away)
← {"type":"userJoined","userId":"…b","displayName":"Bob","role":"author"}  (to everyone)
← {"type":"presence","users":[…]}                                       (to the joiner)
← {"type":"newTurn","userId":"…b","deadline":"…","reason":"resumed",…}
← {"type":"ack","clientMsgId":"j1","seq":42}
→ {"type":"submitTurn","clientMsgId":"t7","text":"The dragon yawned."}
← {"type":"ack","clientMsgId":"t7","seq":43}                            (committed)
← {"type":"storyUpdated","segment":{"seq":43,...},"replay":false}       (to everyone)
← {"type":"newTurn","userId":"…c","reason":"submitted","previousUserId":"…b",…}
```

If the connection drops before `ack t7` arrives, reconnect, join with the last
`seq` you saw, and resend `submitTurn` with the same `clientMsgId` and text:
you get `ack {seq: 43}` whether or not the first attempt was committed.

## Commands (client → server)

"""


def protocol_markdown() -> str:
    """The human description of the protocol, examples included."""
    parts = [_INTRO]
    parts += [_section(c) for c in p.CLIENT_COMMANDS]
    parts.append("## Events (server → client)\n\n")
    parts += [_section(e) for e in p.SERVER_EVENTS]
    parts.append("## Error codes\n\n| code | meaning |\n|---|---|\n")
    parts += [f"| `{code}` | {meaning} |\n" for code, meaning in p.ERROR_CODES.items()]
    parts.append("\n## Close codes\n\n| code | meaning |\n|---|---|\n")
    parts += [f"| {code} | {meaning} |\n" for code, meaning in sorted(p.CLOSE_CODES.items())]
    assert {CLOSE_SLOW_CONSUMER, CLOSE_SIGNED_OUT, CLOSE_FORBIDDEN} <= set(p.CLOSE_CODES)
    return "".join(parts)
