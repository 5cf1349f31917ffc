"""The configuration as YAML for people and APIs, with secrets replaced by ``<secret>``.

A field is secret when the model declares it with ``repr=False`` (webhook URLs of Slack,
PagerDuty routing keys ...), so one marking hides it from logs, reprs and dumps alike.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

SECRET = "<secret>"


def _redact(model: BaseModel, dumped: dict[str, Any]) -> dict[str, Any]:
    for name, field in type(model).model_fields.items():
        key = field.alias or name
        if key not in dumped:
            continue
        value = getattr(model, name)
        if not field.repr and value is not None:
            dumped[key] = SECRET
        elif isinstance(value, BaseModel):
            _redact(value, dumped[key])
        elif isinstance(value, (list, tuple)):
            for item, item_dumped in zip(value, dumped[key], strict=False):
                if isinstance(item, BaseModel):
                    _redact(item, item_dumped)
    return dumped


def redacted_yaml(model: BaseModel) -> str:
    dumped = model.model_dump(mode="json", by_alias=True)
    return yaml.safe_dump(_redact(model, dumped), sort_keys=False)
