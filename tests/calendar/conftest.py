"""The events factories (make_event, register, organiser) for the calendar tests."""

from tests.events.conftest import make_event, organiser, register  # noqa: F401
