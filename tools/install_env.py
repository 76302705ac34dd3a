"""Which Python the Makefile installs into and runs: the one rule, decided in one place.

    python3 tools/install_env.py python .venv    # prints the interpreter every target runs
    python3 tools/install_env.py prepare .venv   # `make install`: creates .venv when needed
    python3 tools/install_env.py torch-index ""  # the index torch is installed from, if any

The rule: an interpreter that is a virtual or conda environment (an activated one, or
``PYTHON=path/to/env/bin/python``) is used as it is; otherwise ``.venv/bin/python`` once
``make install`` has created ``.venv`` with that interpreter; before that, the interpreter
itself. So a stock Debian/Ubuntu Python (externally managed, PEP 668: pip refuses to install
into it) gets a ``.venv`` and nobody has to activate anything.

Torch: a base interpreter that already has torch (a CUDA machine's system torch) gets a
``.venv`` with ``--system-site-packages``, so that torch is used, never replaced; otherwise a
plain ``.venv``, into which ``make install`` puts torch only when it is missing, by
``torch_index``: on a machine without an NVIDIA GPU the CPU build from PyTorch's CPU wheel
index (``CPU_INDEX``, about 200 MB), since the public index's Linux torch is the CUDA build
with its ``nvidia-*`` packages (several GB); when that index cannot be reached, the
configured package index, with a one-line note (a local CPU wheel, as in CI, still wins).

Runs with the interpreter it is asked about, before anything is installed: standard library
only. Not part of the installed package.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EXTERNALLY_MANAGED = "EXTERNALLY-MANAGED"  # PEP 668's marker in the standard library folder
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_TIMEOUT_S = 3.0  # an unreachable index must not slow an offline install


@dataclass(frozen=True)
class Interpreter:
    """What the install rule needs to know about one Python interpreter."""

    executable: str
    version: str
    in_environment: bool  # a virtual (venv, virtualenv) or conda environment
    externally_managed: bool  # PEP 668: its pip refuses to install outside an environment
    has_torch: bool


def is_environment(prefix: str, base_prefix: str) -> bool:
    """True for a venv/virtualenv (its prefix differs from its base's) or a conda env."""
    return prefix != base_prefix or Path(prefix, "conda-meta").is_dir()


def is_externally_managed(stdlib_dir: str | Path) -> bool:
    """True when the standard library folder holds PEP 668's ``EXTERNALLY-MANAGED`` marker."""
    return Path(stdlib_dir, EXTERNALLY_MANAGED).is_file()


def this_interpreter() -> Interpreter:
    """The running interpreter, as the install rule sees it."""
    return Interpreter(
        executable=sys.executable,
        version=".".join(map(str, sys.version_info[:3])),
        in_environment=is_environment(sys.prefix, sys.base_prefix),
        externally_managed=is_externally_managed(sysconfig.get_path("stdlib")),
        has_torch=importlib.util.find_spec("torch") is not None,
    )


def venv_python(venv: str | Path) -> Path:
    """The interpreter inside the virtual environment folder ``venv``."""
    return Path(venv, "bin", "python")


def target_python(interpreter: Interpreter, venv: str | Path) -> str | None:
    """The interpreter to install into and run; None: ``venv`` must be created first."""
    if interpreter.in_environment:
        return interpreter.executable
    if venv_python(venv).exists():  # False for a dangling link: that venv is rebuilt
        return str(venv_python(venv))
    return None


def venv_command(interpreter: Interpreter, venv: str | Path) -> list[str]:
    """The command creating ``venv``; it sees the base's packages only to keep its torch."""
    share = ["--system-site-packages"] if interpreter.has_torch else []
    return [interpreter.executable, "-m", "venv", "--clear", *share, str(venv)]


def describe_choice(interpreter: Interpreter, venv: str | Path) -> str:
    """Why ``venv`` is created, and what it will see of the base's torch."""
    managed = ", and it is externally managed (PEP 668)" if interpreter.externally_managed else ""
    torch = (
        "it has torch, so the environment sees its packages (--system-site-packages) and keeps it"
        if interpreter.has_torch
        else "it has no torch, so make install adds the CPU build"
    )
    return (
        f"creating {venv} with {interpreter.executable} (Python {interpreter.version}): it is "
        f"not a virtual or conda environment{managed}; {torch}. Every make target uses "
        f"{venv_python(venv)} from now on; nothing to activate."
    )


def prepare(interpreter: Interpreter, venv: str | Path) -> int:
    """Create ``venv`` when the rule needs it; say what was chosen. Returns an exit status."""
    if interpreter.in_environment:
        print(f"installing into the environment of {interpreter.executable}")
        return 0
    if target_python(interpreter, venv) is not None:
        print(f"installing into {venv} (remove it to rebuild it with another PYTHON)")
        return 0
    print(describe_choice(interpreter, venv))
    created = subprocess.run(venv_command(interpreter, venv), capture_output=True, text=True)
    if created.returncode == 0:
        return 0
    shutil.rmtree(venv, ignore_errors=True)  # a half-made venv would pass for a good one
    print(
        f"Could not create {venv} with {interpreter.executable} "
        f"(exit status {created.returncode}):\n{(created.stdout + created.stderr).strip()}\n"
        "To fix: install the venv module (Debian/Ubuntu: apt install "
        f"python{interpreter.version.rsplit('.', 1)[0]}-venv), or pass another interpreter "
        "(make install PYTHON=python3.12), or activate an environment of your own "
        "(venv, conda) and run make install again.",
        file=sys.stderr,
    )
    return 1


def has_nvidia_gpu() -> bool:
    """True where an NVIDIA driver is loaded (Linux ``/proc``) or ``nvidia-smi`` is on PATH."""
    return Path("/proc/driver/nvidia").exists() or shutil.which("nvidia-smi") is not None


def reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether ``url`` answers within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except (OSError, http.client.HTTPException, ValueError):
        return False


def torch_index(
    explicit: str, gpu: bool, can_reach: Callable[[str], bool] = reachable
) -> tuple[str, str]:
    """The index to install torch from (``""``: the configured ones) and one line on why.

    ``explicit`` (``TORCH_INDEX``) wins; with an NVIDIA GPU the package index's CUDA build;
    without one PyTorch's CPU index, or, when it cannot be reached, the configured index.
    """
    if explicit:
        return explicit, f"torch: from {explicit} (TORCH_INDEX)"
    if gpu:
        return "", (
            "torch: an NVIDIA GPU is present, so the package index's CUDA build (several GB "
            "with its nvidia-* packages)"
        )
    if can_reach(CPU_INDEX + "/"):
        return CPU_INDEX, f"torch: no NVIDIA GPU, so the CPU build from {CPU_INDEX} (~200 MB)"
    return "", (
        f"torch: no NVIDIA GPU, but {CPU_INDEX} cannot be reached: installing from the "
        "configured package index (its CPU wheel if it has one, else the CUDA build, "
        "several GB; pass TORCH_INDEX to choose)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 tools/install_env.py")
    parser.add_argument("command", choices=["python", "prepare", "torch-index"])
    parser.add_argument(
        "value", help="python, prepare: the venv folder (.venv); torch-index: TORCH_INDEX or ''"
    )
    args = parser.parse_args(argv)
    if args.command == "torch-index":
        index, why = torch_index(args.value, has_nvidia_gpu())
        print(why, file=sys.stderr)
        print(index)
        return 0
    interpreter = this_interpreter()
    if args.command == "prepare":
        return prepare(interpreter, args.value)
    print(target_python(interpreter, args.value) or interpreter.executable)
    return 0


if __name__ == "__main__":
    sys.exit(main())
