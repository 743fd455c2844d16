"""Rasa's ``create`` for our components that need only their config (no storage, no context)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Type, TypeVar

from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

C = TypeVar("C", bound="CreatedFromConfig")


class CreatedFromConfig:
    """Mix in before the Rasa base class: ``create`` builds the component from its config alone."""

    if TYPE_CHECKING:  # each component defines its own; this only tells mypy what create() calls

        def __init__(self, config: Dict[str, Any]) -> None: ...

    @classmethod
    def create(
        cls: Type[C],
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> C:
        """Create the component (see the Rasa base class)."""
        return cls(config)
