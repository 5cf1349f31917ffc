import base64
import json

import pytest

from vigil.logs.ingest.common import IngestError
from vigil.logs.ingest.otlp import ExportLogsServiceRequest, decode_otlp_logs
from vigil.model.labels import Labels


def _kv(key: str, value: dict) -> dict:
    return {"key": key, "value": value}


# OTLP/JSON as the OpenTelemetry protocol documents it (ids hex, 64-bit integers as strings).
JSON_BODY = {"resourceLogs": [{
    "resource": {"attributes": [_kv("service.name", {"stringValue": "checkout"}),
                                _kv("k8s.namespace.name", {"stringValue": "shop"}),
                                _kv("host.name", {"stringValue": "node-1"})]},
    "scopeLogs": [{
        "scope": {"name": "my.library", "version": "1.0.0"},
        "logRecords": [
            {"timeUnixNano": "1544712660300000000", "observedTimeUnixNano": "1544712660300000001",
             "severityNumber": 10, "severityText": "Information",
             "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
             "body": {"stringValue": "Example log record"},
             "attributes": [_kv("int.attribute", {"intValue": "10"}),
                            _kv("bool.attribute", {"boolValue": True}),
                            _kv("array.attribute", {"arrayValue": {"values": [
                                {"stringValue": "many"}, {"intValue": "2"}]}}),
                            _kv("map.attribute", {"kvlistValue": {"values": [
                                _kv("some.map.key", {"stringValue": "some value"})]}})]},
            {"timeUnixNano": "soon", "body": {"stringValue": "bad time"}},
            {"body": {"stringValue": "no time at all"}},
            {"observedTimeUnixNano": "1544712660400000000", "severityText": "WARN",
             "body": {"kvlistValue": {"values": [_kv("event", {"stringValue": "login"})]}}},
            {"timeUnixNano": "1544712660500000000", "severityNumber": 21,
             "traceId": "not-hex", "body": {"stringValue": "bad trace id"}},
        ]}]}]}


def test_json_records_become_entries_and_each_bad_record_an_error():
    result = decode_otlp_logs(json.dumps(JSON_BODY).encode(), content_type="application/json")
    first, second = result.entries
    assert first.labels == Labels({"service_name": "checkout", "k8s_namespace_name": "shop"})
    assert (first.ts_ns, first.line, first.level) == (1544712660300000000, "Example log record", "info")
    assert first.fields == (
        ("host.name", "node-1"), ("scope_name", "my.library"), ("scope_version", "1.0.0"),
        ("int.attribute", "10"), ("bool.attribute", "true"),
        ("array.attribute", '["many",2]'), ("map.attribute", '{"some.map.key":"some value"}'),
        ("severity_text", "Information"), ("trace_id", "5b8efff798038103d269b633813fc60c"),
        ("span_id", "eee19b7ec3c1b174"))
    # The observed time stands in for a missing time; the text gives the level.
    assert (second.ts_ns, second.line, second.level) == (
        1544712660400000000, '{"event":"login"}', "warn")
    where = "resourceLogs[0].scopeLogs[0].logRecords"
    assert sorted(e.where for e in result.errors) == [f"{where}[{i}]" for i in (1, 2, 4)]
    messages = {e.where: e.message for e in result.errors}
    assert "timeUnixNano" in messages[f"{where}[1]"]
    assert "neither timeUnixNano" in messages[f"{where}[2]"]
    assert "not hex" in messages[f"{where}[4]"]


def test_protobuf_decodes_like_json():
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.add(key="service.name").value.string_value = "checkout"
    record = resource_logs.scope_logs.add().log_records.add(
        time_unix_nano=1544712660300000000, severity_number=17,
        trace_id=bytes.fromhex("5b8efff798038103d269b633813fc60c"))
    record.body.string_value = "payment failed"
    record.attributes.add(key="amount").value.double_value = 12.5
    result = decode_otlp_logs(request.SerializeToString(), content_type="application/x-protobuf")
    (entry,) = result.entries
    assert entry.labels == Labels({"service_name": "checkout"})
    assert (entry.line, entry.level) == ("payment failed", "error")
    assert entry.fields == (("amount", "12.5"), ("trace_id", "5b8efff798038103d269b633813fc60c"))


@pytest.mark.parametrize(("body", "content_type", "message"), [
    (b"\xff\xff", "application/x-protobuf", "ExportLogsServiceRequest"),
    (b"{", "application/json", "not JSON"),
    (b'{"resourceLogs": 3}', "application/json", "resourceLogs"),
])
def test_unreadable_bodies(body, content_type, message):
    with pytest.raises(IngestError, match=message):
        decode_otlp_logs(body, content_type=content_type)


def test_json_typed_path_matches_the_protobuf_path():
    # The good records of JSON_BODY (int64s as strings and numbers, composite values, hex
    # ids) through the typed msgspec path and, encoded as protobuf, through the protobuf path.
    from google.protobuf import json_format

    from vigil.logs.ingest.otlp_json import decode_otlp_json_fast
    body = json.loads(json.dumps(JSON_BODY))
    records = body["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    records[:] = [records[0], records[3], {"timeUnixNano": 1544712660600000000,
                                           "body": {"intValue": 7}}]
    typed = decode_otlp_json_fast(json.dumps(body).encode())
    assert typed is not None and typed.errors == []
    for record in records:  # protobuf's JSON mapping wants base64 ids
        for key in ("traceId", "spanId"):
            if key in record:
                record[key] = base64.b64encode(bytes.fromhex(record[key])).decode()
    request = json_format.ParseDict(body, ExportLogsServiceRequest())
    expected = decode_otlp_logs(request.SerializeToString(), content_type="application/x-protobuf")
    assert typed.entries == expected.entries
    assert [e.line for e in typed.entries] == ["Example log record", '{"event":"login"}', "7"]


@pytest.mark.parametrize("body", [
    b'{"resourceLogs": [{"scope_logs": []}]}',  # snake_case: the protobuf mapping's field names
    b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"severityNumber": "SEVERITY_NUMBER_INFO"}]}]}]}',
    b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "1", "traceId": "zz"}]}]}]}',
    b'{"resourceLogs": null}',
])
def test_json_the_typed_path_leaves_to_the_careful_one(body):
    from vigil.logs.ingest.otlp_json import decode_otlp_json_fast
    assert decode_otlp_json_fast(body) is None
