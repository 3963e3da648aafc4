"""docs/architecture.md is true for the code as it is: every path, module, class and function it names in
backticks exists (issue 24), so a rename or a removal that forgets the page fails here, naming the word."""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
CODE = ("bench", "drivers", "testplans")
PAGES = ("docs/architecture.md",)
# Named in the page as what is not there: the example clause the page shows as a new file.
HYPOTHETICAL = {"testplans/ts32593/test_5_5_1_reboot.py"}
# A library's names the page contrasts the code with (checked in the library).
LIBRARY = {"NetNS": "pyroute2", "target_factory": "labgrid"}
FILES = (".json", ".jsonl", ".yaml", ".html", ".csv", ".log", ".md", ".gz", ".pcapng")


class Names:
    """What the code defines and uses, read from its syntax trees (nothing imported)."""

    def __init__(self) -> None:
        self.defined: set[str] = set()  # classes, functions, module and class attributes
        self.used: set[str] = set()  # every identifier, attribute and keyword used (a library's names too)
        self.members: dict[str, set[str]] = {}  # class -> its methods and attributes
        self.bases: dict[str, set[str]] = {}
        self.files: set[str] = set()
        for top in CODE:
            for path in (ROOT / top).rglob("*.py"):
                self.files.add(str(path.relative_to(ROOT)))
                self._read(ast.parse(path.read_text(), str(path)))

    def _read(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                self.defined.add(node.name)
                members = self.members.setdefault(node.name, set())
                self.bases.setdefault(node.name, set()).update(
                    b.id if isinstance(b, ast.Name) else b.attr for b in node.bases if isinstance(b, ast.Name | ast.Attribute)
                )  # fmt: skip
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        members.add(item.name)
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        members.add(item.target.id)
                    elif isinstance(item, ast.Assign):
                        members.update(t.id for t in item.targets if isinstance(t, ast.Name))
                for sub in ast.walk(node):  # self.x = ... in its methods
                    if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
                        members.add(sub.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.defined.add(node.name)
            elif isinstance(node, ast.Assign):
                self.defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                self.defined.add(node.target.id)
            elif isinstance(node, ast.Name):
                self.used.add(node.id)
            elif isinstance(node, ast.Attribute):
                self.used.add(node.attr)
            elif isinstance(node, ast.keyword) and node.arg:
                self.used.add(node.arg)
            elif isinstance(node, ast.alias):
                self.used.add((node.asname or node.name).split(".")[-1])

    def has_member(self, cls: str, name: str) -> bool:
        seen, todo = set(), [cls]
        while todo:
            c = todo.pop()
            if c in seen:
                continue
            seen.add(c)
            if name in self.members.get(c, set()):
                return True
            todo += self.bases.get(c, set())
        return False


@cache
def names() -> Names:
    return Names()


def _module_path(dotted: str) -> str | None:
    """A dotted name of the project (bench.x.Y.z) resolved: None when it exists, else what is missing."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        module = ".".join(parts[:i])
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            obj: object = importlib.import_module(module)
            for j, attr in enumerate(parts[i:]):
                if not hasattr(obj, attr):
                    return f"{'.'.join(parts[: i + j])} has no {attr}"
                obj = getattr(obj, attr)
            return None
    return "no such module"


def problem(word: str) -> str | None:
    """What is wrong with one backticked word of the page (None: it exists, or it is not code)."""
    n = names()
    if word in HYPOTHETICAL or any(c in word for c in "<>*") or "..." in word or " " in word.split("(")[0]:
        return None
    if word in LIBRARY:
        return (
            None
            if hasattr(importlib.import_module(LIBRARY[word]), word)
            else f"{LIBRARY[word]} has no {word}"
        )
    if word.endswith(FILES):  # a file the bench writes (run.json, timeline.jsonl), not code
        return None
    if "/" in word and not word.startswith(("rfc2217:", "socket:")):
        path = word.rstrip("/")
        if re.match(r"^(bench|drivers|testplans|tests|docs)(/|$)", path):
            return None if (ROOT / path).exists() else "no such file or folder"
        # A module relative to the part the sentence is about (`shell/ssh.py`): some part has it.
        if re.match(r"^[a-z_0-9]+(/[a-z_0-9]+)*\.py$", path):
            found = any(f.endswith("/" + path) for f in n.files)
            return None if found else "no module of that name under bench/, drivers/ or testplans/"
        return None
    if re.match(r"^[a-z_0-9]+\.py$", word):
        return None if any(f.endswith("/" + word) for f in n.files) else "no module of that name"
    m = re.match(r"^([A-Za-z_][\w.]*)(\(.*\))?$", word)
    if m is None:
        return None
    name, call = m.group(1), m.group(2)
    if name.startswith(("bench.", "drivers.", "testplans.")) and name not in ("bench.prefix",):
        return _module_path(name)
    parts = name.split(".")
    if len(parts) == 2 and parts[0][:1].isupper():  # Class.member
        cls, member = parts
        if cls not in n.defined:
            return f"no class {cls}"
        return None if n.has_member(cls, member) else f"{cls} has no {member}"
    if len(parts) == 2 and call:  # module.function() or instance.method()
        return None if parts[1] in n.defined else f"no function {parts[1]}"
    if len(parts) != 1:
        return None
    if re.match(r"^[A-Z][A-Z0-9_]*$", name):  # a constant (CLAUSE, CLAUSES)
        return None if name in n.defined or name in n.used else f"no name {name}"
    if name[:1].isupper() and any(c.islower() for c in name):  # a class
        ok = name in n.defined or name in n.used or hasattr(builtins, name)
        return None if ok else f"no class {name}"
    if call or "_" in name:  # a function, or a snake_case name of the code
        return None if name in n.defined or name in n.used else f"no function or name {name}"
    return None


def words(page: str) -> list[str]:
    text = (ROOT / page).read_text()
    text = re.sub(
        r"^```.*?^```", "", text, flags=re.S | re.M
    )  # code blocks: the example plan is checked elsewhere
    return sorted({w.strip() for w in re.findall(r"`([^`\n]+)`", text)})


@pytest.mark.parametrize("page", PAGES)
def test_every_name_the_page_gives_exists(page: str) -> None:
    wrong = [f"`{w}`: {p}" for w in words(page) if (p := problem(w))]
    assert not wrong, f"{page} names what the code does not have:\n  " + "\n  ".join(wrong)


def test_the_check_can_fail() -> None:
    assert problem("bench/unit.py") == "no such file or folder"
    assert problem("bench.unit.kinds.NoSuch") == "bench.unit.kinds has no NoSuch"
    assert problem("BenchRun.no_such()") == "BenchRun has no no_such"
    assert problem("NoSuchClass") == "no class NoSuchClass"
    assert problem("no_such_function()") == "no function or name no_such_function"
    assert problem("gone.py") == "no module of that name"
    assert problem("BenchRun.close()") is None and problem("bench/unit/kinds.py") is None


def test_every_page_a_page_points_to_exists() -> None:
    """The README and the docs send their readers to docs/*.md pages (and other files) that are there."""
    wrong = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in sorted(set(re.findall(r"\b(docs/[\w./-]+\.(?:md|yaml|py))\b", page.read_text()))):
            if not (ROOT / target).exists():
                wrong.append(f"{page.relative_to(ROOT)}: {target}")
    assert not wrong, "pointers to missing files:\n  " + "\n  ".join(wrong)
