"""A chat session over one index: the model stays loaded, follow-ups become standalone questions.

Retrieval only sees the question it is given, so "and what about the second one?" would find
nothing. A question that leans on the conversation (``prompt.is_follow_up``) is first
rewritten by the model into a standalone one, from the last few turns; that question is
then answered like any other and shown to the user. History lives in memory only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rag.engine import Answer, Engine
from rag.prompt import is_follow_up, parse_rewrite, rewrite_messages

KEEP_TURNS = 3
REWRITE_TOKENS = 64


def standalone_question(
    engine: Engine, history: list[tuple[str, str]], question: str, *, stopped: Callable[[], bool] | None = None
) -> str:
    """``question`` rewritten to stand alone when it leans on ``history`` (question, answer pairs,
    oldest first); unchanged otherwise. ``stopped``: as ``Engine.ask`` takes it."""
    import contextlib

    if not history or not is_follow_up(question):
        return question
    turns = history[-KEEP_TURNS:]
    messages = rewrite_messages(turns, question)
    generator = engine.strong_generator
    stop_model = getattr(generator, "stop_when", None)
    with stop_model(stopped) if stop_model and stopped else contextlib.nullcontext():
        reply = "".join(generator.stream(messages, max_tokens=REWRITE_TOKENS))
    return parse_rewrite(reply, question, turns)


@dataclass(frozen=True)
class Turn:
    asked: str
    standalone: str
    answer: Answer


class Conversation:
    def __init__(self, engine: Engine, *, keep_turns: int = KEEP_TURNS):
        self.engine = engine
        self.keep_turns = keep_turns
        self.turns: list[Turn] = []

    def standalone(self, question: str) -> str:
        """The question as it would be asked without the conversation."""
        recent = [(t.standalone, t.answer.answer) for t in self.turns[-self.keep_turns :]]
        return standalone_question(self.engine, recent, question)

    def ask(
        self,
        question: str,
        *,
        on_text: Callable[[str], None] | None = None,
        where: str | None = None,
        on_rewrite: Callable[[str], None] | None = None,
    ) -> Turn:
        """Answer ``question`` in the light of the conversation; ``on_rewrite`` hears a rewritten question."""
        standalone = self.standalone(question)
        if standalone != question and on_rewrite:
            on_rewrite(standalone)
        turn = Turn(question, standalone, self.engine.ask(standalone, on_text=on_text, where=where))
        self.turns.append(turn)
        return turn

    def reset(self) -> None:
        self.turns.clear()

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None
