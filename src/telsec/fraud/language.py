"""The language of a message, from its template.

py3langid (a NumPy port of langid.py, Lui & Baldwin 2012; 97 languages,
BSD licence) scores the template's words with the placeholders taken out.  A
text with fewer than ``MIN_WORDS`` words is too short to call and gets None.
"""

from __future__ import annotations

import py3langid

MIN_WORDS = 3


def language(template: str) -> str | None:
    """ISO 639-1 code of the template's language, or None if it is too short."""
    words = [w for w in template.split() if not w.startswith("<") and any(c.isalpha() for c in w)]
    if len(words) < MIN_WORDS:
        return None
    label: str = py3langid.classify(" ".join(words))[0]
    return label
