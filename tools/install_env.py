"""Which Python the Makefile installs into and runs: the one rule, decided in one place.

    python3 tools/install_env.py python .venv    # prints the interpreter every target runs
    python3 tools/install_env.py prepare .venv   # `make install`: creates .venv when needed

The rule: an interpreter that is a virtual or conda environment (an activated one, or
``PYTHON=path/to/env/bin/python``) is used as it is; otherwise ``.venv/bin/python`` once
``make install`` has created ``.venv`` with that interpreter; before that, the interpreter
itself. So a stock Debian/Ubuntu Python (externally managed, PEP 668: pip refuses to install
into it) gets a ``.venv`` and nobody has to activate anything.

Torch: a base interpreter that already has torch (a CUDA machine's system torch) gets a
``.venv`` with ``--system-site-packages``, so that torch is used, never replaced; otherwise a
plain ``.venv``, into which ``make install`` puts torch only when it is missing.

Runs with the interpreter it is asked about, before anything is installed: standard library
only. Not part of the installed package.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

EXTERNALLY_MANAGED = "EXTERNALLY-MANAGED"  # PEP 668's marker in the standard library folder


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 tools/install_env.py")
    parser.add_argument("command", choices=["python", "prepare"])
    parser.add_argument("venv", help="the project's virtual environment folder (.venv)")
    args = parser.parse_args(argv)
    interpreter = this_interpreter()
    if args.command == "prepare":
        return prepare(interpreter, args.venv)
    print(target_python(interpreter, args.venv) or interpreter.executable)
    return 0


if __name__ == "__main__":
    sys.exit(main())
