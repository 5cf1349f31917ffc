"""The shipped security log rules (vigil/logs/shipped/security.yml) on real logs.

Loghub's OpenSSH_2k.log (sshd, Dec 10, read as 2015) and Linux_2k.log (syslog, Jun-Jul 2005) go
through Vigil's RFC 3164 decoder into a real LogStore; each rule's LogQL expression is evaluated
at chosen instants and compared with counts computed independently with awk on the raw files
(commands in the comments; run them in tests/data/loghub; a window (lo, hi] on one day compares
HH:MM:SS strings); whole-sample totals are also checked against the event templates of Loghub's
own structured CSVs. Rules with no event in those samples (sudo/su failures, tokens, exports,
secrets, a weekend login) are checked on a few lines written in the real programs' formats, the
secrets ones through the SecretMaskingAppender, and checked NOT to fire on the Loghub files.
"""

from __future__ import annotations

import calendar
import csv
import os

import pytest
import yaml
from prometheus_client import CollectorRegistry

from vigil.logs.ingest.syslog import parse_syslog, syslog_entry
from vigil.logs.logql import LogQLEngine
from vigil.logs.logql.parser import parse_sample_expr
from vigil.logs.model import LogEntry
from vigil.logs.rules import LOGQL, parse_rule_expr
from vigil.logs.secrets import SecretDetector, SecretMaskingAppender, secrets_counter
from vigil.logs.shipped_rules import shipped_log_rule_files
from vigil.logs.store import LogStore
from vigil.model.labels import Labels
from vigil.rules import load_rule_files

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
DATA = os.path.join(ROOT, "tests", "data", "loghub")
RULES = os.path.join(ROOT, "vigil", "logs", "shipped", "security.yml")


def at(y: int, mo: int, d: int, h: int, mi: int, s: int = 0) -> int:
    return calendar.timegm((y, mo, d, h, mi, s)) * 1_000_000_000


def syslog(raw: bytes, year: int) -> list[LogEntry]:
    received = at(year, 12, 31, 0, 0)  # RFC 3164 has no year: the decoder takes the receive time's
    return [syslog_entry(parse_syslog(line, received_ns=received), Labels.of(job="syslog"))
            for line in raw.split(b"\r\n") if line]


def loghub(name: str, year: int) -> list[LogEntry]:
    with open(os.path.join(DATA, name), "rb") as f:
        return syslog(f.read(), year)


# Lines in the real programs' formats for the events the Loghub samples lack (2024-03-11 is a
# Monday, 2024-03-09 a Saturday).
PRIVILEGE = b"\r\n".join([
    b"Mar 11 10:02:00 db-1 sudo:    alice : 3 incorrect password attempts ; TTY=pts/0 ; "
    b"PWD=/home/alice ; USER=root ; COMMAND=/bin/bash",
    b"Mar 11 10:02:01 db-1 sudo: pam_unix(sudo:auth): authentication failure; logname=alice "
    b"uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice",
    b"Mar 11 10:02:30 db-1 sudo:      bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/bob ; "
    b"USER=root ; COMMAND=/bin/sh",
    b"Mar 11 10:03:00 db-1 su[4242]: FAILED SU (to root) alice on pts/0",
    b"Mar 11 10:03:10 db-1 sudo:    carol : TTY=pts/2 ; PWD=/home/carol ; USER=root ; "
    b"COMMAND=/usr/bin/apt update",  # allowed: not an attempt
    b"Mar 11 10:04:00 legacy su(pam_unix)[977]: authentication failure; logname= uid=500 "
    b"euid=0 tty=pts/0 ruser=bob rhost=  user=root",
    b"Mar  9 11:00:00 bastion sshd[999]: Accepted publickey for deploy from 10.1.2.3 port "
    b"50000 ssh2: ED25519 SHA256:Zm9vYmFy",
    b"Mar 11 10:00:00 bastion sshd[1001]: Accepted password for alice from 10.1.2.4 port "
    b"50001 ssh2",
])
AWS, JWT = "AKIAIOSFODNN7EXAMPLE", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXNpZ24"


