"""polyfit.torch's layers: imports point down (function-level ones included), no cycle, no big module."""
import ast
from pathlib import Path

import polyfit

ROOT = Path(polyfit.__file__).parent / "torch"

#: kernels → modules → surgery → profiling and export → recipes (docs/architecture.md).
LAYERS = {
    "kernels": 0, "blocked": 0, "fused": 0,
    "activations": 1, "blend": 1, "quadratic": 1, "norm": 1, "pooling": 1, "clip": 1, "dispatch": 1,
    "discovery": 2, "surgery": 2, "fx_rewrite": 2, "pool_surgery": 2,
    "profiling": 3, "inference": 3, "export": 3,
    "recipes": 4, "planning": 4,
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def layer_of(name: str) -> int | None:
    return LAYERS.get(name.split(".")[0]) if name else None


def exists(parts: list[str]) -> bool:
    return bool(parts) and ((ROOT / Path(*parts)).with_suffix(".py").exists() or (ROOT / Path(*parts) / "__init__.py").exists())


def torch_imports(path: Path) -> set[str]:
    """polyfit.torch modules imported anywhere in ``path`` (relative or absolute, at any depth)."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    package = [p for p in package if p]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.level - 1 > len(package):
                continue  # above polyfit.torch: the core
            target = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            candidates = [target] + [target + [a.name] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("polyfit.torch."):
            target = node.module.split(".")[2:]
            candidates = [target] + [target + [a.name] for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name.split(".")[2:] for a in node.names if a.name.startswith("polyfit.torch.")]
        else:
            continue
        found.update(".".join(c) for c in candidates if exists(c))
    return found


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def test_every_torch_module_has_a_layer():
    unknown = [name for name in all_modules() if name and layer_of(name) is None]
    assert unknown == []


def test_imports_point_down_the_layers_even_inside_functions():
    upward = []
    for name, path in all_modules().items():
        if not name:
            continue  # the package file serves every layer
        for target in torch_imports(path):
            if layer_of(target) is not None and layer_of(target) > layer_of(name):
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_nothing_below_recipes_imports_recipes():
    offenders = [name for name, path in all_modules().items()
                 if name and not name.startswith("recipes") and any(t.startswith("recipes") for t in torch_imports(path))]
    assert offenders == []


def test_no_import_cycle_between_torch_modules():
    graph = {name: {t for t in torch_imports(path) if t != name} for name, path in all_modules().items() if name}
    cycles = []

    def visit(node, trail):
        for nxt in graph.get(node, ()):
            if nxt in trail:
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif len(trail) < 12:
                visit(nxt, trail + [nxt])

    for start in graph:
        visit(start, [start])
    assert cycles == []


def test_no_torch_module_over_500_lines():
    sizes = {name: len(p.read_text(encoding="utf-8").splitlines()) for name, p in all_modules().items()}
    assert {n: s for n, s in sizes.items() if s > 500} == {}
