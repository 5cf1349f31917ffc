"""Incidents (issue 17, O4): when several alerts are one outage, an incident with a severity
(SEV-1..4, :mod:`vigil.config.incidents`), a status (investigating → identified → monitoring →
resolved), people in its roles, impacted components and a timeline.

* :mod:`vigil.incidents.service` — declaring (by hand, from alert matchers, from one alert
  group, by an escalation step) and every change people make; each one transaction with its
  timeline event and audit entry (:mod:`vigil.state.incident_store`).
* :mod:`vigil.incidents.inputs` — checking what people give it, and default titles.
* :mod:`vigil.incidents.paging` — who a declaration pages (the severity's ``response``).
* :mod:`vigil.incidents.matching` — which alert groups an incident's matchers take in.
* :mod:`vigil.incidents.timeline` — the primary's loop that copies attached groups' alert
  changes and episode events into the timeline and attaches newly matching groups.
* :mod:`vigil.incidents.timeline_export` — the timeline as JSON, CSV and Markdown.
"""
