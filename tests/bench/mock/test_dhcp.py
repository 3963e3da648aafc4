"""The mock unit's DHCP client codec: what it sends, and how it reads a server's replies (the exchange with
dnsmasq itself runs in every mock boot, tests/bench/mock/test_mock_procedures.py)."""

from __future__ import annotations

import struct

from bench.mock import dhcp

MAC = bytes.fromhex("02aabbccddee")


def reply(kind: int, xid: int, yiaddr: bytes, options: bytes) -> bytes:
    """A BOOTREPLY as a server sends it: the request's layout with op 2 and the options given raw."""
    request = bytearray(dhcp.build(dhcp.DISCOVER, xid, MAC, {}))
    request[0] = 2
    request[16:20] = yiaddr
    head = bytes(request[:240])
    return head + bytes([dhcp.OPT_TYPE, 1, kind]) + options + b"\xff"


def test_discover_is_a_broadcast_bootrequest_for_our_mac() -> None:
    raw = dhcp.build(dhcp.DISCOVER, 0x12345678, MAC, {dhcp.OPT_PARAMS: bytes([1, 3, 6, 42])})
    op, htype, hlen, _, xid, _, flags = struct.unpack_from("!BBBBIHH", raw)
    assert (op, htype, hlen, xid, flags) == (1, 1, 6, 0x12345678, 0x8000)
    assert raw[28:34] == MAC
    assert raw[236:240] == dhcp.MAGIC
    assert raw[240:] == bytes([53, 1, 1, 55, 4, 1, 3, 6, 42, 255])


def test_request_carries_the_offered_address_and_server() -> None:
    raw = dhcp.build(
        dhcp.REQUEST, 7, MAC, {dhcp.OPT_REQUESTED: bytes([10, 0, 0, 5]), dhcp.OPT_SERVER_ID: b"\n\0\0\1"}
    )
    assert raw[240:] == bytes([53, 1, 3, 50, 4, 10, 0, 0, 5, 54, 4, 10, 0, 0, 1, 255])


def test_parse_reads_options_across_pads_and_keeps_the_first_of_a_list() -> None:
    options = (
        b"\x00\x00"  # pad
        + bytes([54, 4, 10, 0, 0, 1])
        + bytes([1, 4, 255, 255, 255, 0])
        + bytes([3, 4, 10, 0, 0, 1])
        + bytes([6, 8, 10, 0, 0, 2, 10, 0, 0, 3])  # two DNS servers
    )
    got = dhcp.parse(reply(dhcp.ACK, 99, bytes([10, 0, 0, 5]), options))
    assert got is not None
    xid, yiaddr, opts = got
    assert (xid, yiaddr) == (99, bytes([10, 0, 0, 5]))
    assert opts[dhcp.OPT_TYPE] == bytes([dhcp.ACK])
    assert opts[dhcp.OPT_DNS] == bytes([10, 0, 0, 2, 10, 0, 0, 3])
    assert dhcp._first_ip(opts[dhcp.OPT_DNS]) == "10.0.0.2"
    assert dhcp._first_ip(opts.get(dhcp.OPT_NTP)) == ""


def test_parse_refuses_what_is_not_a_bootreply() -> None:
    ours = dhcp.build(dhcp.DISCOVER, 1, MAC, {})
    assert dhcp.parse(ours) is None  # op 1: a request (another client's, or our own looped back)
    assert dhcp.parse(b"\x02" + bytes(50)) is None  # too short
    no_magic = bytearray(reply(dhcp.OFFER, 1, bytes(4), b""))
    no_magic[236:240] = bytes(4)
    assert dhcp.parse(bytes(no_magic)) is None


def test_parse_stops_at_an_option_cut_short() -> None:
    truncated = reply(dhcp.OFFER, 5, bytes([10, 0, 0, 9]), bytes([3, 4, 10, 0]))[:-1]
    got = dhcp.parse(truncated)
    assert got is not None
    assert got[2][dhcp.OPT_TYPE] == bytes([dhcp.OFFER])
    assert dhcp._first_ip(got[2].get(dhcp.OPT_ROUTER)) == ""
