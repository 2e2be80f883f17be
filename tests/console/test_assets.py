"""The console's files as shipped: every module a page imports is in the bundle, nothing comes
from another origin, nothing is built (what is in the repository is what is served), the package
ships every file, and the bundle stays small."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

from gateway.console.assets import STATIC, AssetBundle

ROOT = Path(__file__).parents[2]
IMPORT = re.compile(r"""(?:from\s+|import\s*\(\s*)["'](\.{1,2}/[^"']+)["']""")
BUDGET_GZIPPED = 40 * 1024  # every file, gzipped: what a first visit on a slow link downloads at most


def bundle() -> AssetBundle:
    return AssetBundle.load(mount="/console", api_base="/flow/v1")


def test_every_relative_import_resolves_to_a_file_of_the_bundle() -> None:
    files = bundle().files
    scripts = [name for name in files if name.endswith(".js")]
    assert {"js/app.js", "js/api.js", "js/dom.js"} <= set(scripts)
    for name in scripts:
        source = files[name].body.decode()
        for target in IMPORT.findall(source):
            resolved = (Path(name).parent / target).as_posix()
            while "/../" in resolved or resolved.startswith("../"):
                resolved = re.sub(r"[^/]+/\.\./", "", resolved, count=1)
            resolved = resolved.replace("./", "")
            assert resolved in files, f"{name} imports {target}, which is not shipped"


def test_the_page_names_only_files_of_its_own_version() -> None:
    loaded = bundle()
    page = loaded.index.body.decode()
    for url in re.findall(r'(?:src|href)="([^"#]+)"', page):
        assert url.startswith(f"/console/static/{loaded.version}/"), url
        assert url.removeprefix(f"/console/static/{loaded.version}/") in loaded.files
    assert "{{" not in page


def test_nothing_is_fetched_from_another_origin() -> None:
    for name, asset in bundle().files.items():
        text = asset.body.decode()
        assert not re.search(r"""["'(]\s*(https?:)?//""", text.replace("http://www.w3.org/2000/svg", "")), (
            name
        )
        assert "innerHTML" not in text and "eval(" not in text, name


def test_the_key_is_never_written_to_browser_storage() -> None:
    for name, asset in bundle().files.items():
        text = asset.body.decode()
        for storage in ("localStorage", "sessionStorage", "indexedDB", "document.cookie"):
            assert storage not in text, f"{name} uses {storage}"


def test_the_version_changes_with_any_file(tmp_path: Path) -> None:
    copy = tmp_path / "static"
    shutil.copytree(STATIC, copy)
    same = AssetBundle.load(mount="/console", api_base="/flow/v1", root=copy)
    assert same.version == bundle().version
    with (copy / "js" / "pages" / "audit.js").open("a") as fh:
        fh.write("\n")
    changed = AssetBundle.load(mount="/console", api_base="/flow/v1", root=copy)
    assert changed.version != same.version
    assert f"/console/static/{changed.version}/js/app.js" in changed.index.body.decode()


def test_the_package_ships_every_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["gateway"]
    package = ROOT / "gateway"
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    for path in STATIC.rglob("*"):
        if path.is_file():
            assert path in shipped, f"{path.relative_to(ROOT)} is not in the package data"


def test_the_bundle_is_small() -> None:
    loaded = bundle()
    total = sum(len(a.gzipped or a.body) for a in [*loaded.files.values(), loaded.index])
    assert total < BUDGET_GZIPPED, total
