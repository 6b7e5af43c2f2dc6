"""polyfit's layers (docs/architecture.md): every import points down, at any depth; no cycle;
no module over 500 lines; no public mutable module state.

Imports are read from the source (module-level and inside functions, relative and absolute),
so a lazy import that points up fails here as surely as a top-level one.
"""
import ast
from pathlib import Path

import polyfit

PACKAGE = Path(polyfit.__file__).parent
MAX_LINES = 500

#: Lowest first. A module may import its own layer and those below; a name is matched by its
#: longest listed prefix ("polyfit.solvers" holds every solver module). docs/architecture.md.
LAYERS = (
    ("base", ("polyfit._version", "polyfit.errors", "polyfit.validate", "polyfit.jsonio", "polyfit.atomic")),
    ("values", ("polyfit.expression", "polyfit.targets", "polyfit.basis", "polyfit.certificate", "polyfit.presets",
                "polyfit.approximation", "polyfit.plot")),
    ("analysis", ("polyfit.metrics", "polyfit.problem", "polyfit.plan", "polyfit.depth", "polyfit.mpc_simulation",
                  "polyfit.mpc_schedule", "polyfit.precision", "polyfit.reports", "polyfit.recheck")),
    ("I/O", ("polyfit.artifact",)),
    ("presentation", ("polyfit.report_text",)),
    ("solvers", ("polyfit.solvers", "polyfit.fitting")),
    ("backends", ("polyfit.backends", "polyfit.claims", "polyfit.verification", "polyfit.mpc_verification")),
    ("torch", ("polyfit.torch",)),
    ("front ends", ("polyfit", "polyfit.__main__", "polyfit.cli", "polyfit.export", "polyfit.search_objectives")),
)

#: Packages ordered inside: kernels → modules → surgery → profiling and export → recipes and
#: planning. A sub-package's modules take its entry ("planning" holds polyfit.torch.planning.*);
#: the package file itself serves every sub-layer.
SUBLAYERS = {
    "polyfit.torch": {
        "kernels": 0, "blocked": 0, "fused": 0,
        "activations": 1, "blend": 1, "quadratic": 1, "norm": 1, "pooling": 1, "clip": 1, "dispatch": 1,
        "discovery": 2, "surgery": 2, "fx_rewrite": 2, "pool_surgery": 2,
        "profiling": 3, "inference": 3, "export": 3, "search_objective": 3,
        "recipes": 4, "planning": 4,
    },
}


# -- reading the package ------------------------------------------------------------------------
def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(dotted: str) -> str | None:
    """The polyfit module a dotted import target names (its longest existing module prefix)."""
    parts = dotted.split(".")
    while parts:
        if ".".join(parts) in MODULES:
            return ".".join(parts)
        parts.pop()
    return None


def imports(name: str) -> dict[str, int]:
    """{imported polyfit module: first line} for every import statement in ``name``, at any depth."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = base + (node.module.split(".") if node.module else [])
            candidates = [".".join(target + [alias.name]) for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for dotted in candidates:
            module = resolve(dotted) if dotted.split(".")[0] == "polyfit" else None
            if module and module != name:
                found.setdefault(module, node.lineno)
    return found


GRAPH = {name: imports(name) for name in MODULES}


def layer_of(name: str) -> int | None:
    best, layer = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = name == prefix or (prefix != "polyfit" and name.startswith(prefix + "."))
            if matches and len(prefix) > best:
                best, layer = len(prefix), index
    return layer


def sublayer_of(name: str) -> tuple[str, int | None] | None:
    """(package, sub-layer) of a module inside an ordered package; None outside one (or for the
    package file itself)."""
    for package, order in SUBLAYERS.items():
        if name.startswith(package + "."):
            return package, order.get(name[len(package) + 1:].split(".")[0])
    return None


# -- the rules --------------------------------------------------------------------------------
def test_every_module_has_a_layer():
    assert [n for n in MODULES if layer_of(n) is None] == []
    assert [n for n in MODULES if sublayer_of(n) is not None and sublayer_of(n)[1] is None] == []


def test_imports_point_down_the_layers_even_inside_functions():
    upward = [f"{name}:{line} imports {target} ({LAYERS[layer_of(name)][0]} → {LAYERS[layer_of(target)][0]})"
              for name, targets in GRAPH.items() for target, line in targets.items()
              if layer_of(target) > layer_of(name)]
    assert upward == []


def test_imports_point_down_inside_ordered_packages():
    upward = []
    for name, targets in GRAPH.items():
        mine = sublayer_of(name)
        for target, line in targets.items():
            theirs = sublayer_of(target)
            if mine and theirs and mine[0] == theirs[0] and theirs[1] > mine[1]:
                upward.append(f"{name}:{line} imports {target}")
    assert upward == []


def test_nothing_below_the_torch_recipes_imports_them():
    offenders = [f"{name} imports {target}" for name, targets in GRAPH.items() for target in targets
                 if target.startswith("polyfit.torch.recipes") and not name.startswith("polyfit.torch.recipes")
                 and layer_of(name) <= layer_of("polyfit.torch")]
    assert offenders == []


def strongly_connected(graph: dict[str, dict]) -> list[list[str]]:
    """Tarjan's components with more than one module (each one is an import cycle)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_even_through_function_level_imports():
    assert strongly_connected(GRAPH) == []


def test_the_cycle_finder_sees_a_cycle():
    assert strongly_connected({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]


def test_no_module_over_500_lines():
    sizes = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in MODULES.items()}
    assert {n: s for n, s in sizes.items() if s > MAX_LINES} == {}


# -- module state -------------------------------------------------------------------------------
MUTABLE_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
MUTABLE_CALLS = ("dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque")
MUTATORS = ("append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "setdefault", "add",
            "discard", "sort", "reverse")


def mutable_bindings(tree) -> dict[str, int]:
    """Module-level names bound to a dict, list or set (display, comprehension or constructor)."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        mutable = isinstance(value, MUTABLE_DISPLAYS) or (
            isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", None)) in MUTABLE_CALLS)
        if mutable:
            out.update({t.id: node.lineno for t in targets if isinstance(t, ast.Name)})
    return out


def test_no_public_mutable_module_state():
    """Registries are tuples, frozensets or MappingProxyType: readable by all, changed by none."""
    public = []
    for name, path in MODULES.items():
        for var, line in mutable_bindings(ast.parse(path.read_text(encoding="utf-8"))).items():
            if not var.startswith("_"):
                public.append(f"{name}:{line} {var}")
    assert public == []


def test_no_class_level_mutable_attributes():
    """State shared by every instance (PILLAR's class-level activation buffer) is not allowed."""
    shared = []
    for name, path in MODULES.items():
        for cls in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(cls, ast.ClassDef):
                module = ast.Module(body=cls.body, type_ignores=[])
                shared += [f"{name}:{line} {cls.name}.{var}" for var, line in mutable_bindings(module).items()]
    assert shared == []


def test_no_function_mutates_module_state():
    """Private module-level dicts/lists are constants too: nothing stores into them after import."""
    mutated = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        state = mutable_bindings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                mutated.append(f"{name}:{node.lineno} global {', '.join(node.names)}")
            target = None
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                for t in getattr(node, "targets", None) or [getattr(node, "target", None)]:
                    if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
                        target = t.value.id
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS
                  and isinstance(node.func.value, ast.Name)):
                target = node.func.value.id
            if target in state and node.lineno != state[target]:
                mutated.append(f"{name}:{node.lineno} changes {target}")
    assert mutated == []
