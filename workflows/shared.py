"""One instance of an immutable input that many workflows a worker caches carry alike.

Every case of a compound and category carries the same registry context (council, policy tables, calendars) in
its start input, and every department task its department's calendar; deserialised per workflow, each copy
stayed in the worker's cache for the life of the workflow. Workflows run outside the sandbox, so this module's
cache is one per worker process. Memory only: the shared instance equals the copy it stands for, and nothing in
a workflow changes it (CaseContext and WorkCalendar are frozen, and their tables are only read).
"""

from functools import lru_cache
from typing import TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)

# distinct contexts alive at once: compounds x categories x policies on the day; past it, the least recently
# met are dropped from the cache (the workflows holding them keep theirs)
_KEPT = 4096


@lru_cache(maxsize=_KEPT)
def _instance(kind: type[BaseModel], text: str) -> BaseModel:
    return kind.model_validate_json(text)


def shared(model: Model) -> Model:
    """The worker's one instance equal to `model` (keyed by its type and JSON, so equal means equal)."""
    return _instance(type(model), model.model_dump_json())  # type: ignore[return-value]
