import gzip
import json

import cramjam
import pytest

from vigil.logs.ingest.common import IngestError
from vigil.logs.ingest.loki import (
    PushRequest,
    decode_loki_json,
    decode_loki_protobuf,
    decode_loki_push,
    parse_label_set,
)
from vigil.model.labels import Labels

# The JSON body as Loki's push API documents it, with structured metadata on one value.
JSON_BODY = {"streams": [
    {"stream": {"job": "api", "level": "error"},
     "values": [["1700000000000000001", "boom"],
                ["1700000000000000002", "with metadata", {"trace_id": "abc", "user": "ann"}]]},
    {"stream": {"job": "web"},
     "values": [[1.5, "float time"], ["1700000000000000003", 42], ["1700000000000000004", "ok"],
                ["1700000000000000005", "bad metadata", {"n": 1}], "not a pair"]},
    {"stream": {}, "values": [["1", "no labels"]]},
    {"stream": {"bad-name": "x"}, "values": [["1", "bad label name"]]},
]}


def test_json_push_keeps_good_values_and_names_each_bad_one():
    result = decode_loki_json(json.dumps(JSON_BODY).encode())
    assert [(e.ts_ns, e.line, e.level) for e in result.entries] == [
        (1700000000000000001, "boom", "error"),
        (1700000000000000002, "with metadata", "error"),
        (1700000000000000004, "ok", ""),
    ]
    assert result.entries[1].fields == (("trace_id", "abc"), ("user", "ann"))
    assert result.entries[2].labels == Labels({"job": "web"})
    assert [e.where for e in result.errors] == [
        "streams[1].values[0]", "streams[1].values[1]", "streams[1].values[3]",
        "streams[1].values[4]", "streams[2]", "streams[3]"]
    assert "unix nanoseconds" in result.errors[0].message
    assert "line must be a string" in result.errors[1].message
    assert "at least one label" in result.errors[4].message
    assert "invalid label name 'bad-name'" in result.errors[5].message


def test_json_push_through_gzip_and_unreadable_bodies():
    body = gzip.compress(json.dumps(JSON_BODY).encode())
    assert len(decode_loki_push(body, content_type="application/json; charset=utf-8",
                                content_encoding="gzip").entries) == 3
    with pytest.raises(IngestError, match="not JSON"):
        decode_loki_json(b"{")
    with pytest.raises(IngestError, match='"streams"'):
        decode_loki_json(b'{"stream": []}')
    with pytest.raises(IngestError, match="not valid gzip"):
        decode_loki_push(b"plain", content_type="application/json", content_encoding="gzip")


def _protobuf_body() -> bytes:
    request = PushRequest()
    stream = request.streams.add(labels='{job="promtail", host="h\\"1"}')
    for i, line in enumerate(["first", "second"]):
        entry = stream.entries.add(line=line)
        entry.timestamp.seconds, entry.timestamp.nanos = 1700000000 + i, 5
    stream.entries[1].structuredMetadata.add(name="detected_level", value="WARN")
    request.streams.add(labels="{job=promtail}").entries.add(line="lost with its stream")
    request.streams.add(labels='{app="b"}').entries.add(line="third")
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def test_protobuf_snappy_push_as_promtail_sends_it():
    result = decode_loki_push(_protobuf_body(), content_type="application/x-protobuf")
    assert [(e.labels, e.ts_ns, e.line, e.level) for e in result.entries] == [
        (Labels({"job": "promtail", "host": 'h"1'}), 1700000000000000005, "first", ""),
        (Labels({"job": "promtail", "host": 'h"1'}), 1700000001000000005, "second", "warn"),
        (Labels({"app": "b"}), 0, "third", ""),
    ]
    assert result.entries[1].fields == (("detected_level", "WARN"),)
    (error,) = result.errors
    assert error.where == "streams[1].labels" and "position 1" in error.message


def test_protobuf_unreadable_bodies():
    with pytest.raises(IngestError, match="snappy"):
        decode_loki_protobuf(b"\xff\xff\xff\xff\xff")
    with pytest.raises(IngestError, match="PushRequest"):
        decode_loki_protobuf(bytes(cramjam.snappy.compress_raw(b"\x0a\xff\xff")))


@pytest.mark.parametrize(("text", "labels"), [
    ("{}", Labels()),
    ('{a="1"}', Labels({"a": "1"})),
    (' { a = "x\\ny" , b="\\u00e9\\x41\\\\" } ', Labels({"a": "x\ny", "b": "éA\\"})),
])
def test_label_sets(text, labels):
    assert parse_label_set(text) == labels


@pytest.mark.parametrize(("text", "message"), [
    ('a="1"', "must start with"), ('{a="1"', "position 1"), ('{a="1"} x', "after the closing"),
    ('{a="1",a="2"}', "duplicate"), ('{a="\\q"}', "unknown escape"),
])
def test_bad_label_sets(text, message):
    with pytest.raises(ValueError, match=message):
        parse_label_set(text)


def test_json_typed_path_and_careful_path_give_the_same_entries():
    # A well-formed body takes the typed (msgspec) path; one bad value anywhere sends the
    # whole body to the careful path, which must give the good values alike.
    good = {"streams": [
        {"stream": {"job": "api", "level": "error"},
         "values": [["1700000000000000001", "boom"],
                    ["1700000000000000002", "meta", {"detected_level": "warn", "u": "ann"}]]},
        {"stream": {"job": "web", "detected_level": "info"},
         "values": [["1700000000000000003", "ok"]]}]}
    from vigil.logs.ingest.loki import _decode_json_fast
    typed = _decode_json_fast(json.dumps(good).encode())
    bad = json.loads(json.dumps(good))
    bad["streams"][1]["values"].append([1.5, "float time"])
    careful = decode_loki_json(json.dumps(bad).encode())
    assert typed.entries == careful.entries and typed.errors == []
    assert [(e.level, e.fields) for e in typed.entries] == [
        ("error", ()), ("warn", (("detected_level", "warn"), ("u", "ann"))), ("info", ())]
    assert [e.where for e in careful.errors] == ["streams[1].values[1]"]