def app_lines() -> list[LogEntry]:
    t0 = at(2024, 3, 11, 10, 0)
    api, web = Labels.of(job="api", host="app-1"), Labels.of(job="nginx", host="web-1")
    out = [LogEntry(t0 + i * 5 * 10**9, api, '{"level":"warn","msg":"invalid token",'
                    f'"user":"u{i}","path":"/api/v1/orders"}}') for i in range(12)]
    out += [LogEntry(t0 + 60 * 10**9 + i * 10**9, web,
                     f'10.0.0.9 - - [11/Mar/2024:10:01:{i:02d} +0000] "GET /admin/{i} HTTP/1.1" '
                     f'403 153 "-" "curl/8.5.0"') for i in range(25)]
    out += [LogEntry(t0 + 61 * 10**9, web, '10.0.0.8 - - [11/Mar/2024:10:01:01 +0000] '
                     '"GET /forbidden-fruit HTTP/1.1" 200 12 "-" "curl/8.5.0"')]  # 200: counted
    out += [LogEntry(t0 + 120 * 10**9 + i * 10**9, api, line) for i, line in enumerate([
        'level=info msg="export finished" user=alice rows=250000 bytes=5242880',
        'level=info msg="export finished" user=bob rows=10 bytes=209715200',
        'level=info msg="export finished" user=carol rows=50 bytes=1024',
        'level=info msg="report sent" user=dave rows=900000'])]
    out += [LogEntry(t0 + 180 * 10**9 + i * 10**9, api, line) for i, line in enumerate([
        f"config loaded aws_access_key_id={AWS}", f"retrying with key {AWS}",
        f"GET /api/v1/me Authorization: Bearer {JWT}"])]
    return out


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    store = LogStore.open(str(tmp_path_factory.mktemp("security") / "logs"))
    registry = CollectorRegistry()
    appender = SecretMaskingAppender(store, SecretDetector(), secrets_counter(registry))
    appender.append(loghub("OpenSSH_2k.log", 2015))
    appender.append(loghub("Linux_2k.log", 2005))
    appender.append(syslog(PRIVILEGE, 2024))
    appender.append(app_lines())
    yield LogQLEngine(store), registry
    store.close()


