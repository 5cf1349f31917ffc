"""The ``logs:`` section (issue 20): the embedded log store, its retention, the syslog
listeners, the files to tail and the stream labels each source adds.

.. code-block:: yaml

    logs:
      enabled: true                 # the store in <data-dir>/logs and the ingest/query API
      path: null                    # another directory for the store (relative to the file)
      retention_time: 30d           # chunks whose newest line is older are deleted; 0: keep
      retention_size: 10GB          # oldest chunks deleted while they take more; 0: no limit
      wal_fsync: batch              # always | batch | off, as storage.tsdb.wal_fsync
      wal_fsync_interval: 1s
      compression_level: 9          # zstd level of sealed chunks: 9 ~0.095 of raw; 3 ~0.11,
                                    # sealing about half the CPU (docs/benchmarks.md)
      syslog:                       # off unless an address is given
        tcp: ["0.0.0.0:1514"]       # RFC 5424 / 3164, octet-counted or newline framing
        udp: ["0.0.0.0:1514"]
        labels: {job: syslog}
      files:
        - path: /var/log/nginx/access.log
          labels: {job: nginx}      # plus filename, always
      labels:                       # stream labels added to what the HTTP sources send
        loki: {}
        elasticsearch: {job: elasticsearch}
        jsonl: {job: jsonl}
        otlp: {}
      rule_files:                   # Loki ruler files: rule groups whose expr is LogQL
        - rules/logs/*.yml          # (globs; relative to the file), as rule_files
      shipped_rules: true           # Vigil's security log rules (with default_rules)
      secrets:                      # masked at ingest, before anything is stored
        enabled: true
        patterns:                   # besides the built-in kinds (cloud keys, tokens, JWTs…)
          - name: acme_api_key
            regex: 'acme_[0-9a-f]{32}'   # RE2; a (?P<secret>…) group masks only that part
            hints: [acme_]          # cheap substrings one of which a matching line holds

A source's labels fill in what an entry does not carry itself: labels a shipper sends
(Loki's stream, OTLP's resource attributes) win over the configured ones.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.config.durations import Duration, PositiveDuration
from vigil.config.located import LocatedValueError
from vigil.config.sizes import ByteSize
from vigil.model.labels import is_label_name

__all__ = ["LogFile", "LogSecretPattern", "LogSecrets", "LogSourceLabels", "LogsConfig",
           "SyslogConfig"]

DEFAULT_RETENTION_S = 30 * 86400.0


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_labels(labels: dict[str, str], under: tuple[str | int, ...] = ()) -> dict[str, str]:
    for name in labels:
        if not is_label_name(name) or name.startswith("__"):
            raise LocatedValueError(f"{name!r} is not a valid label name (letters, digits, _; "
                                    "not starting with __)", (*under, name))
    return labels


def _check_address(address: str) -> str:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"address {address!r} must be host:port")
    return address


def split_address(address: str) -> tuple[str, int]:
    """``"0.0.0.0:1514"`` → ``("0.0.0.0", 1514)``; ``"[::1]:1514"`` → ``("::1", 1514)``;
    an empty host listens on every address."""
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


class SyslogConfig(Section):
    tcp: list[str] = Field(default_factory=list)
    udp: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=lambda: {"job": "syslog"})

    @field_validator("tcp", "udp")
    @classmethod
    def _addresses(cls, addresses: list[str]) -> list[str]:
        for i, address in enumerate(addresses):
            try:
                _check_address(address)
            except ValueError as e:
                raise LocatedValueError(str(e), (i,)) from None
        return addresses

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        return _check_labels(labels)


class LogFile(Section):
    path: str = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=lambda: {"job": "file"})

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        if "filename" in labels:
            raise LocatedValueError("filename is set by the tailer (the file's path)",
                                    ("filename",))
        return _check_labels(labels)


class LogSourceLabels(Section):
    loki: dict[str, str] = Field(default_factory=dict)
    elasticsearch: dict[str, str] = Field(default_factory=lambda: {"job": "elasticsearch"})
    jsonl: dict[str, str] = Field(default_factory=lambda: {"job": "jsonl"})
    otlp: dict[str, str] = Field(default_factory=dict)

    @field_validator("loki", "elasticsearch", "jsonl", "otlp")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        return _check_labels(labels)


class LogSecretPattern(Section):
    """A secret kind of your own; the regex is checked when the config is checked (RE2
    syntax, by :func:`vigil.logs.secrets.patterns_from_config`)."""
    name: str = Field(min_length=1)
    regex: str = Field(min_length=1)
    hints: list[str] = Field(default_factory=list)


class LogSecrets(Section):
    enabled: bool = True
    patterns: list[LogSecretPattern] = Field(default_factory=list)


class LogsConfig(Section):
    enabled: bool = True
    path: str | None = None  # None: <data_dir>/logs
    retention_time: Duration = DEFAULT_RETENTION_S
    retention_size: ByteSize = 0
    wal_fsync: str = "batch"
    wal_fsync_interval: PositiveDuration = 1.0
    compression_level: int = Field(9, ge=1, le=19)
    syslog: SyslogConfig = SyslogConfig()
    files: list[LogFile] = Field(default_factory=list)
    labels: LogSourceLabels = LogSourceLabels()
    rule_files: list[str] = Field(default_factory=list)  # evaluated by the rule manager
    shipped_rules: bool = True
    secrets: LogSecrets = LogSecrets()

    @field_validator("wal_fsync")
    @classmethod
    def _fsync(cls, policy: str) -> str:
        if policy not in ("always", "batch", "off"):
            raise ValueError(f"wal_fsync {policy!r} must be always, batch or off")
        return policy

    @field_validator("path")
    @classmethod
    def _path(cls, path: str | None) -> str | None:
        if path is not None and not path.strip():
            raise ValueError("path must not be empty (leave it out for <data-dir>/logs)")
        return path

    @model_validator(mode="after")
    def _files_once(self) -> LogsConfig:
        seen: set[str] = set()
        for i, f in enumerate(self.files):
            if f.path in seen:
                raise LocatedValueError(f"file {f.path!r} is tailed twice", ("files", i, "path"))
            seen.add(f.path)
        return self
