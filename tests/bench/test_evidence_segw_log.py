"""5.1.2.2's step 1.3 judged with the bench's SeGW log (a run's logs/isegw-charon.log, `judge --segw-log`): the
SeGW's refusals of a unit, inside the encrypted IKE_AUTH, in charon's own words, parsed as the live SeGW parses
them (bench.services.segw.CharonLog), kept within the test's span and attributed to the unit by its outer address
or identity; a NO_PROPOSAL_CHOSEN answer to the unit's IKE_SA_INIT from the capture alone; a correct unit's log
passes."""

from __future__ import annotations

import time
from pathlib import Path

from bench.evidence.judge_registration import judge_5_1_2_2
from bench.evidence.judge_segw_log import run_segw_logs, segw_of, utc_offset
from bench.evidence.judges import FAILED, PASSED, Span
from bench.services.segw import read_charon_log
from bench.timeline import Event, Timeline
from tests.bench import esp_capture
from tests.support import henb_bench

ID = ("00D0B7", "MockHeNB", "MOCK0001")
UNIT, OTHER, SEGW = "198.51.100.143", "198.51.100.200", "203.0.113.2"
T = 1796674030.0
OUTER = "/run/x/test/outer.pcapng"


def stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def charon_log(tmp_path: Path, lines: list[tuple[float, str, str]], name: str = "isegw-charon.log") -> Path:
    """A charon log file as the bench's charon writes it: (time, thread, message) per line."""
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    path = logs / name
    path.write_text(
        "".join(f"{stamp(t)} {thread}[IKE] {msg}\n" for t, thread, msg in lines), encoding="utf-8"
    )
    return path


def auth_job(t: float, thread: str, host: str, ike_id: str, *said: str) -> list[tuple[float, str, str]]:
    return [(t, thread, f"received packet: from {host}[4500] to {SEGW}[4500] (848 bytes)"),
            (t, thread, f"looking for peer configs matching {SEGW}[isegw.operator.example]...{host}[{ike_id}]"),
            *((t, thread, s) for s in said)]  # fmt: skip


def established(t: float, host: str, ike_id: str, conn: str = "henb") -> tuple[float, str, str]:
    return (
        t,
        "10",
        f"IKE_SA {conn}[4] established between {SEGW}[isegw.operator.example]...{host}[{ike_id}]",
    )


def outer(up: bool = True, refused: str | None = None, dh: tuple[int, ...] = (19,)) -> list[Event]:
    """The unit's outer capture: DHCP, the query for the Initial SeGW, IKE with it; with `refused` (a notify
    type) the SeGW's IKE_SA_INIT answer refuses the offer."""
    tl = Timeline()
    tl.add("dhcp", "dhcpack", at=T, server="capture", detail="")
    tl.add("dns", "query", at=T + 0.1, dns="public-dns", name="isegw.operator.example", server="198.51.100.1")
    init = {"segw": "isegw", "exchange": "IKE_SA_INIT", "remote_host": UNIT, "capture": OUTER}
    tl.add("segw", "ike-message", at=T + 0.2, **init, response=False, dh=list(dh), notify=[], frames=[11])
    tl.add("segw", "ike-message", at=T + 0.3, **init, response=True, dh=[] if refused else list(dh),
           notify=[refused] if refused else [], frames=[12])  # fmt: skip
    if refused:
        return tl.events()
    auth = {**init, "exchange": "IKE_AUTH", "dh": [], "notify": []}
    tl.add("segw", "ike-message", at=T + 0.4, **auth, response=False, frames=[13])
    tl.add("segw", "ike-message", at=T + 0.5, **auth, response=True, frames=[14])
    if up:
        tl.add("segw", "ike-up", at=T + 0.6, segw="isegw", remote_host=UNIT, capture=OUTER, frames=[14, 15])
    return tl.events()


def span(*logs: Path) -> Span:
    return Span(end=T + 30, captures=(OUTER,), segw_logs=tuple(str(p) for p in logs))


def step_1_3(events: list[Event], sp: Span) -> tuple[str, str]:
    judged = judge_5_1_2_2(events, ID, span=sp)
    v = next(v for v in judged.verdicts if v.step == "1.3" and v.outcome != "not-observable")
    return v.outcome, v.message("")


def test_the_log_is_parsed_as_the_live_segw_parses_it(tmp_path: Path) -> None:
    """Each line of a worker's job is the peer's whose packet began it; lines outside the span are left out."""
    log = charon_log(tmp_path, [
        *auth_job(T, "08", UNIT, "00D0B7-MOCK0001.henb", "no trusted ECDSA public key found for '00D0B7-MOCK0001.henb'"),
        *auth_job(T, "09", OTHER, "00D0B7-TWIN0002.henb", "constraint check failed: identity not in cert"),
        (T + 100, "08", "no trusted ECDSA public key found for 'late'"),
    ])  # fmt: skip
    found = read_charon_log(log, "isegw", T, T + 30)
    assert [(d["remote_host"], d["remote_id"], d["reason"]) for _, _, d in found] == [
        (UNIT, "00D0B7-MOCK0001.henb", "no trusted ECDSA public key found for '00D0B7-MOCK0001.henb'"),
        (OTHER, "00D0B7-TWIN0002.henb", "constraint check failed: identity not in cert"),
    ]
    assert segw_of(log) == "isegw" and segw_of(tmp_path / "unit0-charon-charon.log") is None
    charon_log(tmp_path, [], "unit0-charon-charon.log")  # the unit's own: not the SeGW's
    assert run_segw_logs(tmp_path) == [log]


