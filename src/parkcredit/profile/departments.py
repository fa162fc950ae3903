"""The departments that supply profile fields (数据来源部门), by English slug and Chinese name.

`FIELDS[name].dept` names each field's department in Chinese; keys, the CLI and the API use the
English slug (`--department tax`). Either spelling is accepted wherever a department is given.
The identity fields (USCC, name, as-of date) may be sent by every department: they say which
enterprise a row is about, not a fact of the department.
"""

from __future__ import annotations

from parkcredit.profile.schema import FIELDS

__all__ = ["DEPARTMENTS", "IDENTITY", "department_fields", "department_name", "department_slug", "foreign_fields"]

DEPARTMENTS: dict[str, str] = {
    "tax": "税务",
    "environment": "生态环境",
    "safety": "应急管理",
    "market": "市场监管",
    "court": "法院",
    "tech": "科技",
    "industry": "经信",
    "hr": "人社",
    "park": "园区",
}
_BY_NAME = {zh: slug for slug, zh in DEPARTMENTS.items()}
IDENTITY = ("uscc", "name", "as_of")


def department_slug(value: str) -> str:
    """The slug of a department given by slug or Chinese name; ValueError naming the choices."""
    text = value.strip()
    if text.lower() in DEPARTMENTS:
        return text.lower()
    if text in _BY_NAME:
        return _BY_NAME[text]
    choices = ", ".join(f"{slug} ({zh})" for slug, zh in DEPARTMENTS.items())
    raise ValueError(f"unknown department {value[:40]!r}; one of: {choices}")


def department_name(value: str) -> str:
    """The Chinese name of a department given by slug or name (as `FIELDS[...].dept` spells it)."""
    return DEPARTMENTS[department_slug(value)]


def department_fields(value: str) -> list[str]:
    """The profile fields a department supplies (its own, not the identity fields)."""
    zh = department_name(value)
    return [n for n, f in FIELDS.items() if f.dept == zh and n not in IDENTITY]


def foreign_fields(value: str, fields: list[str]) -> list[str]:
    """The fields of `fields` that are neither the department's own nor identity fields."""
    zh = department_name(value)
    return [n for n in fields if n not in IDENTITY and FIELDS[n].dept != zh]
