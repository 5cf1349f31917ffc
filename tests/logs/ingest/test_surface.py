import gzip
import importlib

import cramjam
import pytest

import vigil.logs.ingest as ingest
from vigil.logs.ingest import IngestError, decompress_body

MODULES = ["bulk", "common", "documents", "jsonlines", "listeners", "loki", "otlp", "syslog",
           "tailer"]


def test_the_package_exports_what_it_documents():
    assert sorted(ingest.__all__) == sorted(set(ingest.__all__))
    for name in ingest.__all__:
        assert getattr(ingest, name) is not None
    for module in MODULES:
        assert f"    {module} " in ingest.__doc__ or module == "common"
        loaded = importlib.import_module(f"vigil.logs.ingest.{module}")
        assert loaded.__doc__ and all(hasattr(loaded, name) for name in loaded.__all__)


@pytest.mark.parametrize(("encoding", "encode"), [
    ("", lambda b: b), ("identity", lambda b: b), ("gzip", gzip.compress),
    ("zstd", lambda b: bytes(cramjam.zstd.compress(b))),
    ("snappy", lambda b: bytes(cramjam.snappy.compress(b))),
])
def test_content_encodings(encoding, encode):
    assert decompress_body(encode(b"payload"), encoding) == b"payload"


def test_content_encoding_errors_and_limits():
    with pytest.raises(IngestError, match="unsupported Content-Encoding 'br'"):
        decompress_body(b"x", "br")
    with pytest.raises(IngestError, match="not valid zstd"):
        decompress_body(b"not zstd", "zstd")
    with pytest.raises(IngestError, match="over 10"):
        decompress_body(gzip.compress(b"x" * 11), "gzip", max_bytes=10)
