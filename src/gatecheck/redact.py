"""What never reaches gatecheck's output: secrets, and characters that act.

gatecheck's output is public (CI logs, annotations, SARIF) while the job
holds secrets.  Three mechanisms, used at the few places output is made:

- `register`: every value a ``${VAR}`` expanded to is a secret of the run;
  `scrub` replaces it (and its JSON, XML and GitHub-escaped spellings) with
  ``${VAR}`` wherever it appears, so messages name the template, not the value.
- `url`: the password of a URL (``user:pw@``, ``?password=``) or of a libpq
  keyword DSN (``host=... password=...``) as ``***``; `scrub` applies it to all
  text too, so a secret that was never registered is still hidden.
- `inert`: control characters (line breaks, ESC, BEL, C1 controls, Unicode
  line separators, bidirectional overrides) as visible escapes (``\\n``,
  ``\\x1b``, ``\\u202e``), so a value from the repository or the database
  cannot start a new output line (a GitHub ``::error::`` command) or drive
  the terminal.
"""

from __future__ import annotations

import re

#: Shorter values are not registered as secrets: scrubbing "1" or "app"
#: everywhere would garble the output, and such values are no secret.
MIN_SECRET_LENGTH = 4

_QUERY_PASSWORD = re.compile(r"((?:^|[?&])[a-z_]*password=)[^&#]*", re.IGNORECASE)
#: ``scheme://user:`` then everything up to the last ``@``: the password, even
#: one with an unencoded ``/``, ``?``, ``#`` or ``@`` that URL parsers misread.
_USERINFO_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*):.*@", re.DOTALL)
#: The same inside running text: a URL with a password, up to its last ``@``
#: before white space.
_TEXT_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*):[^\s@]*(?:@[^\s@]*)*@")
#: ``password=...`` in a libpq keyword DSN: a quoted value (with ``\\'``) or a bare word.
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'?|[^\s&#]+)",
                               re.IGNORECASE)

_secrets: dict[str, str] = {}
_pattern: re.Pattern[str] | None = None


def register(name: str, value: str) -> None:
    """``value`` (what ``${name}`` expanded to) is a secret of this run."""
    global _pattern
    if len(value) < MIN_SECRET_LENGTH:
        return
    shown = "${" + name + "}"
    for spelling in _spellings(value):
        if len(spelling) >= MIN_SECRET_LENGTH:
            _secrets.setdefault(spelling, shown)
    # A password inside the value stays hidden however the rest is rewritten
    # (a URL used as a path loses its "//").
    for password in _passwords(value):
        for spelling in _spellings(password):
            if len(spelling) >= MIN_SECRET_LENGTH:
                _secrets.setdefault(spelling, "***")
    _pattern = None


def _passwords(value: str) -> list[str]:
    from urllib.parse import unquote

    found = []
    userinfo = _USERINFO_PASSWORD.match(value)
    if userinfo:
        password = value[userinfo.end(1) + 1:userinfo.end() - 1]
        found += [password, unquote(password), *password.split("@")]
    for match in re.finditer(r"password\s*=\s*'?([^'&#\s]+)", value, re.IGNORECASE):
        found += [match.group(1), unquote(match.group(1))]
    return found


def forget_all() -> None:
    """Forget every registered secret (a new run in the same process)."""
    global _pattern
    _secrets.clear()
    _pattern = None


def _xml_escape(value: str) -> str:
    """``xml.sax.saxutils.escape(value, {'"': "&quot;"})``, without importing it
    (it imports ``urllib.request``, a tenth of gatecheck's start-up)."""
    return (value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
            .replace('"', "&quot;"))


def _spellings(value: str) -> set[str]:
    """The value as each output format may write it."""
    import json  # only once a secret is known: not at start-up

    github = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return {value, json.dumps(value)[1:-1], _xml_escape(value), github,
            inert(value), github.replace(":", "%3A").replace(",", "%2C")}


def url(text: str) -> str:
    """``text`` (a URL or a keyword DSN) with any password as ``***``: safe to print."""
    text = _USERINFO_PASSWORD.sub(r"\1:***@", text, count=1)
    return _KEYWORD_PASSWORD.sub(r"\1***", _QUERY_PASSWORD.sub(r"\1***", text))


def scrub(text: str) -> str:
    """``text`` with every registered secret as its ``${VAR}`` and every password as ``***``."""
    global _pattern
    if _secrets:
        if _pattern is None:
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))
        text = _pattern.sub(lambda m: _secrets[m.group(0)], text)
    text = _TEXT_USERINFO.sub(r"\1:***@", text)
    return _KEYWORD_PASSWORD.sub(r"\1***", text)


# C0 and C1 controls and DEL, Unicode line/paragraph separators, and the
# bidirectional marks, embeddings, overrides and isolates.
_ACTIVE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: `_ACTIVE` but the line breaks and tabs between the lines of a report.
_ACTIVE_BUT_BREAKS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                                "\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """``text`` with every control character as a visible escape."""
    return _ACTIVE.sub(lambda m: _NAMED.get(m.group(0)) or
                       (f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100
                        else f"\\u{ord(m.group(0)):04x}"), text)


#: A colour (SGR) sequence of the text report: ESC [ numbers m, nothing else.
_SGR = re.compile(r"\x1b\[[0-9]{1,2}(?:;[0-9]{1,2})*m")


def safe_lines(text: str, *, commands: bool = False, colour: bool = False) -> str:
    """Rendered output made safe to print: scrubbed, with no control character
    but the line breaks and tabs between its lines, and -- unless ``commands``
    (the ``github`` format, whose commands escape their own values) -- no line
    starting with ``::``, which GitHub would run as a workflow command.

    ``colour``: the text report's own colour sequences stay (values from the
    repository reach it already inert, so every ESC left is the reporter's);
    they only set colours, and nothing else that drives the terminal passes.
    """
    text = scrub(text)
    if not colour and _ACTIVE_BUT_BREAKS.search(text) is None and \
            (commands or not text.startswith("::") and "\n::" not in text):
        return text  # nothing to escape (most reports): no pass line by line
    out = []
    for line in text.split("\n"):
        if colour:
            pieces = _SGR.split(line)
            codes = _SGR.findall(line)
            line = "".join(_inert_but_tabs(piece) + (codes[i] if i < len(codes) else "")
                           for i, piece in enumerate(pieces))
        else:
            line = _inert_but_tabs(line)
        command = (_SGR.sub("", line) if colour else line).startswith("::")
        out.append(" " + line if command and not commands else line)
    return "\n".join(out)


def _inert_but_tabs(text: str) -> str:
    return _ACTIVE.sub(lambda m: m.group(0) if m.group(0) == "\t" else inert(m.group(0)), text)
