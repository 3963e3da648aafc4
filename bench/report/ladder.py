"""Message ladders: timeline events turned into arrows between the lifelines of the spec's figures (HeNB, public
and private DNS, Initial and Serving SeGW and HeMS, file server, MME), matched in order against a figure's
expected sequence, limited to the test's own procedure, and drawn as inline SVG."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from html import escape
from typing import Any

from bench.clauses import LIFELINES, Figure, Step
from bench.events import (
    ArrowKind,
    DhcpKind,
    DnsKind,
    FileserverKind,
    HemsKind,
    MmeKind,
    PowerKind,
    SegwKind,
    Source,
    UnitKind,
)

LANE_X0, LANE_DX, ROW_DY, TOP = 84, 104, 26, 44
LABEL_CHARS = 38


@dataclass
class Message:
    """One arrow: `seq` is the timeline entry it came from (a derived arrow, e.g. InformResponse, shares it)."""

    seq: int
    t: float
    src: str
    dst: str
    label: str
    source: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    derived: bool = False
    detail: str = ""


@dataclass
class Match:
    """How one expected step fared: matched (with its message), or the first deviation, or not reached."""

    step: Step
    status: str  # "ok", "missing", "out-of-order", "not-reached"
    message: Message | None = None
    note: str = ""


def _short(values: Any) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list) else str(values)


def _s1_detail(d: dict[str, Any]) -> str:
    """What an S1AP message carried that a reader checks against the configuration."""
    parts = []
    if "tacs" in d:
        parts.append(f"TAC {_short(d['tacs'])}")
    if "plmn" in d or "broadcast_plmns" in d:
        parts.append(f"PLMN {d.get('plmn') or _short(d.get('broadcast_plmns', []))}")
    if "enb_id" in d:
        parts.append(f"eNB ID {d['enb_id']}")
    if "cause" in d:
        parts.append(f"cause {d['cause']}" + (f", wait {d['time_to_wait']}" if "time_to_wait" in d else ""))
    return ", ".join(parts)


def messages(events: list[dict[str, Any]]) -> list[Message]:
    """The arrows the events show, in timeline order; bench events and console lines are not arrows, except
    an alarm the unit confirmed raising through its action template (a self-arrow on the HeNB, kind
    `alarm-raised`)."""
    return [m for e in events for m in _arrows(e)]


def _arrows(e: dict[str, Any]) -> list[Message]:
    out: list[Message] = []
    seq, t, source, kind, d = e["seq"], e["t"], e["source"], e["kind"], e.get("data", {})

    def add(src: str, dst: str, label: str, derived: bool = False, k: str = kind, detail: str = "") -> None:
        out.append(Message(seq, t, src, dst, label, source, k, d, derived, detail))

    if source == Source.DHCP:  # dnsmasq serves DHCP and the public DNS: one lifeline
        server = str(d.get("server") or "public-dns")
        ends = ("henb", server) if kind in (DhcpKind.DISCOVER, DhcpKind.REQUEST) else (server, "henb")
        add(*ends, f"DHCP {kind[4:].upper()}", detail=d.get("detail", ""))
    elif source == Source.DNS and kind == DnsKind.QUERY:
        add("henb", str(d.get("dns", "")), f"DNS {d.get('qtype', '')}? {d.get('name', '')}")
    elif source == Source.SEGW and kind in (SegwKind.IKE_UP, SegwKind.IKE_DOWN):
        vips = _short(d.get("remote_vips", []))
        up = kind == SegwKind.IKE_UP
        impostor = f" (impostor: {d['impostor']})" if d.get("impostor") else ""
        add("henb", str(d.get("segw", "")), f"IKE SA {'up' if up else 'down'}{impostor}", detail=vips)
    elif source == Source.SEGW and kind in (SegwKind.PEER_AUTH_FAILED, SegwKind.PEER_DELETE):
        what = "AUTHENTICATION_FAILED" if kind == SegwKind.PEER_AUTH_FAILED else "DELETE IKE SA"
        impostor = f" to impostor: {d['impostor']}" if d.get("impostor") else ""
        add("henb", str(d.get("segw", "")), f"{what}{impostor}", detail=str(d.get("line", "")))
    elif source == Source.SEGW and kind == SegwKind.REFUSED:  # the SeGW's refusal: charon's reason
        add(str(d.get("segw", "")), "henb", "IKE refused", detail=str(d.get("reason", "")))
    elif source == Source.SEGW and kind == SegwKind.ADDRESS_CHANGE:
        add(str(d.get("segw", "")), "henb", "inner address change", detail=f"from {d.get('old', '')}")
    elif source == Source.HEMS:
        _hems_arrows(kind, d, add)
    elif source == Source.MME and kind == MmeKind.SCTP_INIT:
        add("henb", "mme", "SCTP INIT", detail=f"{d.get('dst', '')}:{d.get('dport', '')}")
    elif source == Source.MME and kind == MmeKind.S1AP:
        up_ = d.get("direction") == "uplink"
        add(
            *(("henb", "mme") if up_ else ("mme", "henb")),
            f"S1AP {d.get('message', '')}",
            detail=_s1_detail(d),
        )
    elif (
        source == Source.FILESERVER and kind == FileserverKind.TLS_FAILED
    ):  # the unit refused its certificate
        add("henb", "files", "TLS handshake refused (untrusted certificate)",
            detail=str(d.get("alert") or d.get("reason") or ""))  # fmt: skip
    elif source == Source.FILESERVER and kind == FileserverKind.AUTH_FAILED:  # the unit's credentials refused
        add("files", "henb", f"{d.get('proto', '')} login refused".strip(), detail=str(d.get("user", "")))
    elif source == Source.FILESERVER:
        what = str(d.get("path") or d.get("file") or "")
        detail = "" if kind == FileserverKind.UPLOAD else str(d.get("status", ""))
        add("henb", "files", f"{kind} {what}".strip(), detail=detail)
    elif source == Source.UNIT and kind == UnitKind.ACTION_CONFIRMED and d.get("action") == "raise alarm":
        add("henb", "henb", "alarm raised", k=ArrowKind.ALARM_RAISED, detail=str(d.get("line", "")))
    elif source == Source.POWER and kind == PowerKind.POWER:
        add("henb", "henb", f"power {d.get('action', '')}")
    return out


def _hems_arrows(kind: str, d: dict[str, Any], add: Callable[..., None]) -> None:
    """A HeMS event's arrows: what the unit sent up to the HeMS, or what the HeMS answered or sent down."""
    hems = str(d.get("hems", ""))
    to_hems: tuple[str, str] = ("henb", hems)
    to_henb: tuple[str, str] = (hems, "henb")
    if kind == HemsKind.INFORM:
        add(*to_hems, f"Inform [{_short(d.get('events', []))}]")
        if not d.get("failed_on_purpose"):  # else the HeMS's answer is the session-failed arrow
            add(*to_henb, "InformResponse", derived=True, k=ArrowKind.INFORM_RESPONSE)
    elif kind == HemsKind.SESSION_FAILED:  # the bench failed the session on purpose (a HeMS restart)
        answer = "HTTP 503" if d.get("how") == "503" else "connection closed"
        add(*to_henb, f"{answer} (HeMS restart, on purpose)", detail=f"{d.get('nth', '')}/{d.get('of', '')}")
    elif kind == HemsKind.RPC_SENT:
        add(*to_henb, str(d.get("method", "RPC")))
    elif kind == HemsKind.RPC_RESPONSE:
        add(*to_hems, f"{d.get('method', '')}Response")
    elif kind == HemsKind.RPC_FAULT:
        add(*to_hems, f"Fault {d.get('fault_code', '')} ({d.get('method', '')})")
    elif kind == HemsKind.SESSION_END:
        add(*to_henb, "HTTP 204 (session end)")
    elif kind == HemsKind.CONNECTION_REQUEST:
        got = f"HTTP {d['status']}" if d.get("status") is not None else "no answer"
        probe = f", {d['probe']}" if d.get("probe") else ""  # a request the unit must refuse (TR-069 3.2.2)
        add(*to_henb, f"Connection Request{probe}", detail=got)
    elif kind == HemsKind.TLS_FAILED:  # the unit refused the HeMS's certificate (or broke the handshake off)
        shown = f" ({d['cert']} certificate)" if d.get("cert") not in (None, "", "own") else ""
        add(*to_hems, f"TLS handshake refused{shown}", detail=str(d.get("alert") or d.get("reason") or ""))
    elif kind in (HemsKind.AUTH_CHALLENGE, HemsKind.AUTH_FAILED):  # the HeMS's answer to the unit's request
        refused = "challenge" if kind == HemsKind.AUTH_CHALLENGE else "credentials refused"
        add(*to_henb, f"HTTP 401 {refused}", detail=str(d.get("reason", "")))
    elif kind == HemsKind.VERSION_MISMATCH:
        add(*to_henb, "Fault 8006 (no common CWMP version)", detail=str(d.get("offered", "")))
    elif kind in (HemsKind.CPE_RPC, HemsKind.UNSUPPORTED_RPC):
        unsupported = " (unsupported)" if kind == HemsKind.UNSUPPORTED_RPC else ""
        add(*to_hems, str(d.get("method", "CPE RPC")) + unsupported)
    elif kind == HemsKind.BAD_MESSAGE:
        add(*to_hems, "unreadable message", detail=str(d.get("reason", "")))
    else:  # what the HeMS noted itself (defects, protocol violations, unanswered requests): a note
        add(hems, hems, kind, detail=str(d.get("reason", "")))


