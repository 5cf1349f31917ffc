"""The ``dashboards:`` section (issue 18): where Perses dashboard files are read from and
saved to.

.. code-block:: yaml

    dashboards:
      folders: [dashboards, /srv/shared-dashboards]   # relative to this config file
      shipped: true        # also Vigil's own dashboards (vigil/dashboards/shipped/)

Every ``*.yaml``, ``*.yml`` and ``*.json`` file in a folder (not its subfolders) holding a
``kind: Dashboard`` is a dashboard, named by its ``metadata.name``. When two have the same
name, the first folder wins over later ones and any folder wins over a shipped dashboard.
Saving from the UI writes into the first folder, so without folders dashboards are read-only.
The folders are read on every request: a file changed on disk shows without a reload.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DashboardsConfig"]


class DashboardsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    folders: list[str] = Field(default_factory=list)
    shipped: bool = True

    @field_validator("folders")
    @classmethod
    def _folders(cls, folders: list[str]) -> list[str]:
        for i, folder in enumerate(folders):
            if not folder.strip():
                raise ValueError(f"folders[{i}] is empty")
        if len(set(folders)) != len(folders):
            raise ValueError("a folder is listed twice")
        return folders
