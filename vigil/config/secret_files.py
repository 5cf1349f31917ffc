"""Reading a secret from a file named in the config (a password, a token, a webhook URL).

Every stage that takes secrets from files reads them here, at the moment it needs them, so
a rotated file is picked up without a reload. Each stage raises its own error (a scrape
error, a notification error, a config error), so the caller says how a failure is told;
the message names the file, never its content.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["read_secret_file"]


def read_secret_file(path: str, error: Callable[[str], Exception], unreadable: str) -> str:
    """The content of ``path`` without its trailing line break (``\\n`` or ``\\r\\n``).

    When the file cannot be read, raises ``error(f"{unreadable}: {reason}")``, ``reason``
    being the system's words (such as ``No such file or directory``); ``unreadable`` names
    the setting and the file. The OSError's traceback is dropped: the message says it all.
    """
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except OSError as exc:
        raise error(f"{unreadable}: {exc.strerror or exc}") from None
