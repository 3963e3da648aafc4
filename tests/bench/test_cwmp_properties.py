"""Property tests of the CWMP codec (bench/cwmp/): valid messages read back as built; mutated, re-encoded and
random bodies give a parsed result or CwmpParseError with a reason, never another exception, never a hang."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bench import cwmp
from bench.cwmp import CwmpParseError
from tests.hostile import (
    FUZZ,
    MUTATION_NAMES,
    MUTATIONS,
    NS2,
    SEED_NAMES,
    SEEDS,
    T,
    mutate,
    read_all,
    watchdog,
)

BOUND = 60.0  # seconds for one example: generous, a hang is what it catches


def _read(body: bytes) -> object | None:
    """read_all's result, or None after a CwmpParseError that says why; any other exception fails the test."""
    with watchdog(BOUND):
        try:
            return read_all(body)
        except CwmpParseError as exc:
            assert str(exc), "a CwmpParseError must say why"
            assert "root:" not in str(exc)  # never an external entity's content
            return None


@FUZZ
@given(st.sampled_from(SEED_NAMES), st.randoms(use_true_random=False))
def test_mutated_messages_parse_or_are_refused(name: str, rnd: random.Random) -> None:
    _read(mutate(SEEDS[name], rnd))


@FUZZ
@given(st.sampled_from(SEED_NAMES), st.sampled_from(MUTATION_NAMES), st.randoms(use_true_random=False))
def test_each_mutation_parses_or_is_refused(name: str, mutation: str, rnd: random.Random) -> None:
    _read(MUTATIONS[mutation](SEEDS[name], rnd))


@FUZZ
@given(st.binary(max_size=4096))
@example(b"")
@example(b"<")
@example(b"\xef\xbb\xbf")
def test_random_bytes_parse_or_are_refused(body: bytes) -> None:
    _read(body)


@pytest.mark.parametrize("name", SEED_NAMES)
def test_every_seed_is_valid(name: str) -> None:
    """The mutations start from messages the codec accepts: a refusal is the mutation's doing."""
    assert _read(SEEDS[name]) is not None


# Text that XML can carry unchanged: no control characters (XML 1.0 refuses them), no surrogates, no CR
# (the parser turns CR into LF), no leading/trailing blanks (the reader strips them).
xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40).map(str.strip)


@FUZZ
@given(
    st.sampled_from(cwmp.CWMP_NAMESPACES),
    st.tuples(xml_text, xml_text, xml_text, xml_text.filter(bool)),
    st.lists(st.tuples(xml_text, xml_text), max_size=5),
    st.dictionaries(xml_text, xml_text, max_size=5),
    st.integers(0, 2**31),
    st.sampled_from(["utf-8", "utf-16", "utf-32"]),
)
def test_any_inform_reads_back_as_built(
    ns: str,
    ident: tuple[str, str, str, str],
    events: list[tuple[str, str]],
    params: dict[str, str],
    retry: int,
    encoding: str,
) -> None:
    device = cwmp.DeviceId(*ident)
    body = cwmp.inform(ns, "1", device, events, [(k, v, "xsd:string") for k, v in params.items()], T, retry)
    # The same document in another encoding, declared as such, is the same message.
    body = body.decode().replace("encoding='UTF-8'", f"encoding='{encoding}'").encode(encoding)
    with watchdog(BOUND):
        inform = cwmp.read_inform(cwmp.parse_envelope(body))
    assert inform.device_id == device
    assert inform.events == events
    assert inform.params == params
    assert inform.retry_count == retry


NASTY_NUMBERS = ["\u00b2", "\u0661", "9" * 5000, "-1", "1e3", "", "0x1f", "\uff11", "1_000"]


@pytest.mark.parametrize("text", NASTY_NUMBERS)
def test_session_timeout_that_is_not_a_plain_number_is_ignored(text: str) -> None:
    # Regression: superscript digits and 5000-digit numbers raised ValueError out of parse_envelope.
    body = cwmp.inform_response(NS2, "1", session_timeout=30).replace(b">30<", f">{text}<".encode())
    assert cwmp.parse_envelope(body).session_timeout is None


@pytest.mark.parametrize("text", NASTY_NUMBERS)
def test_integer_fields_that_are_not_numbers_are_refused_by_name(text: str) -> None:
    body = SEEDS["inform-1-1"].replace(b"<RetryCount>0<", f"<RetryCount>{text}<".encode())
    if text == "-1":
        assert cwmp.read_inform(cwmp.parse_envelope(body)).retry_count == -1
        return
    with pytest.raises(CwmpParseError, match="Inform/RetryCount is not an integer"):
        cwmp.read_inform(cwmp.parse_envelope(body))
