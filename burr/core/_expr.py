"""Expression helpers behind ``Condition.expr``/``Condition.safe_expr`` and the ``@action`` reads scan.

``expr`` compiles the expression once into a lambda whose parameters are the state keys it reads,
so evaluating it is a plain function call (no ``eval``, no copy of the state per evaluation).
``safe_expr`` never hands the text to Python's compiler: it checks the AST against an allow-list at
construction and turns it into nested closures.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import operator
from collections.abc import Mapping
from typing import Any, Callable

Evaluator = Callable[[Mapping[str, Any]], Any]

_BUILTIN_NAMES = frozenset(dir(builtins))


# --------------------------------------------------------------------------------------------
# expr: trusted Python expressions
# --------------------------------------------------------------------------------------------


def _free_names(tree: ast.AST) -> tuple[list[str], list[str]]:
    """Names loaded by ``tree`` and not bound inside it: (state keys, builtin-named ones)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    keys: list[str] = []
    shadowable: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
            target = shadowable if node.id in _BUILTIN_NAMES else keys
            if node.id not in target:
                target.append(node.id)
    return keys, shadowable


def compile_expr(expression: str) -> tuple[list[str], Callable[[Mapping[str, Any]], Any]]:
    """Compile a Python expression; returns (state keys it reads, state -> the expression's value)."""
    keys, resolve = _compile_expr(expression)
    return list(keys), resolve


# Apps are often built per request from the same expressions: parse and compile each one once.
@functools.lru_cache(maxsize=1024)
def _compile_expr(expression: str) -> tuple[tuple[str, ...], Callable[[Mapping[str, Any]], Any]]:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"expr({expression!r}) is not a valid Python expression: {e.msg}.") from e
    keys, shadowable = _free_names(tree)
    # lambda <keys>, *, <builtin-named>=<builtin>: <expression>
    # A state key that happens to be named like a builtin (``len``, ``id``) is not a read (as in
    # Apache Burr) but still shadows the builtin when it is present in the state.
    args = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=k) for k in keys],
        vararg=None,
        kwonlyargs=[ast.arg(arg=k) for k in shadowable],
        kw_defaults=[ast.Name(id=k, ctx=ast.Load()) for k in shadowable],
        kwarg=None,
        defaults=[],
    )
    lam = ast.Expression(body=ast.Lambda(args=args, body=tree.body))
    ast.fix_missing_locations(lam)
    fn = eval(compile(lam, f"<expr {expression!r}>", "eval"), {"__builtins__": builtins})

    if shadowable:

        def resolve(state: Mapping[str, Any]) -> Any:
            args = [state[k] for k in keys]
            for name in shadowable:
                if name in state:  # rare: only then pay for the keyword dict
                    return fn(*args, **{k: state[k] for k in shadowable if k in state})
            return fn(*args)

    elif len(keys) == 1:
        (key,) = keys

        def resolve(state: Mapping[str, Any]) -> Any:
            return fn(state[key])

    else:

        def resolve(state: Mapping[str, Any]) -> Any:
            return fn(*[state[k] for k in keys])

    return tuple(keys), resolve


