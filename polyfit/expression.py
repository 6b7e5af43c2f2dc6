"""Expressions in x, parsed into SymPy without executing anything (SPEC §6a).

The text is parsed by Python's :func:`ast.parse` (which only builds a syntax tree) and the
tree is checked against a whitelist before any SymPy object exists; the SymPy expression is
then built node by node from that tree. SymPy's own parsers (``parse_expr``, ``sympify``)
are never called: they evaluate Python with builtins in reach. Evaluation is a numpy walk
over the SymPy tree (no ``lambdify``, which generates and executes code).

Allowed:

- numbers: integers (at most 1024 bits), finite decimals (``0.5``, ``1e-3``);
- names: ``x``, ``pi``, ``E``;
- operators: ``+ - * / **`` and unary ``-``/``+``;
- calls of the functions in :data:`FUNCTIONS` (positional arguments only), and
  ``Piecewise((expr, cond), ..., (expr, True))`` whose conditions are one comparison
  ``a < b``, ``a <= b``, ``a > b``, ``a >= b`` or ``True``.

Cost is bounded before SymPy computes anything big: text length, node count, nesting depth,
numeric exponents, the size of constant powers, and every constant subexpression must be a
finite float64 (so ``exp(exp(exp(100)))``, ``10**10**10`` and ``factorial(10**8)`` are
refused at once); building also stops after :data:`BUILD_SECONDS`.
"""
from __future__ import annotations

import ast
import functools
import math
import time
from types import MappingProxyType

import numpy as np

from .errors import InputError

MAX_LENGTH = 2000        # characters of text
MAX_NODES = 1000         # Python syntax nodes
MAX_DEPTH = 100          # nesting; a chain a + b - c (or a * b / c) counts as one level
MAX_ARGS = 32            # arguments of Max/Min, pieces of Piecewise
MAX_EXPONENT = 1000      # |numeric exponent|, and the denominator of a rational one
MAX_INTEGER_BITS = 1024  # integers, and constant powers b**(p/q): bits(b)·|p|
BUILD_SECONDS = 5.0

# name → (SymPy attribute, least and most arguments)
FUNCTIONS = MappingProxyType({
    "exp": ("exp", 1, 1), "log": ("log", 1, 2), "sqrt": ("sqrt", 1, 1),
    "sin": ("sin", 1, 1), "cos": ("cos", 1, 1), "tan": ("tan", 1, 1),
    "asin": ("asin", 1, 1), "acos": ("acos", 1, 1), "atan": ("atan", 1, 1),
    "sinh": ("sinh", 1, 1), "cosh": ("cosh", 1, 1), "tanh": ("tanh", 1, 1),
    "asinh": ("asinh", 1, 1), "acosh": ("acosh", 1, 1), "atanh": ("atanh", 1, 1),
    "erf": ("erf", 1, 1), "erfc": ("erfc", 1, 1),
    "Abs": ("Abs", 1, 1), "abs": ("Abs", 1, 1), "sign": ("sign", 1, 1),
    "Heaviside": ("Heaviside", 1, 2), "Max": ("Max", 1, MAX_ARGS), "Min": ("Min", 1, MAX_ARGS),
})
CONSTANTS = ("pi", "E")
ALLOWED = ("numbers, x, pi, E, + - * / **, Piecewise((expr, x < c), ..., (expr, True)) and "
           + ", ".join(sorted(set(FUNCTIONS) - {"abs"})))

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_COMPARE = {ast.Lt: "Lt", ast.LtE: "Le", ast.Gt: "Gt", ast.GtE: "Ge"}
_DESCRIBE = {ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "lambda",
             ast.Constant: "this constant", ast.Call: "this call", ast.Compare: "a comparison here",
             ast.BoolOp: "and/or", ast.IfExp: "if/else", ast.NamedExpr: ":=", ast.Tuple: "a tuple here",
             ast.JoinedStr: "an f-string", ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set",
             ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
             ast.GeneratorExp: "a generator", ast.Starred: "*unpacking", ast.Await: "await", ast.Yield: "yield"}


def show(text) -> str:
    """``repr`` of ``text`` shortened for one-line messages."""
    text = str(text)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _short(number) -> str:
    """A number for messages, cut to 40 characters."""
    text = str(number)
    return text if len(text) <= 40 else text[:37] + "..."


def symbol():
    """The real symbol x every expression is in."""
    import sympy

    return sympy.Symbol("x", real=True)


