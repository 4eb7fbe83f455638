"""The layout holds: no import cycle between the project's modules, and core knows no app above it.

Read from the source with `ast`, every import counted (those inside functions too), so that a
cycle cannot hide behind an import moved into a function body.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "core", "products", "customers", "schedule", "tickets", "notifications")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _project_modules()


def _imports(name: str, path: Path) -> set[str]:
    """The project modules a module imports (a package's own __init__ is not an edge)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in MODULES else base)
    return {target for target in targets if target in MODULES and target != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_reader_sees_every_module_and_its_imports():
    # Guards the two tests below against reading nothing.
    assert {"tickets.services", "notifications.services", "tickets.portal.views"} <= set(MODULES)
    assert "notifications.services" in GRAPH["tickets.recording"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_back():
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize("module", sorted(name for name in MODULES if name.startswith("core")))
def test_core_imports_no_app_above_it(module):
    above = {name for name in GRAPH[module] if not name.startswith("core")}
    assert above == set()


def test_the_outbox_reads_tickets_models_and_never_calls_back_into_their_services():
    reached = {
        target
        for name, targets in GRAPH.items()
        if name.startswith("notifications")
        for target in targets
        if target.startswith("tickets")
    }
    assert reached <= {"tickets.models", "tickets.updates"}


def test_core_migrations_depend_on_nothing_above_core(settings):
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    depended = {
        dependency[0]
        for key, migration in loader.disk_migrations.items()
        if key[0] == "core"
        for dependency in migration.dependencies
    }
    # The user model is swappable: core names settings.AUTH_USER_MODEL, never its app.
    user_app = settings.AUTH_USER_MODEL.split(".")[0]
    # django-auditlog is a library below every app: core's audit trail is a proxy of its model.
    assert depended <= {"core", "auth", "contenttypes", "auditlog", user_app}
