"""``@step`` and ``@pipeline``: a pipeline body wires steps; the DAG follows the data.

Inside a pipeline body, calling a step does not run it: it records a node and returns
an :class:`Output` placeholder (a tuple of them for steps with several outputs).
Passing a placeholder to another step is a data dependency; ``.after(other)`` adds an
ordering-only one. Outside a pipeline body a step is a plain function call.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
import json
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..compute import Resources
from ..core import InvalidInput, validate_name
from ._materializers import ref_of


class PipelineCycle(InvalidInput):
    """The steps' dependencies form a cycle."""


class MissingInput(InvalidInput):
    """A step was called without a required input, or with one from elsewhere."""


def _default_name(fn: Callable[..., Any]) -> str:
    """A valid step name from a function name (``_inc`` → ``inc``, lambdas → ``lambda``)."""
    import re

    text = re.sub(r"[^A-Za-z0-9._-]", "", getattr(fn, "__name__", "step")).lstrip("._-")
    return text[:128] or "step"


class Step:
    """A function made into a pipeline step (see :func:`step`)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        cache: bool = True,
        retries: int = 0,
        retry_delay: float = 1.0,
        timeout: float | None = None,
        resources: Resources | None = None,
        version: str | None = None,
        cache_ignore: Sequence[str] = (),
        outputs: int | Sequence[str] | None = None,
    ) -> None:
        self.fn = fn
        self.name = validate_name(name or _default_name(fn), "step")
        if retries < 0:
            raise InvalidInput(f"step {self.name!r}: retries must be >= 0, got {retries}")
        if timeout is not None and timeout <= 0:
            raise InvalidInput(f"step {self.name!r}: timeout must be > 0 seconds, got {timeout}")
        self.cache = cache
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.resources = resources or Resources()
        self.version = version
        self.cache_ignore = frozenset(cache_ignore)
        self.signature = inspect.signature(fn)
        unknown = self.cache_ignore - set(self.signature.parameters)
        if unknown:
            raise InvalidInput(
                f"step {self.name!r}: cache_ignore names {sorted(unknown)}, which are not "
                f"parameters of {fn.__name__}{self.signature}",
            )
        if isinstance(outputs, int):
            if outputs < 1:
                raise InvalidInput(f"step {self.name!r}: outputs must be >= 1")
            self.outputs: tuple[str, ...] | None = tuple(str(i) for i in range(outputs))
        elif outputs is None:
            self.outputs = None
        else:
            self.outputs = tuple(outputs)
        self.identity = f"{fn.__module__}.{fn.__qualname__}"
        functools.update_wrapper(self, fn)

    @functools.cached_property
    def code_hash(self) -> str:
        """Hash of the function's source without decorators (bytecode as a fallback)."""
        try:
            src = textwrap.dedent(inspect.getsource(self.fn))
            lines = src.splitlines()
            start = next(
                i for i, line in enumerate(lines) if line.lstrip().startswith(("def ", "async def"))
            )
            text = "\n".join(lines[start:]).encode()
        except (OSError, TypeError, StopIteration):
            code = self.fn.__code__
            text = code.co_code + repr(code.co_consts).encode()
        return hashlib.sha256(text).hexdigest()

    @property
    def output_names(self) -> tuple[str, ...]:
        return self.outputs or ("output",)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = _builder.get()
        if builder is None:
            return self.fn(*args, **kwargs)
        return builder.add(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<step {self.name}>"


def step(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    retry_delay: float = 1.0,
    timeout: float | None = None,
    resources: Resources | None = None,
    version: str | None = None,
    cache_ignore: Sequence[str] = (),
    outputs: int | Sequence[str] | None = None,
) -> Any:
    """Make a function a pipeline step: ``@sy.step`` or ``@sy.step(cache=False, …)``.

    ``cache``: reuse outputs when the cache key (code, ``version``, parameters minus
    ``cache_ignore``, input digests) was seen before. ``retries`` with exponential
    backoff from ``retry_delay`` seconds. ``timeout`` kills the step's process.
    ``resources`` is what the executor reserves. ``outputs`` declares several outputs
    (a count or names); the function then returns a tuple of that length.
    """
    options = dict(
        name=name,
        cache=cache,
        retries=retries,
        retry_delay=retry_delay,
        timeout=timeout,
        resources=resources,
        version=version,
        cache_ignore=cache_ignore,
        outputs=outputs,
    )
    if fn is None:
        return lambda f: Step(f, **options)  # type: ignore[arg-type]
    return Step(fn, **options)  # type: ignore[arg-type]


@dataclass(eq=False)
class Output:
    """A placeholder for a step's output inside a pipeline body."""

    node: Node
    name: str

    def after(self, *others: Output | Sequence[Output]) -> Output:
        self.node.after(*others)
        return self

    def __repr__(self) -> str:
        return f"<output {self.node.name}.{self.name}>"

    def __bool__(self) -> bool:
        raise InvalidInput(
            f"the output of step {self.node.name!r} is not known while the pipeline is "
            "being built, so it cannot be used in an if/while; branch inside a step instead"
        )


@dataclass(eq=False)
class Node:
    """One call of a step in a pipeline."""

    name: str
    step: Step
    params: dict[str, Any]
    inputs: dict[str, Any]  # arg → ("out", node, name) | ("list", [...]) | ("ref", kind, id)
    deps: list[Node] = field(default_factory=list)
    order_deps: list[Node] = field(default_factory=list)
    builder: _Builder | None = None

    def after(self, *others: Output | Node | Sequence[Output]) -> Node:
        for o in _flatten(others):
            node = o.node if isinstance(o, Output) else o
            if not isinstance(node, Node):
                raise InvalidInput(f"{o!r} is not a step output; .after() takes step outputs")
            if node not in self.order_deps:
                self.order_deps.append(node)
        return self

    @property
    def upstream(self) -> list[Node]:
        seen: dict[int, Node] = {}
        for n in [*self.deps, *self.order_deps]:
            seen.setdefault(id(n), n)
        return list(seen.values())


def _flatten(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for i in items:
        if isinstance(i, list | tuple):
            out.extend(_flatten(i))
        else:
            out.append(i)
    return out


class _Builder:
    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.nodes: list[Node] = []
        self._names: dict[str, int] = {}

    def add(self, s: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            bound = s.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise MissingInput(
                f"pipeline {self.pipeline!r}: step {s.name!r} was called with the wrong "
                f"inputs ({exc}); its signature is {s.fn.__name__}{s.signature}",
                details={"step": s.name},
            ) from None
        bound.apply_defaults()
        count = self._names.get(s.name, 0) + 1
        self._names[s.name] = count
        name = s.name if count == 1 else f"{s.name}_{count}"
        node = Node(name=name, step=s, params={}, inputs={}, builder=self)
        for arg, value in bound.arguments.items():
            self._bind(node, arg, value)
        self.nodes.append(node)
        outs = tuple(Output(node, o) for o in s.output_names)
        return outs if s.outputs else outs[0]

    def _bind(self, node: Node, arg: str, value: Any) -> None:
        if isinstance(value, Output):
            self._check_owned(node, value)
            node.inputs[arg] = ("out", value.node, value.name)
            if value.node not in node.deps:
                node.deps.append(value.node)
            return
        if isinstance(value, list | tuple) and any(isinstance(v, Output) for v in value):
            items = []
            for v in value:
                if not isinstance(v, Output):
                    raise MissingInput(
                        f"step {node.name!r}: argument {arg!r} mixes step outputs with plain "
                        f"values ({v!r}); pass outputs and parameters as separate arguments",
                        details={"step": node.name, "argument": arg},
                    )
                self._check_owned(node, v)
                items.append((v.node, v.name))
                if v.node not in node.deps:
                    node.deps.append(v.node)
            node.inputs[arg] = ("list", items)
            return
        ref = ref_of(value)
        if ref is not None:
            node.inputs[arg] = ("ref", *ref)
            return
        try:
            json.dumps(value, sort_keys=True)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"step {node.name!r}: parameter {arg!r} is a {type(value).__name__}, which "
                "is not JSON; pass plain values (numbers, strings, lists, dicts) as "
                "parameters and produce objects in a step",
                details={"step": node.name, "argument": arg},
            ) from None
        node.params[arg] = value

    def _check_owned(self, node: Node, out: Output) -> None:
        if out.node.builder is not self:
            raise MissingInput(
                f"step {node.name!r} takes the output of {out.node.name!r}, which belongs "
                f"to another pipeline run; call {out.node.step.name!r} inside this pipeline",
                details={"step": node.name, "input": out.node.name},
            )


_builder: contextvars.ContextVar[_Builder | None] = contextvars.ContextVar(
    "shipyard_pipeline_builder", default=None
)


@dataclass
class Dag:
    """A built pipeline: nodes in a valid execution order."""

    pipeline: str
    nodes: list[Node]
    result: Any = None

    def by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes}

    def to_dict(self) -> dict[str, Any]:
        def spec(v: Any) -> Any:
            if v[0] == "out":
                return {"step": v[1].name, "output": v[2]}
            if v[0] == "list":
                return {"list": [{"step": n.name, "output": o} for n, o in v[1]]}
            return {"ref": v[1], "id": v[2]}

        result = None
        if isinstance(self.result, Output):
            result = [{"step": self.result.node.name, "output": self.result.name}]
        elif isinstance(self.result, tuple | list) and all(
            isinstance(r, Output) for r in self.result
        ):
            result = [{"step": r.node.name, "output": r.name} for r in self.result]
        return {
            "steps": [
                {
                    "name": n.name,
                    "step": n.step.identity,
                    "deps": [d.name for d in n.upstream],
                    "inputs": {k: spec(v) for k, v in n.inputs.items()},
                    "params": n.params,
                    "outputs": list(n.step.output_names),
                    "cache": n.step.cache,
                    "resources": n.step.resources.to_dict(),
                }
                for n in self.nodes
            ],
            "result": result,
        }


def toposort(pipeline: str, nodes: list[Node]) -> list[Node]:
    """Nodes in dependency order; raise PipelineCycle naming the steps in a cycle."""
    indeg = {id(n): 0 for n in nodes}
    children: dict[int, list[Node]] = {id(n): [] for n in nodes}
    for n in nodes:
        for d in n.upstream:
            if id(d) not in indeg:
                raise MissingInput(
                    f"pipeline {pipeline!r}: step {n.name!r} depends on {d.name!r}, which is "
                    "not part of this pipeline",
                    details={"step": n.name, "input": d.name},
                )
            indeg[id(n)] += 1
            children[id(d)].append(n)
    order: list[Node] = []
    ready = [n for n in nodes if indeg[id(n)] == 0]
    while ready:
        n = ready.pop()
        order.append(n)
        for c in children[id(n)]:
            indeg[id(c)] -= 1
            if indeg[id(c)] == 0:
                ready.append(c)
    if len(order) != len(nodes):
        stuck = sorted(n.name for n in nodes if indeg[id(n)] > 0)
        raise PipelineCycle(
            f"pipeline {pipeline!r} has a dependency cycle among steps {', '.join(stuck)}; "
            "a step cannot (indirectly) run after itself: remove one of the .after() "
            "dependencies",
            details={"pipeline": pipeline, "steps": stuck},
        )
    return order


class Pipeline:
    """A function whose body wires steps (see :func:`pipeline`)."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None) -> None:
        self.fn = fn
        self.name = validate_name(name or fn.__name__, "pipeline")
        self.signature = inspect.signature(fn)
        self.target: str | None = None  # "file.py:name" when loaded from a file
        functools.update_wrapper(self, fn)

    def bind_params(self, params: dict[str, Any] | None) -> dict[str, Any]:
        params = dict(params or {})
        names = set(self.signature.parameters)
        unknown = sorted(set(params) - names)
        if unknown:
            raise InvalidInput(
                f"pipeline {self.name!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are: {', '.join(sorted(names)) or 'none'}",
                details={"pipeline": self.name, "unknown": unknown},
            )
        try:
            bound = self.signature.bind(**params)
        except TypeError as exc:
            raise InvalidInput(
                f"pipeline {self.name!r}: {exc}; pass it with params={{...}} or --param k=v",
                details={"pipeline": self.name},
            ) from None
        bound.apply_defaults()
        return dict(bound.arguments)

    def build(self, params: dict[str, Any] | None = None) -> tuple[Dag, dict[str, Any]]:
        bound = self.bind_params(params)
        builder = _Builder(self.name)
        token = _builder.set(builder)
        try:
            result = self.fn(**bound)
        finally:
            _builder.reset(token)
        if not builder.nodes:
            raise InvalidInput(
                f"pipeline {self.name!r} calls no step; decorate functions with @step and "
                "call them in the pipeline body"
            )
        return Dag(self.name, toposort(self.name, builder.nodes), result), bound

    def run(
        self,
        params: dict[str, Any] | None = None,
        *,
        executor: Any = "local",
        ws: Any = None,
        **options: Any,
    ) -> Any:
        """Run the pipeline in *ws* (default: ``Workspace()``); return the PipelineRun."""
        if ws is None:
            from .._workspace import Workspace

            ws = Workspace()
        return ws.pipelines.run(self, params=params, executor=executor, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


def pipeline(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Make a function a pipeline: its body calls steps; ``.run(params=…)`` executes it."""
    if fn is None:
        return lambda f: Pipeline(f, name=name)
    return Pipeline(fn, name=name)
