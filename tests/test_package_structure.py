"""Package-level contracts: imports without optional tools, one-way module dependencies, lint."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ltr
import pytracking

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (pytracking, ltr)
OPTIONAL_TOOLS = ("visdom", "vot", "tensorboard", "tensorboardX", "torch.utils.tensorboard", "trax")

# Module-level first-party imports each layer may make (its own layer is always allowed). Lower layers never
# import upper ones; function-level (lazy) imports are not restricted.
ALLOWED = {
    "pytracking.libs": ("pytracking.libs",),
    "pytracking.utils": ("pytracking.libs", "pytracking.utils"),
    "ltr.admin": ("pytracking.libs", "pytracking.utils", "ltr.admin"),
    "ltr.models": ("pytracking.libs", "pytracking.utils", "ltr.admin", "ltr.models"),
    "ltr.data": ("pytracking.libs", "pytracking.utils", "ltr.admin", "ltr.data"),
}


def all_modules() -> list[str]:
    names = []
    for pkg in PACKAGES:
        names.append(pkg.__name__)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
            leaf = info.name.rsplit(".", 1)[-1]
            if leaf == "local" or leaf.startswith("run_"):
                continue  # user settings files and scripts with side effects
            names.append(info.name)
    return names


def module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                visit(getattr(node, "finalbody", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)

    visit(tree.body)
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_only_downwards(layer):
    root = REPO_ROOT.joinpath(*layer.split("."))
    if not root.exists():
        pytest.skip(f"{layer} not present yet")
    violations = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "local.py":
            continue
        for name in module_level_imports(path):
            first_party = name.split(".")[0] in ("pytracking", "ltr")
            if first_party and name not in ("pytracking", "ltr") and not name.startswith(ALLOWED[layer]):
                violations.append(f"{path.relative_to(REPO_ROOT)} imports {name}")
    assert not violations, "\n".join(violations)


def test_every_module_imports_without_optional_tools():
    """Import every module in a fresh interpreter in which visdom, vot and tensorboard cannot be imported."""
    code = f"""
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name in {OPTIONAL_TOOLS!r} or name.split('.')[0] in {OPTIONAL_TOOLS!r}:
            raise ImportError('blocked optional tool: ' + name)
        return None
sys.meta_path.insert(0, Block())
for name in {all_modules()!r}:
    importlib.import_module(name)
bad = [m for m in sys.modules if m.split('.')[0] in {OPTIONAL_TOOLS!r}]
assert not bad, bad
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr


def test_top_level_import_is_light_and_lazy_attributes_work():
    code = "import sys, pytracking, ltr; assert 'torch' not in sys.modules, 'import pytracking pulled in torch'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert pytracking.TensorList is importlib.import_module("pytracking.libs.tensorlist").TensorList
    assert ltr.load_network is importlib.import_module("ltr.admin.loading").load_network
    assert ltr.model_constructor is importlib.import_module("ltr.admin.model_constructor").model_constructor
    with pytest.raises(AttributeError):
        pytracking.no_such_thing  # noqa: B018


def test_packages_import_from_any_directory(tmp_path):
    """The installed (editable) package is found without the repository on sys.path."""
    code = "import pytracking, ltr; print(pytracking.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}
    )
    if result.returncode != 0 and "No module named" in result.stderr:
        pytest.skip("package not installed in this interpreter (run install.sh)")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve().is_relative_to(REPO_ROOT)


def test_ruff_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed")
    check = subprocess.run([ruff, "check", "."], capture_output=True, text=True, cwd=REPO_ROOT)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([ruff, "format", "--check", "."], capture_output=True, text=True, cwd=REPO_ROOT)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
