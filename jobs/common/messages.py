"""The catalogue of operator messages (``messages.yaml`` beside this module).

Every operator message has a mainframe-style id ``KKBnnnX`` whose last letter is its severity
(I/W/E/S/U = RC 0/4/8/12/16). The catalogue holds, per id, the level, the Japanese text as a
``str.format`` template with named fields, and what the operator does about it (``action``):

    messages.text("KKB430I", file="SN110_20260601.dat", new=3, change=1, stop=0)
    → "SN110_20260601.dat: 新規 3件, 変更 1件, 停止 0件 を登録"

An entry may also have

- ``variants``: other wordings of the same message under the same id, chosen by
  ``variant=<name>`` (the id stays what the operators and their runbooks know);
- ``optional``: parts of the text that appear only when their field is given (not None):
  ``optional: {unprinted: " − 印刷不可 {unprinted:,}円"}`` renders the ``{unprinted}`` placeholder
  of the text as that part, or as nothing when ``unprinted`` is None or not passed.

``kokuho messages [ID]`` lists the catalogue for the operators.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

ID_PATTERN = re.compile(r"KKB\d{3}[IWESU]")
LEVELS = ("I", "W", "E", "S", "U")
LEVEL_LABELS = {"I": "情報", "W": "警告", "E": "エラー", "S": "重大エラー", "U": "強制終了"}
CATALOGUE = "messages.yaml"


class MessageError(KeyError):
    """An unknown message id or variant, or a field the template needs and was not given."""

    def __str__(self) -> str:  # KeyError would repr() the text
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Entry:
    msg_id: str
    level: str
    text: str
    action: str = ""
    variants: Mapping[str, str] = field(default_factory=dict)
    optional: Mapping[str, str] = field(default_factory=dict)

    def template(self, variant: str | None = None) -> str:
        if variant is None:
            return self.text
        try:
            return self.variants[variant]
        except KeyError:
            raise MessageError(f"{self.msg_id}: 文言の種類 {variant!r} はありません "
                               f"(あるもの: {', '.join(self.variants) or 'なし'})") from None

    def fields(self, variant: str | None = None) -> set[str]:
        """The fields the template (of ``variant``) must be given; optional parts excluded."""
        return placeholders(self.template(variant)) - set(self.optional)

    def all_fields(self) -> set[str]:
        """Every field any wording or optional part of this message uses."""
        out = placeholders(self.text)
        for t in (*self.variants.values(), *self.optional.values()):
            out |= placeholders(t)
        return out

    def render(self, variant: str | None = None, **fields: Any) -> str:
        template = self.template(variant)
        values = dict(fields)
        for name, part in self.optional.items():
            if name in placeholders(template):
                values[name] = "" if fields.get(name) is None else _format(self.msg_id, part, fields)
        return _format(self.msg_id, template, values)


def placeholders(template: str) -> set[str]:
    """The field names of a ``str.format`` template (``{new:,}`` → ``new``)."""
    out = set()
    for _literal, name, spec, _conv in string.Formatter().parse(template):
        if name is not None:
            out.add(re.split(r"[.\[]", name, maxsplit=1)[0])
            if spec:
                out |= placeholders(spec)
    return out


class _Loader(yaml.SafeLoader):
    """safe_load that refuses a key twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ValueError(f"{CATALOGUE}: {key!r} twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@functools.cache
def catalogue() -> dict[str, Entry]:
    """All entries by id, loaded once from messages.yaml (checked as it is read)."""
    return load(resources.files(__package__).joinpath(CATALOGUE).read_text(encoding="utf-8"))


def load(source: str) -> dict[str, Entry]:
    """The entries of a catalogue text (ValueError: a duplicate id, a level that is not the id's)."""
    raw = yaml.load(source, Loader=_Loader)  # a SafeLoader: no tags, no objects
    out = {}
    for msg_id, doc in (raw or {}).items():
        if not ID_PATTERN.fullmatch(str(msg_id)):
            raise ValueError(f"{CATALOGUE}: not a message id: {msg_id!r}")
        level = str(doc.get("level", ""))
        if level != msg_id[-1]:
            raise ValueError(f"{CATALOGUE}: {msg_id} has level {level!r}; the id says {msg_id[-1]!r}")
        out[msg_id] = Entry(msg_id, level, str(doc["text"]), str(doc.get("action") or ""),
                            dict(doc.get("variants") or {}), dict(doc.get("optional") or {}))
    return out


def entry(msg_id: str) -> Entry:
    try:
        return catalogue()[msg_id]
    except KeyError:
        raise MessageError(f"メッセージID {msg_id!r} はメッセージ一覧 ({CATALOGUE}) にありません") from None


def text(msg_id: str, variant: str | None = None, **fields: Any) -> str:
    """The text of ``msg_id`` with ``fields`` filled in (MessageError: unknown id or missing field)."""
    return entry(msg_id).render(variant, **fields)


def line(msg_id: str, variant: str | None = None, **fields: Any) -> str:
    """``"<id> <text>"``, as the message appears in a job log or on stderr."""
    return f"{msg_id} {text(msg_id, variant, **fields)}"


def _format(msg_id: str, template: str, fields: Mapping[str, Any]) -> str:
    try:
        return template.format_map(fields)
    except KeyError as exc:
        missing = sorted(placeholders(template) - set(fields))
        raise MessageError(f"{msg_id}: 項目 {', '.join(missing) or exc.args[0]} が指定されていません "
                           f"(文言 {template!r})") from None
