"""Texts that describe sessions, and the analyzer that turns them into terms for TF-IDF.

A session's text is its event sequence (event types, pages, clicked elements, searches, errors) followed by what
its screenshots say. Terms are lower-cased words from nltk's ``wordpunct_tokenize`` without Russian and English
stopwords (the ``stop-words`` package: ``nltk.download`` cannot reach its corpus here), reduced by nltk's Snowball
stemmer for the word's script, so "payment", "payments" and "платежи", "платежами" count as one term each.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import lru_cache

from nltk.stem.snowball import SnowballStemmer
from nltk.tokenize import wordpunct_tokenize
from stop_words import get_stop_words

from analytics_dagster.lib.replays.sessions import ReplaySession

# The generic English list drops words that carry meaning in product analytics; these stay terms.
PRODUCT_WORDS_KEPT = frozenset(
    {"order", "orders", "buy", "help", "home", "open", "opened", "new", "back", "next", "show", "first", "page"}
)
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_MIN_TERM_LENGTH = 2
MAX_DOCUMENT_CHARS = 6000


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(get_stop_words("russian")) | (frozenset(get_stop_words("english")) - PRODUCT_WORDS_KEPT)


class StemmingAnalyzer:
    """Callable analyzer for ``TfidfVectorizer(analyzer=...)`` that also remembers each stem's commonest word."""

    def __init__(self) -> None:
        self._russian = SnowballStemmer("russian")
        self._english = SnowballStemmer("english")
        self._stopwords = stopwords()
        self._surface: dict[str, Counter[str]] = defaultdict(Counter)

    def terms(self, text: str) -> list[str]:
        terms = []
        for token in wordpunct_tokenize(text.lower()):
            if not token.isalpha() or len(token) < _MIN_TERM_LENGTH or token in self._stopwords:
                continue
            stemmer = self._russian if _CYRILLIC.search(token) else self._english
            stem = stemmer.stem(token)
            self._surface[stem][token] += 1
            terms.append(stem)
        return terms

    __call__ = terms

    def readable(self, stem: str) -> str:
        """The word most often seen for ``stem`` ("fail" -> "failed"), for top-term lists people read."""
        seen = self._surface.get(stem)
        return seen.most_common(1)[0][0] if seen else stem


def event_text(session: ReplaySession) -> str:
    """The event sequence, one outline per event, consecutive repeats folded into "(xN)"."""
    lines: list[str] = []
    repeats: list[int] = []
    for event in session.events:
        outline = event.outline()
        if lines and lines[-1] == outline:
            repeats[-1] += 1
        else:
            lines.append(outline)
            repeats.append(1)
    # Repeats stay in the text as repeated terms (a struggle is repetition), the count only for people reading it.
    return "\n".join(f"{line} (x{count})" if count > 1 else line for line, count in zip(lines, repeats))


def session_document(session: ReplaySession, screen_text: str = "") -> str:
    """What clustering reads for a session: every event (repeats count) and what its screenshots say."""
    document = "\n".join(event.outline() for event in session.events)
    if screen_text.strip():
        document += "\n" + screen_text.strip()
    return document[:MAX_DOCUMENT_CHARS]
