"""The one translation function. Finnish is the default; Swedish and English follow.

Catalogues are TOML files under `ui/locales/<lang>/` (one file per area, e.g. `app.toml`, `narrative.toml`), flat
`key = "text"` pairs, merged per language. `t(key, **values)` formats with `str.format`. A key missing from the chosen
language falls back to Finnish, then to the key itself, so a gap never crashes a page; a test keeps the three
catalogues complete.
"""

from __future__ import annotations

import tomllib
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("fi", "sv", "en")
DEFAULT_LANGUAGE = "fi"
BABEL_LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_GB"}

# Per thread: Streamlit runs each browser session's script in its own thread, so sessions never mix languages.
_current: ContextVar[str] = ContextVar("tiedolla_language", default=DEFAULT_LANGUAGE)


@cache
def catalogue(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.toml")):
        with path.open("rb") as handle:
            merged.update(tomllib.load(handle))
    return merged


def set_language(lang: str) -> str:
    """Choose the language for this script run (app.py calls it once per run); unknown codes give Finnish."""
    _current.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    return _current.get()


def current_language() -> str:
    return _current.get()


def t(key: str, lang: str | None = None, /, **values: object) -> str:
    return t_or(key, key, lang, **values)


def t_or(key: str, default: str, lang: str | None = None, /, **values: object) -> str:
    """`t(key)`, or `default` where no language has a text for the key: for keys made from data (a publisher's
    name, an error code from a newer release), where the key itself is no text for a reader."""
    text = catalogue(lang or _current.get()).get(key) or catalogue(DEFAULT_LANGUAGE).get(key)
    if not text:
        return default
    return text.format(**values) if values else text


def pick(texts: dict[str, str] | None, lang: str | None = None) -> str:
    """Choose from a {fi, sv, en} mapping (catalogue TOML, source titles), falling back to Finnish."""
    if not texts:
        return ""
    lang = lang or _current.get()
    return texts.get(lang) or texts.get(DEFAULT_LANGUAGE) or next(iter(texts.values()))