def _matches(step: Step, m: Message) -> bool:
    if m.source != step.source or m.kind != step.kind:
        return False
    for key, wants in step.where.items():
        have = m.data.get(key)
        for want in wants if isinstance(wants, (tuple, list)) else (wants,):
            if not (
                have == want
                or (isinstance(have, list) and want in have)
                or (isinstance(have, dict) and any(want in str(name) for name in have))
            ):
                return False
    return True


def _latest_start(steps: tuple[Step, ...], msgs: list[Message]) -> int | None:
    """Where the figure's latest complete occurrence starts, or None when it never occurs in full."""
    end = len(msgs)
    for step in reversed(steps):
        found = next((j for j in range(end - 1, -1, -1) if _matches(step, msgs[j])), None)
        if found is None:
            return None
        end = found
    return end


def match(figure: Figure, msgs: list[Message]) -> list[Match]:
    """Walk the figure's steps in order over the observed messages; stop at the first deviation.

    A test's timeline starts at the unit's boot, so it also holds the earlier tests' messages: the walk starts
    where the longest beginning of the figure that occurs at all last occurs (the test's own messages)."""
    result: list[Match] = []
    pos = next(
        (
            p
            for k in range(len(figure.steps), 0, -1)
            if (p := _latest_start(figure.steps[:k], msgs)) is not None
        ),
        0,
    )
    deviated = False
    for i, step in enumerate(figure.steps):
        if deviated:
            result.append(Match(step, "not-reached"))
            continue
        found = next((j for j in range(pos, len(msgs)) if _matches(step, msgs[j])), None)
        if found is not None:
            result.append(Match(step, "ok", msgs[found]))
            pos = found + 1
            continue
        deviated = True
        used = {id(r.message) for r in result if r.message is not None}
        early = next((m for m in msgs[:pos] if _matches(step, m) and id(m) not in used), None)
        if early is not None:
            prev = figure.steps[i - 1].label if i else "the start"
            result.append(Match(step, "out-of-order", early, f"seen at #{early.seq}, before {prev}"))
        else:
            after = f" after #{msgs[pos - 1].seq}" if pos else ""
            result.append(Match(step, "missing", None, f"not seen{after}"))
    return result


