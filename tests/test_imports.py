"""Imports run one way (docs/ARCHITECTURE.md): each layer imports only the layers below it, no module imports
itself back through others, and the learner's training path loads neither pinocchio nor matplotlib.

The graph is read from the source with `ast` (imports inside functions included), so a lazy import that
closes a cycle fails here too.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("robots", "raw_mocap", "amp_data", "retarget", "learner")

# layer (module prefix) -> the prefixes it may import, itself included; the first matching prefix rules
ALLOWED = (
    ("robots", ("robots",)),
    ("raw_mocap", ("raw_mocap",)),
    ("amp_data.errors", ()),
    # the one exception: a bank read or built without contacts (v1 files, imported motions) gets them from
    # amp_data.motion.contacts, a leaf that imports only robots
    ("amp_data.format", ("amp_data.errors", "amp_data.format", "amp_data.motion.contacts", "robots")),
    ("amp_data.motion.contacts", ("robots",)),
    ("amp_data.motion", ("amp_data.errors", "amp_data.format", "amp_data.motion", "robots")),
    ("amp_data.expert", ("amp_data.errors", "amp_data.format", "amp_data.motion", "amp_data.expert", "robots")),
    ("amp_data.interop", ("amp_data.errors", "amp_data.format", "amp_data.motion", "amp_data.interop", "robots")),
    ("amp_data.reports", ("amp_data.errors", "amp_data.format", "amp_data.motion", "amp_data.reports", "robots")),
    ("amp_data", ("amp_data",)),
    ("retarget", ("retarget", "amp_data", "robots", "raw_mocap")),
    ("learner", ("learner", "amp_data", "robots")),
    ("cli", PACKAGES),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {"cli": ROOT / "cli.py"}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            out[_module_name(path)] = path
    return out


def _resolve(name: str, modules: dict) -> str | None:
    """The longest prefix of a dotted name that is one of our modules."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        cand = ".".join(parts[:k])
        if cand in modules:
            return cand
    return None


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for mod, path in modules.items():
        deps = set()
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                names = [f"{base}.{a.name}" for a in node.names] + [base]
            for n in names:
                target = _resolve(n, modules)
                if target and target != mod and not (mod.startswith(target + ".") and target.count(".") == 0):
                    deps.add(target)
        graph[mod] = deps
    return graph


def _layer(mod: str):
    for prefix, allowed in ALLOWED:
        if mod == prefix or mod.startswith(prefix + "."):
            return prefix, allowed
    raise AssertionError(f"{mod} is in no layer of ALLOWED")


def _inside(mod: str, prefixes) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in prefixes)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_each_layer_imports_only_the_layers_below_it():
    bad = []
    for mod, deps in import_graph().items():
        prefix, allowed = _layer(mod)
        bad += [f"{mod} -> {d}" for d in sorted(deps) if not _inside(d, allowed)]
    assert not bad, "imports against the layering of docs/ARCHITECTURE.md:\n" + "\n".join(bad)


def test_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 40
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    """The check can fail: a planted cycle through three modules is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_layer_rules_catch_an_upward_import():
    prefix, allowed = _layer("learner.task")
    assert prefix == "learner" and not _inside("retarget.ik", allowed) and _inside("amp_data.expert.sampler", allowed)
    prefix, allowed = _layer("amp_data.motion.gait")
    assert not _inside("amp_data.reports.plots", allowed)


def test_training_path_loads_neither_pinocchio_nor_matplotlib():
    pytest.importorskip("torch", reason="the learner needs PyTorch")
    pytest.importorskip("mujoco", reason="the learner's default backend needs mujoco")
    code = ("import sys\n"
            "import learner.train, learner.task, learner.sac, learner.ppo, learner.amp, learner.mujoco_backend\n"
            "import amp_data.expert.sampler\n"
            "print(','.join(m for m in ('pinocchio', 'matplotlib') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"the training path imports {out.stdout.strip()}"
