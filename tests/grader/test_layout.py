"""The package's layout: no import cycles, and the orchestrator above the one-submission runner."""

import ast
from pathlib import Path

import grader

PACKAGE = Path(grader.__file__).parent


def module_name(path: Path) -> str:
    """Return the dotted name of a module file of the package."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Return the modules of the package that a file imports at any level (function bodies included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES]
            # "from . import cgroup" imports the module cgroup; the package itself only for other names.
            candidates = submodules + ([target] if len(submodules) < len(node.names) else [])
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found.update(c for c in candidates if c.startswith("grader") and c in MODULES)
    found.discard(name)
    return found


MODULES = {module_name(path) for path in PACKAGE.rglob("*.py")}
GRAPH = {module_name(path): imports(path) for path in PACKAGE.rglob("*.py")}


def reaches(start: str, goal: str) -> list[str] | None:
    """Return a chain of imports from ``start`` to ``goal``, or None."""
    stack, seen = [[start]], set()
    while stack:
        chain = stack.pop()
        for following in sorted(GRAPH.get(chain[-1], ())):
            if following == goal:
                return chain + [following]
            if following not in seen:
                seen.add(following)
                stack.append(chain + [following])
    return None


def test_the_package_has_no_import_cycle():
    cycles = [" -> ".join(chain) for chain in (reaches(module, module) for module in sorted(GRAPH)) if chain]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_runner_never_imports_the_orchestrator():
    for lower in ("grader.submission", "grader.workers", "grader.context"):
        assert reaches(lower, "grader.session") is None, reaches(lower, "grader.session")


def test_the_verifier_loads_no_grading_pipeline():
    # The verifier runs in a sandbox for every submission: it needs the check types, not nbgrader.
    for heavy in ("grader.session", "grader.submission", "grader.context", "grader.gradebook"):
        assert reaches("grader.checks.verifier", heavy) is None, reaches("grader.checks.verifier", heavy)
