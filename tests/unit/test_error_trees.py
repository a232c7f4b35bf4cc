"""Each package's drawn error tree (its ``errors`` module's docstring) is the code's: every class
drawn where it inherits, and every error class drawn."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

BRANCH = re.compile(r"[├└]── ([A-Z]\w+)")
ROOT = re.compile(r"^([A-Z]\w+)")


def drawn_parents(doc: str) -> dict[str, str | None]:
    """``{class: parent}`` from a tree drawn with ├── / └── (section labels such as
    ``│   PledgeRegistry`` are not classes and are skipped)."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for raw in doc.splitlines():
        line = raw[4:] if raw.startswith("    ") else None
        if line is None or not line.strip():
            continue
        if match := BRANCH.search(line):
            depth = match.start() // 4 + 1
        elif match := ROOT.match(line):
            depth = 0
        else:
            continue
        name = match.group(1)
        del stack[depth:]
        parents[name] = stack[depth - 1] if depth else None
        stack.append(name)
    return parents


@pytest.mark.parametrize(
    "module_name", ["ipnotary.service.errors", "ipnotary.sdk.errors", "ipnotary.chain.errors"]
)
def test_the_drawn_tree_is_the_code(module_name: str) -> None:
    module = importlib.import_module(module_name)
    drawn = drawn_parents(module.__doc__ or "")
    classes = {
        name: cls
        for name, cls in vars(module).items()
        if inspect.isclass(cls) and issubclass(cls, Exception) and cls.__module__ == module.__name__
    }
    assert drawn, f"{module_name} draws no tree"
    assert set(drawn) == set(classes), (
        f"drawn but not defined: {sorted(set(drawn) - set(classes))}; "
        f"defined but not drawn: {sorted(set(classes) - set(drawn))}"
    )
    for name, cls in classes.items():
        ours = [base.__name__ for base in cls.__bases__ if base.__module__ == module.__name__]
        assert ours[:1] == ([drawn[name]] if drawn[name] else []), (
            f"{name} is drawn under {drawn[name]} but inherits from {ours or 'nothing of ours'}"
        )
