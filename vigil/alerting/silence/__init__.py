"""Silences: mute notifications for alerts matching a set of matchers, for a while."""

from vigil.alerting.silence.model import Silence, matcher_from_json, matcher_to_json
from vigil.alerting.silence.silences import (
    SilenceError,
    SilenceInput,
    SilenceNotFound,
    Silences,
    parse_matchers_json,
)

__all__ = ["Silence", "SilenceError", "SilenceInput", "SilenceNotFound", "Silences",
           "matcher_from_json", "matcher_to_json", "parse_matchers_json"]
