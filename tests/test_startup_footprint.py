"""What a Vigil with the default configuration loads at start (issue 21, "start small"): the
client libraries of collectors it does not run, single sign-on, calendar feeds and the demo
stay out of the process, as does alembic when the state database is already at its newest
schema."""

from __future__ import annotations

import subprocess
import sys

NOT_LOADED = ("psycopg", "redis", "paho", "dns", "kubernetes", "joserfc", "icalendar",
              "vigil.demo", "alembic")


def test_the_default_app_loads_no_library_it_does_not_use(tmp_path):
    code = f"""
import sys
from vigil.app import App, check
from vigil.state.store import Store
Store.open_in({str(tmp_path / "data")!r}).close()  # the schema exists, as after a first start
for name in [m for m in sys.modules if m.split(".")[0] == "alembic"]:
    del sys.modules[name]
app = App(check(None, frozenset()), data_dir={str(tmp_path / "data")!r},
          listen="127.0.0.1:0", config_file=None, demo=False, web_config=None)
loaded = sorted(n for n in {NOT_LOADED!r} if n in sys.modules)
assert not loaded, loaded
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=120)
