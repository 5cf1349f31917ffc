"""The rule engine: Prometheus rule files, evaluated on a schedule, alert state machine.

:func:`load_rule_files` reads and validates rule files into :class:`RuleGroup` s;
:class:`Manager` evaluates them through a :data:`QueryFunc` (an instant query; groups of
another query language, such as Loki ruler files in LogQL, through that language's), appends
recorded series and ``ALERTS``/``ALERTS_FOR_STATE`` to a :class:`vigil.storage.Storage`,
hands alerts to a :data:`NotifyFunc` and persists alert state through a
:class:`RuleStateStore` (the state layer's, re-exported here). :func:`default_rule_files`
lists the shipped runbook rule pack.
"""

from vigil.rules._base import QueryFunc, RuleEvalError
from vigil.rules._engine import engine_query_func
from vigil.rules.alerting import AlertingRule
from vigil.rules.manager import Manager, NotifyFunc
from vigil.rules.pack import default_rule_files
from vigil.rules.recording import RecordingRule
from vigil.rules.rulefmt import Rule, RuleGroup, load_rule_files, load_rule_text
from vigil.rules.status import ActiveAlert, GroupStatus, RuleStatus
from vigil.rules.template import AlertTemplate, TemplateError
from vigil.state.records import RuleStateStore, StoredAlert  # what Manager persists through

__all__ = [
    "ActiveAlert", "AlertTemplate", "AlertingRule", "GroupStatus", "Manager", "NotifyFunc",
    "QueryFunc", "RecordingRule", "Rule", "RuleEvalError", "RuleGroup", "RuleStateStore",
    "RuleStatus", "StoredAlert", "TemplateError", "default_rule_files", "engine_query_func",
    "load_rule_files", "load_rule_text",
]
