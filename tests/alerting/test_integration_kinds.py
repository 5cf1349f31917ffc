"""Every kind of integration a receiver can configure is registered, and
build_integrations names them in config order."""

from __future__ import annotations

import pytest

from vigil.alerting.notify import build_integrations
from vigil.alerting.notify.integration import register_integration, registered_integrations
from vigil.config.model import Receiver


def test_every_receiver_configs_field_has_a_registered_integration():
    fields = {f for f in Receiver.model_fields if f.endswith("_configs")}
    assert set(registered_integrations()) == fields
    assert {k.kind for k in registered_integrations().values()} == {
        "webhook", "slack", "pagerduty", "email"}


def test_integrations_are_named_by_kind_and_index_in_field_order():
    receiver = Receiver.model_validate({
        "name": "all",
        "email_configs": [{"to": "a@example.org", "from": "v@example.org",
                           "smarthost": "localhost:25"}],
        "webhook_configs": [{"url": "http://a.example/"}, {"url": "http://b.example/"}],
        "slack_configs": [{"api_url": "https://hooks.slack.example/x", "channel": "#ops"}],
        "pagerduty_configs": [{"routing_key": "k"}],
    })
    names = [i.name for i in build_integrations(receiver)]
    assert names == ["webhook/0", "webhook/1", "slack/0", "pagerduty/0", "email/0"]


def test_registering_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match="no field 'pigeon_configs'"):
        register_integration("pigeon", "pigeon_configs", lambda name, cfg, library: None)
