"""The notebooks' first code cell, the Colab install: its one source.

`make badges` (``tools/report_tools.py``) copies everything from the line starting
``# Colab only`` down into the first code cell of each ``notebooks/NN_*.py``, with
``REPOSITORY`` set from ``pyproject.toml``, and tags the cell so that the rendered reports
leave its code out; ``tests/test_colab_cell.py`` fails when a notebook's cell differs.
This docstring is not copied.
"""

# Colab only: install sasrec_utils; Colab's own torch is kept as it is. The newest
# sasrec_utils-*.whl in WHEEL_FOLDERS (upload one built by `make wheel`) goes first, else the
# repository. When pip fails, this cell says why and how to get past it, then stops.
import sys

REPOSITORY = "<[project.urls] Repository of pyproject.toml>"  # set by `make badges`
WHEEL_FOLDERS = ["/content", "/content/drive/MyDrive"]  # Files pane uploads; Drive once mounted
if "google.colab" in sys.modules:
    import glob
    import os
    import subprocess
    import warnings

    wheels = [
        path
        for folder in WHEEL_FOLDERS
        for path in glob.glob(os.path.join(folder, "sasrec_utils-*.whl"))
    ]
    source = max(wheels, key=os.path.getmtime) if wheels else f"git+{REPOSITORY}"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", source],
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},  # a private repository fails at once
    )
    if pip.returncode == 0:
        print(f"sasrec_utils installed from {source}")
    else:
        said = (pip.stdout + pip.stderr).strip().splitlines()[-15:]
        print(
            f"Could not install sasrec_utils from {source} "
            f"(pip exit status {pip.returncode}):\n    "
            + "\n    ".join(said)
            + "\n\nTwo ways out; then run this cell again:\n"
            "  1. Upload a wheel: in a copy of the repository run `make wheel`, then upload "
            "dist/sasrec_utils-*.whl to a folder of WHEEL_FOLDERS ("
            + ", ".join(WHEEL_FOLDERS)
            + "): Files pane > Upload, or Mount Drive and put it in MyDrive. The newest one "
            "is installed.\n"
            "  2. Set REPOSITORY above to an address this runtime can reach (a public fork, or "
            "where the repository moved); pip installs git+REPOSITORY."
        )
        warnings.filterwarnings("ignore", "To exit: use")  # IPython's hint after SystemExit
        raise SystemExit("sasrec_utils is not installed: see the message above")
