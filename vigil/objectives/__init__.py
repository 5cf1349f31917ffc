"""Objectives (issue 19, P4): MTTA, MTTR and the false-positive rate from Vigil's alert
episodes and incidents, availability and error budgets per service through PromQL, each
target met or missed. :class:`vigil.objectives.service.ObjectivesService` is the entry point.

Modules: ``records`` (episodes and incidents → figures), ``availability`` (PromQL),
``service`` (targets, the public interface), ``exporter`` (the vigil_objective_* metrics).
"""
