"""Build steps that setuptools runs for `pip install .` and `pip wheel .`: the translations are
compiled (.po → .mo) before the package is copied, so that every install and every wheel speaks
Japanese without a separate `pybabel compile`. The .mo files are build output, never in git."""

from __future__ import annotations

from pathlib import Path

from setuptools.command.build_py import build_py

TRANSLATIONS = Path(__file__).resolve().parent / "community" / "translations"


def compile_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as source:
            catalog = read_po(source, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as target:
            write_mo(target, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


class BuildPyWithCatalogs(build_py):
    def run(self) -> None:
        compile_catalogs()
        super().run()
