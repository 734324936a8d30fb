"""Which side of a paired folder is the input: the entry's domains decide, not the alphabet.

A folder of ``N-labels.png`` + ``N-photo.png`` pairs has no A and B of its own: the suffixes are matched to the
entry's ``processing.domains`` (``{input: facade label map, output: facade photo}``) by their distinctive words
(``label``/``map`` vs ``photo``). Folders in upstream's layouts (``A/`` + ``B/``, ``A|B`` side-by-side images)
carry the dataset's A and B, so the entry's ``direction`` (upstream's ``--direction``) applies to them.
"""

from __future__ import annotations

import re
from typing import Mapping

from zoo.training import TrainingError


def _words(text: str) -> set[str]:
    """Lower-case words of at least 3 letters, plural ``s`` dropped: ``"facade label maps"`` -> {facade, label, map}."""
    words = set()
    for word in re.findall(r"[a-z]+", text.lower()):
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        if len(word) >= 3:
            words.add(word)
    return words


def _matches(suffix: str, words: set[str]) -> bool:
    name = suffix.lower()
    return any(word in name for word in words) or bool(_words(suffix) & words)


def direction_from_domains(suffixes: tuple[str, str], domains: Mapping[str, str]) -> str | None:
    """``AtoB`` when the first suffix names the input domain and the second the output, ``BtoA`` for the
    reverse, None when the names do not tell (no match, or both sides match both domains)."""
    source, target = _words(domains.get("input", "")), _words(domains.get("output", ""))
    source, target = source - target, target - source  # only the words that tell them apart
    a, b = suffixes
    a_in, a_out, b_in, b_out = (_matches(a, source), _matches(a, target), _matches(b, source), _matches(b, target))
    if (a_in or b_out) and not (a_out or b_in):
        return "AtoB"
    if (a_out or b_in) and not (a_in or b_out):
        return "BtoA"
    return None


def paired_direction(entry: object, suffixes: tuple[str, str] | None, explicit: str | None, root: object) -> str:
    """The direction of training on a paired folder (see the module docstring); an ambiguous folder is an
    error asking for ``direction=``."""
    if explicit:
        return explicit
    processing = getattr(entry, "processing", None)
    if suffixes is None:  # A/ + B/ folders or A|B images: the dataset's own A and B
        return str(processing.options.get("direction", "AtoB")) if processing is not None else "AtoB"
    domains = dict(getattr(processing, "domains", {}) or {})
    if not domains.get("input") or not domains.get("output"):
        return "AtoB"  # a task, or an entry without domains: the first suffix is the input
    found = direction_from_domains(suffixes, domains)
    if found is None:
        a, b = suffixes
        raise TrainingError(f"paired data {root}: cannot tell which of *-{a} and *-{b} is the input "
                            f"({domains['input']}) and which the target ({domains['output']}); pass direction=AtoB "
                            f"to train {a} -> {b} or direction=BtoA for {b} -> {a}")
    return found
