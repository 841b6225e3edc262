"""What every AI feature returns: the value, which engine produced it, the exact prompt (when a model was
asked), and why the offline engine answered instead, if it did."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

from crm_core.ai.client import AiError, AiRequest
from crm_core.ai.config import AiConfig

T = TypeVar("T")
OFFLINE = "offline engine"


@dataclass(frozen=True)
class Answer(Generic[T]):
    """One answer: `value` (None when neither engine could answer), `engine` (the model's name or
    "offline engine"), `prompt` (the exact request, viewable), `note` (why the offline engine answered,
    or what the model got wrong), `problems` (details a user can act on)."""

    value: T | None
    engine: str
    prompt: str | None = None
    note: str | None = None
    problems: list[str] = field(default_factory=list)
    sent: bool = False  # whether the prompt went to a model (False: nothing left this machine)

    @property
    def by_model(self) -> bool:
        """Whether the model (not the offline engine) produced the value."""
        return self.engine != OFFLINE


def answer_with_fallback(config: AiConfig, request: AiRequest, from_model: Callable[[AiRequest], T],
                         offline: Callable[[], T | None]) -> Answer[T]:
    """Ask the model through `from_model` (raises AiError when it fails or its answer does not validate);
    otherwise, or without a model, answer with `offline` and say why."""
    if not config.uses_model:
        why = ("The offline engine is chosen in Settings." if config.mode == "offline" else
               "No API key is set.")
        return Answer(offline(), OFFLINE, request.shown(), why)
    try:
        return Answer(from_model(request), config.model, request.shown(), sent=True)
    except AiError as exc:
        return Answer(offline(), OFFLINE, request.shown(), f"{exc.message} The offline engine answered instead.",
                      exc.details, sent=True)
