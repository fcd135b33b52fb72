"""The page's document: its language, title, styles, and Streamlit's own labels in the reader's language.

Streamlit writes `<html lang="en">` and its controls' labels ("Clear all", "Fullscreen", "Skip to main content") in
English, with no setting to change them. A small script, sent once per page run with `st.html`, sets the `lang`
attribute and replaces those labels by the texts of `ui/locales/<lang>/streamlit.toml` as they appear (a
MutationObserver, because Streamlit draws controls lazily). Which labels cannot be reached this way is listed in the
README (Known limitations).
"""

from __future__ import annotations

import json

from ui.i18n import catalogue

LABEL_PREFIX = "streamlit."
PLACEHOLDER = "{}"  # in a label pattern: the part Streamlit fills in ("Remove {}" -> "Remove Hollola")

# Contrast (WCAG 1.4.3): Streamlit draws captions at 60 % opacity, 3.8:1 on white; opaque #555b66 is 6.6:1.
# The share link's code block wraps instead of scrolling sideways, so it needs no keyboard scrolling (2.1.1).
STYLESHEET = """<style>
[data-testid="stCaptionContainer"] { opacity: 1 !important; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] * { color: #555b66 !important; }
[data-testid="stCode"] pre, [data-testid="stCode"] code { white-space: pre-wrap !important; word-break: break-all; }
</style>"""

_SCRIPT = """<script>
(() => {
  const lang = %(lang)s, exact = %(exact)s, patterns = %(patterns)s;
  const doc = document;
  doc.documentElement.lang = lang;
  const translate = (text) => {
    if (!text) return null;
    if (Object.prototype.hasOwnProperty.call(exact, text)) return exact[text];
    for (const [before, after, translated] of patterns) {
      if (text.length > before.length + after.length && text.startsWith(before) && text.endsWith(after)) {
        return translated.replace("{}", text.slice(before.length, text.length - after.length));
      }
    }
    return null;
  };
  const attributes = ["aria-label", "title", "placeholder"];
  const fix = (element) => {
    for (const name of attributes) {
      const current = element.getAttribute(name), translated = translate(current);
      if (translated !== null && translated !== current) element.setAttribute(name, translated);
    }
    const iconName = /^[a-z0-9_]+ icon$/.test(element.getAttribute("aria-label") || "");
    if ((iconName || element.dataset.testid === "stIconMaterial") && element.getAttribute("aria-hidden") !== "true") {
      element.setAttribute("aria-hidden", "true");  // a ligature name ("download") is no text for a reader
      element.removeAttribute("aria-label");
    }
    if (element.childElementCount === 0 && element.firstChild && element.firstChild.nodeType === 3) {
      const translated = translate(element.textContent);
      if (translated !== null && translated !== element.textContent) element.textContent = translated;
    }
  };
  const sweep = (root) => {
    if (root.nodeType !== 1) return;
    fix(root);
    root.querySelectorAll("*").forEach(fix);
  };
  if (window.__tiedollaObserver) window.__tiedollaObserver.disconnect();
  const observer = new MutationObserver((mutations) => {
    if (doc.documentElement.lang !== lang) doc.documentElement.lang = lang;
    for (const mutation of mutations) {
      if (mutation.type === "attributes") fix(mutation.target);
      else if (mutation.type === "characterData") {
        if (mutation.target.parentElement) fix(mutation.target.parentElement);
      }
      else mutation.addedNodes.forEach(sweep);
    }
  });
  observer.observe(doc.body, {subtree: true, childList: true, characterData: true, attributes: true,
                              attributeFilter: [...attributes, "lang"]});
  observer.observe(doc.documentElement, {attributes: true, attributeFilter: ["lang"]});
  window.__tiedollaObserver = observer;
  sweep(doc.body);
})();
</script>"""


def streamlit_labels(lang: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Streamlit's English labels -> this language's: exact texts, and patterns (before, after, translation) for
    labels with a name in them ("Remove {}")."""
    exact: dict[str, str] = {}
    patterns: list[tuple[str, str, str]] = []
    for key, text in catalogue(lang).items():
        if not key.startswith(LABEL_PREFIX):
            continue
        english = key[len(LABEL_PREFIX):]
        if english == text:  # English already (and a rule that changes nothing would wake the observer forever)
            continue
        if PLACEHOLDER in english:
            before, after = english.split(PLACEHOLDER, 1)
            patterns.append((before, after, text))
        else:
            exact[english] = text
    return exact, patterns


def document_script(lang: str) -> str:
    """The script that gives the document the reader's language (see the module docstring)."""
    exact, patterns = streamlit_labels(lang)
    return _SCRIPT % {"lang": json.dumps(lang), "exact": json.dumps(exact, ensure_ascii=False),
                      "patterns": json.dumps(patterns, ensure_ascii=False)}