@functools.lru_cache(maxsize=1024)
def compile_expr_evaluator(
    expression: str,
) -> Callable[[Callable[[Mapping[str, Any]], Exception]], Evaluator]:
    """The engine's evaluator for ``expr``: one plain function call per transition check.

    Returns ``make(missing)``; ``make`` builds ``evaluate(state)``, which reads every key the
    expression uses (in order, as ``compile_expr``'s resolver does), raises ``missing(state)`` when
    one is absent, lets a builtin-named key present in the state shadow the builtin, then
    evaluates the expression. Call only with an expression that ``compile_expr`` accepted.
    """
    tree = ast.parse(expression.strip(), mode="eval")
    keys, shadowable = _free_names(tree)
    names = ["_burr_state", "_burr_missing", "_burr_builtins"]
    while any(n in keys or n in shadowable for n in names):  # generated names must not collide with a key
        names = [n + "_" for n in names]
    state_arg, missing_arg, builtins_name = names

    def load(name: str) -> ast.expr:
        return ast.Name(id=name, ctx=ast.Load())

    def read(key: str) -> ast.expr:
        return ast.Subscript(value=load(state_arg), slice=ast.Constant(key), ctx=ast.Load())

    def assign(key: str, value: ast.expr) -> ast.stmt:
        return ast.Assign(targets=[ast.Name(id=key, ctx=ast.Store())], value=value)

    # def make(_burr_missing):
    #     def evaluate(_burr_state):
    #         try:
    #             <key> = _burr_state["<key>"]            (each key, in order)
    #         except _burr_builtins.KeyError:
    #             raise _burr_missing(_burr_state) from None
    #         if "<name>" in _burr_state:                 (each builtin-named key)
    #             <name> = _burr_state["<name>"]
    #         else:
    #             <name> = _burr_builtins.<name>
    #         return <expression>
    #     return evaluate
    body: list[ast.stmt] = []
    if keys:
        raise_missing = ast.Raise(
            exc=ast.Call(func=load(missing_arg), args=[load(state_arg)], keywords=[]),
            cause=ast.Constant(None),
        )
        key_error = ast.Attribute(value=load(builtins_name), attr="KeyError", ctx=ast.Load())
        body.append(
            ast.Try(
                body=[assign(k, read(k)) for k in keys],
                handlers=[ast.ExceptHandler(type=key_error, name=None, body=[raise_missing])],
                orelse=[],
                finalbody=[],
            )
        )
    for name in shadowable:
        builtin = ast.Attribute(value=load(builtins_name), attr=name, ctx=ast.Load())
        present = ast.Compare(left=ast.Constant(name), ops=[ast.In()], comparators=[load(state_arg)])
        body.append(ast.If(test=present, body=[assign(name, read(name))], orelse=[assign(name, builtin)]))
    body.append(ast.Return(value=tree.body))
    evaluate = ast.FunctionDef(
        name="evaluate", args=_positional([state_arg]), body=body, decorator_list=[], returns=None
    )
    make = ast.FunctionDef(
        name="make",
        args=_positional([missing_arg]),
        body=[evaluate, ast.Return(value=load("evaluate"))],
        decorator_list=[],
        returns=None,
    )
    module = ast.Module(body=[make], type_ignores=[])
    ast.fix_missing_locations(module)
    namespace: dict[str, Any] = {"__builtins__": builtins, builtins_name: builtins}
    exec(compile(module, f"<expr {expression!r}>", "exec"), namespace)
    return namespace["make"]  # type: ignore[no-any-return]


def _positional(names: list[str]) -> ast.arguments:
    return ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=n) for n in names],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )


# --------------------------------------------------------------------------------------------
# safe_expr: allow-listed interpreter for untrusted expressions
# --------------------------------------------------------------------------------------------

_SAFE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(builtins, name)
    for name in (
        "abs",
        "all",
        "any",
        "bool",
        "float",
        "int",
        "len",
        "max",
        "min",
        "round",
        "sorted",
        "str",
        "sum",
        "list",
        "tuple",
        "set",
    )
}
_SAFE_METHODS = frozenset(
    {
        "startswith",
        "endswith",
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "isdigit",
        "isalpha",
        "isalnum",
        "get",
        "keys",
        "values",
        "items",
        "count",
        "index",
    }
)
_SAFE_RECEIVERS = (str, dict, list, tuple, set, frozenset)
_MAX_POWER = 1000
_MAX_RESULT_BITS = 1_000_000
_MAX_REPEAT = 1_000_000

_BIN_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY_OPS: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_CMP_OPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


def _safe_pow(a: Any, b: Any) -> Any:
    if isinstance(b, (int, float)) and abs(b) > _MAX_POWER:
        raise ValueError(f"safe_expr refuses exponents larger than {_MAX_POWER} (got {b}).")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() * abs(b) > _MAX_RESULT_BITS:
        raise ValueError(f"safe_expr refuses powers with results over {_MAX_RESULT_BITS} bits.")
    return a**b


