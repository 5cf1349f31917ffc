"""The checks and the secret-file reader that several config sections and stages share."""

from __future__ import annotations

import pytest

from vigil.config.checks import (
    check_http_url,
    check_time_zone,
    check_unique_names,
    check_url_name,
    repeated_at,
)
from vigil.config.located import LocatedValueError
from vigil.config.secret_files import read_secret_file


def test_repeated_at_is_the_first_name_seen_before() -> None:
    assert repeated_at(["a", "b", "c"]) is None
    assert repeated_at(["a", "b", "a", "b"]) == 2
    assert repeated_at([]) is None


def test_unique_names_points_at_the_repeated_item() -> None:
    check_unique_names(["a", "b"], "layer names must be unique")
    with pytest.raises(LocatedValueError, match=r"^layer names must be unique: 'b'$") as raised:
        check_unique_names(["a", "b", "b"], "layer names must be unique", ("layers",))
    assert raised.value.path == ("layers", 2, "name")


def test_http_url_names_the_field() -> None:
    assert check_http_url("https://hooks.example/x") == "https://hooks.example/x"
    with pytest.raises(ValueError, match=r"^write_url 'ftp://x' must be an http:// or https:// URL$"):
        check_http_url("ftp://x", field="write_url")
    with pytest.raises(ValueError, match=r"^url 'http://' must be"):
        check_http_url("http://")


def test_time_zone_is_an_iana_name() -> None:
    assert check_time_zone("Europe/Berlin") == "Europe/Berlin"
    with pytest.raises(ValueError, match=r"unknown time zone 'Mars/Olympus'"):
        check_time_zone("Mars/Olympus")


def test_url_name_says_what_it_names_and_why() -> None:
    assert check_url_name("primary.eu-1", "schedule", "URLs") == "primary.eu-1"
    with pytest.raises(ValueError, match=r"^invalid schedule name 'a b': .*\(it is part of URLs\), at most 64$"):
        check_url_name("a b", "schedule", "URLs")
    with pytest.raises(ValueError, match="invalid policy name"):
        check_url_name("x" * 65, "policy", "URLs and metric labels")


class _StageError(Exception):
    pass


def test_secret_file_drops_the_line_break_and_errors_in_the_stages_words(tmp_path) -> None:
    secret = tmp_path / "token"
    secret.write_bytes(b" s3cret \r\n")
    assert read_secret_file(str(secret), _StageError, "x") == " s3cret "
    missing = str(tmp_path / "nope")
    with pytest.raises(_StageError, match=rf"^scrape: cannot read {missing}: No such file or directory$"):
        read_secret_file(missing, _StageError, f"scrape: cannot read {missing}")