# What an earlier message was part of, for the collapsed line (first match wins).
_PHASES: list[tuple[Source, StrEnum | None, str, str]] = [
    # source, kind (None: any), text the label or data must contain, phase
    (Source.POWER, PowerKind.POWER, "on", "power-on"),
    (Source.POWER, PowerKind.POWER, "off", "power-off"),
    (Source.DHCP, None, "", "DHCP"),
    (Source.HEMS, HemsKind.INFORM, "0 BOOTSTRAP", "bootstrap"),
    (Source.HEMS, HemsKind.INFORM, "1 BOOT", "registration"),
    (Source.MME, MmeKind.SCTP_INIT, "", "S1 setup"),
    (Source.MME, None, "S1Setup", "S1 setup"),
    (Source.HEMS, HemsKind.RPC_SENT, "Download", "download"),
    (Source.HEMS, HemsKind.RPC_SENT, "SetParameterValues", "configuration"),
    (Source.SEGW, SegwKind.ADDRESS_CHANGE, "", "address change"),
    (Source.HEMS, HemsKind.INFORM, "4 VALUE CHANGE", "value change"),
    (Source.UNIT, ArrowKind.ALARM_RAISED, "", "alarms"),
    (Source.FILESERVER, FileserverKind.UPLOAD, "", "PM upload"),
]