def parse(text: str):
    """The SymPy expression of ``text``, built from its checked Python syntax tree.

    Raises:
        InputError: the text is not an expression of the allowed form, or too costly
            (the message names the offending part and what is allowed).

    >>> str(parse("x*tanh(x) + 1/2"))
    'x*tanh(x) + 1/2'
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"expression {text!r} is empty or not text; give an expression in x, e.g. 'x*tanh(x)'")
    if len(text) > MAX_LENGTH:
        raise InputError(f"expression {show(text)} has {len(text)} characters; at most {MAX_LENGTH} are allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        raise InputError(f"unparsable expression {show(text)} ({detail}); give an expression in x, e.g. 'x*tanh(x)'") from None
    _check_size(tree.body, text)
    builder = _Builder(text)
    expr = builder.build(tree.body, 0)
    import sympy

    if not isinstance(expr, sympy.Expr):
        raise InputError(f"expression {show(text)} is not a numeric expression in x")
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan, sympy.I):
        raise InputError(f"expression {show(text)} is {show(expr)}: infinite, undefined or complex (a division by 0?)")
    return expr


def _check_size(root, text) -> None:
    """Node count and nesting depth, measured without recursion."""
    count, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise InputError(f"expression {show(text)} has more than {MAX_NODES} parts; simplify it")
        if depth > MAX_DEPTH:
            raise InputError(f"expression {show(text)} is nested more than {MAX_DEPTH} levels deep")
        for child in ast.iter_child_nodes(node):
            same_chain = (isinstance(node, ast.BinOp) and isinstance(child, ast.BinOp) and child is node.left
                          and _chain(node.op) is not None and _chain(node.op) == _chain(child.op))
            stack.append((child, depth if same_chain else depth + 1))


def _chain(op):
    if isinstance(op, (ast.Add, ast.Sub)):
        return "add"
    if isinstance(op, (ast.Mult, ast.Div)):
        return "mul"
    return None


def _snippet(node) -> str:
    """The source of a syntax node, for messages (ast.unparse only prints the tree)."""
    try:
        return show(ast.unparse(node))
    except (ValueError, RecursionError):
        return ""


class _Builder:
    """Builds SymPy objects from a checked syntax tree, refusing everything else."""

    def __init__(self, text):
        import sympy

        self.sympy = sympy
        self.text = text
        self.x = symbol()
        self.deadline = time.perf_counter() + BUILD_SECONDS

    def refuse(self, what: str):
        raise InputError(f"expression {show(self.text)}: {what} is not allowed; allowed: {ALLOWED}")

    def build(self, node, depth):
        if time.perf_counter() > self.deadline:
            raise InputError(f"expression {show(self.text)} is too costly to build (over {BUILD_SECONDS:g} s); simplify it")
        try:
            out = self._build(node, depth)
        except InputError:
            raise
        except (TypeError, ValueError, ArithmeticError, AttributeError, RecursionError) as exc:
            raise InputError(f"expression {show(self.text)} cannot be built ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:80]})") from None
        if isinstance(out, self.sympy.Expr) and not out.free_symbols:
            self.check_constant(out)
        return out

    def _build(self, node, depth):
        s = self.sympy
        if isinstance(node, ast.Constant):
            return self.number(node.value)
        if isinstance(node, ast.Name):
            if node.id == "x":
                return self.x
            if node.id in CONSTANTS:
                return getattr(s, node.id)
            self.refuse(f"the name {node.id!r}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.build(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self.binary(node, depth)
        if isinstance(node, ast.BinOp):
            hint = " (use ** for powers)" if isinstance(node.op, ast.BitXor) else ""
            self.refuse(f"the operator {type(node.op).__name__}{hint}")
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        self.refuse(f"{_DESCRIBE.get(type(node), type(node).__name__)} {_snippet(node)}")

    def number(self, value):
        s = self.sympy
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.refuse(f"the constant {show(value)}")
        if isinstance(value, int):
            if value.bit_length() > MAX_INTEGER_BITS:
                raise InputError(f"expression {show(self.text)}: integer {show(value)} has more than {MAX_INTEGER_BITS} bits")
            return s.Integer(value)
        if not math.isfinite(value):
            raise InputError(f"expression {show(self.text)}: number {value!r} is not finite in float64")
        return s.Float(value)

    def binary(self, node, depth):
        s = self.sympy
        if isinstance(node.op, ast.Pow):
            return self.power(self.build(node.left, depth + 1), self.build(node.right, depth + 1))
        kind = _chain(node.op)
        items = []
        while isinstance(node, ast.BinOp) and _chain(node.op) == kind:  # a - b + c: walk the chain, no recursion
            items.append((node.op, node.right))
            node = node.left
        first = self.build(node, depth + 1)
        if kind == "add":
            terms = [first] + [self.build(r, depth + 1) * (-1 if isinstance(op, ast.Sub) else 1) for op, r in reversed(items)]
            return s.Add(*terms)
        factors = [first]
        for op, r in reversed(items):
            value = self.build(r, depth + 1)
            factors.append(self.power(value, s.Integer(-1)) if isinstance(op, ast.Div) else value)
        return s.Mul(*factors)

    def power(self, base, exponent):
        s = self.sympy
        if exponent.is_Number:
            if abs(exponent) > MAX_EXPONENT:
                raise InputError(f"expression {show(self.text)}: exponent {_short(exponent)} is too large; "
                                 f"numeric exponents are at most {MAX_EXPONENT} in absolute value")
            if isinstance(exponent, s.Rational) and exponent.q > MAX_EXPONENT:
                raise InputError(f"expression {show(self.text)}: exponent {_short(exponent)} has a denominator over {MAX_EXPONENT}")
            if isinstance(base, s.Rational) and isinstance(exponent, s.Rational):
                bits = (int(base.p).bit_length() + int(base.q).bit_length()) * abs(int(exponent.p))
                if bits > MAX_INTEGER_BITS:
                    raise InputError(f"expression {show(self.text)}: the constant {base}**{exponent} is too large "
                                     f"(about {bits} bits; at most {MAX_INTEGER_BITS})")
        elif not exponent.free_symbols:
            value = evaluate(exponent, np.zeros(1))[0]
            if abs(value) > MAX_EXPONENT:
                raise InputError(f"expression {show(self.text)}: exponent {_short(exponent)} is too large; "
                                 f"numeric exponents are at most {MAX_EXPONENT} in absolute value")
        return s.Pow(base, exponent)

    def call(self, node, depth):
        s = self.sympy
        if not isinstance(node.func, ast.Name):
            kind = "attribute access" if isinstance(node.func, ast.Attribute) else "calling anything but a function name"
            self.refuse(f"{kind} {_snippet(node.func)}")
        name = node.func.id
        if node.keywords:
            self.refuse(f"a keyword argument in {name}()")
        if any(isinstance(a, ast.Starred) for a in node.args):
            self.refuse(f"a *argument in {name}()")
        if name == "Piecewise":
            return self.piecewise(node, depth)
        if name not in FUNCTIONS:
            self.refuse(f"the function {name!r}")
        attr, least, most = FUNCTIONS[name]
        if not least <= len(node.args) <= most:
            counts = str(least) if least == most else f"{least} to {most}"
            raise InputError(f"expression {show(self.text)}: {name}() takes {counts} argument(s), got {len(node.args)}")
        args = [self.build(a, depth + 1) for a in node.args]
        return getattr(s, attr)(*args)

    def piecewise(self, node, depth):
        s = self.sympy
        if not 1 <= len(node.args) <= MAX_ARGS:
            raise InputError(f"expression {show(self.text)}: Piecewise takes 1 to {MAX_ARGS} (expr, condition) pairs")
        pairs = []
        for piece in node.args:
            if not (isinstance(piece, ast.Tuple) and len(piece.elts) == 2):
                self.refuse("a Piecewise argument other than (expr, condition)")
            value = self.build(piece.elts[0], depth + 2)
            pairs.append((value, self.condition(piece.elts[1], depth + 2)))
        return s.Piecewise(*pairs)

    def condition(self, node, depth):
        s = self.sympy
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return s.true if node.value else s.false
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE):
            self.refuse("a Piecewise condition other than one comparison a < b, a <= b, a > b, a >= b or True")
        left = self.build(node.left, depth + 1)
        right = self.build(node.comparators[0], depth + 1)
        return getattr(s, _COMPARE[type(node.ops[0])])(left, right)

    def check_constant(self, value):
        """A constant subexpression must be a finite real float64: bounds what SymPy may later
        evaluate (numerically comparing exp(exp(exp(100))) would run for hours)."""
        s = self.sympy
        if value.has(s.zoo, s.oo, -s.oo, s.nan, s.I):
            raise InputError(f"expression {show(self.text)}: {show(value)} is infinite, undefined or complex")
        try:
            with np.errstate(all="ignore"):
                number = evaluate(value, np.zeros(1))[0]
        except InputError:
            raise
        except (OverflowError, ValueError, TypeError) as exc:
            raise InputError(f"expression {show(self.text)}: constant {show(value)} cannot be evaluated ({type(exc).__name__})") from None
        if not np.isfinite(number):
            raise InputError(f"expression {show(self.text)}: constant {show(value)} is not a finite real float64 number")


# ---------------------------------------------------------------------------------------
# Evaluation: a numpy walk over the SymPy tree (float64)
# ---------------------------------------------------------------------------------------
_NUMPY = {"exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos, "tan": np.tan,
          "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
          "tanh": np.tanh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
          "Abs": np.abs, "sign": np.sign}
_RELATIONS = {"StrictLessThan": np.less, "LessThan": np.less_equal,
              "StrictGreaterThan": np.greater, "GreaterThan": np.greater_equal}


def evaluate(expr, x: np.ndarray) -> np.ndarray:
    """``expr`` at the float64 points ``x`` (numpy semantics: nan outside a function's domain)."""
    import sympy

    if expr.is_Symbol:
        return x
    if expr.is_Number or isinstance(expr, sympy.NumberSymbol):
        return np.full(x.shape, float(expr))
    name = type(expr).__name__
    if expr.is_Add:
        return functools.reduce(np.add, (evaluate(a, x) for a in expr.args))
    if expr.is_Mul:
        return functools.reduce(np.multiply, (evaluate(a, x) for a in expr.args))
    if expr.is_Pow:
        base, exponent = expr.args
        b = evaluate(base, x)
        if exponent == sympy.S.Half:
            return np.sqrt(b)
        if exponent.is_Integer:
            return np.power(b, float(exponent))
        return np.power(b, evaluate(exponent, x))
    if name in _NUMPY:
        return _NUMPY[name](evaluate(expr.args[0], x))
    if name in ("erf", "erfc"):
        from scipy import special  # only for expressions that use them

        return getattr(special, name)(evaluate(expr.args[0], x))
    if name in ("Max", "Min"):
        return functools.reduce(np.maximum if name == "Max" else np.minimum, (evaluate(a, x) for a in expr.args))
    if name == "Heaviside":
        h0 = float(expr.args[1]) if len(expr.args) > 1 else 0.5
        return np.heaviside(evaluate(expr.args[0], x), h0)
    if name == "Piecewise":
        conditions = [_condition(pair.cond, x) for pair in expr.args]
        values = [evaluate(pair.expr, x) for pair in expr.args]
        return np.select(conditions, values, default=np.nan)
    raise InputError(f"polyfit cannot evaluate {name} (in {show(expr)}); allowed: {ALLOWED}")


def _condition(cond, x):
    import sympy

    if cond is sympy.true:
        return np.ones(x.shape, dtype=bool)
    if cond is sympy.false:
        return np.zeros(x.shape, dtype=bool)
    name = type(cond).__name__
    if name not in _RELATIONS:
        raise InputError(f"polyfit cannot evaluate the condition {show(cond)}; use one comparison or True")
    return _RELATIONS[name](evaluate(cond.lhs, x), evaluate(cond.rhs, x))


def canonical_text(expr) -> str:
    """SymPy's text of ``expr`` with floats written as their shortest round-trip repr, so that
    :func:`parse` of the text gives back the same expression."""
    from sympy.printing.str import StrPrinter

    class _Printer(StrPrinter):
        def _print_Float(self, value):
            return repr(float(value))

    return _Printer().doprint(expr)


def breakpoints(expr) -> tuple:
    """Real zeros of the arguments of Abs, sign, Heaviside, two-argument Max/Min and of
    Piecewise conditions, where that argument is a polynomial of degree at most 8 in x (found
    with numpy.roots; other kinks are not listed and quadrature just converges slower)."""
    import sympy

    x = symbol()
    arguments = []
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, (sympy.Abs, sympy.sign, sympy.Heaviside)):
            arguments.append(node.args[0])
        elif isinstance(node, (sympy.Max, sympy.Min)) and len(node.args) == 2:
            arguments.append(node.args[0] - node.args[1])
        elif isinstance(node, sympy.Piecewise):
            arguments.extend(p.cond.lhs - p.cond.rhs for p in node.args if isinstance(p.cond, sympy.core.relational.Relational))
    points = set()
    for arg in arguments:
        if not arg.is_polynomial(x):
            continue
        poly = sympy.Poly(arg, x)
        if not 1 <= poly.degree() <= 8:
            continue
        coefficients = [float(c) for c in poly.all_coeffs()]
        for root in np.roots(coefficients):
            if abs(root.imag) <= 1e-12 * max(1.0, abs(root.real)):
                points.add(float(root.real))
    return tuple(sorted(points))


class CompiledExpression:
    """A vectorised float64 function of an expression (pickles as its text)."""

    def __init__(self, expr):
        self.expr = expr
        self.text = canonical_text(expr)

    def __call__(self, values):
        x = np.asarray(values, dtype=float)
        with np.errstate(all="ignore"):
            out = np.asarray(evaluate(self.expr, x), dtype=float)
        return np.broadcast_to(out, x.shape).copy()

    def __reduce__(self):
        return (_compiled_from_text, (self.text,))

    def __repr__(self):
        return f"CompiledExpression({self.text!r})"


def _compiled_from_text(text):
    return CompiledExpression(parse(text))
