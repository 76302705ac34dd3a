"""`make install`'s interpreter rule (tools/install_env.py) and the Makefile that follows it.

The rule is tested on hand-made interpreter descriptions, then through ``make -n`` in a
copy of the Makefile with real interpreters: a plain one, a fresh ``.venv``, an activated
environment, and Debian's externally managed ``/usr/bin/python3`` where there is one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tools.install_env import (
    CPU_INDEX,
    Interpreter,
    is_environment,
    is_externally_managed,
    prepare,
    target_python,
    torch_index,
    venv_command,
)

ROOT = Path(__file__).resolve().parents[1]
HELPER = ROOT / "tools" / "install_env.py"
SYSTEM_PYTHON = Path("/usr/bin/python3")
# what make exports to its recipes (this suite may run under `make test`), and an activated
# environment, must not leak into the makes these tests start
LEAKS = ("PYTHON", "BASE_PYTHON", "VENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV")


def interpreter(in_environment=False, externally_managed=False, has_torch=False) -> Interpreter:
    return Interpreter("/usr/bin/python3", "3.11.2", in_environment, externally_managed, has_torch)


# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize("managed", [False, True])
def test_an_environment_is_used_as_it_is_even_beside_a_venv(tmp_path, managed):
    make_fake_venv(tmp_path / ".venv")
    chosen = target_python(interpreter(in_environment=True, externally_managed=managed), tmp_path)
    assert chosen == "/usr/bin/python3"


@pytest.mark.parametrize("managed", [False, True])
def test_a_plain_interpreter_gets_a_venv_then_runs_it(tmp_path, managed):
    plain = interpreter(externally_managed=managed)
    venv = tmp_path / ".venv"
    assert target_python(plain, venv) is None  # None: create it
    make_fake_venv(venv)
    assert target_python(plain, venv) == str(venv / "bin" / "python")


def test_a_venv_whose_python_is_a_dangling_link_is_rebuilt(tmp_path):
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(tmp_path / "removed-python")
    assert target_python(interpreter(), tmp_path / ".venv") is None
    assert "--clear" in venv_command(interpreter(), tmp_path / ".venv")


def test_the_venv_sees_the_base_packages_only_to_keep_its_torch():
    assert venv_command(interpreter(has_torch=False), ".venv") == [
        "/usr/bin/python3",
        "-m",
        "venv",
        "--clear",
        ".venv",
    ]
    assert venv_command(interpreter(has_torch=True), ".venv") == [
        "/usr/bin/python3",
        "-m",
        "venv",
        "--clear",
        "--system-site-packages",
        ".venv",
    ]


def test_environments_and_pep_668_markers_are_recognised(tmp_path):
    assert is_environment("/work/.venv", "/usr") and not is_environment("/usr", "/usr")
    (tmp_path / "conda-meta").mkdir()
    assert is_environment(str(tmp_path), str(tmp_path))  # conda: prefix == base_prefix
    assert not is_externally_managed(tmp_path)
    (tmp_path / "EXTERNALLY-MANAGED").write_text("[externally-managed]\nError=use a venv\n")
    assert is_externally_managed(tmp_path)


def test_a_failed_venv_is_removed_and_the_message_says_what_to_do(tmp_path, capsys):
    (tmp_path / "file").write_text("a file where the venv's parent folder should be")
    venv = tmp_path / "file" / ".venv"
    plain = Interpreter(sys.executable, "3.11.7", False, True, False)
    assert prepare(plain, venv) == 1
    printed = capsys.readouterr()
    assert printed.out.startswith(f"creating {venv} with {sys.executable} (Python 3.11.7)")
    assert "externally managed (PEP 668)" in printed.out
    assert printed.err.startswith(f"Could not create {venv} with {sys.executable} (exit status")
    assert "apt install python3.11-venv" in printed.err and "PYTHON=" in printed.err
    assert not venv.exists()


# ---------------------------------------------------------------- the Makefile


def make_fake_venv(venv: Path) -> None:
    """A folder that passes for a venv (``bin/python`` exists): enough for the rule."""
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\n")


def reports_itself(python: str | os.PathLike, code: str) -> str:
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


# asked of an interpreter, independently of the helper under test
IN_ENVIRONMENT = (
    "import os, sys; "
    "print(sys.prefix != sys.base_prefix or os.path.isdir(os.path.join(sys.prefix, 'conda-meta')))"
)
MANAGED = (
    "import os, sysconfig; "
    "print(os.path.isfile(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))"
)


def plain_python() -> str | None:
    """The interpreter this suite's environment was made from (or this one, if plain)."""
    for candidate in (getattr(sys, "_base_executable", ""), sys.executable):
        exists = bool(candidate) and Path(candidate).exists()
        if exists and reports_itself(candidate, IN_ENVIRONMENT) == "False":
            return candidate
    return None


