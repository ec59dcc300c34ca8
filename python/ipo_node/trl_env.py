"""The versions the TRL engine needs, checked before anything heavy is imported.

`check()` returns None when torch, transformers, TRL and accelerate import at versions the engine
was written against (TRL 1.13's DPOTrainer is the authority), else one sentence naming what is
missing and the exact install command.
"""
from __future__ import annotations

from importlib import metadata
import os
import sys

REQUIREMENTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "requirements.txt")
MINIMUM = {"torch": (2, 4), "transformers": (4, 56), "trl": (1, 13), "accelerate": (1, 0)}
BELOW = {"trl": (2, 0)}


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def install_command() -> str:
    return f"{sys.executable} -m pip install -r {REQUIREMENTS}"


def check() -> str | None:
    problems = []
    for name, minimum in MINIMUM.items():
        # The installed distribution's metadata: no import, so the check costs milliseconds, not torch's import.
        try:
            text = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} is not installed")
            continue
        version = _version_tuple(text)
        if version < minimum:
            problems.append(f"{name} {text} is older than {'.'.join(map(str, minimum))}")
        elif name in BELOW and version >= BELOW[name]:
            problems.append(f"{name} {text} is not < {'.'.join(map(str, BELOW[name]))}")
    if not problems:
        return None
    return f"the TRL engine cannot run in {sys.executable}: {'; '.join(problems)}. Install with: {install_command()}"


if __name__ == "__main__":
    problem = check()
    if problem:
        print(problem, file=sys.stderr)
        sys.exit(3)
    print(" ".join(f"{name} {metadata.version(name)}" for name in MINIMUM))
