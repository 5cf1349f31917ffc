"""A real alerting backend (state store, silences, dispatcher) for UI tests."""

from __future__ import annotations

from pathlib import Path

from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.service import Alerting
from vigil.alerting.silence import Silences
from vigil.config import load_config_text
from vigil.state import Store


def real_alerting(data_dir: Path) -> Alerting:
    store = Store.open_in(str(data_dir))
    silences = Silences(store)
    config = load_config_text("alerting:\n  receivers: [{name: ops}]\n  route: {receiver: ops}\n")
    dispatcher = Dispatcher(config.alerting, store, external_url="http://vigil", silencer=silences)
    return Alerting(dispatcher, silences, resolve_timeout_s=300)
