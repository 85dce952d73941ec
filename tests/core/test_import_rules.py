"""Import rules that import-linter (.importlinter, `lint-imports`) has no contract for, read from
the source with `ast`:

- nobody uses another package's private (`_underscored`) names: neither `from community.x
  import _name` nor `module._name` on an imported module of ours, unless the name's module is in
  the importer's own package (the same directory);
- no import statement inside a function in community/**, where it would hide a cycle or a
  layer broken, unless a comment on its line or the line above says why it must be there
  (an optional dependency, say). A `noqa` or `type:` directive is no reason.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "community"

# Files whose violations are known and listed in issue 11's report, to be fixed by whoever
# owns them; each goes from here once it keeps the rules (the last test says when).
# Files allowed to break a rule while they are being rewritten (none now), each with its reason.
EXCUSED: tuple[str, ...] = ()

# A comment that only silences a tool, not one that says why.
DIRECTIVE = re.compile(r"^#\s*(noqa\b|type:|fmt:|pragma\b)", re.I)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path) -> str:
    """The package a module belongs to (a package's __init__ belongs to the package itself)."""
    module = _module_name(path)
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _is_our_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = _package_of(path).split(".")
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _outside(importer: Path, module: str) -> bool:
    """Whether our `module` (where a private name is defined) lies outside the importer's own
    package: in another directory."""
    base = ROOT.joinpath(*module.split("."))
    package = module if (base / "__init__.py").is_file() else module.rpartition(".")[0]
    return package != _package_of(importer)


def private_name_uses(path: Path, tree: ast.AST) -> list[Violation]:
    found = []
    modules: dict[str, str] = {}  # local name → our module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(path, node)
            if not source.startswith("community"):
                continue
            for alias in node.names:
                child = f"{source}.{alias.name}"
                if _is_our_module(child):
                    modules[alias.asname or alias.name] = child
                # A private module is defined in its parent package, a private name in `source`.
                owner = child if _is_our_module(child) else source
                if _private(alias.name) and _outside(path, owner):
                    found.append(Violation(_rel(path), node.lineno, f"imports {child}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("community") and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and _private(node.attr)
        ):
            owner = modules[node.value.id]
            if _outside(path, owner):
                found.append(Violation(_rel(path), node.lineno, f"uses {owner}.{node.attr}"))
    return found


def imports_in_functions(path: Path, tree: ast.AST, lines: list[str]) -> list[Violation]:
    found = []
    seen: set[int] = set()  # an import in a nested function is reported once, by the outer one
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in seen:
                continue
            seen.add(id(node))
            if not _justified(node, lines):
                names = ", ".join(alias.name for alias in node.names)
                source = (
                    f"from {'.' * node.level}{node.module or ''} "
                    if isinstance(node, ast.ImportFrom)
                    else ""
                )
                what = f"{source}import {names} inside {function.name}()"
                found.append(Violation(_rel(path), node.lineno, what))
    return sorted(found, key=lambda violation: violation.line)


def _justified(node: ast.stmt, lines: list[str]) -> bool:
    own = lines[node.lineno - 1]
    above = lines[node.lineno - 2].strip() if node.lineno >= 2 else ""
    comments = [own[own.index("#") :].strip()] if "#" in own else []
    if above.startswith("#"):
        comments.append(above)
    return any(not DIRECTIVE.match(comment) for comment in comments)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def violations(rule: str) -> list[Violation]:
    found = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        if rule == "private names":
            found += private_name_uses(path, tree)
        else:
            found += imports_in_functions(path, tree, text.splitlines())
    return found


def _excused(violation: Violation) -> bool:
    return violation.path.startswith(EXCUSED)


@pytest.mark.parametrize("rule", ["private names", "imports in functions"])
def test_community_keeps_the_import_rules(rule):
    broken = [str(v) for v in violations(rule) if not _excused(v)]
    assert not broken, f"{rule}:\n" + "\n".join(broken)


def test_every_file_excused_still_needs_it():
    found = violations("private names") + violations("imports in functions")
    unneeded = [prefix for prefix in EXCUSED if not any(v.path.startswith(prefix) for v in found)]
    assert not unneeded, f"these keep the rules now; take them out of EXCUSED: {unneeded}"


def test_the_rules_catch_what_they_are_for():
    # The checks themselves, on a module written to break each rule once and keep it otherwise.
    module = PACKAGE / "calendar" / "links.py"  # any real module: only its package matters
    code = (
        "from community.events.services.registration import _lock_event\n"
        "from community.calendar.ical import _local\n"  # its own package: allowed
        "from community.core import db\n"
        "db._begin_sqlite\n"
        "def late():\n"
        "    from community.events import services\n"
        "def optional():\n"
        "    # segno is only needed for the QR code page\n"
        "    import segno\n"
        "def silenced():\n"
        "    import json  # noqa: PLC0415\n"
    )
    tree = ast.parse(code)
    private = [v.what for v in private_name_uses(module, tree)]
    assert private == [
        "imports community.events.services.registration._lock_event",
        "uses community.core.db._begin_sqlite",
    ]
    inside = [v.line for v in imports_in_functions(module, tree, code.splitlines())]
    assert inside == [6, 11]
