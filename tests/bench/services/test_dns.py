"""dnsmasq's queries on the timeline (bench/services/dns.py) carry the time the query reached the namespace,
not the time the bench read dnsmasq's log line: order checks against other sources depend on it; and a plan
can wait until every query that reached the DNS is on the timeline, however late the log is read."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import pytest
from pyroute2 import netns as pr_netns

from bench.events import DnsKind, Source
from bench.network import netns
from bench.services.dns import PROBE, Dnsmasq, QueryStamps
from bench.timeline import Event, Timeline
from tests.support import PREFIX, needs_root


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Dnsmasq]:
    """A public DNS on 127.0.0.1 in a namespace of its own, not started (a test may slow its log reader first)."""
    ns = f"{PREFIX}dns{threading.get_ident() % 10000}"
    pr_netns.create(ns)
    dnsmasq = Dnsmasq(
        "public-dns", ns, "127.0.0.1", {"isegw.operator.example": "192.0.2.1"}, tmp_path, Timeline()
    )
    try:
        netns.in_netns(ns, lambda ipr: ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up"))
        yield dnsmasq
    finally:
        dnsmasq.stop()
        pr_netns.remove(ns)


def ask(ns: str, name: str) -> tuple[float, float]:
    """One query from the namespace; the times just before it was sent and just after its answer came."""
    t = time.time()
    netns.run_in_netns(ns, dns.query.udp, dns.message.make_query(name, "A"), "127.0.0.1", 2.0)
    return t, time.time()


@pytest.mark.netns
@needs_root()
def test_a_query_is_stamped_when_it_arrived_not_when_its_log_line_was_read(
    server: Dnsmasq, monkeypatch: pytest.MonkeyPatch
) -> None:
    tl = server.timeline
    take = QueryStamps.take
    # The log reader held until the test lets it go (a bench busy with many units reads the log late): the order
    # is forced, not guessed from a delay that a loaded machine's two queries could outlast.
    reader = threading.Event()

    def late(self: QueryStamps, client: str, name: str, qtype: str) -> float | None:
        reader.wait(30)
        return take(self, client, name, qtype)

    server.start()
    mark = tl.mark()
    monkeypatch.setattr(QueryStamps, "take", late)
    sent = [ask(server.netns, "isegw.operator.example"), ask(server.netns, "isegw.operator.example")]

    def query(e: Event) -> bool:
        return (
            e.source == Source.DNS and e.kind == DnsKind.QUERY and e.data["name"] == "isegw.operator.example"
        )

    # The log is read late: a plan asking at once would not find the queries; caught_up() waits for them.
    assert tl.first(query, mark) is None
    released = time.time()
    reader.set()
    assert server.caught_up(10)
    assert len(tl.find(query, mark)) == 2
    first = tl.wait_for(query, 10, "the first query", mark)
    second = tl.wait_for(query, 10, "the second query", first.seq + 1)
    for ev, (before, answered) in zip((first, second), sent, strict=True):
        # Stamped between its sending and its answer, both before its log line could be read.
        assert before <= ev.t <= answered < released, (before, ev.t, answered, released, ev)
    assert first.data["client"] == "127.0.0.1" and first.data["qtype"] == "A"


@pytest.mark.netns
@needs_root()
def test_a_query_with_no_stamp_still_goes_on_the_timeline(server: Dnsmasq) -> None:
    """A query the raw socket does not see (over TCP, or lost from its buffer) is stamped when read."""
    tl = server.timeline
    server.start()
    mark = tl.mark()
    sent = time.time()
    query = dns.message.make_query("ihems.operator.example", "A")
    netns.run_in_netns(server.netns, dns.query.tcp, query, "127.0.0.1", 2.0)
    ev = tl.wait_for(
        lambda e: e.source == Source.DNS and e.data.get("name") == "ihems.operator.example",
        10,
        "the query",
        mark,
    )
    assert ev.t >= sent and ev.data["qtype"] == "A"
    assert server._stamps is not None and not any(server._stamps.seen.values())  # nothing left unmatched


@pytest.mark.netns
@needs_root()
def test_caught_up_gives_up_at_its_bound_on_a_query_never_logged(
    server: Dnsmasq, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query whose log line never comes (here: nothing reads the log) is waited for only up to the bound."""
    monkeypatch.setattr(Dnsmasq, "_read_log", lambda self: None)
    server.start()
    ask(server.netns, "isegw.operator.example")
    t = time.monotonic()
    assert not server.caught_up(0.5)
    assert 0.5 <= time.monotonic() - t < 2.0
    t = time.monotonic()
    assert server.caught_up(5)  # the stamp given up on is not waited for again
    assert time.monotonic() - t < 0.5


@pytest.mark.netns
@needs_root()
def test_the_benchs_readiness_probes_are_not_queries_on_the_timeline(server: Dnsmasq) -> None:
    """wait_ready() asks for a record of the DNS's own (PROBE): a probe logged late, after a test's or a plan's
    mark, must not read as a query for a name a unit asks (it asked the first record, here the Initial SeGW)."""
    tl = server.timeline
    server.start()
    mark = tl.mark()
    ask(server.netns, PROBE)  # as a probe that timed out and was logged late would be read
    ask(server.netns, "isegw.operator.example")
    assert server.caught_up(10)
    tl.wait_for(lambda e: e.data.get("name") == "isegw.operator.example", 10, "the query", mark)
    assert [e.data["name"] for e in tl.find(lambda e: e.source == Source.DNS, 0)] == [
        "isegw.operator.example"
    ]
    assert f"query[A] {PROBE}" in (server.workdir / "dnsmasq.log").read_text()  # in dnsmasq's own log still
