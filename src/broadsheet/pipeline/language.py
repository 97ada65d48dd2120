"""Language of an article's text: the publisher's declaration when it is plausible, else a
detector (py3langid: a small naive-Bayes model over byte n-grams that ships in its PyPI
package, deterministic, about 100 languages).

``detect_language`` returns an ISO 639-1 code, or None when the text is too short to say.
"""

from __future__ import annotations

import re
import threading
from typing import Any

MIN_CHARS = 20
_lock = threading.Lock()
_identifier: Any = None
_TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")


def _model() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import (  # type: ignore[import-untyped]
                MODEL_FILE,
                LanguageIdentifier,
            )

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def normalise_tag(tag: str | None) -> str | None:
    """ "en-GB", "EN_us", "en" -> "en"; anything else -> None."""
    if not tag:
        return None
    match = _TAG.match(tag.strip())
    return match.group(1).lower() if match else None


def detect_language(text: str, declared: str | None = None) -> str | None:
    """The language of ``text``: ``declared`` (a publisher's lang attribute) if the detector
    agrees or cannot tell, else the detector's answer when it is confident."""
    declared_code = normalise_tag(declared)
    sample = " ".join(text.split())[:2000]
    if len(sample) < MIN_CHARS:
        return declared_code
    code, probability = _model().classify(sample)
    if declared_code is not None and (code == declared_code or probability < 0.9):
        return declared_code
    return str(code) if probability >= 0.5 else declared_code
