"""Every label a person reads has one owner: the enum member it names (Indico's ``__titles__``).

A member is declared with its stored value, its Simplified Chinese label and, where a
bilingual document needs one, its English label::

    class Status(LabeledEnum):
        declared = "declared", "登记"

    Status.declared == "declared"      # a str: compares, hashes and formats as its value
    Status.declared.label == "登记"
    Status.label_of("declared") == "登记"

Pages, SMS text and the report read ``.label``; no module keeps a parallel dict of labels.
"""
from __future__ import annotations

import enum


def _with_labels(member, value, label: str, label_en: str) -> None:
    member._value_ = value
    member.label = label
    member.label_en = label_en or str(value).replace("_", " ")


class _Labels:
    """What every labelled enum answers, whatever the type of its values."""

    label: str
    label_en: str

    @classmethod
    def label_of(cls, value) -> str:
        """The label of a stored value; a value this version does not know shows as itself."""
        try:
            return cls(value).label
        except ValueError:
            return str(value)

    @classmethod
    def values(cls) -> list:
        """The stored values in declaration order (for validators and SQL)."""
        return [member.value for member in cls]

    @classmethod
    def labels(cls) -> dict:
        """value → label in declaration order (for select options and template lookups)."""
        return {member.value: member.label for member in cls}


class LabeledEnum(_Labels, enum.StrEnum):
    """A str enum whose members carry their labels."""

    def __new__(cls, value: str, label: str, label_en: str = ""):
        member = str.__new__(cls, value)
        _with_labels(member, value, label, label_en)
        return member


class LabeledIntEnum(_Labels, enum.IntEnum):
    """An int enum whose members carry their labels (grades 1–3)."""

    def __new__(cls, value: int, label: str, label_en: str = ""):
        member = int.__new__(cls, value)
        _with_labels(member, value, label, label_en)
        return member
