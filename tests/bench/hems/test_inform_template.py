"""The HeMS's InformResponse from a template is byte for byte what the codec builds, whatever the ID."""

from __future__ import annotations

import itertools

import pytest

from bench import cwmp
from bench.hems.server import inform_response

IDS = [None, "", "1", "cpe-1", "abc-1.2:3_x", "a&b", "<id>", "x" * 64, "x" * 65, "é", " 1 ", "a\r"]


@pytest.mark.parametrize(
    ("ns", "hold", "timeout", "version"),
    [
        (cwmp.CWMP_NAMESPACES[0], None, None, None),
        (cwmp.CWMP_NAMESPACES[1], True, None, None),
        (cwmp.CWMP_NAMESPACES[2], None, 30, "1.4"),
        (cwmp.CWMP_NAMESPACES[2], False, None, "1.2"),
    ],
)
def test_the_template_builds_what_the_codec_builds(
    ns: str, hold: bool | None, timeout: int | None, version: str | None
) -> None:
    for cwmp_id, _ in itertools.product(IDS, range(2)):  # twice: the second from the cached template
        expected = cwmp.inform_response(ns, cwmp_id, 1, hold, timeout, version)
        assert inform_response(ns, cwmp_id, hold, timeout, version) == expected, cwmp_id
