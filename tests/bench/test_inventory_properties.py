"""Property tests of the inventory loader (bench/inventory/): any file, any YAML and any value at any key
gives an Inventory or a ConfigError naming the file and the key, never another exception, never a hang."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bench.errors import ConfigError
from bench.events import SECRET_KEYS
from bench.inventory import load_inventory, parse_inventory
from tests.hostile import FUZZ, watchdog
from tests.support import ROOT

BOUND = 60.0
TEXT = (ROOT / "inventory.yaml").read_bytes()
DATA: dict[str, Any] = yaml.safe_load(TEXT)
LAUGHS = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
    b"%c: &%c [%s]\n" % (c + 1, c + 1, b", ".join([b"*%c" % c] * 9)) for c in range(ord("a"), ord("a") + 7)
)
# YAML that trips loaders: tags, aliases (a billion laughs, a list inside itself), dates that do not exist,
# numbers int() refuses, deep nesting, bytes that are not UTF-8, tabs, directives.
SNIPPETS = [
    b"!!python/object:os.system {}", b"!!binary '%%%'", b"2001-02-30", b"!!int abc", b"!!float abc",
    b"!!timestamp 2001-99-99", b"1" + b"0" * 5000, b"&r [*r]", b"*nope", b"? [a, b]\n: 1", b"<<: 5",
    b"[" * 3000, b"{a: " * 2000, b"\xff\xfe", b"caf\xe9", b"\t", b"%YAML 9.9\n---", b"---\n---", b"\x00",
    b"\xef\xbb\xbf", b".nan", b"-.inf", b"0o17", b"0x_ff", b"~", b"!!set {a, b}", b"!!omap [a: 1]",
    LAUGHS + b"name: *h",
]  # fmt: skip


def _load(path: Path) -> object:
    with watchdog(BOUND):
        try:
            return load_inventory(path)
        except ConfigError as exc:
            text = str(exc)
            assert text.startswith(f"{path}: "), text
            # Readable: a value built from aliases is shown by its start, not in full.
            assert len(text) < 20_000, len(text)
            return exc


def _mutate_text(rnd: random.Random) -> bytes:
    text = TEXT
    for _ in range(rnd.choice([1, 1, 2, 3])):
        lines = text.split(b"\n")
        i = rnd.randrange(len(lines))
        roll = rnd.random()
        if roll < 0.5:
            # A value (or a whole line) replaced by something hostile.
            key, sep, _ = lines[i].partition(b":")
            lines[i] = (
                key + b": " + rnd.choice(SNIPPETS) if sep and rnd.random() < 0.7 else rnd.choice(SNIPPETS)
            )
        elif roll < 0.7:
            lines.insert(i, rnd.choice(SNIPPETS))
        elif roll < 0.85:
            pos = rnd.randrange(len(text) + 1)
            return text[:pos] + bytes(rnd.randrange(256) for _ in range(rnd.choice([1, 4]))) + text[pos:]
        else:
            return text[: rnd.randrange(len(text) + 1)]
        text = b"\n".join(lines)
    return text


@FUZZ
@given(st.randoms(use_true_random=False))
def test_any_inventory_text_loads_or_names_the_file(
    tmp_path_factory: pytest.TempPathFactory, rnd: random.Random
) -> None:
    path = tmp_path_factory.mktemp("inv") / "inventory.yaml"
    path.write_bytes(_mutate_text(rnd))
    _load(path)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_load_or_name_the_file(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("inv") / "inventory.yaml"
    path.write_bytes(data)
    assert isinstance(_load(path), ConfigError)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=range(len(SNIPPETS)))
def test_each_hostile_yaml_value_is_a_config_error(tmp_path: Path, snippet: bytes) -> None:
    # Regression: bytes that are not UTF-8 raised UnicodeDecodeError, deep nesting RecursionError, a date that
    # does not exist or `!!int abc` ValueError; a billion laughs took seconds and made a message of megabytes.
    path = tmp_path / "inventory.yaml"
    path.write_bytes(TEXT.replace(b"name: demo", b"name: " + snippet))
    _load(path)
    path.write_bytes(snippet + b"\n" + TEXT)
    _load(path)


# Values YAML can produce.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30),
    st.floats(),
    st.text(max_size=30),
    st.dates(),
    st.datetimes(),
    st.binary(max_size=10),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
    ),
    max_leaves=12,
)
KEY = st.text("abcdefghijklmnopqrstuvwxyz_-0123456789", min_size=1, max_size=12)


def _paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, str(key)))
    return out


PATHS = _paths(DATA)


def _problems(message: str) -> list[str]:
    """The problem lines (`  a.b.c: found ...; expected`), one per problem."""
    lines = message.split("\n")[1:]
    assert all(line.startswith("  ") for line in lines), message
    return [line.strip() for line in lines]


@FUZZ
@given(st.sampled_from(PATHS), st.booleans(), KEY, values)
def test_any_value_at_any_key_parses_or_names_that_key(
    path: tuple[str, ...], new_key: bool, key: str, value: object
) -> None:
    data = copy.deepcopy(DATA)
    node = data
    for part in path[:-1]:
        node = node[part]
    if new_key and isinstance(node.get(path[-1]), dict):
        node, path = node[path[-1]], (*path, key)
    node[path[-1]] = value
    with watchdog(BOUND):
        try:
            parse_inventory(data, Path("inv.yaml"))
            return
        except ConfigError as exc:
            message = str(exc)
    assert message.startswith("inv.yaml: ")
    for line in _problems(message):
        # The problem is at the changed key, inside it, or at what holds it (a check across its siblings).
        at = [".".join(path[:k]) for k in range(1, len(path) + 1)]
        assert any(line.startswith(f"{p}:") for p in at) or line.startswith(f"{at[-1]}."), (path, message)
    if path[-1] in SECRET_KEYS and isinstance(value, str) and len(value) >= 4:
        assert value not in message.partition(": ")[2]


def test_a_key_with_a_line_break_stays_on_its_problem_line() -> None:
    # Regression: the key was written raw, and its line break split one problem into two lines.
    data = copy.deepcopy(DATA)
    data["bench"]["a\rb\nc"] = 1
    with pytest.raises(ConfigError) as exc:
        parse_inventory(data, Path("inv.yaml"))
    assert _problems(str(exc.value)) == ["bench.'a\\rb\\nc': found 1; unknown key"]
