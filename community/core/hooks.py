"""Hooks: the one way a lower layer lets the domains above it add to what it does, without
importing them.

The layer that offers a hook declares it, next to the type of what it accepts
(`profile_section = Hook[ProfileSection]("accounts.profile_section")` in accounts), and asks it
when it needs the answers; each domain registers its part from its `init_app(app)`. What is
registered belongs to the app (`app.extensions["community.hooks"]`), not to the process, so two
apps built in one process (the tests) never see each other's parts. Parts keep the order in
which they were registered, which is the order of `DOMAINS` in create_app: lower domains first.

A name is registered once per app: a second domain claiming the purpose "ticket" is a mistake
to hear about at start-up, not a silent replacement. `replace` swaps a part in its place (an
app that overrides a domain's answer, a test that breaks one on purpose).
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from flask import Flask, current_app

T = TypeVar("T")

EXTENSION = "community.hooks"


class Hook(Generic[T]):
    """Named parts of type T, kept per app in registration order."""

    # The hooks' names (not their parts): two hooks of one name would share their parts.
    _declared: ClassVar[set[str]] = set()

    def __init__(self, name: str) -> None:
        if name in Hook._declared:
            raise ValueError(f"a hook named {name!r} is already declared")
        Hook._declared.add(name)
        self.name = name

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"

    def register(self, app: Flask, key: str, part: T) -> None:
        parts = self._parts(app)
        if key in parts:
            raise ValueError(f"{self.name}: {key!r} is already registered for this app")
        parts[key] = part

    def replace(self, app: Flask, key: str, part: T) -> None:
        parts = self._parts(app)
        if key not in parts:
            raise KeyError(f"{self.name}: nothing registered as {key!r} to replace")
        parts[key] = part  # a dict keeps a replaced key where it was

    def items(self) -> list[tuple[str, T]]:
        """The current app's parts, as (name, part), in registration order."""
        return list(self._parts(current_app).items())

    def values(self) -> list[T]:
        return list(self._parts(current_app).values())

    def keys(self) -> list[str]:
        return list(self._parts(current_app))

    def get(self, key: str) -> T | None:
        return self._parts(current_app).get(key)

    def _parts(self, app: Flask) -> dict[str, T]:
        hooks: dict[str, dict] = app.extensions.setdefault(EXTENSION, {})
        return hooks.setdefault(self.name, {})