@pytest.fixture(scope="module")
def plain() -> str:
    python = plain_python()
    if python is None:
        pytest.skip("no Python outside a virtual or conda environment found")
    return python


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the Makefile and the helper: enough for ``make -n``."""
    shutil.copy(ROOT / "Makefile", tmp_path)
    (tmp_path / "tools").mkdir()
    shutil.copy(HELPER, tmp_path / "tools")
    return tmp_path


def make_dry_run(project: Path, *args: str, path_first: Path | None = None) -> list[str]:
    """The commands ``make -n ARGS`` would run in ``project``, one per line."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKS}
    if path_first is not None:  # as `source ENV/bin/activate` leaves it
        env["PATH"] = f"{path_first / 'bin'}{os.pathsep}{env['PATH']}"
        env["VIRTUAL_ENV"] = str(path_first)
    run = subprocess.run(
        ["make", "-n", "--no-print-directory", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def test_without_a_venv_targets_run_the_chosen_interpreter(project, plain):
    assert make_dry_run(project, "test", f"PYTHON={plain}") == [f"{plain} -m pytest"]


def test_with_a_venv_every_target_runs_it_and_install_installs_into_it(project, plain):
    subprocess.run([plain, "-m", "venv", "--without-pip", project / ".venv"], check=True)
    lines = make_dry_run(project, "test", "lint", "lab", "wheel", f"PYTHON={plain}")
    interpreters = [line.split(" -m ")[0] for line in lines if " -m " in line]
    assert interpreters == [".venv/bin/python"] * 5  # pytest, ruff twice, jupyter, pip wheel
    install = make_dry_run(project, "install", f"PYTHON={plain}")
    assert install[0] == f"{plain} tools/install_env.py prepare .venv"
    assert '.venv/bin/python -m pip install -e ".[dev]"' in install


def test_an_activated_environment_wins_over_the_venv(project, plain, tmp_path_factory):
    subprocess.run([plain, "-m", "venv", "--without-pip", project / ".venv"], check=True)
    active = tmp_path_factory.mktemp("active") / "env"
    subprocess.run([plain, "-m", "venv", "--without-pip", active], check=True)
    python = active / "bin" / "python3"
    assert make_dry_run(project, "test", path_first=active) == [f"{python} -m pytest"]
    install = make_dry_run(project, "install", path_first=active)
    assert f'{python} -m pip install -e ".[dev]"' in install


# ---------------------------------------------------------------- real venvs


def interpreters_to_build_from() -> list[str]:
    """A plain interpreter, and Debian's externally managed one where there is one."""
    managed = SYSTEM_PYTHON.exists() and reports_itself(SYSTEM_PYTHON, MANAGED) == "True"
    return [p for p in (plain_python(), str(SYSTEM_PYTHON) if managed else None) if p]


@pytest.mark.slow
@pytest.mark.parametrize("python", interpreters_to_build_from())
def test_prepare_builds_a_venv_with_pip_once_then_reuses_it(tmp_path, python):
    venv = tmp_path / ".venv"
    first = subprocess.run(
        [python, HELPER, "prepare", venv], capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"creating {venv} with ")
    has_torch = reports_itself(
        python, "import importlib.util as u; print(bool(u.find_spec('torch')))"
    )
    shared = "true" if has_torch == "True" else "false"
    assert f"include-system-site-packages = {shared}" in (venv / "pyvenv.cfg").read_text()
    inside = venv / "bin" / "python"
    assert reports_itself(inside, "import sys; print(sys.prefix != sys.base_prefix)") == "True"
    assert reports_itself(inside, "import pip; print('pip')") == "pip"
    again = subprocess.run([python, HELPER, "prepare", venv], capture_output=True, text=True)
    assert again.stdout.startswith(f"installing into {venv} (remove it to rebuild")
    chosen = subprocess.run([inside, HELPER, "python", venv], capture_output=True, text=True)
    assert chosen.stdout.strip() == str(inside)  # the venv's python uses itself


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> tuple[Path, str]:
    """`make wheel` in a copy of the project: the wheel and what make printed."""
    root = tmp_path_factory.mktemp("project")
    for name in ("Makefile", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, root)
    for folder in ("tools", "sasrec_utils"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__py*"))
    env = {k: v for k, v in os.environ.items() if k not in LEAKS}
    run = subprocess.run(
        ["make", "--no-print-directory", "wheel", f"PYTHON={sys.executable}"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    (wheel,) = (root / "dist").glob("sasrec_utils-*.whl")
    return wheel, run.stdout


def package_modules() -> list[str]:
    """The checkout's ``sasrec_utils/**/*.py``, as paths inside a wheel."""
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "sasrec_utils").rglob("*.py"))


@pytest.mark.slow
def test_make_wheel_builds_the_file_the_colab_cell_looks_for(built_wheel):
    wheel, printed = built_wheel
    assert printed.strip().endswith(f"dist/{wheel.name}")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n for n in names if n.endswith(".py")) == package_modules()
    assert "sasrec_utils/training/loop.py" in names  # the subpackages, not only the top
    assert not [n for n in names if n.startswith(("tests/", "tools/", "notebooks/"))]


@pytest.mark.slow
def test_the_installed_wheel_imports_every_subpackage_away_from_the_checkout(built_wheel, tmp_path):
    wheel, _ = built_wheel
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", venv], check=True, timeout=300
    )
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in (*LEAKS, "PYTHONPATH")}

    def run(*args: str) -> str:
        done = subprocess.run(
            [python, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.strip()

    site_packages = Path(run("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"))
    # a venv made from a venv sees the base interpreter's packages, not this one's (torch):
    # this one's are put after the new venv's own, so the wheel's sasrec_utils comes first
    outer = [p for p in sys.path if p.endswith("site-packages")]
    (site_packages / "outer_environment.pth").write_text("\n".join(outer) + "\n")
    run("-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel))
    subpackages = sorted(
        init.parent.relative_to(ROOT).as_posix().replace("/", ".")
        for init in (ROOT / "sasrec_utils").rglob("__init__.py")
    )
    assert {"sasrec_utils.training", "sasrec_utils.serving"} <= set(subpackages)
    where = run(
        "-c",
        "import importlib, sys\n"
        f"for name in {subpackages!r}:\n"
        "    print(importlib.import_module(name).__file__)",
    ).splitlines()
    assert len(where) == len(subpackages)
    assert all(Path(path).is_relative_to(site_packages) for path in where), where


# ---------------------------------------------------------------- which torch build


def test_without_an_nvidia_gpu_torch_comes_from_the_cpu_index():
    index, why = torch_index("", gpu=False, can_reach=lambda url: True)
    assert index == "https://download.pytorch.org/whl/cpu" == CPU_INDEX
    assert why == f"torch: no NVIDIA GPU, so the CPU build from {CPU_INDEX} (~200 MB)"


def test_an_unreachable_cpu_index_falls_back_with_one_line():
    asked = []
    index, why = torch_index("", gpu=False, can_reach=lambda url: asked.append(url) or False)
    assert index == "" and asked == [CPU_INDEX + "/"]
    assert why.startswith(f"torch: no NVIDIA GPU, but {CPU_INDEX} cannot be reached")
    assert "\n" not in why


def test_a_gpu_or_an_explicit_index_is_not_second_guessed():
    never = lambda url: pytest.fail("no probe needed")  # noqa: E731
    assert torch_index("", gpu=True, can_reach=never)[0] == ""
    assert torch_index("https://x/cu126", gpu=False, can_reach=never)[0] == "https://x/cu126"


def test_make_install_asks_the_rule_for_torchs_index(project, plain):
    lines = " ".join(make_dry_run(project, "install-packages", f"PYTHON={plain}"))
    assert f'{plain} tools/install_env.py torch-index ""' in lines
    assert "${index:+--index-url $index}" in lines


def test_environment_yml_takes_torch_from_conda_forge_by_the_same_rule():
    text = (ROOT / "environment.yml").read_text()
    assert "\n  - pytorch>=2.2" in text  # before pip's `-e .`, which then keeps it
    assert text.index("pytorch>=2.2") < text.index("- -e .")
