"""Recording rules: evaluate an expression and store its result as new series."""

from __future__ import annotations

from vigil.model.labels import METRIC_NAME, Labels
from vigil.promql.value import Sample
from vigil.rules._base import QueryFunc, RuleEvalError, RuleHealth, ms_to_dt
from vigil.rules.rulefmt import Rule, rule_labels
from vigil.rules.status import RuleStatus


class RecordingRule:
    """Evaluates ``rule.expr`` and names each result sample ``rule.record``, with the rule's
    labels set over the sample's (an empty rule label value removes that label)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.name = rule.record
        self.health = RuleHealth()

    def eval(self, ts_ms: int, query_offset_ms: int, query: QueryFunc, limit: int) -> list[Sample]:
        """Samples to append, stamped ``ts_ms - query_offset_ms`` (the time queried)."""
        at = ts_ms - query_offset_ms
        vector = query(self.rule.parsed, at)
        out: list[Sample] = []
        seen: set[Labels] = set()
        for s in vector.samples:
            lb = s.labels.to_dict()
            lb[METRIC_NAME] = self.name
            for k, v in self.rule.labels:
                if v:
                    lb[k] = v
                else:
                    lb.pop(k, None)
            labels = Labels(lb)
            if labels in seen:
                raise RuleEvalError(
                    "vector contains metrics with the same labelset after applying rule labels")
            seen.add(labels)
            out.append(Sample(labels, at, s.value))
        if limit > 0 and len(out) > limit:
            raise RuleEvalError(f"exceeded limit {limit} with {len(out)} series")
        return out

    def status(self) -> RuleStatus:
        h = self.health
        return RuleStatus(
            name=self.name, query=self.rule.query, type="recording", health=h.health,
            last_error=h.last_error, last_evaluation=ms_to_dt(h.last_evaluation_ms),
            evaluation_time_s=h.evaluation_time_s, labels=rule_labels(self.rule),
        )
