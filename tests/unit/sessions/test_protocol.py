"""The wire vocabulary: one decoder, strict commands, camelCase events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from storyhub.sessions import protocol as p


class TestCommands:
    def test_every_command_decodes_from_its_camel_case_form(self) -> None:
        frames = {
            '{"type":"joinStory","lastSeq":3}': p.JoinStory(last_seq=3),
            '{"type":"joinStory"}': p.JoinStory(),
            '{"type":"leaveStory"}': p.LeaveStory(),
            '{"type":"submitTurn","clientMsgId":"a","text":"t"}': p.SubmitTurn("a", "t"),
            '{"type":"sendChatMessage","clientMsgId":"a","text":"t"}': p.SendChatMessage("a", "t"),
            '{"type":"startVoteToEnd","clientMsgId":"a"}': p.StartVoteToEnd("a"),
            '{"type":"castVote","clientMsgId":"a","voteId":"v","inFavor":false}': p.CastVote(
                "a", "v", False
            ),
            '{"type":"ping"}': p.Ping(),
        }
        for frame, expected in frames.items():
            assert p.command_decoder.decode(frame) == expected

    @pytest.mark.parametrize(
        "frame",
        [
            "{",
            '{"type":"unknown"}',
            '{"type":"submitTurn","clientMsgId":"a","text":"t","more":1}',
            '{"type":"submitTurn","client_msg_id":"a","text":"t"}',
            '{"type":"submitTurn","clientMsgId":"","text":"t"}',
            '{"type":"joinStory","lastSeq":-1}',
            '{"type":"castVote","clientMsgId":"a","voteId":"v","inFavor":"yes"}',
        ],
    )
    def test_bad_frames_do_not_decode(self, frame: str) -> None:
        with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)):
            p.command_decoder.decode(frame)

    def test_client_msg_id_is_recovered_from_a_bad_frame(self) -> None:
        assert p.client_msg_id_of('{"type":"x","clientMsgId":"m1"}') == "m1"
        assert p.client_msg_id_of("nonsense") is None


class TestEvents:
    def test_events_encode_camel_case_with_their_type(self) -> None:
        user = uuid.uuid4()
        event = p.NewTurn(user_id=user, deadline=datetime(2030, 1, 1, tzinfo=UTC), reason="started")
        decoded = json.loads(p.encode_event(event))
        assert decoded == {
            "type": "newTurn",
            "userId": str(user),
            "deadline": "2030-01-01T00:00:00Z",
            "reason": "started",
            "previousUserId": None,
            "aiSeat": False,
        }

    def test_ack_and_error_omit_absent_fields(self) -> None:
        assert json.loads(p.encode_event(p.Ack(client_msg_id="m", seq=4))) == {
            "type": "ack",
            "clientMsgId": "m",
            "seq": 4,
        }
        assert json.loads(p.encode_event(p.Error(code="x", message="y"))) == {
            "type": "error",
            "code": "x",
            "message": "y",
        }

    def test_every_event_round_trips_through_the_client_decoder(self) -> None:
        event = p.StoryUpdated(
            segment=p.SegmentView(
                seq=1, author_id=None, content="c", created_at=datetime(2030, 1, 1, tzinfo=UTC)
            )
        )
        assert p.event_decoder.decode(p.encode_event(event)) == event

    def test_contract_names(self) -> None:
        assert {c.__struct_config__.tag for c in p.CLIENT_COMMANDS} == {
            "joinStory",
            "leaveStory",
            "submitTurn",
            "sendChatMessage",
            "startVoteToEnd",
            "castVote",
            "regenerateAiSegment",
            "ping",
        }
        assert {e.__struct_config__.tag for e in p.SERVER_EVENTS} == {
            "userJoined",
            "userLeft",
            "presence",
            "newTurn",
            "storyUpdated",
            "aiTurnSkipped",
            "chatMessageReceived",
            "voteStarted",
            "voteUpdated",
            "storyEnded",
            "mediaReady",
            "mediaFailed",
            "bookProgress",
            "ack",
            "error",
            "pong",
            "batch",
        }
