"""Secret masking at ingest: each built-in kind masked (and only the secret), lines without
secrets untouched (incl. 4,000 real Loghub lines), fields, the compiled pre-check, configured
patterns, and the appender in front of a real LogStore with the detections counted."""

from __future__ import annotations

import os

import pytest
from prometheus_client import CollectorRegistry

from vigil.errors import StorageError
from vigil.logs._hintscan import HintTable
from vigil.logs.model import LogEntry, StreamSelection
from vigil.logs.secrets import (
    SecretDetector,
    SecretMaskingAppender,
    patterns_from_config,
    secrets_counter,
)
from vigil.logs.store import LogStore
from vigil.model.labels import Labels

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "loghub")
D = SecretDetector()
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
       "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc+/=\n-----END RSA PRIVATE KEY-----"


def masked(kind: str, secret: str, detector: SecretDetector = D) -> str:
    return f"[REDACTED:{kind}:{detector.fingerprint(secret)}]"


def mask(text: str, detector: SecretDetector = D) -> tuple[str, list[str]]:
    found: list[str] = []
    return detector.mask(text, None, found), found


@pytest.mark.parametrize(("before", "secret", "kind", "after"), [
    ("key={} in use", "AKIAIOSFODNN7EXAMPLE", "aws_access_key", "key={} in use"),
    ("temporary ASIAY34FZKBOKMUTVV7A expired", "ASIAY34FZKBOKMUTVV7A", "aws_access_key", None),
    (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, "aws_secret_key",
     "aws_secret_access_key = {}"),
    (f'{{"AWS_SECRET_ACCESS_KEY": "{AWS_SECRET}"}}', AWS_SECRET, "aws_secret_key",
     '{{"AWS_SECRET_ACCESS_KEY": "{}"}}'),
    ("maps key AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q, ok", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
     "gcp_api_key", "maps key {}, ok"),
    (f"git clone with {GITHUB} done", GITHUB, "github_token", "git clone with {} done"),
    ("token glpat-Ab3dEf6hIj9kLm2nOp5q used", "glpat-Ab3dEf6hIj9kLm2nOp5q", "gitlab_token",
     "token {} used"),
    ("slack xoxb-123456789012-abcdefghijKL posted", "xoxb-123456789012-abcdefghijKL",
     "slack_token", "slack {} posted"),
    ("POST https://hooks.slack.com/services/T0ABCDEF/B0ABCDEF/abcdefghijklmnopqrstuvwx 200",
     "T0ABCDEF/B0ABCDEF/abcdefghijklmnopqrstuvwx", "slack_webhook",
     "POST https://hooks.slack.com/services/{} 200"),
    ("charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
     "stripe_key", "charge with {}"),
    (f"GET /api Authorization: Bearer {JWT}", JWT, "jwt", "GET /api Authorization: Bearer {}"),
    (f"cookie session={JWT};", JWT, "jwt", "cookie session={};"),
    ("authorization: bearer 0123456789abcdefXYZ.~+/== ok", "0123456789abcdefXYZ.~+/==",
     "bearer_token", "authorization: bearer {} ok"),
    ("connect postgres://orders:Sup3r$ecret@db-1:5432/orders", "Sup3r$ecret", "url_password",
     "connect postgres://orders:{}@db-1:5432/orders"),
    ("fetch https://:tok3n@registry.example.com/v2", "tok3n", "url_password",
     "fetch https://:{}@registry.example.com/v2"),
    ("login user=bob password=hunter22 from 10.0.0.1", "hunter22", "password",
     "login user=bob password={} from 10.0.0.1"),
    ('{"user":"bob","Password": "hunter22"}', "hunter22", "password",
     '{{"user":"bob","Password": "{}"}}'),
    ("gpg PASSPHRASE: open-sesame-42", "open-sesame-42", "password", "gpg PASSPHRASE: {}"),
    (f"dumped {PEM} after", PEM, "private_key", "dumped {} after"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA (truncated",
     "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA (truncated", "private_key", "{}"),
])
def test_each_builtin_kind_masks_the_secret_and_keeps_the_rest(before, secret, kind, after):
    text = before.format(secret) if "{}" in before else before
    out, found = mask(text)
    assert found == [kind]
    assert secret not in out
    if after is not None:
        assert out == after.format(masked(kind, secret))


@pytest.mark.parametrize("line", [
    "Failed password for invalid user admin from 1.2.3.4 port 22 ssh2",
    "pam_unix(sshd:auth): check pass; user unknown",
    "Accepted password for bob from 10.0.0.1 port 5022 ssh2",
    "GET https://example.com/users/a@b.c HTTP/1.1",
    "mail to bob@example.com via smtp://mail.example.com:25",
    "Authorization: Bearer short",
    "password reset requested for bob",
    "sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash",
    "ASIA is a continent; AKIA12 is too short",
    "ghp_tooShort and xox without a dash",
    "password=[REDACTED:password:1a2b] was masked upstream",
])
def test_lines_without_secrets_are_left_alone(line):
    assert mask(line) == (line, [])


def test_real_loghub_lines_hold_no_secret():
    """4,000 real sshd/syslog lines (many 'password', 'user', host names): nothing detected,
    every entry returned as the same object."""
    lines = []
    for name in ("OpenSSH_2k.log", "Linux_2k.log"):
        with open(os.path.join(DATA, name), encoding="utf-8", newline="") as f:
            lines += f.read().split("\r\n")
    entries = [LogEntry(i, Labels.of(job="loghub"), line) for i, line in enumerate(lines)]
    out, detections = D.mask_entries(entries)
    assert detections == []
    assert all(a is b for a, b in zip(out, entries, strict=True))


def test_several_secrets_in_one_line_each_counted():
    line = f"k=AKIAIOSFODNN7EXAMPLE k2=AKIAI44QH8DHBEXAMPLE Bearer {JWT} pw: postgres://u:p4ss@h/db"
    out, found = mask(line)
    assert sorted(found) == ["aws_access_key", "aws_access_key", "jwt", "url_password"]
    assert out == (f"k={masked('aws_access_key', 'AKIAIOSFODNN7EXAMPLE')} "
                   f"k2={masked('aws_access_key', 'AKIAI44QH8DHBEXAMPLE')} "
                   f"Bearer {masked('jwt', JWT)} pw: postgres://u:{masked('url_password', 'p4ss')}@h/db")


def test_fingerprint_is_short_stable_and_keyed():
    a = D.fingerprint("AKIAIOSFODNN7EXAMPLE")
    assert len(a) == 4 and int(a, 16) >= 0
    assert a == SecretDetector().fingerprint("AKIAIOSFODNN7EXAMPLE")  # stable across detectors
    assert a != D.fingerprint("AKIAI44QH8DHBEXAMPLE")
    other = SecretDetector(fingerprint_key=b"site-key")
    assert other.fingerprint("AKIAIOSFODNN7EXAMPLE") != a


def test_fields_are_masked_by_name_and_by_pattern_labels_are_not():
    entry = LogEntry(5, Labels.of(job="api", token_label="AKIAIOSFODNN7EXAMPLE"), "user login",
                     "info", (("Password", "correct horse"), ("X-Api-Key", "k-123"),
                              ("header", f"Bearer {JWT}"), ("user", "bob")))
    (out,), detections = D.mask_entries([entry])
    assert out.line == "user login" and out.labels == entry.labels and out.level == "info"
    assert out.fields == (("Password", masked("sensitive_field", "correct horse")),
                          ("X-Api-Key", masked("sensitive_field", "k-123")),
                          ("header", f"Bearer {masked('jwt', JWT)}"), ("user", "bob"))
    assert sorted(k for k, _ in detections) == ["jwt", "sensitive_field", "sensitive_field"]
    assert {labels for _, labels in detections} == {entry.labels}


def test_batch_keeps_order_and_untouched_entries():
    entries = [LogEntry(i, Labels.of(job="j"), f"line {i}") for i in range(50)]
    entries[7] = LogEntry(7, Labels.of(job="j"), "key AKIAIOSFODNN7EXAMPLE")
    entries[49] = LogEntry(49, Labels.of(job="k"), "end password=abcdef")  # hint at the very end
    out, detections = D.mask_entries(entries)
    assert [e.ts_ns for e in out] == list(range(50))
    assert all(out[i] is entries[i] for i in range(50) if i not in (7, 49))
    assert out[7].line == f"key {masked('aws_access_key', 'AKIAIOSFODNN7EXAMPLE')}"
    assert out[49].line == f"end password={masked('password', 'abcdef')}"
    assert detections == [("aws_access_key", Labels.of(job="j")), ("password", Labels.of(job="k"))]


def test_a_nul_inside_a_line_takes_the_slow_path_and_still_masks():
    entries = [LogEntry(1, Labels(), "a\x00b"), LogEntry(2, Labels(), "x AKIAIOSFODNN7EXAMPLE")]
    out, detections = D.mask_entries(entries)
    assert out[0] is entries[0]
    assert out[1].line == f"x {masked('aws_access_key', 'AKIAIOSFODNN7EXAMPLE')}"
    assert len(detections) == 1


def test_hint_table_finds_hints_per_text_and_never_across_texts():
    table = HintTable([("AKIA", "ASIA"), ("ab",), ()])
    found = table.scan(["xxAKIA", "AK", "IA ab", "ASI", "Aab"])
    assert found.tolist() == [[1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 0, 1], [0, 1, 1]]
    assert table.scan(["a\x00AKIA"]) is None
    with pytest.raises(ValueError, match="two bytes"):
        HintTable([("A",)])


def test_configured_patterns_with_and_without_hints():
    extra = patterns_from_config([
        {"name": "internal_token", "regex": r"itk_(?P<secret>[0-9a-f]{16})", "hints": ["itk_"]},
        {"name": "employee_id", "regex": r"\bE\d{6}\b"},  # no hints: tried on every line
        # RE2 syntax: a flag group in the middle, scoped to the rest of the pattern
        {"name": "vault_token", "regex": r"vault (?i)TOKEN=(?P<secret>hvs\.\w+)", "hints": ["vault"]},
    ])
    d = SecretDetector(extra=extra)
    out, found = mask("auth itk_0123456789abcdef by E123456", d)
    assert out == (f"auth itk_{masked('internal_token', '0123456789abcdef', d)} by "
                   f"{masked('employee_id', 'E123456', d)}")
    assert found == ["internal_token", "employee_id"]
    assert mask("vault token=hvs.abc123", d)[0] == (
        f"vault token={masked('vault_token', 'hvs.abc123', d)}")
    (entry,), _ = d.mask_entries([LogEntry(1, Labels(), "staff E654321 left")])
    assert entry.line == f"staff {masked('employee_id', 'E654321', d)} left"


@pytest.mark.parametrize(("items", "message"), [
    ([{"name": "ok", "regex": "x+"}, {"name": "Bad-Name", "regex": "y"}],
     r"patterns\[1\]: secret pattern 'Bad-Name': the name must be lower-case"),
    ([{"name": "broken", "regex": "(unclosed"}], r"patterns\[0\]: .*'broken': bad regular expression"),
    ([{"name": "empty", "regex": "a*"}], "matches the empty string"),
    ([{"name": "jwt", "regex": "x"}], "'jwt' is already defined"),
    ([{"name": "x", "regex": "y", "hints": ["y"]}], "at least two characters"),
    ([{"name": "x", "regex": "y", "hints": "yy"}], "hints must be a list of strings"),
    ([{"name": "x", "regex": "y", "hint": ["yy"]}], r"unknown key\(s\) \['hint'\]"),
    ([{"name": "x"}], "name and regex are required"),
])
def test_configured_pattern_errors_say_which_and_why(items, message):
    with pytest.raises(ValueError, match=message):
        patterns_from_config(items)


class RefusingAppender:
    def append(self, entries):
        raise StorageError("disk full")


def test_appender_masks_before_the_store_and_counts_after_it(tmp_path):
    registry = CollectorRegistry()
    count = secrets_counter(registry)
    store = LogStore.open(str(tmp_path / "logs"))
    try:
        appender = SecretMaskingAppender(store, SecretDetector(), count)
        batch = [LogEntry(10, Labels.of(job="api", host="a"), "key AKIAIOSFODNN7EXAMPLE"),
                 LogEntry(11, Labels.of(job="api", host="b"), "again AKIAIOSFODNN7EXAMPLE"),
                 LogEntry(12, Labels.of(job="db"), "dsn postgres://u:pw1@h/x"),
                 LogEntry(13, Labels.of(job="db"), "clean line")]
        assert appender.append(batch) == 4
        stored = list(store.select(StreamSelection((), 0, 100, backward=False)))
        assert [e.line for e in stored] == [
            f"key {masked('aws_access_key', 'AKIAIOSFODNN7EXAMPLE')}",
            f"again {masked('aws_access_key', 'AKIAIOSFODNN7EXAMPLE')}",
            f"dsn postgres://u:{masked('url_password', 'pw1')}@h/x", "clean line"]
        # Nothing unmasked reached the disk (the WAL holds the batch uncompressed).
        on_disk = b"".join(open(os.path.join(root, f), "rb").read()
                           for root, _, files in os.walk(tmp_path) for f in files)
        assert b"clean line" in on_disk and b"AKIAIOSFODNN7EXAMPLE" not in on_disk
        assert b"pw1@" not in on_disk

        def value(kind: str, job: str) -> float | None:
            return registry.get_sample_value("vigil_logs_secrets_detected_total",
                                             {"kind": kind, "job": job})
        assert value("aws_access_key", "api") == 2
        assert value("url_password", "db") == 1
        refusing = SecretMaskingAppender(RefusingAppender(), SecretDetector(), count)
        with pytest.raises(StorageError):
            refusing.append(batch)
        assert value("aws_access_key", "api") == 2  # a refused batch is not counted
    finally:
        store.close()
