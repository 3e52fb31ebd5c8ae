"""Errors of the labeling service; each names the object and what to do."""

from __future__ import annotations

from ..core import Conflict, InvalidInput, NotFound


class ProjectNotFound(NotFound):
    """No labeling project with that name or id."""


class AnnotatorNotFound(NotFound):
    """No annotator account with that name or id."""


class TaskNotFound(NotFound):
    """The project has no task with that row."""


class LabelNotInClasses(InvalidInput):
    """A submitted label is not one of the project's classes."""


class SpanOutOfRange(InvalidInput):
    """A text span does not lie inside the task's text."""


class InvalidAnnotation(InvalidInput):
    """An annotation has the wrong shape for the project's kind."""


class TaskNotAssigned(Conflict):
    """An annotator submitted a task that was not assigned to them."""


class DuplicateAnnotation(Conflict):
    """An annotator submitted the same task twice."""


class AnnotatorExcluded(Conflict):
    """The annotator was excluded from the project (e.g. for low gold accuracy)."""


class NotAllowed(Conflict):
    """The annotator's role does not allow the action (reviews need reviewer/manager)."""
