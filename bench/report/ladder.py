"""Message ladders: timeline events turned into arrows between lanes (HeNB, DNS, SeGW, HeMS, file server, MME),
matched in order against a figure's expected sequence, and drawn as inline SVG."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from bench.report.sequences import LANES, Figure, Step

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

    if source == "dhcp":
        up = kind in ("dhcpdiscover", "dhcprequest", "dhcpinform", "dhcprelease", "dhcpdecline")
        add(
            "henb" if up else "dns",
            "dns" if up else "henb",
            f"DHCP {kind[4:].upper()}",
            detail=d.get("detail", ""),
        )
    elif source == "dns" and kind == "query":
        add("henb", "dns", f"DNS {d.get('qtype', '')}? {d.get('name', '')}", detail=str(d.get("dns", "")))
    elif source == "segw" and kind in ("ike-up", "ike-down"):
        vips = _short(d.get("remote_vips", []))
        what = "up" if kind == "ike-up" else "down"
        add("henb", "segw", f"IKE SA {what} ({d.get('segw', '')})", detail=vips)
    elif source == "segw" and kind == "address-change":
        add("segw", "henb", f"address change ({d.get('segw', '')})", detail=f"from {d.get('old', '')}")
    elif source == "hems":
        hems = str(d.get("hems", ""))
        if kind == "inform":
            add("henb", "hems", f"Inform [{_short(d.get('events', []))}]", detail=hems)
            add("hems", "henb", "InformResponse", derived=True, k="inform-response", detail=hems)
        elif kind == "rpc-sent":
            add("hems", "henb", str(d.get("method", "RPC")), detail=hems)
        elif kind == "rpc-response":
            add("henb", "hems", f"{d.get('method', '')}Response", detail=hems)
        elif kind == "rpc-fault":
            add("henb", "hems", f"Fault {d.get('fault_code', '')} ({d.get('method', '')})", detail=hems)
        elif kind == "session-end":
            add("hems", "henb", "HTTP 204 (session end)", detail=hems)
        elif kind == "connection-request":
            got = f"HTTP {d['status']}" if d.get("status") is not None else "no answer"
            add("hems", "henb", "Connection Request", detail=f"{hems}: {got}")
        elif kind == "connection-request-unanswered":
            add("hems", "hems", "no session after the Connection Request", detail=hems)
        elif kind == "cpe-rpc":
            add("henb", "hems", str(d.get("method", "CPE RPC")), detail=hems)
        else:
            add("henb", "hems", kind, detail=hems)
    elif source == "mme" and kind == "sctp-init":
        add("henb", "mme", "SCTP INIT", detail=f"{d.get('dst', '')}:{d.get('dport', '')}")
    elif source == "mme" and kind == "s1ap":
        up = d.get("direction") == "uplink"
        add(
            "henb" if up else "mme",
            "mme" if up else "henb",
            f"S1AP {d.get('message', '')}",
            detail=_s1_detail(d),
        )
    elif source in ("fileserver", "files"):
        what = str(d.get("path") or d.get("file") or "")
        up = "upload" in kind
        add("henb", "files", f"{kind} {what}".strip(), detail="" if up else str(d.get("status", "")))
    elif source == "unit" and kind == "action-confirmed" and d.get("action") == "raise alarm":
        add("henb", "henb", "alarm raised", k="alarm-raised", detail=str(d.get("line", "")))
    elif source == "power" and kind == "power":
        add("henb", "henb", f"power {d.get('action', '')}")
    return out


def _matches(step: Step, m: Message) -> bool:
    if m.source != step.source or m.kind != step.kind:
        return False
    for key, wants in step.where.items():
        have = m.data.get(key)
        for want in wants if isinstance(wants, tuple) else (wants,):
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

    A test's timeline starts at the unit's boot, so it also holds the earlier tests' messages: a sequence
    that occurs in full is matched at its latest occurrence (the test's own), a broken one from the start."""
    result: list[Match] = []
    pos = _latest_start(figure.steps, msgs) or 0
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


def first_deviation(matches: list[Match]) -> Match | None:
    return next((m for m in matches if m.status in ("missing", "out-of-order")), None)


def _lane_x(lane: str) -> int:
    return LANE_X0 + list(LANES).index(lane) * LANE_DX


def _clip(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "\u2026"


def _frame(title: str, rows: int) -> tuple[list[str], int, int]:
    width = LANE_X0 + LANE_DX * (len(LANES) - 1) + 56
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
    for key, name in LANES.items():
        x = _lane_x(key)
        parts.append(f'<text x="{x}" y="32" text-anchor="middle" class="lane-name">{escape(name)}</text>')
        parts.append(f'<line x1="{x}" y1="38" x2="{x}" y2="{height - 8}" class="lane"/>')
    return parts, width, height


def _arrow(
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
    x1, x2 = _lane_x(src), _lane_x(dst)
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


def observed_svg(msgs: list[Message], t0: float, anchor: str, highlight: set[int], title: str) -> str:
    """The observed ladder; every arrow links to `#{anchor}{seq}`; arrows whose seq is in `highlight` are red."""
    parts, _, _ = _frame(title, len(msgs))
    for i, m in enumerate(msgs):
        y = TOP + 14 + i * ROW_DY
        bad = m.seq in highlight and not m.derived
        css = "bad" if bad else ("derived" if m.derived else "ok")
        tip = f"#{m.seq} +{m.t - t0:.3f}s {m.source}/{m.kind}: {m.label}" + (
            f" ({m.detail})" if m.detail else ""
        )
        parts.append(
            _arrow(
                y,
                m.src,
                m.dst,
                m.label,
                css,
                "bad" if bad else "ok",
                f"#{anchor}{m.seq}",
                tip,
                f"+{m.t - t0:.3f}s",
            )
        )
    if not msgs:
        parts.append(f'<text x="{LANE_X0}" y="{TOP + 14}" class="label">no messages observed</text>')
    parts.append("</svg>")
    return "".join(parts)


def expected_svg(figure: Figure, matches: list[Match], anchor: str) -> str:
    """The figure's sequence: matched steps link to their observed message, the first deviation is red."""
    parts, _, _ = _frame(figure.title, len(matches))
    for i, mt in enumerate(matches):
        y = TOP + 14 + i * ROW_DY
        css = {"ok": "exp-ok", "missing": "bad", "out-of-order": "bad"}.get(mt.status, "dim")
        marker = {"exp-ok": "exp", "bad": "bad"}.get(css, "dim")
        label = mt.step.label + (f" \u2014 {mt.note}" if mt.note else "")
        href = f"#{anchor}{mt.message.seq}" if mt.message is not None else None
        tip = f"step {i + 1}: {mt.step.label}: {mt.status}" + (f" ({mt.note})" if mt.note else "")
        parts.append(_arrow(y, mt.step.src, mt.step.dst, label, css, marker, href, tip, f"{i + 1}."))
    parts.append("</svg>")
    return "".join(parts)