def _safe_mul(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if (
            isinstance(seq, (str, bytes, list, tuple))
            and isinstance(n, int)
            and n * max(len(seq), 1) > _MAX_REPEAT
        ):
            raise ValueError(f"safe_expr refuses to build sequences longer than {_MAX_REPEAT} items.")
    return a * b


class _SafeCompiler:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.keys: list[str] = []

    def reject(self, what: str) -> ValueError:
        return ValueError(
            f"safe_expr({self.expression!r}) cannot use {what}. safe_expr allows literals, state keys, "
            "arithmetic, comparisons, and/or/not, if-else, subscripts, non-underscore attributes and "
            f"calls to {sorted(_SAFE_FUNCTIONS)} (plus common str/dict/list methods). Use expr(...) "
            "for trusted expressions or write a Condition with a Python function."
        )

    def compile(self, node: ast.AST) -> Evaluator:  # noqa: C901 -- one branch per node type
        if isinstance(node, ast.Constant):
            value = node.value
            return lambda s: value
        if isinstance(node, ast.Name):
            key = node.id
            if key not in self.keys:
                self.keys.append(key)
            return lambda s: s[key]
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(v) for v in node.values]
            if isinstance(node.op, ast.And):

                def and_(s: Mapping[str, Any]) -> Any:
                    result: Any = True
                    for part in parts:
                        result = part(s)
                        if not result:
                            return result
                    return result

                return and_

            def or_(s: Mapping[str, Any]) -> Any:
                result: Any = False
                for part in parts:
                    result = part(s)
                    if result:
                        return result
                return result

            return or_
        if isinstance(node, ast.BinOp):
            op = _BIN_OPS.get(type(node.op))
            if op is None:
                raise self.reject(f"the operator {type(node.op).__name__}")
            if isinstance(node.op, ast.Pow):
                op = _safe_pow
            elif isinstance(node.op, ast.Mult):
                op = _safe_mul
            left, right = self.compile(node.left), self.compile(node.right)
            bin_op = op
            return lambda s: bin_op(left(s), right(s))
        if isinstance(node, ast.UnaryOp):
            uop = _UNARY_OPS.get(type(node.op))
            if uop is None:
                raise self.reject(f"the operator {type(node.op).__name__}")
            operand = self.compile(node.operand)
            return lambda s: uop(operand(s))
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.IfExp):
            test, body, orelse = self.compile(node.test), self.compile(node.body), self.compile(node.orelse)
            return lambda s: body(s) if test(s) else orelse(s)
        if isinstance(node, ast.Subscript):
            value_fn, index_fn = self.compile(node.value), self.compile(node.slice)
            return lambda s: value_fn(s)[index_fn(s)]
        if isinstance(node, ast.Slice):
            lower = self.compile(node.lower) if node.lower else None
            upper = self.compile(node.upper) if node.upper else None
            step = self.compile(node.step) if node.step else None
            return lambda s: slice(
                lower(s) if lower else None, upper(s) if upper else None, step(s) if step else None
            )
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise self.reject(f"the underscore attribute `.{node.attr}`")
            obj_fn, attr = self.compile(node.value), node.attr
            return lambda s: getattr(obj_fn(s), attr)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = [self.compile(e) for e in node.elts]
            ctor: Callable[[Any], Any] = {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)]
            return lambda s: ctor(item(s) for item in items)
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise self.reject("`**` unpacking")
            pairs = [
                (self.compile(k), self.compile(v)) for k, v in zip(node.keys, node.values) if k is not None
            ]
            return lambda s: {k(s): v(s) for k, v in pairs}
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Lambda):
            raise self.reject("lambda")
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            raise self.reject("comprehensions")
        raise self.reject(f"the syntax {type(node).__name__}")

    def _compare(self, node: ast.Compare) -> Evaluator:
        first = self.compile(node.left)
        steps = []
        for op_node, comparator in zip(node.ops, node.comparators):
            op = _CMP_OPS.get(type(op_node))
            if op is None:  # pragma: no cover -- every cmpop is listed
                raise self.reject(f"the comparison {type(op_node).__name__}")
            steps.append((op, self.compile(comparator)))

        def compare(s: Mapping[str, Any]) -> bool:
            left = first(s)
            for op, right_fn in steps:
                right = right_fn(s)
                if not op(left, right):
                    return False
                left = right
            return True

        return compare

    def _call(self, node: ast.Call) -> Evaluator:
        if node.keywords and any(k.arg is None for k in node.keywords):
            raise self.reject("`**` unpacking")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.reject("`*` unpacking")
        args = [self.compile(a) for a in node.args]
        kwargs = [(k.arg, self.compile(k.value)) for k in node.keywords if k.arg is not None]
        if isinstance(node.func, ast.Name):
            fn = _SAFE_FUNCTIONS.get(node.func.id)
            if fn is None:
                raise self.reject(f"a call to `{node.func.id}`")
            return lambda s: fn(*[a(s) for a in args], **{k: v(s) for k, v in kwargs})
        if isinstance(node.func, ast.Attribute) and node.func.attr in _SAFE_METHODS:
            receiver_fn, method = self.compile(node.func.value), node.func.attr

            def call_method(s: Mapping[str, Any]) -> Any:
                receiver = receiver_fn(s)
                if not isinstance(receiver, _SAFE_RECEIVERS):
                    raise ValueError(
                        f"safe_expr({self.expression!r}) only calls .{method}() on str/dict/list/tuple/set "
                        f"values, got a {type(receiver).__name__}."
                    )
                return getattr(receiver, method)(*[a(s) for a in args], **{k: v(s) for k, v in kwargs})

            return call_method
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            self.compile(node.func)  # raises the specific rejection (lambda, ...) when there is one
        raise self.reject("this call (only allow-listed functions and str/dict/list methods)")