@pytest.fixture(scope="module")
def rules() -> dict[str, dict]:
    with open(RULES, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return {r.get("alert") or r["record"]: r for g in doc["groups"] for r in g["rules"]}


def evaluate(env, rules, name: str, t: int, expr: str | None = None) -> dict[tuple, float]:
    engine, _ = env
    vector = engine.instant(expr or rules[name]["expr"], t)
    return {tuple(sorted(s.labels.to_dict().items())): s.value for s in vector.samples}


def series(**labels: str) -> tuple:
    return tuple(sorted(labels.items()))


def test_the_file_is_loki_ruler_format_with_logql_expressions(rules):
    with open(RULES, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    assert set(doc) == {"groups"}
    names = [g["name"] for g in doc["groups"]]
    assert len(names) == len(set(names)) == 2
    for group in doc["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"}
        for rule in group["rules"]:
            assert ("alert" in rule) != ("record" in rule)
            assert set(rule) <= {"alert", "record", "expr", "for", "labels", "annotations"}
            parse_sample_expr(rule["expr"])  # a metric query, or this raises
            if "alert" in rule:
                assert rule["labels"]["category"] == "security"
                assert rule["labels"]["severity"] in ("info", "warning", "critical")
                assert rule["annotations"]["summary"]
    # Vigil's rule loader takes it as a log rule file (logs.rule_files)
    assert [os.path.realpath(f) for f in shipped_log_rule_files()] == [os.path.realpath(RULES)]
    groups = load_rule_files(shipped_log_rule_files(), language=LOGQL, parse=parse_rule_expr)
    assert [(g.name, len(g.rules), g.language) for g in groups] == [
        ("security-recording", 5, LOGQL), ("security-alerts", 10, LOGQL)]
    assert {n for n in rules if ":" not in n} == {
        "SSHBruteForce", "SSHBruteForceSevere", "AuthFailureBurst", "PasswordSpraying",
        "InvalidTokenBurst", "AccessDeniedBurst", "PrivilegeEscalationAttempt", "OffHoursLogin",
        "LargeExport", "SecretsInLogs"}


# Failed SSH logins per source in (lo, hi] of Dec 10:
#   tr -d '\r' < OpenSSH_2k.log | awk -v lo=07:20:00 -v hi=07:30:00 '$3 > lo && $3 <= hi &&
#     /Failed [a-z\/-]+ for .* from [^ ]+ port/ { sub(/.* from /, ""); sub(/ port.*/, "");
#     n[$0]++ } END { for (s in n) print n[s], s }'
# 07:20-07:30: 26 112.95.230.3 | 09:10-09:20: 79 187.141.143.180, 30 103.99.0.122,
# 11 185.190.58.151, 3 103.207.39.16 | 08:15-08:25: 5 5.188.10.180 (one of them "invalid user
# ␣0101", two spaces) | 10:05-11:05: 286 183.62.140.253, 16 103.99.0.122, 6, 3, 1, 1, 1, 1
@pytest.mark.parametrize(("name", "t", "expected"), [
    ("SSHBruteForce", at(2015, 12, 10, 7, 30), {"112.95.230.3": 26}),
    ("SSHBruteForce", at(2015, 12, 10, 9, 20),
     {"187.141.143.180": 79, "103.99.0.122": 30, "185.190.58.151": 11}),
    ("SSHBruteForce", at(2015, 12, 10, 8, 25), {"5.188.10.180": 5}),  # exactly the threshold
    ("SSHBruteForce", at(2015, 12, 10, 8, 15), {}),
    ("SSHBruteForceSevere", at(2015, 12, 10, 11, 5), {"183.62.140.253": 286}),
])
def test_ssh_brute_force_counts_failures_per_source(env, rules, name, t, expected):
    assert evaluate(env, rules, name, t) == {
        series(host="LabSZ", source=s): n for s, n in expected.items()}


def test_failed_logins_recorded_per_minute(env, rules):
    # 08:24:00-08:25:00 with the awk above: 5 5.188.10.180
    assert evaluate(env, rules, "source:ssh_failed_logins:count1m", at(2015, 12, 10, 8, 25)) == {
        series(host="LabSZ", source="5.188.10.180"): 5}


# Distinct user names per source in (lo, hi] (failed logins and "Invalid user"):
#   tr -d '\r' < OpenSSH_2k.log | awk -v lo=10:05:00 -v hi=11:05:00 '$3 > lo && $3 <= hi &&
#     match($0, /(Failed [a-z\/-]+ for (invalid user )?|Invalid user ) *[^ ]+ from [^ ]+/) {
#     s = substr($0, RSTART, RLENGTH); sub(/.*(for (invalid user )?|Invalid user ) */, "", s);
#     split(s, a, " from "); u[a[2] " " a[1]] = 1 } END { for (k in u) { split(k, b, " ");
#     n[b[1]]++ } for (s in n) print n[s], s }'
# 10:05-11:05: 12 103.99.0.122, 10 183.62.140.253, then 1s | 08:30-09:30: 28 187.141.143.180,
# 19 103.99.0.122, 4 185.190.58.151, 3, 3, 1, 1 | 07:30-08:30: 7 5.188.10.180, 2, 1...
@pytest.mark.parametrize(("t", "expected"), [
    (at(2015, 12, 10, 11, 5), {"103.99.0.122": 12, "183.62.140.253": 10}),
    (at(2015, 12, 10, 9, 30), {"187.141.143.180": 28, "103.99.0.122": 19}),
    (at(2015, 12, 10, 8, 30), {"5.188.10.180": 7}),
])
def test_password_spraying_counts_user_names_per_source(env, rules, t, expected):
    assert evaluate(env, rules, "PasswordSpraying", t) == {
        series(host="LabSZ", source=s): n for s, n in expected.items()}


# PAM "authentication failure; ... rhost=X" and klogind "Authentication failed from X":
#   tr -d '\r' < Linux_2k.log | awk -v d="Jun 15" -v lo=02:00:00 -v hi=02:10:00 '$1" "$2 == d &&
#     $3 > lo && $3 <= hi && /authentication failure;.*rhost=[^ ]|Authentication failed from / {
#     if (match($0, /rhost=[^ ]+/)) s = substr($0, RSTART + 6, RLENGTH - 6); else {
#     match($0, /Authentication failed from [^ ]+/); s = substr($0, RSTART + 27, RLENGTH - 27) }
#     n[s]++ } END { for (s in n) print n[s], s }'
# Jun 15 02:00-02:10: 10 220-135-151-1.hinet-ip.hinet.net | Jun 30 20:45-20:55: 23 163.27.187.39
# OpenSSH_2k.log, d="Dec 10", 09:10-09:20: 80 187.141.143.180, 30 103.99.0.122, 4, 3
@pytest.mark.parametrize(("t", "host", "expected"), [
    (at(2005, 6, 15, 2, 10), "combo", {"220-135-151-1.hinet-ip.hinet.net": 10}),
    (at(2005, 6, 30, 20, 55), "combo", {"163.27.187.39": 23}),
    (at(2015, 12, 10, 9, 20), "LabSZ", {"187.141.143.180": 80, "103.99.0.122": 30}),
])
def test_auth_failure_bursts_per_source(env, rules, t, host, expected):
    assert evaluate(env, rules, "AuthFailureBurst", t) == {
        series(host=host, source=s): n for s, n in expected.items()}


# Logins (sshd "session opened"): tr -d '\r' < Linux_2k.log | grep -E "sshd.*session opened" |
#   awk '{print $1, $2, $3}' | uniq -c  →  1 Jun 17 20:29:26 (Fri), 10 Jun 30 22:16:32 (Thu),
#   3+1 Jul 1 05:02:26-27 (Fri), 3+1 Jul 1 09:14:43-44, 4+4 Jul 2 01:41:32-33 (Sat),
#   3+3 Jul 7 07:18:12-13 (Thu), 2+1 Jul 13 17:22:28-29; weekdays: date -u -d 2005-07-02 +%a
@pytest.mark.parametrize(("t", "host", "user", "count"), [
    (at(2005, 6, 17, 20, 35), "combo", "test", 1),
    (at(2005, 6, 30, 22, 20), "combo", "test", 10),
    (at(2005, 7, 1, 5, 10), "combo", "test", 4),
    (at(2005, 7, 2, 1, 50), "combo", "test", 8),
    (at(2005, 7, 1, 9, 20), "combo", "test", 0),  # 09:14 on a Friday: office hours
    (at(2005, 7, 7, 7, 20), "combo", "test", 0),  # 07:18 is already in hours
    (at(2005, 7, 13, 17, 30), "combo", "test", 0),
    (at(2024, 3, 9, 11, 5), "bastion", "deploy", 1),  # a Saturday, 11:00
    (at(2024, 3, 11, 10, 5), "bastion", "alice", 0),  # a Monday, 10:00
])
def test_off_hours_logins(env, rules, t, host, user, count):
    expected = {series(host=host, user=user): count} if count else {}
    assert evaluate(env, rules, "OffHoursLogin", t) == expected


def test_access_denied(env, rules):
    # tr -d '\r' < Linux_2k.log | grep -ciE 'access denied|permission denied|not authori[sz]ed|
    #   unauthori[sz]ed|forbidden|" (401|403) '  →  8, all "Jun 30 20:53:04 ... klogind ...
    #   Permission denied in replay cache code": below the burst threshold of 20
    assert evaluate(env, rules, "job:logs_access_denied:count1m", at(2005, 6, 30, 20, 54)) == {
        series(host="combo", job="syslog"): 8}
    assert evaluate(env, rules, "AccessDeniedBurst", at(2005, 6, 30, 20, 55)) == {}
    # 25 nginx 403s in a minute, and one 200 whose path says "forbidden" (counted: the rule
    # reads text, a status-aware rule would parse the line)
    assert evaluate(env, rules, "AccessDeniedBurst", at(2024, 3, 11, 10, 5)) == {
        series(host="web-1", job="nginx"): 26}


def test_invalid_tokens(env, rules):
    # 12 lines, every 5 s from 10:00:00 to 10:00:55; a window is (t - range, t]
    assert evaluate(env, rules, "InvalidTokenBurst", at(2024, 3, 11, 10, 4)) == {
        series(host="app-1", job="api"): 12}
    assert evaluate(env, rules, "InvalidTokenBurst", at(2024, 3, 11, 10, 5)) == {
        series(host="app-1", job="api"): 11}
    assert evaluate(env, rules, "job:logs_invalid_tokens:count1m", at(2024, 3, 11, 10, 0, 59)) == {
        series(host="app-1", job="api"): 12}


def test_privilege_escalation(env, rules):
    # db-1: incorrect password attempts, pam_unix(sudo:auth), NOT in sudoers, FAILED SU = 4;
    # legacy: su(pam_unix) authentication failure (the program only in the app label) = 1
    assert evaluate(env, rules, "PrivilegeEscalationAttempt", at(2024, 3, 11, 10, 5)) == {
        series(host="db-1"): 4, series(host="legacy"): 1}


def test_large_exports(env, rules):
    # rows=250000 (alice) and bytes=209715200 > 100 MB (bob); carol's is small; dave's is no export
    assert evaluate(env, rules, "LargeExport", at(2024, 3, 11, 10, 5)) == {
        series(host="app-1", job="api"): 2}


def test_secrets_masked_at_ingest_are_alertable_and_counted(env, rules):
    assert evaluate(env, rules, "SecretsInLogs", at(2024, 3, 11, 10, 5)) == {
        series(job="api", secret_kind="aws_access_key"): 2, series(job="api", secret_kind="jwt"): 1}
    assert evaluate(env, rules, "kind:logs_secrets_redacted:count1m", at(2024, 3, 11, 10, 3, 30)) == {
        series(job="api", secret_kind="aws_access_key"): 2, series(job="api", secret_kind="jwt"): 1}
    engine, registry = env
    stored = [line for s in engine.select_logs('{job="api"} |= "REDACTED"', at(2024, 3, 11, 10, 0),
                                               at(2024, 3, 11, 10, 10)) for _, line in s.entries]
    assert len(stored) == 3 and not any(AWS in line or JWT in line for line in stored)
    get = registry.get_sample_value
    assert get("vigil_logs_secrets_detected_total", {"kind": "aws_access_key", "job": "api"}) == 2
    assert get("vigil_logs_secrets_detected_total", {"kind": "jwt", "job": "api"}) == 1
    # The 4,000 Loghub lines and the sudo lines (PWD=/home/alice) held no secret
    counted = {(s.labels["kind"], s.labels["job"]) for m in registry.collect() for s in m.samples
               if s.name == "vigil_logs_secrets_detected_total"}
    assert counted == {("aws_access_key", "api"), ("jwt", "api")}


@pytest.mark.parametrize("name", ["PrivilegeEscalationAttempt", "InvalidTokenBurst", "LargeExport",
                                  "SecretsInLogs"])
def test_rules_without_events_in_loghub_stay_silent_there(env, rules, name):
    # grep -cE 'NOT in sudoers|incorrect password attempt|pam_unix\((sudo|su)|FAILED SU|BAD SU|
    #   invalid.?token|REDACTED|export' OpenSSH_2k.log Linux_2k.log  →  0 and 0; the rule's
    #   window is widened to the whole sample (60 days back from its last line)
    expr = rules[name]["expr"]
    for window in ("[15m]", "[5m]"):
        expr = expr.replace(window, "[60d]")
    assert evaluate(env, rules, name, at(2005, 7, 28, 0, 0), expr) == {}
    assert evaluate(env, rules, name, at(2015, 12, 11, 0, 0), expr) == {}


def structured_events(name: str, wanted) -> int:
    """Events Loghub's own parser found (the structured CSV's EventTemplate column)."""
    with open(os.path.join(DATA, name), encoding="utf-8", newline="") as f:
        return sum(1 for row in csv.DictReader(f) if wanted(row["EventTemplate"]))


@pytest.mark.parametrize(("rule", "file", "wanted", "t", "by_hand"), [
    # grep -cE "Failed [a-z/-]+ for .* from [^ ]+ port" OpenSSH_2k.log  →  524
    ("source:ssh_failed_logins:count1m", "OpenSSH_2k.log_structured.csv",
     lambda tpl: tpl.startswith("Failed ") or tpl.startswith("message repeated <*> times: [ Failed"),
     at(2015, 12, 11, 0, 0), 524),
    # grep -cE "authentication failure;.*rhost=[^ ]|Authentication failed from " Linux_2k.log
    #   →  512 (gdm's one failure has an empty rhost=)
    ("source:auth_failures:count1m", "Linux_2k.log_structured.csv",
     lambda tpl: ("authentication failure;" in tpl and "rhost=<*>" in tpl)
     or tpl.startswith("Authentication failed from "), at(2005, 7, 28, 0, 0), 512),
])
def test_whole_sample_totals_agree_with_grep_and_loghubs_parser(env, rules, rule, file, wanted, t,
                                                                 by_hand):
    expr = "sum(" + rules[rule]["expr"].replace("[1m]", "[60d]") + ")"
    assert structured_events(file, wanted) == by_hand
    assert evaluate(env, rules, rule, t, expr) == {(): by_hand}
