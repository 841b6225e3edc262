"""The template parser: source text -> Template (literal parts and tags), every problem with its line and column.

The syntax is described in `templates.py`. It is a hand-written scanner: a tag can only hold a variable name and
filters with literal arguments, so anything else (attribute access, calls, operators, statements) is a syntax
error, never evaluated.
"""
from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass
from typing import Any, Mapping

from crm_core.campaigns.template_filters import FILTERS, REQUIRED
from crm_core.campaigns.template_vars import TemplateVar

_OPEN = re.compile(r"\{[{%#]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"-?[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}
_OPERATORS = set("+-*/%<>=!~&^@?:;")
_KEYWORDS = {"if", "else", "elif", "endif", "for", "endfor", "in", "is", "not", "and", "or", "set", "import",
             "include", "extends", "block", "macro", "call", "with", "raw", "true", "false", "none"}
_EXAMPLE = "e.g. {{ first_name | default(\"there\") }}"


class TemplateError(ValueError):
    """A template that cannot be used; `.problems` lists every problem as "line L, column C: message"."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class FilterCall:
    """One filter applied in a tag, with all its argument values (defaults filled in)."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Tag:
    """A `{{ variable | filters }}` tag: the variable's key and kind, its filters and where it starts."""

    key: str
    kind: str
    filters: tuple[FilterCall, ...]
    line: int
    column: int


@dataclass(frozen=True)
class Template:
    """A parsed template: its source, its parts (literal str or Tag) and the variables used (in order, unique)."""

    source: str
    parts: tuple[str | Tag, ...]
    variables: tuple[str, ...]


# -- parsing ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Token:
    kind: str  # name | string | int | '|' | '(' | ')' | ',' | end ('}}')
    value: Any
    at: int


class _Syntax(Exception):
    def __init__(self, at: int, message: str, about_closing: bool = False):
        super().__init__(message)
        self.at, self.message, self.about_closing = at, message, about_closing


class _Unclosed(Exception):
    """The tag runs into the end of the source or into the next '{{' before its '}}'."""


def _suggest(word: str, known: list[str], what: str) -> str:
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        return f"did you mean {lowered[close[0]]}?"
    return f"{what}: {', '.join(known)}"


class _Parser:
    def __init__(self, source: str, variables: Mapping[str, TemplateVar]):
        self.source, self.variables = source, variables
        self.problems: list[tuple[int, str]] = []
        self.parts: list[str | Tag] = []
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]

    def position(self, at: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, at)
        return line, at - self.line_starts[line - 1] + 1

    def problem(self, at: int, message: str) -> None:
        self.problems.append((at, message))

    def parse(self) -> None:
        src, i = self.source, 0
        for bad in _SURROGATE.finditer(src):  # not text: DuckDB could not store it
            self.problem(bad.start(), f"invalid character {bad.group()!r} (half of a UTF-16 pair)")
        while True:
            found = _OPEN.search(src, i)
            if found is None:
                self._text(src[i:])
                return
            self._text(src[i:found.start()])
            i = self._statement(found.start()) if found.group() != "{{" else self._tag(found.start())

    def _text(self, text: str) -> None:
        if text:
            self.parts.append(text)

    def _statement(self, at: int) -> int:
        opener = self.source[at:at + 2]
        closer = opener[1] + "}"
        what = ("statements (if, for, set, ...)" if opener == "{%" else "comments")
        self.problem(at, f"'{opener}' {what} are not supported: a template only inserts variables, {_EXAMPLE}")
        end = self.source.find(closer, at + 2)
        return at + 2 if end < 0 else end + 2

    def _tag(self, at: int) -> int:
        self.pos = at + 2
        try:
            parsed = self._tag_body(at)
        except _Unclosed:
            return self._unclosed(at)
        except _Syntax as error:  # report it, then go on after this tag's '}}'
            self.problem(error.at, error.message)
            close, reopen = self.source.find("}}", error.at), _OPEN.search(self.source, error.at + 1)
            if close >= 0 and (reopen is None or close < reopen.start()):
                return close + 2
            if error.about_closing:
                return reopen.start() if reopen else len(self.source)
            return self._unclosed(at)
        self.parts.append(self._check(parsed))
        return self.pos

    def _unclosed(self, at: int) -> int:
        self.problem(at, "'{{' is not closed with '}}'")
        reopen = _OPEN.search(self.source, at + 2)
        return reopen.start() if reopen else len(self.source)

    # tokens ---------------------------------------------------------------------------------------
    def _next(self) -> _Token:
        src, n = self.source, len(self.source)
        while self.pos < n and src[self.pos].isspace():
            self.pos += 1
        at = self.pos
        if at >= n:
            raise _Unclosed()
        ch, two = src[at], src[at:at + 2]
        if two == "}}":
            self.pos += 2
            return _Token("end", "}}", at)
        if two in ("{{", "{%", "{#"):
            raise _Unclosed()
        if ch in "|(),":
            self.pos += 1
            return _Token(ch, ch, at)
        for pattern, kind in ((_NAME, "name"), (_INT, "int")):
            match = pattern.match(src, at)
            if match:
                if kind == "int" and len(match.group()) > 9:
                    raise _Syntax(at, f"the number {match.group()[:12]}... is too large")
                self.pos = match.end()
                return _Token(kind, match.group() if kind == "name" else int(match.group()), at)
        if ch in "\"'":
            return self._string(at, ch)
        if ch == ".":
            raise _Syntax(at, "attribute access ('.') is not allowed: a tag holds a variable name and filters, "
                              "e.g. {{ name | upper }}")
        if ch == "}":
            raise _Syntax(at, "a tag ends with '}}', found a single '}'", about_closing=True)
        if ch in "[]":
            raise _Syntax(at, f"indexing ('{ch}') is not allowed: a tag holds a variable name and filters")
        if ch in _OPERATORS:
            raise _Syntax(at, f"operator '{ch}' is not allowed: templates do no arithmetic or comparisons")
        raise _Syntax(at, f"unexpected character {ch!r} in a tag: a tag holds a variable name and filters")

    def _string(self, at: int, quote: str) -> _Token:
        src, i, out = self.source, at + 1, []
        while i < len(src) and src[i] != quote:
            if src[i] == "\\":
                escaped = src[i + 1:i + 2]
                if escaped not in _ESCAPES:
                    raise _Syntax(i, f"unknown escape '\\{escaped}' in quotes (use \\\\, \\\", \\', \\n or \\t)")
                out.append(_ESCAPES[escaped])
                i += 2
            else:
                out.append(src[i])
                i += 1
        if i >= len(src):
            raise _Syntax(at, f"text in quotes is not closed (a missing {quote})")
        self.pos = i + 1
        return _Token("string", "".join(out), at)

    # grammar ----------------------------------------------------------------------------------------
    def _tag_body(self, at: int) -> "_ParsedTag":
        take = self._next
        first = take()
        if first.kind == "end":
            raise _Syntax(at, "empty tag '{{ }}': write a variable name inside, " + _EXAMPLE)
        if first.kind != "name":
            raise _Syntax(first.at, _not_a_name(first))
        filters, token = [], take()
        while token.kind == "|":
            name = take()
            if name.kind != "name":
                raise _Syntax(name.at, f"expected a filter name after '|', found {_shown(name)}")
            args, token = [], take()
            if token.kind == "(":
                args, token = self._arguments(name.value, take), take()
            filters.append((name, args))
        if token.kind == "end":
            return _ParsedTag(first, tuple(filters), at)
        if token.kind == "(" and not filters:
            raise _Syntax(token.at, f"calls are not allowed: '{first.value}' is a variable, not a function "
                                    "(filters are written {{ name | upper }})")
        if token.kind == "name" and token.value.lower() in _KEYWORDS:
            raise _Syntax(token.at, f"'{token.value}' is not supported: templates have no logic, only "
                                    "{{ variable | filter }}")
        last = filters[-1][0].value if filters else first.value
        raise _Syntax(token.at, f"expected '|' or '}}}}' after '{last}', found {_shown(token)}")

    def _arguments(self, filter_name: str, take) -> list[_Token]:
        args, token = [], take()
        if token.kind == ")":
            return args
        while True:
            if token.kind not in ("string", "int"):
                raise _Syntax(token.at, f"arguments of '{filter_name}' are text in quotes or whole numbers, "
                                        f"found {_shown(token)}")
            args.append(token)
            token = take()
            if token.kind == ")":
                return args
            if token.kind != ",":
                raise _Syntax(token.at, f"expected ',' or ')' after an argument of '{filter_name}', "
                                        f"found {_shown(token)}")
            token = take()

    # meaning ------------------------------------------------------------------------------------------
    def _check(self, parsed: "_ParsedTag") -> Tag:
        name = parsed.name
        var = self.variables.get(name.value)
        if var is None:
            self.problem(name.at, f"unknown variable '{name.value}' ("
                                  f"{_suggest(name.value, list(self.variables), 'variables')})")
        calls = []
        for index, (token, args) in enumerate(parsed.filters):
            spec = FILTERS.get(token.value)
            if spec is None:
                hint = _suggest(token.value, list(FILTERS), "filters")
                self.problem(token.at, f"unknown filter '{token.value}' ({hint})")
                continue
            values = self._filter_args(spec, token, args)
            if values is None:
                continue
            if spec.on_date and (index != 0 or (var is not None and var.kind != "date")):
                self.problem(token.at, f"filter '{spec.name}' works only right after a date variable, "
                                       f"e.g. {{{{ signup_date | date(\"%d %B %Y\") }}}}")
                continue
            calls.append(FilterCall(spec.name, values))
        line, column = self.position(parsed.at)
        return Tag(name.value, var.kind if var else "text", tuple(calls), line, column)

    def _filter_args(self, spec, token: _Token, args: list[_Token]) -> tuple | None:
        required = sum(a.default is REQUIRED for a in spec.args)
        if not required <= len(args) <= len(spec.args):
            given = f"got {len(args)} argument{'' if len(args) == 1 else 's'}"
            usage = "takes no arguments" if not spec.args else f"is written {spec.signature}"
            self.problem(token.at, f"filter '{spec.name}' {usage}, {given}")
            return None
        values = []
        for arg, given in zip(spec.args, args):
            if given.kind != ("int" if arg.type == "integer" else "string"):
                wanted = "a whole number" if arg.type == "integer" else "text in quotes"
                self.problem(given.at, f"filter '{spec.name}': {arg.name} must be {wanted}, got {_shown(given)}")
                return None
            values.append(given.value)
        values += [a.default for a in spec.args[len(args):]]
        problem = spec.check(*values)
        if problem:
            self.problem(token.at, problem)
            return None
        return tuple(values)


@dataclass
class _ParsedTag:
    name: _Token
    filters: tuple[tuple[_Token, list[_Token]], ...]
    at: int


def _shown(token: _Token) -> str:
    if token.kind == "string":
        return f"text {token.value!r}"
    if token.kind == "int":
        return f"the number {token.value}"
    return "'}}'" if token.kind == "end" else f"'{token.value}'"


def _not_a_name(token: _Token) -> str:
    if token.kind == "string":
        return f"expected a variable name, found text in quotes: literal text is written outside {{{{ }}}}"
    if token.kind == "int":
        return f"expected a variable name, found the number {token.value}: templates have no literals or arithmetic"
    return f"expected a variable name, found {_shown(token)}"


def parse_template(source: str, variables: Mapping[str, TemplateVar]) -> Template:
    """Parse a template against the variable registry; raises TemplateError listing every problem found."""
    parser = _Parser(source, variables)
    parser.parse()
    if parser.problems:
        raise TemplateError([f"line {line}, column {column}: {message}" for line, column, message in sorted(
            (*parser.position(at), message) for at, message in parser.problems)])
    used = tuple(dict.fromkeys(p.key for p in parser.parts if isinstance(p, Tag)))
    return Template(source, tuple(parser.parts), used)