def _phase(m: Message) -> str | None:
    text = f"{m.label} {m.data.get('action', '')}"
    for source, kind, has, phase in _PHASES:
        if m.source == source and (kind is None or m.kind == kind) and has in text:
            return phase
    return None


@dataclass
class Window:
    """The test's own messages (`msgs[start:]`), and one line for what came before them."""

    start: int
    earlier: str


def own_procedure(
    msgs: list[Message], matches: list[Match], mark: int | None, highlight: set[int] | None = None
) -> Window:
    """Where the test's own procedure starts: at the figure's first matched message, else at the test's start
    mark; never after a message a failure points at. What came before (boot, earlier tests) is summed up."""
    seqs = [m.message.seq for m in matches if m.message is not None]
    first = min(seqs) if seqs else mark
    if first is None:
        return Window(0, "")
    first = min([first, *(highlight or ())])
    start = next((i for i, m in enumerate(msgs) if m.seq >= first), len(msgs))
    before = [m for m in msgs[:start] if not m.derived]
    if not before:
        return Window(start, "")
    phases = list(dict.fromkeys(p for m in before if (p := _phase(m)) is not None))
    what = f": {', '.join(phases)}" if phases else ""
    return Window(start, f"\u2026 {len(before)} earlier message{'s' if len(before) != 1 else ''}{what}")


def first_deviation(matches: list[Match]) -> Match | None:
    return next((m for m in matches if m.status in ("missing", "out-of-order")), None)


def lifelines(figure: Figure | None, msgs: list[Message]) -> list[str]:
    """The lifelines a ladder draws, in the figures' order: the figure's and those the messages use."""
    used = {lane for m in msgs for lane in (m.src, m.dst)} | set(figure.lifelines() if figure else ())
    return [k for k in LIFELINES if k in used] + sorted(used - set(LIFELINES))


def _lane_x(lanes: list[str], lane: str) -> int:
    return LANE_X0 + lanes.index(lane) * LANE_DX


