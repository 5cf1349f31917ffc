"""The ``slo:`` section (issue 19): SLO files in Sloth's ``prometheus/v1`` format whose
generated recording and alerting rules Vigil evaluates like rule files, and whose status the
``/slos`` page shows.

.. code-block:: yaml

    slo:
      files:                       # relative to this config file
        - slos/api.yml
      shipped: true                # also Vigil's own SLOs for the runbook's objectives

The files are read and validated by :mod:`vigil.slo.loader` when the config is checked and
at each reload; a problem is reported as ``file:line:col: path: message``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["SLOConfig"]


class SLOConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    files: list[str] = Field(default_factory=list)
    # Vigil's SLO files for the runbook's objectives (vigil/slo/shipped/); off by default
    # because their queries name metrics (http_requests_total, ...) a site may not have.
    shipped: bool = False

    @field_validator("files")
    @classmethod
    def _non_empty(cls, files: list[str]) -> list[str]:
        for f in files:
            if not f.strip():
                raise ValueError("an SLO file name is empty")
        return files