def compile_safe_expr(expression: str) -> tuple[list[str], Callable[[Mapping[str, Any]], bool]]:
    """Validate and compile an untrusted expression; returns (state keys it reads, state -> bool)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"safe_expr({expression!r}) is not a valid expression: {e.msg}.") from e
    compiler = _SafeCompiler(expression)
    evaluator = compiler.compile(tree.body)
    return compiler.keys, lambda state: bool(evaluator(state))


# --------------------------------------------------------------------------------------------
# @action static scan: state["literal"] reads that are not declared
# --------------------------------------------------------------------------------------------


def _annotation_is_state(annotation: Any) -> bool:
    from burr.core.state import State

    return annotation is State or annotation in ("State", "burr.core.state.State", "burr.core.State")


def undeclared_state_reads(fn: Callable[..., Any], reads: list[str], writes: list[str]) -> list[str]:
    """Keys ``fn`` reads as ``state["key"]`` that are in neither ``reads`` nor ``writes``.

    Conservative by design: returns ``[]`` whenever it cannot be sure (no source, no parameter
    named ``state`` annotated exactly ``State``, a nested scope rebinding ``state``, ...). Keys
    in ``writes`` are skipped because an action may read back what it just wrote.
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return []
    param = params.get("state")
    if param is None or not _annotation_is_state(param.annotation):
        return []
    import textwrap  # lazy: keeps `import burr.core` cheap

    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return []
    func = next(
        (
            n
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == fn.__name__
        ),
        None,
    )
    if func is None:
        return []
    allowed = set(reads) | set(writes)
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return  # another scope: `state` there may be something else
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) and any(
            isinstance(n, ast.Name) and n.id == "state" for g in node.generators for n in ast.walk(g.target)
        ):
            return  # the comprehension rebinds `state`
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
            and node.value.id == "state"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            key = node.slice.value
            if key not in allowed and not key.startswith("__") and key not in found:
                found.append(key)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for stmt in func.body:
        visit(stmt)
    return found