def test_a_correct_unit_passes_with_its_log(tmp_path: Path) -> None:
    log = charon_log(tmp_path, [
        *auth_job(T, "09", OTHER, "00D0B7-TWIN0002.henb", "no trusted ECDSA public key found for 'x'"),  # another's
        established(T + 1, UNIT, "00D0B7-MOCK0001.henb"),
    ])  # fmt: skip
    assert step_1_3(outer(), span(log)) == (PASSED, "TS 32.593 5.1.2.2 step 1.3: passed")


def test_an_untrusted_certificate_fails_in_charons_words(tmp_path: Path) -> None:
    reason = "no trusted ECDSA public key found for '00D0B7-MOCK0001.henb'"
    log = charon_log(tmp_path, [*auth_job(T + 1, "12", UNIT, "00D0B7-MOCK0001.henb", reason)])
    outcome, message = step_1_3(outer(up=False), span(log))
    assert outcome == FAILED
    assert (
        "expected an IKE SA from 00D0B7-MOCK0001.henb at the Initial SeGW isegw.operator.example" in message
    )
    assert (
        "seen no IKE SA up (no ESP after an IKE_AUTH response); the isegw charon refused the unit: "
        in message
    )
    assert f"the isegw charon refused the unit: {reason}" in message
    # without the log, charon's reason is not claimed: the capture shows no tunnel, and says why not more
    outcome, message = step_1_3(outer(up=False), span())
    assert "charon refused" not in message and "not observable without its charon log" in message


def test_another_identity_than_the_units_fails_from_the_log(tmp_path: Path) -> None:
    log = charon_log(tmp_path, [established(T + 1, UNIT, "other-00D0B7-MOCK0001.henb")])
    outcome, message = step_1_3(outer(), span(log))
    assert outcome == FAILED
    assert "IKE SA from 00D0B7-MOCK0001.henb" in message
    assert "from other-00D0B7-MOCK0001.henb, not identity.ike_id '00D0B7-MOCK0001.henb'" in message
    assert step_1_3(outer(), span())[0] == PASSED  # the identity is inside the encrypted IKE_AUTH


def test_proposals_refused_in_clear_and_in_charons_words(tmp_path: Path) -> None:
    events = outer(refused="14", dh=(16,))
    outcome, message = step_1_3(events, span())  # the capture alone
    assert outcome == FAILED
    assert (
        "no IKE SA up (no IKE_AUTH); the isegw answered the unit's IKE_SA_INIT offering MODP_4096 with"
        in message
    )
    assert "NO_PROPOSAL_CHOSEN" in message
    assert "outer.pcapng frames 11, 12" in message
    log = charon_log(tmp_path, [
        (T, "08", f"received packet: from {UNIT}[500] to {SEGW}[500] (272 bytes)"),
        (T, "08", f"{UNIT} is initiating an IKE_SA"),
        (T, "08", "received proposals: IKE:AES_CBC_256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/MODP_4096"),
        (T, "08", "configured proposals: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256"),
        (T, "08", "received proposals unacceptable"),
    ])  # fmt: skip
    outcome, message = step_1_3(events, span(log))
    assert outcome == FAILED
    assert (
        "the isegw charon refused the unit: received proposals unacceptable (received proposals: " in message
    )
    assert "MODP_4096; configured: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256)" in message


def test_a_log_stamped_in_the_run_hosts_local_time(tmp_path: Path) -> None:
    """Rejudged on another host: the stamps are read in the run host's local time (run.json's started_iso)."""
    line = "no trusted ECDSA public key found for '00D0B7-MOCK0001.henb'"
    there = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(T + 1 + 3600))  # the run host at UTC+1
    log = tmp_path / "isegw-charon.log"
    log.write_text(f"{there} 08[CFG] {line}\n", encoding="utf-8")
    assert utc_offset("2026-12-07T21:07:06+0100") == 3600.0 and utc_offset("?") is None
    assert [d["reason"] for _, _, d in read_charon_log(log, "isegw", T, T + 2, 3600.0)] == [line]
    assert read_charon_log(log, "isegw", T + 3, T + 30, 3600.0) == []


def test_judge_takes_only_a_bench_segws_log(tmp_path: Path) -> None:
    """`judge --segw-log F`: a log named as a run keeps a bench SeGW's; the unit's own, or a missing file, is
    an error naming it (exit 2), never a traceback."""
    capture, sas = tmp_path / "unit-side.pcap", tmp_path / "esp_sa"
    esp_capture.write(capture, sas, sorted(esp_capture.SUITES)[0])
    unit_own = charon_log(tmp_path, [], "unit0-charon-charon.log")
    for log, why in (
        (unit_own, "expected a bench SeGW's charon log"),
        (tmp_path / "isegw-charon.log", "no such file"),
    ):
        res = henb_bench(
            "judge", str(capture), "--segw-log", str(log), "--out", str(tmp_path / "j"), timeout=120
        )
        assert (
            res.returncode == 2 and f"--segw-log {log}: {why}" in res.stderr and "Traceback" not in res.stderr
        )
    log = charon_log(tmp_path, [established(T, UNIT, "00D0B7-MOCK0001.henb")])
    res = henb_bench("judge", str(capture), "--segw-log", str(log), "--clause", "5.1.2.2", "--out",
                     str(tmp_path / "j"), timeout=120)  # fmt: skip
    assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
