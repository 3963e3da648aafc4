"""The mock unit's DNS stub resolver (bench/mock/dnsquery.py) against answers dnspython builds: the query it
sends, an A record behind a CNAME and a compressed name, NXDOMAIN, an answer to another query, silence (the
exchange with dnsmasq itself runs in every mock boot)."""

from __future__ import annotations

import asyncio
import socket

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from bench.mock import dnsquery


def test_the_query_is_a_recursive_a_query_dnspython_reads() -> None:
    q = dns.message.from_wire(dnsquery.query("segw.operator.example", 0x1234))
    assert q.id == 0x1234 and q.flags & dns.flags.RD
    assert [(str(r.name), r.rdtype, r.rdclass) for r in q.question] == [("segw.operator.example.", 1, 1)]
    with pytest.raises(ValueError):
        dnsquery.query("a..b" + "x" * 64, 1)


def response(qid: int, name: str, rrsets: list[dns.rrset.RRset], rcode: int = 0) -> bytes:
    q = dns.message.make_query(name, "A")
    q.id = qid
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    r.answer = rrsets
    return r.to_wire()


def test_the_first_a_record_is_the_answer_behind_a_cname() -> None:
    rrsets = [
        dns.rrset.from_text("hems.example.", 60, "IN", "CNAME", "real.hems.example."),
        dns.rrset.from_text("real.hems.example.", 60, "IN", "A", "10.180.0.7"),
        dns.rrset.from_text("other.hems.example.", 60, "IN", "A", "10.180.0.8"),
    ]
    assert dnsquery.answer(response(7, "hems.example", rrsets), 7) == "10.180.0.7"


def test_no_record_and_error_codes_are_none_and_a_stranger_is_refused() -> None:
    aaaa = [dns.rrset.from_text("h.example.", 60, "IN", "AAAA", "2001:db8::1")]
    assert dnsquery.answer(response(1, "h.example", aaaa), 1) is None
    assert dnsquery.answer(response(2, "h.example", [], dns.rcode.NXDOMAIN), 2) is None
    with pytest.raises(dnsquery.DnsError, match="not the answer"):
        dnsquery.answer(response(3, "h.example", []), 4)
    # REFUSED (a public DNS asked for an operator name) and SERVFAIL: no address, not an error
    assert dnsquery.answer(response(5, "h.example", [], dns.rcode.REFUSED), 5) is None
    assert dnsquery.answer(response(6, "h.example", [], dns.rcode.SERVFAIL), 6) is None
    with pytest.raises(dnsquery.DnsError):
        dnsquery.answer(b"\x00\x05\x80\x00\x00\x01\x00\x01\x00\x00\x00\x00\x05abc", 5)


def test_resolve_ignores_other_answers_and_times_out_on_silence() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]

    async def serve_once(answer: bool) -> None:
        loop = asyncio.get_running_loop()
        data, peer = await loop.run_in_executor(None, server.recvfrom, 512)
        q = dns.message.from_wire(data)
        a = [dns.rrset.from_text(q.question[0].name, 60, "IN", "A", "192.0.2.9")]
        server.sendto(response((q.id + 1) % 65536, "x.example", a), peer)  # another query's answer first
        if answer:
            server.sendto(response(q.id, str(q.question[0].name), a), peer)

    async def test() -> tuple[str | None, BaseException | None]:
        task = asyncio.create_task(serve_once(True))
        got = await dnsquery.resolve_a("x.example", "127.0.0.1", timeout=5, port=port)
        await task
        task = asyncio.create_task(serve_once(False))
        try:
            await dnsquery.resolve_a("x.example", "127.0.0.1", timeout=0.5, port=port)
        except TimeoutError as exc:
            await task
            return got, exc
        return got, None

    with server:
        got, timed_out = asyncio.run(test())
    assert got == "192.0.2.9" and isinstance(timed_out, TimeoutError)
