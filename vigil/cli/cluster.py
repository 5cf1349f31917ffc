"""``vigil cluster status``: the replicas of a running Vigil as one of them sees them.

Reads ``GET /api/vigil/v1/cluster`` from ``--url`` (else ``$VIGIL_URL``, else the default
listen address) with ``--token`` (else ``$VIGIL_TOKEN``) when Vigil has users; a viewer
token is enough. Prints one line per replica, or the API's JSON with ``--json``. Exit 1 when
no replica is primary, a replica is unhealthy, or Vigil cannot be asked (for scripts and
health checks); exit 2 on bad usage.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from vigil.cli._common import fail
from vigil.cli.silence import TokenOption, UrlOption

cluster_cli = typer.Typer(help="Replicas sharing one state database.", no_args_is_help=True)


@cluster_cli.command("status")
def status(
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")] = False,
) -> None:
    """Show each replica's role, health, heartbeat age and shard, and the primary lease."""
    view = _fetch(url, token)
    problems = _problems(view)
    if as_json:
        typer.echo(json.dumps(view, indent=2, sort_keys=True))
    else:
        typer.echo(_table(view))
        for problem in problems:
            typer.echo(f"problem: {problem}")
    if problems:
        raise typer.Exit(1)


def _fetch(url: str | None, token: str | None) -> dict[str, Any]:
    import httpx

    from vigil.config import DEFAULT_LISTEN

    base = (url or f"http://{DEFAULT_LISTEN}").rstrip("/")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        resp = httpx.get(f"{base}/api/vigil/v1/cluster", headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        fail(f"cannot reach Vigil at {base}: {exc}")
    if resp.status_code != 200:
        fail(f"{base}/api/vigil/v1/cluster answered {resp.status_code}: {resp.text.strip()[:300]}")
    try:
        return resp.json()["data"]
    except (ValueError, KeyError):
        fail(f"{base}/api/vigil/v1/cluster did not answer with a cluster view")


def _problems(view: dict[str, Any]) -> list[str]:
    out = []
    if not any(m["role"] == "primary" for m in view["members"]):
        out.append("no replica is primary")
    out += [f"replica {m['name']} ({m['id']}) is unhealthy" for m in view["members"] if not m["healthy"]]
    if not view["database"]["reachable"]:
        out.append(f"this replica cannot reach the state database: {view['database']['error']}")
    return out


def _table(view: dict[str, Any]) -> str:
    header = ("NAME", "ROLE", "HEALTH", "HEARTBEAT", "SHARD", "VERSION", "URL", "ID")
    rows = [header] + [(
        m["name"] + (" *" if m["self"] else ""), m["role"],
        "healthy" if m["healthy"] else "UNHEALTHY", f"{m['heartbeat_age_seconds']:.1f}s ago",
        f"{m['shard'][0] + 1}/{m['shard'][1]}" if m["shard"] else "-", m["version"], m["url"], m["id"],
    ) for m in view["members"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lease = view.get("lease")
    if lease is None:
        lines.append("primary lease: never taken")
    elif lease["holder"] is None:
        lines.append(f"primary lease: expired (epoch {lease['epoch']})")
    else:
        holder = next((m["name"] for m in view["members"] if m["id"] == lease["holder"]), lease["holder"])
        lines.append(f"primary lease: {holder}, epoch {lease['epoch']}, "
                     f"expires in {lease['expires_in_seconds']:.1f}s unless renewed")
    lines.append("(* this replica)")
    return "\n".join(lines)
