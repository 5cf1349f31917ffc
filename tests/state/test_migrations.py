"""The schema's history: revisions written side by side (two features at once) are joined
by a merge revision, so the history has one head and a downgrade path is unambiguous."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

from alembic.config import Config
from alembic.script import ScriptDirectory

from vigil.state.store import SCHEMA_HEAD, Store


def test_the_migration_history_has_one_head():
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("vigil.state") / "migrations"))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"several heads {heads}: add a merge revision joining them"
    assert heads == [SCHEMA_HEAD], (
        f"vigil.state.store.SCHEMA_HEAD is {SCHEMA_HEAD!r} but the newest revision is {heads[0]!r}:"
        " a database at the head would be opened without upgrading it")


def test_a_database_at_the_head_opens_without_alembic(tmp_path):
    Store.open_in(str(tmp_path)).close()  # creates and upgrades
    code = (
        "import sys\n"
        "from vigil.state.store import Store\n"
        f"s = Store.open_in({str(tmp_path)!r})\n"
        "assert s.schema_revisions() == {'" + SCHEMA_HEAD + "'}, s.schema_revisions()\n"
        "assert 'alembic' not in sys.modules, 'alembic was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_older_database_is_still_upgraded(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("vigil.state") / "migrations"))
    with engine.begin() as conn:  # as a database left by an older release
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0015")
    engine.dispose()
    store = Store.open_in(str(tmp_path))
    assert store.schema_revisions() == {SCHEMA_HEAD}
    store.close()
