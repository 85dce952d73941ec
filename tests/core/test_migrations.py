"""The schema comes only from migrations: they go up, down and up again, and match the models."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from community import create_app
from community.core.db import db
from tests.conftest import BACKENDS, postgres_url_with_schema


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url_with_schema("public"))
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield postgres_url_with_schema(schema)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def _differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def test_migrations_go_up_down_and_up_again_and_match_the_models(empty_database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": empty_database_url,
            "SECRET_KEY": "migration-test-secret-key-long-enough",
            "MAIL_OUTBOX_DIR": str(tmp_path),
        }
    )
    with app.app_context():
        engine = db.engine
        assert _tables(engine) == set()
        upgrade()
        expected = {table.name for table in db.metadata.sorted_tables}
        assert _tables(engine) == expected
        assert _differences(engine) == []

        downgrade(revision="base")
        assert _tables(engine) == set()

        upgrade()
        assert _tables(engine) == expected
        assert _differences(engine) == []
        engine.dispose()


def test_every_constraint_is_named_by_the_convention(app):
    for table in db.metadata.sorted_tables:
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}"
        for index in table.indexes:
            assert index.name and index.name.startswith(("ix_", "uq_")), index
