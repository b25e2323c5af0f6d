"""The package's shape: the import-linter contracts hold, and no module uses another's private names.

The tests' shape too: shared test code lives in ``conftest``; a test module is collected by pytest,
never imported by another one (which would run its module-level code and tie the two files together).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys

from tests.conftest import REPO

HELPERS = REPO / "helpers"
TESTS = REPO / "tests"


def test_the_import_contracts_hold():
    # The contracts (pyproject.toml): core imports no family, the families do not import each
    # other (open-book QA sits above them), no package has an import cycle, and serving imports
    # neither torch nor transformers, even indirectly. In a process of its
    # own: in-process, its console could hold a stream that an earlier test's capture had closed.
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    run = subprocess.run([sys.executable, "-c", code, "--config", str(REPO / "pyproject.toml"), "--no-cache"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 kept, 0 broken" in run.stdout


def private_imports(source: str) -> list[str]:
    """``module.name`` of every private name that ``source`` imports from the helpers package."""
    return [f"{node.module}.{alias.name}" for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers")
            for alias in node.names if alias.name.startswith("_")]


def test_no_module_imports_another_modules_private_names():
    offenders = {str(p.relative_to(REPO)): hits for p in sorted(HELPERS.rglob("*.py"))
                 if (hits := private_imports(p.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_the_private_name_check_sees_a_private_import():
    source = "from helpers.core.export import load_export, _secret\nfrom pandas import _libs\n"
    assert private_imports(source) == ["helpers.core.export._secret"]
def test_every_family_module_says_what_is_public():
    for name in ("classification", "question_answering", "generative_qa", "context_relevance", "open_book_qa",
                 "synthetic_questions"):
        module = __import__(f"helpers.{name}", fromlist=["__all__"])
        assert module.__all__, name
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert missing == [], f"helpers.{name}.__all__ names what it lacks: {missing}"


def imported_test_modules(source: str) -> list[str]:
    """The test modules (``test_*``, in ``tests`` or beside) that ``source`` imports."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names += [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return sorted({n for n in names if re.fullmatch(r"(tests\.)?test_\w+", n)})


def test_no_test_module_imports_another_test_module():
    offenders = {p.name: hits for p in sorted(TESTS.glob("*.py"))
                 if (hits := imported_test_modules(p.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_the_test_import_check_sees_every_form():
    source = ("from tests.test_notebooks import run_notebook\nfrom tests import test_slow\n"
              "import tests.test_export\nfrom .test_models import x\nfrom tests.conftest import REPO\n")
    assert imported_test_modules(source) == ["test_models", "tests.test_export", "tests.test_notebooks",
                                             "tests.test_slow"]
