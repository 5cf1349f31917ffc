"""Accept Go (RE2) regular-expression syntax that Python's ``re`` spells differently.

Prometheus matchers use RE2. The differences that matter in practice: RE2 allows flag
groups like ``(?i)`` anywhere (scoped to the rest of the enclosing group), Python only at
the start; and RE2 spells ``\\z`` for end of text where Python uses ``\\Z``.
"""

from __future__ import annotations

import re

_FLAGS = re.compile(r"\(\?([imsU]+)\)")


def go_to_python(pattern: str) -> str:
    """Rewrite RE2-only syntax into an equivalent Python pattern."""
    out: list[str] = []
    # Stack of open groups; for each, how many scoped flag groups we opened inside it.
    opened: list[int] = [0]
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append("\\Z" if nxt == "z" and not in_class else pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            # A "]" right after "[" or "[^" is literal.
            if pattern.startswith("^]", i + 1):
                out.append("^]")
                i += 3
                continue
            if pattern.startswith("]", i + 1):
                out.append("]")
                i += 2
                continue
            i += 1
            continue
        m = _FLAGS.match(pattern, i)
        if m and (i > 0 or len(opened) > 1):
            flags = m.group(1).replace("U", "")
            out.append(f"(?{flags}:" if flags else "(?:")
            opened[-1] += 1
            i = m.end()
            continue
        if c == "(":
            opened.append(0)
        elif c == ")" and len(opened) > 1:
            out.append(")" * opened.pop())
        out.append(c)
        i += 1
    out.append(")" * opened[0])
    return "".join(out)


def compile_go(pattern: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error:
        return re.compile(go_to_python(pattern), flags)
