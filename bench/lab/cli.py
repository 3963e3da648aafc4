"""`henb-bench lab up|down|status`: the simulated lab, a mock unit attached the physical way."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_PREFIX = "hbl-"


def cmd_lab(args: argparse.Namespace) -> int:
    from bench.inventory import load_inventory
    from bench.lab.lab import lab_down, lab_status, lab_up, place

    if args.action == "up":
        out, lines = lab_up(
            Path(args.inventory), args.unit, args.prefix, args.state_dir, args.write, args.power, args.console
        )
        print("\n".join(lines))
        print(
            f"inventory: {out}\n  henb-bench --inventory {out} check --probe\n  henb-bench --inventory {out} run"
        )
        return 0
    where = place(load_inventory(Path(args.inventory)), args.prefix, args.state_dir)
    if args.action == "down":
        done = lab_down(where)
        print("\n".join(done) if done else f"no lab with prefix {args.prefix!r}")
        return 0
    whole, lines = lab_status(where)
    print("\n".join(lines))
    return 0 if whole else 3


def add_parsers(sub: Any) -> None:
    lab = sub.add_parser(
        "lab",
        help="simulated lab hardware (PDU, console server, NIC) around the inventory's mock unit, for a dry run "
        "of the physical path; writes the matching physical inventory",
    )
    lab.add_argument("action", choices=["up", "down", "status"])
    lab.add_argument("--unit", help="the mock unit to cable (default: the first in the inventory)")
    lab.add_argument(
        "--prefix",
        default=DEFAULT_PREFIX,
        help=f"the lab's own name prefix, apart from the bench's (default {DEFAULT_PREFIX})",
    )
    lab.add_argument("--state-dir", help="the lab's folder (default: the bench's state_dir/lab-PREFIX)")
    lab.add_argument(
        "--write", help="where `up` writes the physical inventory (default: in the lab's folder)"
    )
    lab.add_argument(
        "--power",
        choices=["http", "snmp", "scpi"],
        default="http",
        help="what powers the unit: an HTTP or SNMP PDU outlet, or a SCPI bench supply (default http)",
    )
    lab.add_argument(
        "--console",
        choices=["socket", "rfc2217"],
        default="socket",
        help="which console port the inventory names (both are served; default socket, as ser2net)",
    )
    lab.set_defaults(fn=cmd_lab)
