"""`henb-bench judge CAPTURE...`: verdicts from captures alone, written as a run folder; `henb-bench rejudge
RUN_DIR`: a run's own captures judged again with today's judge functions, compared with its run.json."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import ConfigError
from bench.evidence.judge_segw_log import SUFFIX, run_segw_logs, segw_of, utc_offset
from bench.timeline import Timeline

# The decoder, the judges and the outer link's policy (its capture code, pyroute2) are imported by the functions
# using them: `henb-bench` builds these subcommands' parsers at every start, whatever the command.
if TYPE_CHECKING:
    from bench.evidence.decode import Names
    from bench.evidence.judges import Judge, Judged, Span, Verdict
    from bench.outer_link import Policy
    from bench.report.redact import Redactor
    from bench.timeline import Event


@dataclass(frozen=True)
class Known:
    """What the inventory tells a judge: the operator's host names, the Initial SeGW's, and how long a unit has
    for a step (units.NAME.bounds.step of its first unit), for absences near the end of a capture; and its
    secrets, masked in everything the judged run folder holds (the captures keep them, as a live run's do)."""

    names: Names
    initial_segw: str = "isegw.operator.example"
    bound: float = 10.0
    redactor: Redactor | None = None
    bounds: dict[str, float] = field(default_factory=dict)  # the first unit's, all of them
    # The outer link's policy (operator ranges, HeMS port, operator.outer_link.strict; None: the default
    # inventory's), the public Initial HeMS's address and whether each unit (by OUI, class, serial) has it.
    outer: Policy | None = None
    public_hems: str | None = None  # None: the default inventory's
    public_units: dict[tuple[str, str, str], bool] = field(default_factory=dict)

    def outer_policy(self, clause: str, identity: tuple[str, str, str] | None) -> Policy:
        """The policy for the unit of `identity`: 5.1.2.3's units have their Initial HeMS on the internet, any
        other's access is the inventory's for that unit (unknown: judge_outer.unit_policy)."""
        from bench.evidence.judge_outer import unit_policy

        public = True if clause == "5.1.2.3" else self.public_units.get(identity) if identity else None
        return unit_policy(self.outer, self.public_hems, public)


def known_of(inventory: Path) -> Known:
    """The inventory's names and bound (the default operator's when there is no inventory)."""
    from bench.evidence.decode import Names
    from bench.outer_link import Policy

    if not inventory.is_file():
        return Known(Names.of_operator("isegw.operator.example", "ssegw.operator.example",
                                       "ihems.operator.example", "shems.operator.example"))  # fmt: skip
    from bench.inventory import load_inventory
    from bench.report.redact import redactor_for

    inv = load_inventory(inventory)
    op = inv.operator
    names = Names.of_operator(op.initial_segw, op.serving_segw, op.initial_hems, op.serving_hems)
    unit = next(iter(inv.units.values()), None)
    bound = float(unit.bounds.step) if unit is not None else 10.0
    bounds = {k: float(v) for k, v in unit.bounds.model_dump().items()} if unit is not None else {}
    public = {(u.identity.oui, u.identity.product_class, u.identity.serial_number): u.initial_hems_access == "public"
              for u in inv.units.values()}  # fmt: skip
    return Known(names, op.initial_segw, bound, redactor_for(inv), bounds, Policy.of(inv.network, op),
                 str(inv.network.public_hems), public)  # fmt: skip


def timeline_of(
    captures: list[Path],
    keylog: Path | None,
    known: Known,
    notes: list[str] | None = None,
    esp_sa: list[list[str]] | None = None,
    files: Path | None = None,
) -> tuple[Timeline, Span]:
    """One timeline of every capture's events, in time order (each with its capture file and frames), and how
    far the captures go; what they carry that cannot be opened is added to `notes`. The captures are read a
    frame at a time: what is kept is their events. What only the bench knew is added by
    bench.evidence.knowledge.with_knowledge. With `files` (a folder for the judging's time), an FTP upload's
    file is taken from its capture into it (decode.ftp_files), for a check of what it holds."""
    from bench.evidence.decode import Decoder, ftp_files
    from bench.evidence.judge_outer import outer_found
    from bench.evidence.judges import Span
    from bench.evidence.tshark import capture_end, read_frames

    decoder = Decoder(known.names, esp_sa=bool(esp_sa))
    ends = []
    for n, capture in enumerate(captures):
        exported = files / str(n) if files is not None else None
        if exported is not None:
            exported.mkdir(parents=True, exist_ok=True)
        decoder.decode(read_frames(capture, keylog, decoder.notes, esp_sa=esp_sa, files=exported))
        # the outer link's flows, for the policy (judge_outer)
        outer, cut = outer_found(capture, known.outer.operator_ports if known.outer else None)
        decoder.found += outer
        decoder.notes += [cut] if cut else []
        if exported is not None:
            ftp_files(decoder.found, str(capture), exported)
        ends.append(capture_end(capture))
    if notes is not None:
        notes.extend(decoder.notes)
    tl = Timeline()
    for found in sorted(decoder.found, key=lambda f: f.t):
        tl.add(found.source, found.kind, at=found.t, **found.data)
    if decoder.found:
        tl.t0 = min(f.t for f in decoder.found)
    # The evidence goes as far as its last packet, or as the captures say they ran (their statistics blocks).
    end = max([t for t in (decoder.end, *ends) if t is not None], default=tl.t0)
    return tl, Span(end, known.bound, tuple(str(c) for c in captures))


def call(
    clause: str,
    fn: Judge,
    events: list[Event],
    identity: tuple[str, str, str] | None,
    known: Known,
    span: Span,
) -> Judged:
    """One test's judge function on the events, with what it takes of the caller."""
    from bench.evidence.judge_more import MORE_JUDGES, call_more

    if fn in MORE_JUDGES.get(clause, {}).values():
        return call_more(clause, fn, events, identity, known.bounds, span, known.names.hosts,
                         known.outer_policy(clause, identity))  # fmt: skip
    return fn(events, span=span)


def judge(
    tl: Timeline, span: Span, clauses: list[str] | None, identity: tuple[str, str, str] | None, known: Known
) -> list[Judged]:
    from bench.evidence.registry import JUDGES

    events = tl.events()
    return [
        call(clause, fn, events, identity, known, span)
        for clause, tests in JUDGES.items()
        if not clauses or clause in clauses
        for fn in tests.values()
    ]


def hint(v: Verdict) -> str:
    """Where a verdict's evidence is: each capture's frames, and the Wireshark command showing the frame of the
    event the verdict rests on (its last)."""
    by_file: dict[str, list[int]] = {}
    for e in v.events:
        by_file.setdefault(str(e.data.get("capture")), []).extend(e.data.get("frames", []))
    if not by_file:
        return ""
    last = v.events[-1].data
    frames = "; ".join(f"{f} frames {', '.join(map(str, sorted(set(ns))))}" for f, ns in by_file.items())
    return f"{frames}; wireshark -r {last.get('capture')} -Y frame.number=={min(last.get('frames') or [0])}"


def result_of(j: Judged, timeline: str) -> dict[str, Any]:
    from bench.evidence.judges import NOT_OBSERVABLE

    failed = j.failed()
    where = f"{timeline}" + (f" #{failed.events[-1].seq}" if failed and failed.events else "")
    if failed is not None:
        message = failed.message(where) + (f" ({hint(failed)})" if failed.events else "")
    else:
        message = "; ".join(v.message("") for v in j.verdicts if v.outcome == NOT_OBSERVABLE)
    return {
        "test": j.test,
        "clause": j.clause,
        "outcome": j.outcome,
        "message": message,
        "seconds": 0.0,
        "error_kind": None,
        "verdicts": [
            {
                "step": v.step,
                "outcome": v.outcome,
                "message": v.message(where),
                "why": v.why,
                "frames": [
                    {"capture": e.data.get("capture"), "frames": e.data.get("frames")} for e in v.events
                ],
                "hint": hint(v),
            }
            for v in j.verdicts
        ],  # fmt: skip
    }


def write_run(
    out: Path,
    captures: list[Path],
    keylog: Path | None,
    tl: Timeline,
    judged: list[Judged],
    notes: list[str],
    known: Known,
    esp_sa: Path | None = None,
) -> Path:
    """A run folder like a live run's: run.json (judged_from_evidence), junit.xml, report.html, timeline.jsonl
    and one folder per test with its timeline."""
    from bench.evidence.judges import FAILED, NOT_OBSERVABLE
    from bench.report.html import write_report
    from bench.report.redact import Redactor
    from bench.report.units import write_junit

    run_id = time.strftime("judged-%Y%m%d-%H%M%S")
    n = 1
    while (out / run_id).exists():  # judged twice in a second
        n += 1
        run_id = f"{time.strftime('judged-%Y%m%d-%H%M%S')}-{n}"
    run_dir = out / run_id
    run_dir.mkdir(parents=True)
    redactor = known.redactor or Redactor()
    tl.line_filter = redactor.text if redactor else None
    tl.dump(run_dir / "timeline.jsonl")
    results = []
    for j in judged:
        (run_dir / j.test).mkdir()
        tl.dump(run_dir / j.test / "timeline.jsonl")
        results.append(result_of(j, f"{run_dir / j.test}/timeline.jsonl"))
    summary = {
        "run_id": run_id, "judged_from_evidence": True, "captures": [str(c) for c in captures],
        "keylog": str(keylog) if keylog else None,
        "esp_sa": str(esp_sa) if esp_sa else None, "unit": "judged", "t0": tl.t0, "started": tl.t0,
        "ended": max((e.t for e in tl.events()), default=tl.t0), "results": results, "clauses": _catalogue({j.clause for j in judged}),
        "not_observable": notes,
        "exit_code": 1 if any(r["outcome"] == FAILED for r in results) else 0,
    }  # fmt: skip
    (run_dir / "run.json").write_text(
        json.dumps(redactor.obj(summary), indent=1, default=str), encoding="utf-8"
    )
    junit = [
        {**redactor.obj(r), "outcome": "skipped" if r["outcome"] == NOT_OBSERVABLE else r["outcome"]}
        for r in results
    ]
    write_junit(run_dir / "junit.xml", "judged", junit)
    write_report(run_dir, known.redactor)
    return run_dir


def _catalogue(clauses: set[str]) -> dict[str, Any]:
    """The judged clauses' checks and expected figures, as a live run's run.json keeps them (for the report)."""
    from bench.run import clause_catalogue

    return {k: v for k, v in clause_catalogue().items() if k in clauses}


def _identity(value: str | None) -> tuple[str, str, str] | None:
    if value is None:
        return None
    parts = value.split("-", 2)
    if len(parts) != 3:
        raise ConfigError(
            f"--unit-identity {value!r}: expected OUI-CLASS-SERIAL, e.g. 00D0B7-MockHeNB-MOCK0001"
        )
    return parts[0], parts[1], parts[2]


def cmd_judge(args: argparse.Namespace) -> int:
    from bench.evidence.espsa import read_esp_sa
    from bench.evidence.judges import FAILED
    from bench.evidence.knowledge import with_knowledge

    captures = [Path(c) for c in args.captures]
    for c in captures:
        if not c.is_file():
            raise ConfigError(f"{c}: no such capture")
        if c.stat().st_size == 0:  # tshark reads it as a capture with no packets
            raise ConfigError(f"{c}: an empty file (0 bytes), not a capture")
    keylog = Path(args.keylog) if args.keylog else None
    if keylog is not None and not keylog.is_file():
        raise ConfigError(f"--keylog {keylog}: no such file")
    if args.console and not Path(args.console).is_file():
        raise ConfigError(f"--console {args.console}: no such file")
    esp_sa = read_esp_sa(Path(args.esp_sa)) if args.esp_sa else None
    if args.timeline and not Path(args.timeline).is_file():
        raise ConfigError(f"--timeline {args.timeline}: no such file")
    segw_logs = [Path(f) for f in args.segw_log or ()]
    for f in segw_logs:
        if not f.is_file():
            raise ConfigError(f"--segw-log {f}: no such file")
        if segw_of(f) is None:
            raise ConfigError(f"--segw-log {f}: expected a bench SeGW's charon log named as a run keeps it "
                              f"(isegw{SUFFIX}, ssegw{SUFFIX})")  # fmt: skip
    notes: list[str] = []
    known = known_of(Path(args.inventory))
    with tempfile.TemporaryDirectory(
        prefix="judge-files-"
    ) as files:  # the files of FTP uploads, while judged
        tl, span = timeline_of(captures, keylog, known, notes, esp_sa=esp_sa, files=Path(files))
        span = dataclasses.replace(span, segw_logs=tuple(str(f) for f in segw_logs))
        if args.timeline:  # what only the bench knew, from a run's timeline.jsonl (as rejudge adds it)
            tl = with_knowledge(tl, Path(args.timeline))
        judged = judge(tl, span, args.clause, _identity(args.unit_identity), known)
    sa_file = Path(args.esp_sa) if args.esp_sa else None
    run_dir = write_run(Path(args.out), captures, keylog, tl, judged, notes, known, sa_file)
    if args.console:
        shutil.copy(args.console, run_dir / "console.log")
    for j in judged:
        print(f"  {j.outcome.upper():15} {j.clause:8} {j.test}")
        if j.failed() is not None:
            print(f"      {result_of(j, str(run_dir / j.test / 'timeline.jsonl'))['message']}")
        for v in j.verdicts:
            print(
                f"      step {v.step}: {v.outcome}"
                + (f": {v.why}" if v.why else "")
                + (f" [{hint(v)}]" if v.events else "")
            )
    for note in notes:
        print(f"  not observable: {note}")
    print(f"henb-bench judge: evidence judged in {run_dir}/")
    return 1 if any(j.outcome == FAILED for j in judged) else 0


# A test folder's captures (bench.run.Evidence): the unit's WAN side, the Serving and the Initial SeGW's core sides.
CAPTURES = ("outer.pcapng", "inner.pcapng", "inner-initial.pcapng")


def esp_sa_files(run_dir: Path) -> list[Path]:
    """The run folder's ESP SAs in Wireshark's esp_sa format, where a run keeps its TLS key logs:
    `RUN_DIR/logs/*esp_sa*` (put there by a lab whose SeGW or unit exports its SAs: the bench cannot)."""
    return sorted(p for p in (run_dir / "logs").glob("*esp_sa*") if p.is_file())


def rejudge(run_dir: Path, known: Known) -> list[tuple[str, str, str]]:
    """(test, the run's outcome, today's) for each test of the run a judge function covers whose captures are
    in its folder; TLS opened with the run's key logs, ESP with its esp_sa files (esp_sa_files)."""
    from bench.evidence.espsa import read_esp_sa

    summary = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    keylogs = [
        p for pattern in ("*tls-keys.log", "*.keylog") for p in sorted((run_dir / "logs").glob(pattern))
    ]
    esp_sa = [record for f in esp_sa_files(run_dir) for record in read_esp_sa(f)] or None
    with tempfile.TemporaryDirectory(prefix="rejudge-") as tmp:  # the run folder is evidence: not written to
        merged = Path(tmp) / "keylog.txt" if keylogs else None
        if merged is not None:
            merged.write_text("".join(k.read_text(encoding="utf-8") for k in keylogs), encoding="utf-8")
        return _rejudge(run_dir, summary, merged, known, esp_sa, Path(tmp) / "files", run_segw_logs(run_dir))


def _rejudge(
    run_dir: Path,
    summary: dict[str, Any],
    merged: Path | None,
    known: Known,
    esp_sa: list[list[str]] | None = None,
    files: Path | None = None,
    segw_logs: list[Path] | None = None,
) -> list[tuple[str, str, str]]:
    """Each result's test folder: `RUN_DIR/<test>/`, or `RUN_DIR/<unit>/<test>/` in a run of several units
    (whose unit's own run.json gives its identity); with the bench's SeGW logs of the run (judge_segw_log)."""
    from bench.evidence.knowledge import with_knowledge
    from bench.evidence.registry import JUDGES

    rows = []
    for n, r in enumerate(summary.get("results", [])):
        fn = JUDGES.get(r.get("clause") or "", {}).get(r["test"])
        base = (
            run_dir / r["unit"] if r.get("unit") and (run_dir / r["unit"] / r["test"]).is_dir() else run_dir
        )
        captures = [p for c in CAPTURES if (p := base / r["test"] / c).is_file()]
        if fn is None or not captures:
            continue
        tl, span = timeline_of(
            captures, merged, known, esp_sa=esp_sa, files=files / str(n) if files is not None else None
        )
        span = dataclasses.replace(span, segw_logs=tuple(str(p) for p in segw_logs or ()),
                                   log_utc_offset=utc_offset(summary.get("started_iso")))  # fmt: skip
        tl = with_knowledge(
            tl, base / r["test"] / "timeline.jsonl", r.get("mark")
        )  # what only the bench knew
        own = base / "run.json"
        ident = (json.loads(own.read_text(encoding="utf-8")) if base != run_dir else summary).get(
            "identity"
        ) or {}
        identity = (
            (str(ident.get("oui")), str(ident.get("product_class")), str(ident.get("serial_number")))
            if ident
            else None
        )
        j = call(r["clause"], fn, tl.events(), identity, known, span)
        name = f"{r['unit']} {r['test']}" if base != run_dir else r["test"]
        rows.append((name, r["outcome"], j.outcome, result_of(j, "")["message"]))
    # today's message: a failure, or the steps the evidence cannot show and why
    return [(t, a, b + (f": {m}" if m else "")) for t, a, b, m in rows]


def cmd_rejudge(args: argparse.Namespace) -> int:
    from bench.evidence.judges import NOT_OBSERVABLE

    run_dir = Path(args.run_dir)
    if not (run_dir / "run.json").is_file():
        raise ConfigError(f"{run_dir}: not a run folder (no run.json)")
    summary = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    inventory = Path(summary.get("inventory") or args.inventory)
    for f in esp_sa_files(run_dir):
        print(f"  ESP opened with the SAs of {f}")
    for f in run_segw_logs(run_dir):
        print(f"  the SeGW's refusals read from {f}")
    rows = rejudge(run_dir, known_of(inventory if inventory.is_file() else Path(args.inventory)))
    # A step the evidence cannot show contradicts nothing: only a verdict today that the run did not give differs.
    differ = [(t, a, b) for t, a, b in rows if not b.startswith(a) and not b.startswith(NOT_OBSERVABLE)]
    for t, a, b in rows:
        label = "DIFFERS" if (t, a, b) in differ else "unseen" if b.startswith(NOT_OBSERVABLE) else "same"
        print(f"  {label:8} {t}: run {a}, today {b}")
    print(f"henb-bench rejudge: {len(rows)} test(s) judged again, {len(differ)} differ")
    return 1 if differ else 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("judge", help="verdicts from captures alone (pcap/pcapng), written as a run folder")
    p.add_argument("captures", metavar="CAPTURE", nargs="+")
    p.add_argument("--keylog", help="TLS key log (NSS format) to decrypt CWMP over TLS")
    p.add_argument("--esp-sa", help="ESP SAs (Wireshark's esp_sa format, as strongSwan's save-keys writes)")
    p.add_argument("--console", help="the unit's console log (kept with the evidence)")
    p.add_argument(
        "--timeline",
        help="a bench run's timeline.jsonl: what only the bench knew (values it set, the address change, the alarm "
        "it asked for) added to the captures' events",
    )
    p.add_argument("--unit-identity", help="OUI-CLASS-SERIAL the DeviceId must carry")
    p.add_argument(
        "--segw-log",
        action="append",
        help=f"a bench SeGW's charon log as a run keeps it (logs/isegw{SUFFIX}, ssegw{SUFFIX}; repeatable): the "
        "SeGW's reasons for refusing the unit, inside the encrypted IKE_AUTH",
    )
    p.add_argument("--clause", action="append", help="judge only this clause (repeatable)")
    p.add_argument("--out", default="captures", help="where the run folder goes (default captures/)")
    p.set_defaults(fn=cmd_judge)
    r = sub.add_parser("rejudge", help="judge a run folder's captures again; print where the verdicts differ")
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.set_defaults(fn=cmd_rejudge)
