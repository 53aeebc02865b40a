"""``StorySession``: one actor per active story — a mailbox loop around the rules.

Only the actor changes its story's session state (turns, deadlines, votes,
presence) and only it writes segments and turn state, so each step sees the
world alone. A step is: take one message, apply the pure rules, persist,
answer the sender, broadcast. Ordering guarantees that follow:

* a segment is committed (unique on story + seq) before its ``ack`` and
  before any broadcast of it;
* a join replays from the database and subscribes the socket within one
  step, so no live event can slip between the replay and the subscription;
* every event is encoded once and the same text is queued for every socket.

``send()`` is fire-and-forget; ``ask()`` awaits the reply. **Mailbox overflow
policy: reject the newest** — a full mailbox makes ``send()`` raise
:class:`MailboxFull` (``error {code: "busy"}`` / HTTP 503) instead of growing
without bound. Shutdown drains the mailbox, then cancels.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID

from storyhub.lib.errors import is_unique_violation
from storyhub.sessions import persistence, rules, views
from storyhub.sessions.connection import CLOSE_FORBIDDEN, CLOSE_SERVICE_RESTART, Connection
from storyhub.sessions.fanout import Fanout
from storyhub.sessions.hooks import (
    AiSeat,
    AiSkipReason,
    AiTurnContext,
    AiTurnDecision,
    ContentContext,
    ContentFilter,
    ContentKind,
)
from storyhub.sessions.messages import (
    AiSegmentFailed,
    AiSegmentReady,
    Broadcast,
    Chat,
    EndStory,
    Join,
    Leave,
    MailboxFull,
    Message,
    RegenerateAi,
    Reply,
    RoleChanged,
    StartVote,
    Stop,
    Submit,
    Vote,
)
from storyhub.sessions.protocol import (
    Ack,
    AiTurnSkipped,
    Error,
    Event,
    StoryEnded,
    TurnReason,
    UserJoined,
    UserLeft,
    encode_event,
)
from storyhub.sessions.rules import RuleViolation
from storyhub.stories.policy import effective_role

log = logging.getLogger("storyhub.sessions")

MAILBOX_LIMIT = 1024
REPLAY_PAGE = 500
RECENT_ACKS = 512
ASK_SECONDS = 15.0
"""An ``ask()`` that gets no answer in this time raises TimeoutError."""
DRAIN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class _AiJob:
    """The narrator text the actor waits for: which turn, which attempt, which revision."""

    turn_seq: int
    attempt: int
    revise_seq: int | None


class SessionHost(Protocol):
    """What an actor needs from its registry."""

    fanout: Fanout
    content_filter: ContentFilter
    ai_seat: AiSeat
    idle_seconds: float

    def passivated(self, session: StorySession) -> None:
        """The actor stopped because it was idle; forget it."""


class StorySession:
    """The actor of one story."""

    def __init__(
        self, story_id: UUID, host: SessionHost, clock: Callable[[], float] = time.time
    ) -> None:
        self.story_id = story_id
        self._host = host
        self._clock = clock
        self._mailbox: asyncio.Queue[Message] = asyncio.Queue(MAILBOX_LIMIT)
        self._task: asyncio.Task[None] | None = None
        self._story: persistence.StoryRecord | None = None
        self._state = rules.SessionState()
        self._conns: dict[Connection, None] = {}
        self._names: dict[UUID, str] = {}
        self._roles: dict[UUID, str] = {}
        self._recent_acks: OrderedDict[tuple[UUID, str], Event] = OrderedDict()
        self._last_activity = time.monotonic()
        self._stopping = False
        self._ai_job: _AiJob | None = None
        self._regenerating: int | None = None
        """Set while a regeneration hands the AI seat the turn (read once by _after_change)."""

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Start the mailbox loop (activation loads the story inside the loop)."""
        self._task = asyncio.create_task(self._run(), name=f"story-session-{self.story_id}")
        self._task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        # A bug outside a step: forget this actor so the next message starts a fresh one.
        log.error(
            "story session crashed",
            exc_info=task.exception(),
            extra={"storyId": str(self.story_id)},
        )
        self._stopping = True
        self._host.passivated(self)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done() and not self._stopping

    def send(self, message: Message) -> None:
        """Queue ``message``; raise :class:`MailboxFull` when the mailbox is full."""
        if self._stopping:
            raise MailboxFull("the session is stopping")
        try:
            self._mailbox.put_nowait(message)
        except asyncio.QueueFull:
            raise MailboxFull("the session's mailbox is full") from None

    async def ask(self, build: Callable[[Reply], Message]) -> Event:
        """Send the message ``build(reply)`` makes and await its reply."""
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()

        def reply(event: Event) -> None:
            if not future.done():
                future.set_result(event)

        self.send(build(reply))
        return await asyncio.wait_for(future, ASK_SECONDS)

    async def stop(self) -> None:
        """Drain the mailbox, then cancel; sockets are told to reconnect (1012)."""
        task = self._task
        if task is None:
            return
        if not task.done():
            try:
                self._mailbox.put_nowait(Stop())
            except asyncio.QueueFull:
                task.cancel()
            self._stopping = True
            try:
                await asyncio.wait_for(asyncio.shield(task), DRAIN_SECONDS)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        for conn in list(self._conns):
            conn.close(CLOSE_SERVICE_RESTART, "serverRestart")

    async def _run(self) -> None:
        try:
            await self._activate()
        except Exception:
            log.exception("story session failed to activate", extra={"storyId": str(self.story_id)})
            self._stopping = True
            while not self._mailbox.empty():
                self._answer(self._mailbox.get_nowait(), "unavailable", "Retry shortly.")
            self._host.passivated(self)
            return
        while True:
            try:
                async with asyncio.timeout(self._wait_seconds()):
                    message = await self._mailbox.get()
            except TimeoutError:
                await self._step(None)
                if self._idle() and self._mailbox.empty():
                    # No await between the check and forgetting: nothing can slip in.
                    self._stopping = True
                    self._host.passivated(self)
                    return
                continue
            if isinstance(message, Stop):
                self._stopping = True
                while not self._mailbox.empty():
                    await self._step(self._mailbox.get_nowait())
                return
            self._last_activity = time.monotonic()
            await self._step(message)

    async def _step(self, message: Message | None) -> None:
        """Handle one message (``None``: a deadline passed); every command gets an answer."""
        try:
            if message is None:
                before = self._state
                self._state = rules.tick(self._state, self._clock())
                await self._after_change(before, "skipped")
            else:
                await self._handle(message)
        except RuleViolation as refused:
            if message is not None:
                self._answer(message, refused.code, refused.message, refused.categories)
        except Exception:
            log.exception("story session step failed", extra={"storyId": str(self.story_id)})
            if message is not None:
                self._answer(message, "unavailable", "The command failed; retry.")

    def _answer(
        self, message: Message, code: str, text: str, categories: tuple[str, ...] = ()
    ) -> None:
        """Send the sender an ``error`` carrying its client message id."""
        client_msg_id = getattr(message, "client_msg_id", None)
        if isinstance(message, Join):
            client_msg_id = message.command.client_msg_id
        error = Error(
            code=code, message=text, client_msg_id=client_msg_id, categories=list(categories)
        )
        reply = getattr(message, "reply", None)
        if reply is not None:
            reply(error)
        elif isinstance(message, Join | Leave) and not message.conn.closed:
            message.conn.outbox.push_event(error)

    def _idle(self) -> bool:
        return not self._conns and time.monotonic() - self._last_activity >= self._host.idle_seconds

    def _wait_seconds(self) -> float:
        waits = []
        deadline = rules.next_deadline(self._state)
        if deadline is not None:
            waits.append(deadline - self._clock())
        if not self._conns:
            waits.append(self._last_activity + self._host.idle_seconds - time.monotonic())
        return max(0.0, min(waits)) if waits else 3600.0

    async def _activate(self) -> None:
        story = await persistence.load_story(self.story_id)
        if story is None:
            raise LookupError(f"story {self.story_id} does not exist")
        self._story = story
        last = await persistence.last_seq(self.story_id)
        self._state = rules.restore(
            story.turn_state,
            last_seq=last,
            ended=story.completed,
            turn_seconds=story.turn_seconds,
            vote_seconds=story.vote_seconds,
            ai_seat=story.ai_narrator,
        )
        log.info("story session activated", extra={"storyId": str(self.story_id), "lastSeq": last})

    # --- dispatch ---------------------------------------------------------------------

    async def _handle(self, message: Message) -> None:
        match message:
            case Join():
                await self._join(message)
            case Leave():
                await self._leave(message)
            case Submit():
                await self._submit(message)
            case Chat():
                await self._chat(message)
            case StartVote():
                await self._start_vote(message)
            case Vote():
                await self._cast_vote(message)
            case EndStory():
                await self._end_by_owner(message)
            case RoleChanged():
                await self._role_changed(message)
            case AiSegmentReady():
                await self._ai_segment(message)
            case AiSegmentFailed():
                await self._ai_failed(message)
            case RegenerateAi():
                await self._regenerate(message)
            case Broadcast():
                self._publish(message.event)
            case Stop():  # pragma: no cover - handled by the loop
                pass

    def _publish(self, event: Event, seq: int | None = None) -> None:
        self._host.fanout.publish(self.story_id, encode_event(event), seq)

    @property
    def _record(self) -> persistence.StoryRecord:
        assert self._story is not None, "used before activation"
        return self._story

    @staticmethod
    def _check_sender(conn: Connection | None, role: str | None, action: str) -> None:
        """A socket must have joined; only writers write, chat and vote."""
        if conn is not None and not conn.joined:
            raise RuleViolation("notJoined", "Send joinStory first.")
        if not rules.is_writer(conn.role if conn is not None else role):
            raise RuleViolation("forbidden", f"Viewers cannot {action}.")

    async def _filtered(self, text: str, author: UUID, kind: ContentKind) -> str:
        """The safety seam: the text to store, or a ``contentBlocked``/``contentRejected`` error."""
        context = ContentContext(self.story_id, author, self._record.age_rating, kind)
        verdict = await self._host.content_filter.check(text, context)
        if not verdict.allowed:
            reason = verdict.reason or "This text cannot be used."
            if verdict.categories:
                raise RuleViolation("contentBlocked", reason, verdict.categories)
            raise RuleViolation("contentRejected", reason)
        return verdict.text

    # --- presence ---------------------------------------------------------------------

    async def _join(self, message: Join) -> None:
        conn, command = message.conn, message.command
        if conn.closed:
            return
        outbox = conn.outbox
        outbox.batching = command.batch
        # Replay and subscribe within this one step: nothing is published in between,
        # and the outbox drops any segment at or below what it already sent.
        after = command.last_seq or 0
        outbox.last_seq = max(outbox.last_seq, after)
        # From the client's own last segment: if the AI's text there was written
        # again since, the client gets the new text too (only the story's last
        # segment can be rewritten, so no earlier one can have changed unseen).
        start = max(after - 1, 0)
        while True:
            page = await persistence.segments_after(self.story_id, start, REPLAY_PAGE)
            for record in page:
                if record.seq > after:
                    frame = encode_event(views.story_updated(record, replay=True))
                    outbox.push(frame, seq=record.seq, bounded=False)
                elif record.revision > 0:
                    update = views.story_updated(record, replay=True, revised=True)
                    outbox.push(encode_event(update), bounded=False)  # not de-duplicated by seq
            if len(page) < REPLAY_PAGE:
                break
            start = page[-1].seq
        self._host.fanout.subscribe(self.story_id, outbox)
        rejoin = conn in self._conns
        first_socket = not rejoin and str(conn.user_id) not in self._state.present
        self._conns[conn] = None
        conn.joined = True
        self._names[conn.user_id] = conn.principal.display_name
        self._roles[conn.user_id] = conn.role
        before = self._state
        if not rejoin:
            now = self._clock()
            self._state = rules.join(self._state, str(conn.user_id), conn.role, now)  # type: ignore[arg-type]
        if first_socket:
            # Deltas to the room, the full list to the joiner only: a join costs
            # O(room), not O(room²) as a full list to everyone would.
            name = conn.principal.display_name
            self._publish(UserJoined(user_id=conn.user_id, display_name=name, role=conn.role))  # type: ignore[arg-type]
        outbox.push_event(views.presence(self._state, self._names, self._roles))
        if not await self._after_change(before, "started"):
            outbox.push_event(views.new_turn(self._state, "resumed"))
        vote = self._state.vote
        if vote is not None and vote.status == "open":
            outbox.push_event(views.vote_started(self._state, vote))
        if self._state.ended:
            reason = self._state.ended_reason or "owner"
            outbox.push_event(StoryEnded(reason=reason, last_seq=self._state.last_seq))
        if command.client_msg_id is not None:
            outbox.push_event(Ack(client_msg_id=command.client_msg_id, seq=self._state.last_seq))

    async def _leave(self, message: Leave) -> None:
        conn = message.conn
        if conn in self._conns:
            del self._conns[conn]
            conn.joined = False
            self._host.fanout.unsubscribe(self.story_id, conn.outbox)
            before = self._state
            self._state = rules.leave(self._state, str(conn.user_id), self._clock())
            if str(conn.user_id) not in self._state.present:
                self._publish(UserLeft(user_id=conn.user_id))
            await self._after_change(before, "rosterChanged")
        if message.client_msg_id is not None and not conn.closed:
            conn.outbox.push_event(Ack(client_msg_id=message.client_msg_id))

    async def _role_changed(self, message: RoleChanged) -> None:
        user_id = message.user_id
        role = effective_role(message.role, is_creator=self._record.creator == user_id)
        for conn in [c for c in self._conns if c.user_id == user_id]:
            if role is None:
                conn.close(CLOSE_FORBIDDEN, "removedFromStory")
                del self._conns[conn]
                self._host.fanout.unsubscribe(self.story_id, conn.outbox)
            else:
                conn.role = role
        before = self._state
        was_present = str(user_id) in self._state.present
        self._state = rules.change_role(self._state, str(user_id), role, self._clock())
        if role is not None:
            self._roles[user_id] = role
        if was_present and str(user_id) not in self._state.present:
            self._publish(UserLeft(user_id=user_id))
        if was_present:
            self._publish(views.presence(self._state, self._names, self._roles))
        await self._after_change(before, "rosterChanged")

    # --- turns ------------------------------------------------------------------------

    async def _submit(self, message: Submit) -> None:
        if message.conn is not None and message.conn.closed:
            return  # revoked or removed: not served any more
        self._check_sender(message.conn, message.role, "add to the story")
        limit = self._record.max_segment_length
        if len(message.text) > limit:
            raise RuleViolation("textTooLong", f"A segment is at most {limit} characters.")
        try:
            next_state, seq = rules.submit_turn(self._state, str(message.user_id), self._clock())
        except RuleViolation:
            # A retry after a lost ack usually arrives once the turn has moved on.
            if await self._answer_retry(message):
                return
            raise
        text = await self._filtered(message.text, message.user_id, "turn")
        try:
            record = await persistence.commit_segment(
                self.story_id,
                seq=seq,
                author_id=message.user_id,
                content=text,
                client_msg_id=message.client_msg_id,
                turn_state=rules.turn_state_document(next_state),
            )
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            if await self._answer_retry(message):
                return
            # Another writer took this seq (two owners): re-read and refuse.
            last = await persistence.last_seq(self.story_id)
            self._state = rules.with_last_seq(self._state, last)
            raise RuleViolation("unavailable", "The story moved on; retry.") from None
        before = self._state
        self._state = next_state
        message.reply(Ack(client_msg_id=message.client_msg_id, seq=seq))
        self._publish(views.story_updated(record), seq=seq)
        await self._after_change(before, "submitted", persisted=True)

    async def _answer_retry(self, message: Submit) -> bool:
        """Answer a resent turn from the database; False when it is not a retry."""
        existing = await persistence.segment_by_client_msg_id(self.story_id, message.client_msg_id)
        if existing is None:
            return False
        if existing.author_id != message.user_id or existing.content != message.text:
            raise RuleViolation("clientMsgIdReused", "This clientMsgId was used for another turn.")
        message.reply(Ack(client_msg_id=message.client_msg_id, seq=existing.seq))
        return True

    # --- the AI narrator's seat ---------------------------------------------------------

    @property
    def _max_regenerations(self) -> int:
        return int(getattr(self._host.ai_seat, "max_regenerations", 0))

    async def _start_ai(
        self, state: rules.SessionState, attempt: int, revise_seq: int | None
    ) -> AiTurnDecision:
        """Ask the seat for text for the turn it holds in ``state``."""
        context = AiTurnContext(
            self.story_id,
            state.last_seq,
            state.deadline or 0.0,
            attempt=attempt,
            revise_seq=revise_seq,
        )
        decision = await self._host.ai_seat.turn_started(context)
        deferred = decision.action == "deferred"
        self._ai_job = _AiJob(state.last_seq, attempt, revise_seq) if deferred else None
        return decision

    def _awaited_ai_job(
        self, turn_seq: int | None, attempt: int, revise_seq: int | None
    ) -> _AiJob | None:
        """The job this narrator result answers, or ``None`` when it is stale."""
        if not rules.ai_text_current(self._state, turn_seq):
            return None
        job = self._ai_job
        if job is None:
            # The actor restarted after the task was queued: the turn token is all there is.
            if revise_seq is not None and revise_seq != self._state.last_seq:
                return None
            return _AiJob(self._state.last_seq, attempt, revise_seq)
        if (job.attempt, job.revise_seq) != (attempt, revise_seq):
            return None  # an earlier attempt (e.g. a redelivered task) of this turn
        return job

    async def _ai_segment(self, message: AiSegmentReady) -> None:
        job = self._awaited_ai_job(message.turn_seq, message.attempt, message.revise_seq)
        if job is None:
            log.info(
                "dropping narrator text for a turn that moved on",
                extra={"storyId": str(self.story_id), "turnSeq": message.turn_seq},
            )
            return
        text = message.text.strip()[: self._record.max_segment_length]
        if not text:
            await self._ai_give_up("failed", job)
            return
        context = ContentContext(self.story_id, None, self._record.age_rating, "aiText")
        verdict = await self._host.content_filter.check(text, context)
        if not verdict.allowed:
            await self._ai_blocked(job)
            return
        log.info(
            "narrator text accepted",
            extra={
                "storyId": str(self.story_id),
                "provider": message.provider,
                "model": message.model,
                "attempt": job.attempt,
            },
        )
        if job.revise_seq is not None:
            await self._commit_revision(job, verdict.text)
            return
        next_state, seq = rules.ai_segment(self._state, self._clock())
        record = await persistence.commit_segment(
            self.story_id,
            seq=seq,
            author_id=None,
            content=verdict.text,
            client_msg_id=None,
            turn_state=rules.turn_state_document(next_state),
        )
        self._ai_job = None
        before = self._state
        self._state = next_state
        self._publish(views.story_updated(record), seq=seq)
        await self._after_change(before, "submitted", persisted=True)

    async def _commit_revision(self, job: _AiJob, text: str) -> None:
        """Replace the AI's last segment with its new text, then move the turn on."""
        assert job.revise_seq is not None
        next_state = rules.pass_turn(self._state, rules.AI_SEAT, self._clock())
        record = await persistence.revise_ai_segment(
            self.story_id,
            seq=job.revise_seq,
            content=text,
            turn_state=rules.turn_state_document(next_state),
        )
        if record is None:  # not the AI's last segment any more: nothing is rewritten
            await self._ai_give_up("failed", job)
            return
        self._ai_job = None
        before = self._state
        self._state = next_state
        # Without a seq: sockets already hold this seq and must not skip the new text.
        self._publish(views.story_updated(record, revised=True))
        await self._after_change(before, "submitted", persisted=True)

    async def _ai_blocked(self, job: _AiJob) -> None:
        """The filter refused the narrator's text: write it again, or pass the turn."""
        attempt = rules.next_ai_attempt(job.attempt, self._max_regenerations)
        if attempt is None:
            await self._ai_give_up("contentBlocked", job)
            return
        decision = await self._start_ai(self._state, attempt, job.revise_seq)
        if decision.action == "pass_turn":
            await self._ai_give_up(
                decision.skip_reason or "failed", _AiJob(job.turn_seq, attempt, job.revise_seq)
            )

    async def _ai_failed(self, message: AiSegmentFailed) -> None:
        job = self._awaited_ai_job(message.turn_seq, message.attempt, message.revise_seq)
        if job is not None:
            await self._ai_give_up("failed", job)

    async def _ai_give_up(self, reason: AiSkipReason, job: _AiJob) -> None:
        """The seat passes its turn and the room learns why (``aiTurnSkipped``)."""
        self._ai_job = None
        self._publish(AiTurnSkipped(reason=reason, attempts=job.attempt + 1, seq=job.revise_seq))
        before = self._state
        self._state = rules.pass_turn(before, rules.AI_SEAT, self._clock())
        await self._after_change(before, "aiPassed")

    async def _regenerate(self, message: RegenerateAi) -> None:
        """A writer asks for the AI's last segment again: the seat takes the turn back."""
        if message.conn is not None and message.conn.closed:
            return
        self._check_sender(message.conn, message.role, "ask the narrator to write again")
        previous = self._recent_acks.get((message.user_id, message.client_msg_id))
        if previous is not None:
            message.reply(previous)
            return
        before = self._state
        last = None
        if before.last_seq > 0:
            last = await persistence.segment_at(self.story_id, before.last_seq)
        by_ai = last is not None and last.author_id is None
        self._state = rules.regenerate_ai(before, by_ai, self._clock())
        ack = Ack(client_msg_id=message.client_msg_id, seq=before.last_seq)
        self._recent_acks[(message.user_id, message.client_msg_id)] = ack
        if len(self._recent_acks) > RECENT_ACKS:
            self._recent_acks.popitem(last=False)
        message.reply(ack)
        self._regenerating = before.last_seq
        try:
            await self._after_change(before, "aiRegenerating")
        finally:
            self._regenerating = None

    async def _after_change(
        self, before: rules.SessionState, reason: TurnReason, persisted: bool = False
    ) -> bool:
        """Persist and announce what changed from ``before``; True if a turn was announced.

        Order on the wire: a decided vote (and ``storyEnded``) first, then the turn.
        """
        await self._announce_vote(before.vote)
        announced = False
        # The AI seat may pass at once, which changes the turn again: loop.
        for _ in range(4):
            state = self._state
            if (state.holder, state.deadline) == (before.holder, before.deadline):
                break
            if not persisted:
                await persistence.save_turn_state(self.story_id, rules.turn_state_document(state))
            persisted = False
            self._publish(views.new_turn(state, reason, previous=before.holder))
            announced = True
            if state.holder != rules.AI_SEAT:
                break
            revise_seq, self._regenerating = self._regenerating, None
            decision = await self._start_ai(state, 0, revise_seq)
            if decision.action != "pass_turn":
                break
            if decision.skip_reason is not None:
                self._publish(
                    AiTurnSkipped(reason=decision.skip_reason, attempts=1, seq=revise_seq)
                )
            before = state
            self._state = rules.pass_turn(state, rules.AI_SEAT, self._clock())
            reason = "aiPassed"
        return announced

    # --- chat -------------------------------------------------------------------------

    async def _chat(self, message: Chat) -> None:
        if message.conn is not None and message.conn.closed:
            return
        self._check_sender(message.conn, message.role, "chat")
        text = await self._filtered(message.text, message.user_id, "chat")
        try:
            record = await persistence.insert_chat(
                self.story_id, message.user_id, text, message.client_msg_id
            )
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            found = await persistence.chat_by_client_msg_id(self.story_id, message.client_msg_id)
            if found is None or found.author_id != message.user_id or found.content != text:
                raise RuleViolation("clientMsgIdReused", "This clientMsgId was used.") from None
            message.reply(Ack(client_msg_id=message.client_msg_id, message_id=found.id))
            return
        message.reply(Ack(client_msg_id=message.client_msg_id, message_id=record.id))
        self._publish(views.chat_received(record, message.display_name))

    # --- votes and the end --------------------------------------------------------------

    def _vote_retry(self, message: StartVote | Vote) -> bool:
        """Answer a resent vote command from memory; False when it is new."""
        self._check_sender(message.conn, "author" if message.conn is None else None, "vote")
        previous = self._recent_acks.get((message.user_id, message.client_msg_id))
        if previous is not None:
            message.reply(previous)
        return previous is not None

    def _acknowledge_vote(self, message: StartVote | Vote, vote_id: str) -> None:
        ack = Ack(client_msg_id=message.client_msg_id, vote_id=vote_id)
        self._recent_acks[(message.user_id, message.client_msg_id)] = ack
        if len(self._recent_acks) > RECENT_ACKS:
            self._recent_acks.popitem(last=False)
        message.reply(ack)

    async def _start_vote(self, message: StartVote) -> None:
        if (message.conn is not None and message.conn.closed) or self._vote_retry(message):
            return
        vote_id = uuid.uuid4().hex
        state = rules.start_vote(self._state, str(message.user_id), vote_id, self._clock())
        before, self._state = self._state, state
        self._acknowledge_vote(message, vote_id)
        assert state.vote is not None
        self._publish(views.vote_started(state, state.vote))
        await self._after_change(before, "rosterChanged")

    async def _cast_vote(self, message: Vote) -> None:
        if (message.conn is not None and message.conn.closed) or self._vote_retry(message):
            return
        user = str(message.user_id)
        now = self._clock()
        state = rules.cast_vote(self._state, user, message.vote_id, message.in_favor, now)
        before, self._state = self._state, state
        self._acknowledge_vote(message, message.vote_id)
        if state.vote is not None and state.vote.status == "open":
            self._publish(views.vote_updated(state, state.vote))
        await self._after_change(before, "rosterChanged")

    async def _announce_vote(self, before_vote: rules.Vote | None) -> None:
        """Announce a vote that was decided or expired; end the story if it passed."""
        vote = self._state.vote
        if vote is None or vote.status == "open":
            return
        if before_vote is not None and (before_vote.vote_id, before_vote.status) == (
            vote.vote_id,
            vote.status,
        ):
            return
        self._publish(views.vote_updated(self._state, vote))
        if vote.status == "passed":
            await self._complete("vote")

    async def _complete(self, reason: Literal["vote", "owner"]) -> None:
        self._state = rules.end_story(self._state, reason)
        document = rules.turn_state_document(self._state)
        ended_at = await persistence.complete_story(self.story_id, document)
        self._story = persistence.completed(self._record, document)
        reason = self._state.ended_reason or reason
        self._publish(StoryEnded(reason=reason, last_seq=self._state.last_seq, ended_at=ended_at))

    async def _end_by_owner(self, message: EndStory) -> None:
        if self._record.creator != message.user_id:
            raise RuleViolation("forbidden", "Only the story's owner can end it.")
        if not self._state.ended:
            before = self._state
            await self._complete("owner")
            await self._after_change(before, "storyEnded")
        message.reply(Ack(client_msg_id=message.client_msg_id, seq=self._state.last_seq))

    # --- introspection (tests, metrics) -------------------------------------------------

    @property
    def state(self) -> rules.SessionState:
        return self._state

    @property
    def connection_count(self) -> int:
        return len(self._conns)
