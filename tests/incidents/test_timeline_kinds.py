"""Every timeline event kind the code can write (an incident's or a complaint's) has exactly one
label of its own."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.complaints import timeline as complaint_timeline
from app.complaints.timeline_kinds import ComplaintEventKind
from app.incidents import timeline
from app.incidents.timeline_kinds import EventKind

APP = Path(__file__).resolve().parents[2] / "app"


def _calls_writing_a_kind():
    """(file, line, kind argument) of every ``timeline.record(…)`` (incidents' and complaints') and
    every ``event=`` keyword (the deadline judge's set-based writer) in app/."""
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "record" and getattr(func.value, "id", "") == "timeline":
                yield path.name, node.lineno, node.args[1] if len(node.args) > 1 else None
            for keyword in node.keywords:
                if keyword.arg == "event":
                    yield path.name, node.lineno, keyword.value


REGISTRIES = {"EventKind": EventKind, "ComplaintEventKind": ComplaintEventKind}


def _kinds_named(argument: ast.AST) -> list[tuple[str, str]]:
    """(registry, member) of each kind an argument names, directly or in a conditional expression."""
    if isinstance(argument, ast.IfExp):
        return _kinds_named(argument.body) + _kinds_named(argument.orelse)
    if isinstance(argument, ast.Attribute) and getattr(argument.value, "id", "") in REGISTRIES:
        return [(argument.value.id, argument.attr)]
    return []


@pytest.mark.parametrize("registry", REGISTRIES.values(), ids=REGISTRIES.keys())
def test_every_kind_has_its_own_label(registry):
    labels = [kind.label for kind in registry]
    assert all(label.strip() for label in labels)
    duplicates = {label for label in labels if labels.count(label) > 1}
    assert not duplicates, f"two kinds share a label: {duplicates}"


def test_the_judges_events_read_the_same_on_complaints():
    shared = [kind for kind in ComplaintEventKind if kind.value.startswith("deadline_")]
    assert len(shared) == 4
    for kind in shared:
        assert kind.label == EventKind(kind.value).label


def test_one_spelling_for_the_events_that_had_two():
    assert EventKind.regraded.label == "定级调整"
    assert EventKind.analysis_report_submitted.label == "分析报告提交"


def test_every_writer_names_a_registered_kind():
    """A kind written as a bare string would bypass the registry (and its label)."""
    writers = list(_calls_writing_a_kind())
    assert len(writers) >= 20  # the lifecycle, deadlines, compensation and the report all write events
    for name, line, argument in writers:
        assert not isinstance(argument, ast.Constant), f"{name}:{line} writes a bare string kind"
        for registry, member in _kinds_named(argument):
            assert member in REGISTRIES[registry].__members__, f"{name}:{line} names unknown kind {member}"


def test_record_refuses_an_unregistered_kind(app_ctx):
    from app.incidents.models import Incident

    with pytest.raises(ValueError):
        timeline.record(Incident(id=1), "deadline_missed", actor=None)
    with pytest.raises(ValueError):
        complaint_timeline.record(1, "deadline_missed", actor=None)


def test_label_of_shows_an_unknown_stored_kind_as_itself():
    assert EventKind.label_of("regraded") == "定级调整"
    assert EventKind.label_of("from_a_newer_version") == "from_a_newer_version"
