import json

from vigil.logs.ingest.bulk import bulk_response, decode_bulk
from vigil.model.labels import Labels


def _ndjson(*documents: object) -> bytes:
    return b"".join(json.dumps(d).encode() + b"\n" for d in documents)


# What Filebeat 8 (create into a data stream), Fluent Bit (index, "log" key) and Fluentd
# (index with a _type, as its older plugin sends) write, one pair each.
SHIPPERS = _ndjson(
    {"create": {"_index": "filebeat-8.11.0"}},
    {"@timestamp": "2024-05-01T10:00:00.123Z", "message": "disk full",
     "log": {"level": "error", "file": {"path": "/var/log/app.log"}},
     "host": {"name": "web1"}, "ecs": {"version": "8.0.0"}},
    {"index": {"_index": "fluent-bit"}},
    {"@timestamp": "2024-05-01T10:00:01.000000000Z", "log": "started", "stream": "stdout"},
    {"index": {"_index": "fluentd", "_type": "_doc", "_id": "given-id"}},
    {"message": "hello", "@timestamp": "2024-05-01T10:00:02+00:00", "level": "info"},
)


def test_shipper_bodies_become_entries():
    result = decode_bulk(SHIPPERS, labels=Labels({"source": "es"}))
    assert result.errors == []
    filebeat, fluentbit, fluentd = result.entries
    assert filebeat.labels == Labels({"source": "es", "index": "filebeat-8.11.0", "host": "web1"})
    assert (filebeat.ts_ns, filebeat.line, filebeat.level) == (
        1714557600123000000, "disk full", "error")
    assert filebeat.fields == (("log.level", "error"), ("log.file.path", "/var/log/app.log"),
                               ("ecs.version", "8.0.0"))
    assert (fluentbit.line, fluentbit.fields) == ("started", (("stream", "stdout"),))
    assert fluentd.labels == Labels({"source": "es", "index": "fluentd"})
    response = bulk_response(result, took_ms=3)
    assert response["took"] == 3 and response["errors"] is False
    assert [next(iter(item)) for item in response["items"]] == ["create", "index", "index"]
    statuses = [next(iter(item.values())) for item in response["items"]]
    assert [s["status"] for s in statuses] == [201, 201, 201]
    assert [s["result"] for s in statuses] == ["created"] * 3
    assert [s["_seq_no"] for s in statuses] == [0, 1, 2]
    assert statuses[2]["_id"] == "given-id" and len(statuses[0]["_id"]) == 20


def test_bad_items_get_their_own_error_and_neighbours_are_kept():
    body = (
        _ndjson({"index": {"_index": "a"}}, {"message": "one"})
        + b'{"index": {"_index": "a"}}\n{not json\n'
        + _ndjson({"delete": {"_index": "a", "_id": "1"}},
                  {"update": {"_index": "a", "_id": "2"}}, {"doc": {"message": "x"}},
                  {"index": {}}, {"message": "no index"},
                  {"index": {"_index": "a"}}, {"message": "bad time", "@timestamp": "never"},
                  {"message": "orphan document"},
                  {"index": {"_index": "a"}}, {"message": "two"})
        + b'{"index": {"_index": "a"}}\n'
    )
    result = decode_bulk(body)
    assert [e.line for e in result.entries] == ["one", "two"]
    response = bulk_response(result, took_ms=1)
    assert response["errors"] is True
    items = [(next(iter(i)), next(iter(i.values()))) for i in response["items"]]
    assert [(action, item["status"], item.get("error", {}).get("type")) for action, item in items] == [
        ("index", 201, None),
        ("index", 400, "mapper_parsing_exception"),
        ("delete", 400, "illegal_argument_exception"),
        ("update", 400, "illegal_argument_exception"),
        ("index", 400, "action_request_validation_exception"),
        ("index", 400, "mapper_parsing_exception"),
        ("index", 201, None),
        ("index", 400, "parse_exception"),
    ]
    lines = [(e.line, e.where) for e in result.errors]
    assert lines == [(4, ""), (5, "delete"), (6, "update"), (8, "_index"), (11, "@timestamp"),
                     (12, ""), (15, "index")]
    assert "line 4" in items[1][1]["error"]["reason"]
    orphan = result.errors[5]
    assert orphan.offset == body.index(b'{"message": "orphan') and "not a document" in orphan.message


def test_default_index_from_the_url_and_storage_failures_are_retryable():
    result = decode_bulk(_ndjson({"index": {}}, {"message": "m"}), default_index="from-url")
    assert result.entries[0].labels == Labels({"index": "from-url"})
    response = bulk_response(result, took_ms=0, storage_error="disk full")
    (item,) = response["items"]
    assert response["errors"] is True
    assert item["index"]["status"] == 429
    assert item["index"]["error"]["type"] == "es_rejected_execution_exception"


def test_repeated_identical_lines_each_count():
    # Action lines and documents repeated byte for byte (parsed once, shared) are still
    # one item and one entry each, and a bad repeated document is an error each time.
    pair = _ndjson({"index": {"_index": "a"}}, {"message": "same"})
    bad = b'{"index":{"_index":"a"}}\n{"message": "x", "@timestamp": "never"}\n'
    result = decode_bulk(pair * 3 + bad * 2 + pair)
    assert [e.line for e in result.entries] == ["same"] * 4
    assert [(e.line, e.where) for e in result.errors] == [(8, "@timestamp"), (10, "@timestamp")]
    assert [i.entry for i in result.items] == [0, 1, 2, -1, -1, 3]
