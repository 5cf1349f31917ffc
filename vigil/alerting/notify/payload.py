"""The data a notification carries, in Alertmanager's webhook shape (version 4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vigil.gocompat.times import format_rfc3339_nano
from vigil.model.alert import Alert
from vigil.model.labels import Labels


def common_labels(sets: list[Labels]) -> dict[str, str]:
    if not sets:
        return {}
    common = dict(sets[0])
    for labels in sets[1:]:
        for k in list(common):
            if labels.get(k) != common[k] or k not in labels.names():
                del common[k]
    return common


def webhook_payload(*, receiver: str, group_key: str, group_labels: Labels, alerts: list[Alert],
                    now: datetime, external_url: str, max_alerts: int = 0) -> dict[str, Any]:
    firing = [a for a in alerts if not a.resolved(now)]
    entries = [
        {
            "status": "resolved" if a.resolved(now) else "firing",
            "labels": a.labels.to_dict(),
            "annotations": a.annotations.to_dict(),
            "startsAt": format_rfc3339_nano(a.starts_at),
            "endsAt": format_rfc3339_nano(a.ends_at if a.resolved(now) else None),
            "generatorURL": a.generator_url,
            "fingerprint": a.fingerprint(),
        }
        for a in alerts
    ]
    truncated = 0
    if max_alerts and len(entries) > max_alerts:
        truncated = len(entries) - max_alerts
        entries = entries[:max_alerts]
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": truncated,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": group_labels.to_dict(),
        "commonLabels": common_labels([a.labels for a in alerts]),
        "commonAnnotations": common_labels([a.annotations for a in alerts]),
        "externalURL": external_url,
        "alerts": entries,
    }
