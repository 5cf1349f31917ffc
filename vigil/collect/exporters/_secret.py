"""Reading a collector's password from the environment or a file, never from the config."""

from __future__ import annotations

import os

from vigil.collect.exporters._expfmt import CollectorError
from vigil.config.secret_files import read_secret_file

__all__ = ["read_password"]


def read_password(what: str, password_env: str | None, password_file: str | None) -> str | None:
    """The password for ``what`` (used in error messages), or None when none is configured.

    Read on every call so a rotated password is picked up without a reload. Raises
    :class:`CollectorError` naming the variable or file, never its content.
    """
    if password_env is not None:
        value = os.environ.get(password_env)
        if value is None:
            raise CollectorError(f"{what}: environment variable {password_env} is not set")
        return value
    if password_file is not None:
        return read_secret_file(password_file, CollectorError,
                                f"{what}: cannot read password_file {password_file}")
    return None
