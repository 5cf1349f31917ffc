"""The secret patterns Vigil knows out of the box, and how a pattern is described.

Each pattern carries *hints*: literal substrings one of which every match must contain. A line
holding none of a pattern's hints is never given to its regex; that cheap pre-check is what
keeps masking from slowing ingest (most lines hold no hint at all). A pattern whose regex has a
group named ``secret`` masks only that group (``postgres://app:[REDACTED…]@db``), so the
context a reader needs stays readable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from vigil.model.regex import compile_go

__all__ = ["BUILTIN_PATTERNS", "SecretPattern", "SENSITIVE_FIELD_NAMES"]

_KIND = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class SecretPattern:
    kind: str  # the name in the mask and the metric's ``kind`` label: [a-z][a-z0-9_]*
    regex: re.Pattern[str]
    hints: tuple[str, ...] = ()  # >= 2 characters each; (): no pre-check, tried on every text
    # Substrings a match always holds, all of them: checked before the regex, which costs
    # several µs on a long line (built-in patterns only).
    requires: tuple[str, ...] = ()

    @classmethod
    def compile(cls, kind: str, regex: str, hints: Sequence[str] = ()) -> SecretPattern:
        """A pattern from configuration (Go/RE2 syntax); ``ValueError`` names the pattern and says what is
        wrong (bad kind, bad regex, a regex that matches the empty string, an empty hint)."""
        if not _KIND.match(kind):
            raise ValueError(f"secret pattern {kind!r}: the name must be lower-case letters, "
                             "digits and _, starting with a letter")
        try:
            compiled = compile_go(regex)  # RE2 syntax, as every other regex in Vigil's config
        except re.error as e:
            raise ValueError(f"secret pattern {kind!r}: bad regular expression: {e}") from None
        if compiled.fullmatch("") is not None:
            raise ValueError(f"secret pattern {kind!r}: the regular expression matches the "
                             "empty string")
        if any(len(h) < 2 for h in hints):
            raise ValueError(f"secret pattern {kind!r}: a hint must be at least two characters")
        return cls(kind, compiled, tuple(hints))


def _builtin(kind: str, regex: str, *hints: str, requires: tuple[str, ...] = ()) -> SecretPattern:
    return SecretPattern(kind, re.compile(regex), hints, requires)


# Order matters: an earlier pattern's mask ("[REDACTED:jwt:…]") holds none of the characters a
# later pattern needs, so a bearer JWT is reported once, as a JWT.
BUILTIN_PATTERNS: tuple[SecretPattern, ...] = (
    _builtin("private_key",
             r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----"
             r"(?:[\s\S]*?-----END \1PRIVATE KEY\2-----|[\s\S]*)",
             "PRIVATE KEY"),
    _builtin("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
             "AKIA", "ASIA", "ABIA", "ACCA"),
    _builtin("aws_secret_key",
             r"(?i)aws_?secret_?(?:access_?)?key\"?'?\s*[:=]\s*\"?'?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
             "ecret", "ECRET"),
    _builtin("gcp_api_key", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", "AIza"),
    _builtin("azure_storage_key", r"AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)", "AccountKey="),
    _builtin("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
             "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    _builtin("gitlab_token", r"\bgl(?:pat|dt|rt|ptt)-[A-Za-z0-9_-]{20,}",
             "glpat-", "gldt-", "glrt-", "glptt-"),
    _builtin("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", "xox"),
    _builtin("slack_webhook",
             r"hooks\.slack\.com/services/(?P<secret>T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,})",
             "hooks.slack.com"),
    _builtin("stripe_key", r"\b[rs]k_live_[0-9a-zA-Z]{20,}", "k_live_"),
    _builtin("jwt", r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}", "eyJ"),
    _builtin("bearer_token", r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)",
             "earer", "EARER"),
    # scheme://user:password@host — only the password is masked.
    _builtin("url_password",
             r"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@\"']*:(?P<secret>[^/\s@\"'\[]+)@", "://",
             requires=("@",)),
    # password=…, "password": "…", passwd: … in key/value and JSON text; "Failed password for"
    # has no separator and is left alone. Not "pwd": sudo logs the working directory as PWD=.
    _builtin("password",
             r"(?i)(?<!REDACTED:)\b(?:password|passwd|passphrase)\"?\s*[:=]\s*\"?(?P<secret>[^\s\"&,;\[]{3,})",
             "ass", "ASS"),
)

# Structured fields whose whole value is a secret whatever it looks like.
SENSITIVE_FIELD_NAMES: frozenset[str] = frozenset({
    "password", "passwd", "pwd", "secret", "client_secret", "api_key", "apikey", "access_token",
    "refresh_token", "private_key", "authorization", "x_api_key", "cookie", "set_cookie",
})
