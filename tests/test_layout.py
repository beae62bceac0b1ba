"""The layout holds: each package imports only the layers below it, and modules import no cycle.

    routes, webui  ->  orchestration  ->  storage, services      (services: no Flask, no web)
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("services", "storage", "orchestration", "webui", "routes")
# What each package must not import (its own name at the start of an import).
FORBIDDEN = {
    "services": ("flask", "flask_socketio", "flask_sqlalchemy", "webui", "routes", "storage",
                 "orchestration"),
    "storage": ("flask", "flask_socketio", "webui", "routes", "orchestration"),
    "orchestration": ("flask", "flask_socketio", "webui", "routes"),
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def modules():
    """(dotted name, path) of every module of the project's packages."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def imports(path, name):
    """The absolute module names `path` imports at module level or in functions."""
    found = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("name, path", list(modules()), ids=lambda value: str(value))
def test_a_package_imports_only_the_layers_below_it(name, path):
    forbidden = FORBIDDEN.get(name.split(".")[0], ())
    wrong = sorted(m for m in imports(path, name) if m.split(".")[0] in forbidden)
    assert not wrong, f"{name} imports {wrong}"


def test_no_module_imports_a_cycle():
    """Also through imports inside functions: a cycle is not hidden by importing late."""
    known = dict(modules())
    graph = {name: {m for m in imports(path, name) if m in known} for name, path in known.items()}
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt == node:
                continue
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                # a package importing its own submodule, loaded by that submodule, is fine
                if not all(b.startswith(a + ".") or a.startswith(b + ".")
                           for a, b in zip(cycle, cycle[1:])):
                    raise AssertionError(" -> ".join(cycle))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def every_python_file():
    """(name, path) of every Python file of the project: packages, tests, benchmarks, scripts."""
    yield from modules()
    for path in sorted([*ROOT.glob("*.py"), *(ROOT / "tests").rglob("*.py"),
                        *(ROOT / "bench").rglob("*.py")]):
        yield str(path.relative_to(ROOT)), path


@pytest.mark.parametrize("name, path", list(every_python_file()), ids=lambda value: str(value))
def test_modules_and_functions_stay_small(name, path):
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_MODULE_LINES, f"{name} has {text.count(chr(10))} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{name}.{node.name} has {length} lines"
