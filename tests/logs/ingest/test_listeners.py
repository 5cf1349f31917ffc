import socket
import time

from tests.logs.ingest.listening import listeners
from tests.logs.ingest.memappender import MemoryAppender
from vigil.model.labels import Labels


def _wait(predicate, what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_tcp_mixed_framing_with_bad_frames_keeps_every_good_neighbour():
    appender = MemoryAppender()
    two = b"<14>1 2026-12-07T09:00:01Z web1 app - - - two"
    stream = (b"<13>Dec  7 09:00:00 web1 app[1]: one\n"
              b"<999>bad pri\n"
              + str(len(two)).encode() + b" " + two +
              b"<13>1 2026-13-07T09:00:01Z web1 app - - - bad time\n"
              b"<11>Dec  7 09:00:02 web1 app[1]: three\n"
              b"25 <13>1 - h a - - - cut sh")
    with listeners(appender, Labels({"job": "syslog"})) as (running,):
        with socket.create_connection(("127.0.0.1", running.tcp_port)) as s:
            for i in range(0, len(stream), 7):  # in pieces, as TCP may deliver them
                s.sendall(stream[i:i + 7])
        entries = appender.wait_for(3)
        _wait(lambda: len(running.errors) == 3, f"three errors, got {running.errors}")
        running.flush()
        assert running.listener.stats.received == 5
        assert running.listener.stats.stored == 3
    assert [(e.line, e.level) for e in entries] == [("one", "info"), ("two", "info"),
                                                    ("three", "error")]
    assert entries[0].labels == Labels({"job": "syslog", "host": "web1", "app": "app"})
    peers = {peer for peer, _ in running.errors}
    assert len(peers) == 1 and peers.pop().startswith("tcp:127.0.0.1:")
    errors = [e for _, e in running.errors]
    assert [e.offset for e in errors] == [stream.index(b"<999>"), stream.index(b"<13>1 2026-13"),
                                          stream.index(b"25 <13>")]
    assert "bad PRI" in errors[0].message and "bad TIMESTAMP" in errors[1].message
    assert "octet-counted frame of 25" in errors[2].message


def test_udp_datagrams_one_message_each():
    appender = MemoryAppender()
    with listeners(appender, Labels({"job": "udp"})) as (running,):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for datagram in (b"<13>Dec  7 09:00:00 h a: first\n", b"<300>nope",
                             b"<14>1 2026-12-07T09:00:01.5Z h a - - - second"):
                s.sendto(datagram, ("127.0.0.1", running.udp_port))
        entries = appender.wait_for(2)
        _wait(lambda: len(running.errors) == 1, "one error")
    assert [e.line for e in entries] == ["first", "second"]
    assert entries[1].ts_ns == 1796634001500000000
    assert running.errors[0][0].startswith("udp:127.0.0.1:")


def test_a_failing_appender_drops_that_batch_and_the_listener_goes_on():
    appender = MemoryAppender()
    appender.fail_next = True
    with listeners(appender, Labels({"job": "syslog"})) as (running,):
        with socket.create_connection(("127.0.0.1", running.tcp_port)) as s:
            s.sendall(b"<13>a: lost\n")
            _wait(lambda: running.listener.stats.dropped == 1, "the first batch dropped")
            s.sendall(b"<13>a: kept\n")
        assert [e.line for e in appender.wait_for(1)] == ["kept"]
