"""The run filter grammar: a small tokenizer and a recursive-descent parser.

::

    filter     := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" or ")" | comparison
    comparison := field op value
                | field ["not"] "in" "(" value ("," value)* ")"
                | field ["not"] ("like" | "ilike") string
                | field "is" ["not"] "null"
    field      := ("metrics" | "params" | "tags" | "attributes") "." key | attribute
    key        := bare-key | `quoted key` | "quoted key"
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value      := number | 'string' | "string" | true | false

Keywords are case-insensitive. ``metric``/``param``/``tag``/``attr``/``run`` are
accepted as prefixes too; a bare attribute name (``status``) means ``attributes.status``.
Errors raise :class:`~shipyard.core.InvalidInput` naming the offending token and its
position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core import InvalidInput

PREFIXES = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
ATTRIBUTES = (
    "id",
    "run_id",
    "name",
    "status",
    "experiment",
    "experiment_id",
    "parent_id",
    "start_time",
    "end_time",
)
KEYWORDS = {"and", "or", "not", "in", "like", "ilike", "is", "null", "true", "false", "asc", "desc"}

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<field>(?:[A-Za-z_]+)\.(?:`[^`]*`|"[^"]*"|[A-Za-z0-9_][A-Za-z0-9_\-./:]*))
  | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Field:
    kind: str  # metrics | params | tags | attributes
    key: str

    def __str__(self) -> str:
        return f"{self.kind}.{self.key}"


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # = != < <= > >= like ilike in "not in" "is null" "is not null"
    value: Any = None


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


Expr = Compare | BoolOp | Not


def _error(text: str, pos: int, message: str, token: str | None = None) -> InvalidInput:
    near = token if token is not None else (text[pos : pos + 20] or "end of filter")
    pointer = f"{text}\n{' ' * pos}^"
    return InvalidInput(
        f"invalid run filter at position {pos} near {near!r}: {message}\n{pointer}",
        details={"position": pos, "token": near, "filter": text},
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise _error(text, pos, "unexpected character", text[pos])
        kind = m.lastgroup or ""
        if kind != "ws":
            tok_text = m.group()
            if kind == "word" and tok_text.lower() in KEYWORDS:
                kind = "kw"
                tok_text = tok_text.lower()
            tokens.append(Token(kind, tok_text, pos))
        pos = m.end()
    return tokens


def _unquote_string(tok: Token) -> str:
    body = tok.text[1:-1]
    if tok.text[0] == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self, expected: str) -> Token:
        tok = self.peek()
        if tok is None:
            raise _error(self.text, len(self.text), f"expected {expected}", "end of filter")
        self.i += 1
        return tok

    def fail(self, tok: Token | None, message: str) -> InvalidInput:
        if tok is None:
            return _error(self.text, len(self.text), message, "end of filter")
        return _error(self.text, tok.pos, message, tok.text)

    def is_kw(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "kw" and tok.text == word

    # grammar -----------------------------------------------------------------
    def parse(self) -> Expr:
        expr = self.or_()
        tok = self.peek()
        if tok is not None:
            raise self.fail(tok, "expected 'and', 'or' or the end of the filter")
        return expr

    def or_(self) -> Expr:
        items = [self.and_()]
        while self.is_kw("or"):
            self.i += 1
            items.append(self.and_())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_(self) -> Expr:
        items = [self.not_()]
        while self.is_kw("and"):
            self.i += 1
            items.append(self.not_())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_(self) -> Expr:
        if self.is_kw("not"):
            self.i += 1
            return Not(self.not_())
        tok = self.peek()
        if tok is not None and tok.kind == "lparen":
            self.i += 1
            expr = self.or_()
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise self.fail(close, f"expected ')' to close the '(' at position {tok.pos}")
            self.i += 1
            return expr
        return self.comparison()

    def field(self) -> Field:
        tok = self.next("a field such as metrics.auc, params.model or attributes.status")
        return parse_field(self.text, tok)

    def comparison(self) -> Compare:
        field = self.field()
        tok = self.next("an operator (=, !=, <, <=, >, >=, in, like, is)")
        if tok.kind == "op":
            op = {"==": "=", "<>": "!="}.get(tok.text, tok.text)
            return Compare(field, op, self.value())
        negated = False
        if tok.kind == "kw" and tok.text == "not":
            negated = True
            tok = self.next("'in', 'like' or 'ilike' after 'not'")
            if tok.kind != "kw" or tok.text not in ("in", "like", "ilike"):
                raise self.fail(tok, "expected 'in', 'like' or 'ilike' after 'not'")
        if tok.kind == "kw" and tok.text == "in":
            return Compare(field, "not in" if negated else "in", self.value_list())
        if tok.kind == "kw" and tok.text in ("like", "ilike"):
            s = self.next("a quoted pattern")
            if s.kind != "string":
                raise self.fail(s, f"{tok.text.upper()} needs a quoted pattern such as 'rf%'")
            op = ("not " if negated else "") + tok.text
            return Compare(field, op, _unquote_string(s))
        if tok.kind == "kw" and tok.text == "is":
            nxt = self.next("'null' or 'not null'")
            if nxt.kind == "kw" and nxt.text == "not":
                nxt = self.next("'null'")
                if nxt.kind == "kw" and nxt.text == "null":
                    return Compare(field, "is not null")
            elif nxt.kind == "kw" and nxt.text == "null":
                return Compare(field, "is null")
            raise self.fail(nxt, "expected 'null' or 'not null' after 'is'")
        raise self.fail(tok, "expected an operator (=, !=, <, <=, >, >=, in, like, is)")

    def value(self) -> Any:
        tok = self.next("a value (a number or a quoted string)")
        if tok.kind == "number":
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.kind == "string":
            return _unquote_string(tok)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            return tok.text == "true"
        hint = " (quote strings: 'rf')" if tok.kind in ("word", "field") else ""
        raise self.fail(tok, f"expected a number or a quoted string{hint}")

    def value_list(self) -> tuple[Any, ...]:
        tok = self.next("'(' to start the IN list")
        if tok.kind != "lparen":
            raise self.fail(tok, "expected '(' after IN, e.g. params.model in ('rf', 'gbm')")
        values = [self.value()]
        while True:
            tok = self.next("',' or ')'")
            if tok.kind == "rparen":
                return tuple(values)
            if tok.kind != "comma":
                raise self.fail(tok, "expected ',' or ')' in the IN list")
            values.append(self.value())


def parse_field(text: str, tok: Token) -> Field:
    if tok.kind == "field":
        prefix, _, key = tok.text.partition(".")
        kind = PREFIXES.get(prefix.lower())
        if kind is None:
            raise _error(
                text,
                tok.pos,
                f"unknown field prefix {prefix!r}; use metrics., params., tags. or attributes.",
                tok.text,
            )
        if key[:1] in '`"':
            key = key[1:-1]
        if not key:
            raise _error(text, tok.pos, "empty key", tok.text)
        if kind == "attributes":
            key = key.lower()
            if key not in ATTRIBUTES:
                raise _error(
                    text,
                    tok.pos,
                    f"unknown attribute {key!r}; known: {', '.join(ATTRIBUTES)}",
                    tok.text,
                )
        return Field(kind, key)
    if tok.kind == "word" and tok.text.lower() in ATTRIBUTES:
        return Field("attributes", tok.text.lower())
    raise _error(
        text,
        tok.pos,
        "expected a field such as metrics.auc, params.model, tags.team or attributes.status",
        tok.text,
    )


def parse_filter(text: str | None) -> Expr | None:
    """Parse a filter string; None or blank means no filter."""
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


@dataclass(frozen=True)
class OrderBy:
    field: Field
    descending: bool


def parse_order_by(items: Sequence[str] | str | None) -> list[OrderBy]:
    """``["metrics.auc desc", "params.lr"]`` → OrderBy list."""
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    out: list[OrderBy] = []
    for text in items:
        toks = tokenize(text)
        if not toks:
            raise _error(text, 0, "empty order_by entry", "")
        field = parse_field(text, toks[0])
        desc = False
        if len(toks) > 1:
            t = toks[1]
            if t.kind != "kw" or t.text not in ("asc", "desc"):
                raise _error(text, t.pos, "expected 'asc' or 'desc'", t.text)
            desc = t.text == "desc"
        if len(toks) > 2:
            raise _error(text, toks[2].pos, "unexpected text after the direction", toks[2].text)
        out.append(OrderBy(field, desc))
    return out
