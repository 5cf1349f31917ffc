"""``vigil shifts``: the shift checklists of a running Vigil, through its API
(:mod:`vigil.web.shifts_api`).

    vigil shifts show [ID]                       the shift now (or shift ID): items, evidence, hand-over
    vigil shifts history [--start T] [--end T]   shifts that started in [start, end) (default: 7 days)
    vigil shifts tick ID KEY --note TEXT [--reopen]
    vigil shifts handover ID --note TEXT         carries the open items to the next shift
    vigil shifts check ID                        run Vigil's checks now; exit 1 if one failed
                                                 or could not verify

ID is a shift's id (``2026-12-07-morning``) or ``current``. ``--url`` (else ``$VIGIL_URL``)
and ``--token`` (else ``$VIGIL_TOKEN``; a responder's for changes); ``--json`` prints the
API's answer. Exit 1 when Vigil refuses (the reason is printed) or cannot be asked, 2 on
bad usage.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer

from vigil.cli._common import api_call, echo_json, time_option, usage_error, utc_text
from vigil.cli.silence import TokenOption, UrlOption

__all__ = ["shifts_app"]

shifts_app = typer.Typer(help="Shift checklists: today's list, ticks, hand-over, history.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]
IdArg = Annotated[str, typer.Argument(metavar="ID", help="The shift's id (2026-12-07-morning) or 'current'.")]
MARKS = {"ok": "[ok]", "done": "[x]", "failed": "[FAILED]", "error": "[?]", "open": "[ ]"}


def _call(method: str, path: str, url: str | None, token: str | None, body: dict[str, Any] | None = None,
          params: dict[str, str] | None = None) -> Any:
    return api_call(method, f"/api/vigil/v1/shifts{path}", url, token, body, params, name_path=False).json()["data"]


def _shift_id(shift: str, url: str | None, token: str | None) -> str:
    if shift == "current":
        return str(_call("GET", "/current", url, token)["id"])
    return shift


def _evidence(e: dict[str, Any]) -> str:
    if e.get("source") == "promql":
        verdict = e.get("error") or f"{e.get('series_count', 0)} series, {e.get('failing', 0)} failing"
        return f"{e['query']}  {e['ok_when']}  -> {verdict}"
    if "count" in e:
        return f"{e['source']}: {e['filter']} -> {e['count']} found"
    return f"{e.get('source', '')}: {e.get('error', '')}"


def _show(shift: dict[str, Any]) -> None:
    typer.echo(f"{shift['title']} {shift['date']} ({shift['id']}): {shift['starts_at']} .. {shift['ends_at']}, "
               f"{shift['done']} of {shift['total']} done")
    for item in shift["items"]:
        by = f"  {item['by']} {item['at']}" if item["by"] else ""
        carried = f"  (carried from {item['carried_from']})" if item["carried_from"] else ""
        typer.echo(f"  {MARKS.get(item['status'], item['status']):<9} {item['key']}: {item['title']}{by}{carried}")
        if item["note"]:
            typer.echo(f"            note: {item['note']}")
        if item["evidence"]:
            typer.echo(f"            evidence: {_evidence(item['evidence'])}")
    if shift["handover_note"]:
        typer.echo(f"  hand-over by {shift['handed_over_by']} at {shift['handed_over_at']}: {shift['handover_note']}")
    if shift["open_items"]:
        typer.echo(f"  open: {', '.join(shift['open_items'])}")


@shifts_app.command()
def show(shift: Annotated[str, typer.Argument(metavar="[ID]", help="The shift's id; default: the shift now.")]
         = "current", url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """The shift now (or shift ID): its items, who checked them, the evidence, the hand-over."""
    data = _call("GET", "/current" if shift == "current" else "/" + quote(shift, safe=""), url, token)
    echo_json(data) if as_json else _show(data)


@shifts_app.command()
def history(start: Annotated[str | None, typer.Option("--start", help="RFC 3339; default: 7 days before --end.")]
            = None, end: Annotated[str | None, typer.Option("--end", help="RFC 3339; default: now.")] = None,
            url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Shifts that started in [start, end), oldest first."""
    params = {}
    if start is not None:
        params["start"] = utc_text(time_option(start, "--start"))
    if end is not None:
        params["end"] = utc_text(time_option(end, "--end"))
    data = _call("GET", "", url, token, params=params)
    if as_json:
        echo_json(data)
        return
    for shift in data:
        handover = f"  hand-over: {shift['handover_note']}" if shift["handover_note"] else ""
        typer.echo(f"{shift['id']:<28} {shift['done']}/{shift['total']} done  open {len(shift['open_items'])}{handover}")


@shifts_app.command()
def tick(shift: IdArg, key: Annotated[str, typer.Argument(metavar="KEY", help="The item's key (see show).")],
         note: Annotated[str, typer.Option("--note", help="What you found (needed to tick).")] = "",
         reopen: Annotated[bool, typer.Option("--reopen", help="Mark the item open again.")] = False,
         url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Tick an item done with a note (or open it again with --reopen)."""
    if not reopen and not note.strip():
        usage_error("--note: say what you found when you tick an item")
    shift_id = _shift_id(shift, url, token)
    item = _call("POST", f"/{quote(shift_id, safe='')}/items/{quote(key, safe='')}/tick", url, token,
                 {"note": note, "done": not reopen})
    if as_json:
        echo_json(item)
    else:
        typer.echo(f"{shift_id} {item['key']}: {item['status']} by {item['by']}")


@shifts_app.command()
def handover(shift: IdArg, note: Annotated[str, typer.Option("--note", help="What the next shift must know.")] = "",
             url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Hand the shift over with a note; its open items are carried to the next shift."""
    if not note.strip():
        usage_error("--note: the hand-over note tells the next shift what is going on")
    shift_id = _shift_id(shift, url, token)
    data = _call("POST", f"/{quote(shift_id, safe='')}/handover", url, token, {"note": note})
    if as_json:
        echo_json(data)
        return
    carried = ", ".join(data["open_items"]) or "nothing"
    typer.echo(f"{shift_id} handed over to {data['next_shift_id']}; carried: {carried}")


@shifts_app.command()
def check(shift: IdArg, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Run Vigil's checks of the shift now; exit 1 when one failed or could not verify."""
    data = _call("POST", f"/{quote(_shift_id(shift, url, token), safe='')}/checks", url, token, {})
    echo_json(data) if as_json else _show(data)
    if any(i["kind"] == "check" and i["status"] in ("failed", "error") for i in data["items"]):
        raise typer.Exit(1)
