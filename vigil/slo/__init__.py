"""SLOs as code in Sloth's ``prometheus/v1`` format (issue 19, part 2).

- :mod:`vigil.slo.model` — the spec (pydantic);
- :mod:`vigil.slo.loader` — reading and validating SLO files with located errors, and the SLOs
  named in the config (``slo.files``);
- :mod:`vigil.slo.windows` — the multi-window multi-burn-rate alert windows;
- :mod:`vigil.slo.status` — budget left and burn rate per window at an instant (public
  interface for the reports: ``slo_statuses(engine, config_slos(config), at)``).
"""
