from vigil.logs.ingest.documents import DocumentMapping
from vigil.logs.ingest.jsonlines import decode_json_lines
from vigil.model.labels import Labels

BODY = (
    b'{"ts":"2024-01-02T03:04:05.123456789Z","msg":"GET /","level":"WARN",'
    b'"host":{"name":"web1"},"status":200,"ok":true,"tags":["a","b"]}\n'
    b'not json\n'
    b'\n'
    b'[1, 2]\n'
    b'{"time":"half past","msg":"bad time"}\n'
    b'{"service":"api","user":"ann"}\n'
)


def test_lines_become_entries_and_bad_lines_errors_that_say_where():
    result = decode_json_lines(BODY, labels=Labels({"job": "app"}), received_ns=77)
    first, second = result.entries
    assert first.ts_ns == 1704164645123456789
    assert first.labels == Labels({"job": "app", "host": "web1"})
    assert (first.line, first.level) == ("GET /", "warn")
    assert first.fields == (("level", "WARN"), ("status", "200"), ("ok", "true"),
                            ("tags", '["a","b"]'))
    # No time: the receive time. No message: the whole document is the line.
    assert second.ts_ns == 77
    assert second.labels == Labels({"job": "app", "service": "api"})
    assert second.line == '{"service":"api","user":"ann"}'
    assert second.fields == (("user", "ann"),)
    offsets = [BODY.index(b"not json"), BODY.index(b"[1, 2]"), BODY.index(b'{"time"')]
    assert [(e.line, e.offset, e.where) for e in result.errors] == [
        (2, offsets[0], ""), (4, offsets[1], ""), (5, offsets[2], "time")]
    assert "not JSON" in result.errors[0].message
    assert "expected a JSON object" in result.errors[1].message
    assert "half past" in result.errors[2].message


def test_request_labels_win_over_document_labels_and_mapping_is_configurable():
    body = b'{"when":1700000000,"text":"x","app":"from-doc"}\n'
    mapping = DocumentMapping(time_keys=("when",), message_keys=("text",))
    (entry,) = decode_json_lines(body, labels=Labels({"app": "given"}), mapping=mapping).entries
    assert entry.ts_ns == 1700000000 * 10**9
    assert entry.line == "x"
    assert entry.labels == Labels({"app": "given"})
    assert entry.fields == (("app", "from-doc"),)


def test_numeric_syslog_levels_and_unknown_levels():
    body = b'{"msg":"a","level":3}\n{"msg":"b","level":"loud"}\n'
    assert [e.level for e in decode_json_lines(body).entries] == ["error", ""]
