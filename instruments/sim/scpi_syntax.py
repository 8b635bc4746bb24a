"""SCPI syntax for the simulated instruments: headers, parameters, replies.

Kept apart from the server so each instrument's command table reads like the
manual: a pattern such as ``[SOURce#:]FUNCtion:PULSe:WIDTh`` (upper case = short
form, ``[...]`` = optional node, ``#`` = numeric suffix) and a handler.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

STANDARD_ERRORS: dict[int, str] = {
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -131: "Invalid suffix",
    -200: "Execution error",
    -211: "Trigger ignored",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -350: "Queue overflow",
    -410: "Query INTERRUPTED",
    -420: "Query UNTERMINATED",
}


class ScpiError(Exception):
    """A SCPI error to queue: standard code plus optional detail."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        text = STANDARD_ERRORS.get(code, "Error")
        self.text = f"{text}; {detail}" if detail else text
        super().__init__(f'{code},"{self.text}"')


@dataclass(frozen=True)
class Node:
    short: str
    long: str
    optional: bool
    suffix: bool

    def accept(self, token: str) -> int | None:
        """Suffix value (1 if absent) when `token` names this node, else None."""
        m = re.fullmatch(r"([A-Za-z_]+)(\d*)", token)
        if not m:
            return None
        name, digits = m.group(1).upper(), m.group(2)
        if name not in (self.short, self.long):
            return None
        if digits and not self.suffix:
            return None
        return int(digits) if digits else 1


_NODE = re.compile(r"(\[)?:?([A-Za-z]+)(#)?:?(\])?")


def compile_pattern(pattern: str) -> tuple[Node, ...]:
    nodes = []
    for m in _NODE.finditer(pattern):
        mnemonic = m.group(2)
        # The short form is the leading run of capitals (e.g. BYTeorder -> BYT).
        lead = re.match(r"[A-Z]+", mnemonic)
        short = lead.group(0) if lead else mnemonic.upper()
        nodes.append(Node(short, mnemonic.upper(), bool(m.group(1)), bool(m.group(3))))
    return tuple(nodes)


def match_header(nodes: Sequence[Node], tokens: Sequence[str]) -> list[int] | None:
    """Suffixes of the `#` nodes when `tokens` match `nodes`, else None."""

    def walk(i: int, j: int, acc: list[int]) -> list[int] | None:
        if i == len(nodes):
            return acc if j == len(tokens) else None
        node = nodes[i]
        if j < len(tokens):
            value = node.accept(tokens[j])
            if value is not None:
                found = walk(i + 1, j + 1, [*acc, value] if node.suffix else acc)
                if found is not None:
                    return found
        if node.optional:
            return walk(i + 1, j, [*acc, 1] if node.suffix else acc)
        return None

    return walk(0, 0, [])


def split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, buf, quote = [], [], ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


# --- parameters ---------------------------------------------------------------

_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)")
_PREFIX = {"": 1.0, "K": 1e3, "M": 1e-3, "U": 1e-6, "N": 1e-9, "P": 1e-12, "G": 1e9, "MA": 1e6}


def _unit_factor(suffix: str, unit: str | None) -> float:
    s = suffix.upper()
    if not s:
        return 1.0
    if unit is None or not s.endswith(unit.upper()):
        raise ScpiError(-131, suffix)
    prefix = s[: len(s) - len(unit)]
    if prefix == "M" and unit.upper() in ("HZ", "OHM"):
        return 1e6  # SCPI: MHZ and MOHM are mega
    if prefix not in _PREFIX:
        raise ScpiError(-131, suffix)
    return _PREFIX[prefix]


def one(params: Sequence[str]) -> str:
    if not params or not params[0].strip():
        raise ScpiError(-109)
    if len(params) > 1:
        raise ScpiError(-108)
    return params[0].strip()


def number(
    param: str,
    *,
    unit: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    default: float | None = None,
) -> float:
    """NR1/NR2/NR3 with optional unit, or MIN|MAX|DEF; range-checked (-222)."""
    p = param.strip()
    word = p.upper()
    for names, value in (
        (("MIN", "MINIMUM"), minimum),
        (("MAX", "MAXIMUM"), maximum),
        (("DEF", "DEFAULT"), default),
    ):
        if word in names:
            if value is None:
                raise ScpiError(-224, p)
            return value
    m = _NUMBER.fullmatch(p)
    if not m:
        raise ScpiError(-104, p)
    value = float(m.group(1)) * _unit_factor(m.group(2), unit)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ScpiError(-222, p)
    return value


def integer(param: str, *, minimum: int, maximum: int, default: int | None = None) -> int:
    value = number(param, minimum=minimum, maximum=maximum, default=default)
    return round(value)


def boolean(param: str) -> bool:
    word = param.strip().upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    try:
        return round(float(word)) != 0
    except ValueError:
        raise ScpiError(-224, param) from None


def choice(param: str, options: Sequence[str]) -> str:
    """Canonical short form of the mnemonic `param` names (short or long)."""
    node_token = param.strip()
    for option in options:
        node = compile_pattern(option)[0]
        if node.accept(node_token) is not None and not re.search(r"\d", node_token):
            return node.short
    raise ScpiError(-224, param)


def string(param: str) -> str:
    p = param.strip()
    if len(p) >= 2 and p[0] == p[-1] and p[0] in "\"'":
        return p[1:-1]
    raise ScpiError(-104, f"expected a quoted string, got {p}")


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def block(payload: bytes, digits: int | None = None) -> bytes:
    """IEEE 488.2 definite-length block ``#<n><len><bytes>`` (`digits` fixes n)."""
    length = str(len(payload)).zfill(digits or 0)
    return b"#" + str(len(length)).encode() + length.encode() + payload
