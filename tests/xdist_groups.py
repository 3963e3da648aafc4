"""`--dist loadgroup` under pytest 9: the tests of one `xdist_group` on one pytest-xdist worker.

pytest-xdist 3.8 tells its controller a test's group by appending `@group` to the test's node id on the worker;
pytest 9 computes node ids and ignores that write, so every group would be spread over the workers (a module's
shared bench built on each, a twins group run several times). Here, with xdist's public hooks only: the
controller gives each worker a file to write (`pytest_configure_node`, its `workerinput`), each worker writes the
group of every test it collected there before it reports its collection (`pytest_collection_finish`), and the
controller's scheduler (`pytest_xdist_make_scheduler`) is xdist's own loadgroup one, given each worker's
collection with the groups named as it expects them. Node ids are left as pytest made them (JUnit, -k, reruns).
Loaded by tests/conftest.py; tests/test_support.py runs a grouped session to check it."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

KEY = "henb_bench_xdist_groups"  # the workerinput entry: where the worker writes its groups
FOLDER = pytest.StashKey[Path]()


def group_of(item: pytest.Item) -> str | None:
    """The item's xdist_group (several marks joined, as pytest-xdist joins them), or None."""
    names = {
        str(m.args[0] if m.args else m.kwargs.get("name", "default"))
        for m in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) or None


def _loadgroup(config: pytest.Config) -> bool:
    return getattr(config.option, "dist", None) == "loadgroup" and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _loadgroup(config) and getattr(config.option, "numprocesses", None):
        config.stash[FOLDER] = Path(tempfile.mkdtemp(prefix="xdist-groups-"))


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(FOLDER, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller: the file this worker writes its groups to."""
    folder = node.config.stash.get(FOLDER, None)
    if folder is not None:
        node.workerinput[KEY] = str(folder / f"{node.workerinput['workerid']}.json")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Worker: the groups of what it collected, written before pytest-xdist sends the collection."""
    path = getattr(session.config, "workerinput", {}).get(KEY)
    if path:
        groups = {item.nodeid: g for item in session.items if (g := group_of(item)) is not None}
        tmp = Path(path + ".tmp")
        tmp.write_text(json.dumps(groups))
        tmp.replace(path)  # whole, for the controller to read once the collection arrives


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Controller: pytest-xdist's loadgroup scheduler, told each test's group by the worker's file."""
    folder = config.stash.get(FOLDER, None)
    if folder is None:
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupScheduling(LoadGroupScheduling):  # type: ignore[misc]
        def add_node_collection(self, node: Any, collection: Sequence[str]) -> None:
            path = Path(node.workerinput[KEY])
            groups: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
            # loadgroup's own spelling of a group: what follows the last "@" after any parameter id.
            super().add_node_collection(node, [f"{i}@{groups[i]}" if i in groups else i for i in collection])

    return GroupScheduling(config, log)
