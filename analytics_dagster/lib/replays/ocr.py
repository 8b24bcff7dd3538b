"""Text of screenshots by OCR with the Tesseract command-line program, when it is installed.

Tesseract is called as a program (``tesseract <png> stdout -l eng+rus``), so no Python wrapper is needed; each call
is limited to one thread and callers run a few in parallel.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

WANTED_LANGUAGES = ("eng", "rus")
_TIMEOUT_SECONDS = 60


def tesseract_path(configured: str | None = None) -> str | None:
    """``configured`` (the TESSERACT_PATH setting) when given, else ``tesseract`` on the PATH."""
    return configured or shutil.which("tesseract")


@lru_cache(maxsize=4)
def installed_languages(executable: str) -> tuple[str, ...]:
    listed = subprocess.run([executable, "--list-langs"], capture_output=True, text=True, timeout=_TIMEOUT_SECONDS)
    # The first line is a header ('List of available languages in "...":').
    return tuple(line.strip() for line in listed.stdout.splitlines()[1:] if line.strip())


def ocr_png(path: Path, executable: str) -> str:
    """The text Tesseract reads in the image, in whichever of English and Russian it has data for."""
    languages = [lang for lang in WANTED_LANGUAGES if lang in installed_languages(executable)] or ["eng"]
    # `env` adds OMP_THREAD_LIMIT to the inherited environment for this call only: setting it in this process
    # would also limit scikit-learn's and numpy's threads.
    completed = subprocess.run(
        ["env", "OMP_THREAD_LIMIT=1", executable, str(path), "stdout", "-l", "+".join(languages)],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_SECONDS,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"tesseract failed on {path.name}: {completed.stderr.strip()[:300]}")
    return "\n".join(line.strip() for line in completed.stdout.splitlines() if line.strip())
