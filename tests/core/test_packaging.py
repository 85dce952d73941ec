"""What `pip install .` and a wheel carry: the compiled translations, built from the .po files
by the build itself (build_hooks.py), so that a deployed site speaks Japanese without a separate
`pybabel compile` step."""

from __future__ import annotations

import gettext
import io
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_built_wheel_carries_the_compiled_japanese_catalog(tmp_path):
    # A clean copy of what git tracks: no .mo lying around from `make test` to be picked up.
    source = tmp_path / "source"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        target = source / name.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name.decode()).is_file():
            target.write_bytes((ROOT / name.decode()).read_bytes())
    for name in ("build_hooks.py", "pyproject.toml"):  # as in the working tree under test
        (source / name).write_bytes((ROOT / name).read_bytes())
    assert not list(source.rglob("*.mo"))

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip

    (wheel,) = (tmp_path / "dist").glob("community-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "community/translations/ja/LC_MESSAGES/messages.mo" in names
        catalog = gettext.GNUTranslations(
            io.BytesIO(archive.read("community/translations/ja/LC_MESSAGES/messages.mo"))
        )
    assert catalog.gettext("Page not found") != "Page not found"
    assert catalog.gettext("Page not found")  # a Japanese title, from the catalog
