"""Test helpers: build the wheel from a clean copy of the tree, and a fresh venv outside it.

The fresh venv is made with `python -m venv` (its own pip, its own site-packages) and sees
the third-party packages of the repository's .venv (torch, nbgrader, Jupyter) through a
`.pth` line naming a folder of symlinks to them.  Nothing of this package is linked: not
`autograder`, not its dist-info, not the editable-install finder, so `import autograder` in
that venv can only be the installed wheel.  The alternative, `venv --system-site-packages`,
would share the *base* interpreter's packages (a venv's base is the system Python, which has
no torch), and installing the dependencies for real would download torch (gigabytes) on
every run.  Jupyter's data files (kernel specs, Lab's assets) are linked the same way.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
OWN = re.compile(r"^(autograder|neuron_riddles.*|__editable__.*|.*\.pth|pip|pip-.*|setuptools|setuptools-.*|"
                 r"_distutils_hack|pkg_resources|__pycache__)$")
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache",
                                     "out", "demo", "riddles-grades", "*.whl")


def build_wheel(work: Path) -> Path:
    """`pip wheel --no-deps` on a copy of the working tree (so no stale build/ folder can add
    files, and the repository is not written to).  --no-build-isolation uses this venv's
    setuptools instead of fetching one."""
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=COPY_IGNORE)
    dist = work / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                           "-w", str(dist), "-q"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def fresh_venv(where: Path) -> Path:
    """A new venv at `where` that shares this repository's third-party packages, not this one."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, capture_output=True, timeout=300)
    site = where / "lib" / PY / "site-packages"
    deps = where / "shared-deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not OWN.match(entry.name):
            (deps / entry.name).symlink_to(entry)
    (site / "zz_shared_deps.pth").write_text(f"{deps}\n")
    for tool, module in (("pytest", "pytest"),):  # console scripts of shared packages pip will not write
        script = where / "bin" / tool
        script.write_text(f"#!{where / 'bin' / 'python'}\nimport sys\nfrom {module} import console_main\n"
                          "sys.exit(console_main())\n")
        script.chmod(0o755)
    shared = Path(sys.prefix) / "share" / "jupyter"
    if shared.is_dir():
        (where / "share").mkdir(exist_ok=True)
        (where / "share" / "jupyter").symlink_to(shared)
    return where


def venv_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "RIDDLES_COURSE_ROOT")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def wheel_texts(wheel: Path) -> dict[str, str]:
    """name -> text of every file in the wheel (undecodable bytes replaced)."""
    with zipfile.ZipFile(wheel) as zf:
        return {name: zf.read(name).decode("utf-8", "replace") for name in zf.namelist()}
