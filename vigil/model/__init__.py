"""Types shared by every stage: labels, matchers, samples and alerts."""

from vigil.model.alert import Alert
from vigil.model.labels import METRIC_NAME, Labels
from vigil.model.matchers import Matcher, MatchType

__all__ = ["Alert", "Labels", "METRIC_NAME", "Matcher", "MatchType"]
