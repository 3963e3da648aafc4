"""Redaction of the inventory's secrets (passwords, SNMP communities and keys) from everything the evidence
writes as text: timeline.jsonl, HeMS transcripts, console logs, run.json, junit.xml, the report."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from bench.events import is_secret_key as _is_secret_key

MASK = "[redacted]"
# A secret shorter than this (an SNMP community such as "private") is masked only as a whole word, so the
# bench's own names ("private-dns", "test_..._private_network") stay readable; longer ones wherever they occur.
WORD_ONLY_BELOW = 8


def inventory_secrets(obj: Any, key: str = "") -> set[str]:
    """Every secret value in an inventory (a pydantic model, or plain dicts and lists from YAML): SecretStr
    fields, and string values under keys such as password, community, auth_key, priv_key."""
    found: set[str] = set()
    if isinstance(obj, SecretStr):
        found.add(obj.get_secret_value())
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            found |= inventory_secrets(getattr(obj, name), name)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            found |= inventory_secrets(v, str(k))
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            found |= inventory_secrets(v, key)
    elif isinstance(obj, str) and key and _is_secret_key(key):
        found.add(obj)
    return {s for s in found if s}


class Redactor:
    """Replaces every known secret in text by [redacted] (short ones only as whole words)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants: set[str] = set()
        for s in secrets:
            if not s:
                continue
            variants.add(s)
            # As it appears inside JSON strings and XML text.
            variants.add(json.dumps(s)[1:-1])
            variants.add(s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
        self.secrets = sorted(variants, key=len, reverse=True)
        parts = [
            re.escape(v) if len(v) >= WORD_ONLY_BELOW else rf"(?<![\w-]){re.escape(v)}(?![\w-])"
            for v in self.secrets
        ]
        self._re: re.Pattern[str] | None = re.compile("|".join(parts)) if parts else None

    def __bool__(self) -> bool:
        return self._re is not None

    def text(self, value: str) -> str:
        if self._re is None:
            return value
        return self._re.sub(MASK, value)

    def __call__(self, value: str) -> str:
        return self.text(value)

    def obj(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.obj(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.obj(v) for v in value]
        return value

    def file(self, path: Path) -> None:
        """Redact a text file in place (a console log, junit.xml); binary files are left alone."""
        if self._re is None or not path.is_file():
            return
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="surrogateescape")
        new = self.text(text)
        if new != text:
            path.write_bytes(new.encode("utf-8", errors="surrogateescape"))


def redactor_for(inventory: Any, extra: Iterable[str] = ()) -> Redactor:
    return Redactor(inventory_secrets(inventory) | set(extra))
