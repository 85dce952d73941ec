"""The column type of every model's `status`: a string that takes only the model's statuses.

It is SQLAlchemy's non-native `Enum` (a VARCHAR, the same on SQLite and PostgreSQL), whose CHECK
is named `status_known`, so the naming convention makes it `ck_<table>_status_known`. The tuple
of statuses stays the one source (the CHECK is built from it); each model's transition function
decides which moves are legal. Unknown values are refused by the database's CHECK, not before
the statement is sent: the database is the authority on what a row may hold, and it names the
rule that was broken.
"""

from __future__ import annotations

from sqlalchemy import Enum


def status_type(statuses: tuple[str, ...], *, length: int) -> Enum:
    return Enum(
        *statuses,
        name="status_known",
        native_enum=False,
        create_constraint=True,
        length=length,
        # Strings are handed to the database as they are (see the opening paragraph).
        validate_strings=False,
    )


def sql_in(values: tuple[str, ...]) -> str:
    """`('a', 'b')`: the SQL list of a CHECK that a column holds one of `values` (our own
    constants, never what people typed)."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"
