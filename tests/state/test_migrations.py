"""The schema's history: revisions written side by side (two features at once) are joined
by a merge revision, so the history has one head and a downgrade path is unambiguous."""

from __future__ import annotations

from importlib import resources

from alembic.config import Config
from alembic.script import ScriptDirectory


def test_the_migration_history_has_one_head():
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("vigil.state") / "migrations"))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"several heads {heads}: add a merge revision joining them"