def _clip(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "\u2026"


def _frame(title: str, rows: int, lanes: list[str]) -> list[str]:
    width = LANE_X0 + LANE_DX * (len(lanes) - 1) + 56
    height = TOP + ROW_DY * max(rows, 1) + 20
    parts = [
        f'<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        "<defs>"
        + "".join(
            f'<marker id="ah-{c}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{col}"/></marker>'
            for c, col in (("ok", "#2563eb"), ("bad", "#dc2626"), ("dim", "#9ca3af"), ("exp", "#15803d"))
        )
        + "</defs>",
        f'<text x="4" y="14" class="svg-title">{escape(title)}</text>',
    ]
    for key in lanes:
        x = _lane_x(lanes, key)
        name = LIFELINES.get(key, key)
        parts.append(f'<text x="{x}" y="32" text-anchor="middle" class="lane-name">{escape(name)}</text>')
        parts.append(f'<line x1="{x}" y1="38" x2="{x}" y2="{height - 8}" class="lane"/>')
    return parts


def _arrow(
    lanes: list[str],
    y: int,
    src: str,
    dst: str,
    label: str,
    css: str,
    marker: str,
    href: str | None,
    title: str,
    left: str = "",
) -> str:
    x1, x2 = _lane_x(lanes, src), _lane_x(lanes, dst)
    body: list[str] = [f"<title>{escape(title)}</title>"]
    if left:
        body.append(f'<text x="4" y="{y + 4}" class="t">{escape(left)}</text>')
    if src == dst:  # a note on one lane (power on/off)
        body.append(f'<circle cx="{x1}" cy="{y}" r="5" class="note-dot"/>')
        body.append(f'<text x="{x1 + 9}" y="{y + 4}" class="label">{escape(_clip(label))}</text>')
    else:
        body.append(f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" marker-end="url(#ah-{marker})"/>')
        lx = min(x1, x2) + 6
        body.append(f'<text x="{lx}" y="{y - 4}" class="label">{escape(_clip(label))}</text>')
    group = f'<g class="arrow {css}">' + "".join(body) + "</g>"
    return f'<a href="{escape(href)}">{group}</a>' if href else group


def observed_svg(
    msgs: list[Message],
    t0: float,
    anchor: str,
    highlight: set[int],
    title: str,
    lanes: list[str] | None = None,
    earlier: str = "",
) -> str:
    """The observed ladder; every arrow links to `#{anchor}{seq}`; arrows whose seq is in `highlight` are red.
    `earlier` is the one line standing for what came before `msgs` (collapsed)."""
    lanes = lanes or lifelines(None, msgs)
    rows = len(msgs) + (1 if earlier else 0)
    parts = _frame(title, rows, lanes)
    if earlier:
        parts.append(f'<text x="4" y="{TOP + 18}" class="collapsed">{escape(earlier)}</text>')
    for i, m in enumerate(msgs):
        y = TOP + 14 + (i + (1 if earlier else 0)) * ROW_DY
        bad = m.seq in highlight and not m.derived
        css = "bad" if bad else ("derived" if m.derived else "ok")
        tip = f"#{m.seq} +{m.t - t0:.3f}s {m.source}/{m.kind}: {m.label}" + (
            f" ({m.detail})" if m.detail else ""
        )
        parts.append(
            _arrow(lanes, y, m.src, m.dst, m.label, css, "bad" if bad else "ok", f"#{anchor}{m.seq}", tip,
                   f"+{m.t - t0:.3f}s")
        )  # fmt: skip
    if not msgs:
        parts.append(f'<text x="{LANE_X0}" y="{TOP + 14}" class="label">no messages observed</text>')
    parts.append("</svg>")
    return "".join(parts)


def expected_svg(figure: Figure, matches: list[Match], anchor: str, lanes: list[str] | None = None) -> str:
    """The figure's sequence: matched steps link to their observed message, the first deviation is red."""
    lanes = lanes or lifelines(figure, [])
    parts = _frame(figure.title, len(matches), lanes)
    for i, mt in enumerate(matches):
        y = TOP + 14 + i * ROW_DY
        css = {"ok": "exp-ok", "missing": "bad", "out-of-order": "bad"}.get(mt.status, "dim")
        marker = {"exp-ok": "exp", "bad": "bad"}.get(css, "dim")
        label = mt.step.label + (f" \u2014 {mt.note}" if mt.note else "")
        href = f"#{anchor}{mt.message.seq}" if mt.message is not None else None
        tip = f"step {i + 1}: {mt.step.label}: {mt.status}" + (f" ({mt.note})" if mt.note else "")
        parts.append(_arrow(lanes, y, mt.step.src, mt.step.dst, label, css, marker, href, tip, f"{i + 1}."))
    parts.append("</svg>")
    return "".join(parts)
