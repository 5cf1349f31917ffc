"""From the ``schedules:`` section (:mod:`vigil.config.schedules`) to the pure model
(:mod:`vigil.oncall.schedule`)."""

from __future__ import annotations

from datetime import time, timedelta

from vigil.config.schedules import LayerConfig, ScheduleConfig, parse_clock
from vigil.oncall.schedule import Layer, Restriction, Schedule

__all__ = ["layer_from_config", "schedule_from_config", "schedules_by_name"]


def layer_from_config(layer: LayerConfig) -> Layer:
    minutes = parse_clock(layer.handoff)
    return Layer(layer.name, tuple(layer.users), timedelta(seconds=layer.turn), layer.start,
                 time(minutes // 60, minutes % 60), layer.time_zone,
                 tuple(Restriction(r.kind, *r.minutes()) for r in layer.restrictions))


def schedule_from_config(schedule: ScheduleConfig) -> Schedule:
    return Schedule(schedule.name, schedule.time_zone,
                    tuple(layer_from_config(layer) for layer in schedule.layers), schedule.description)


def schedules_by_name(schedules: list[ScheduleConfig]) -> dict[str, Schedule]:
    """The config's schedules in the order written, by name."""
    return {s.name: schedule_from_config(s) for s in schedules}
