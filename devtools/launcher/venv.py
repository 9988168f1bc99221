"""The virtualenv everything else runs in: created and filled from the locks on first use.

Two hash-pinned locks (README, "Dependencies"): requirements.txt, what the four projects
import at run time, which `up` and the Django commands install; requirements-dev.txt, the
same pins plus the tests, linters and tools, which `test` and `bench` install on top. The
stamp file holds one line per lock installed ("runtime <digest>", "dev <digest>"), so
`up` after `test` installs nothing and `test` after `up` adds only the dev part.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from devtools.launcher.console import fail

REPO = Path(__file__).resolve().parents[2]
COMMAND = REPO / "manage_all.py"
VENV = REPO / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
LOCK_FILE = REPO / "requirements.txt"
DEV_LOCK_FILE = REPO / "requirements-dev.txt"
LOCKS = {"runtime": LOCK_FILE, "dev": DEV_LOCK_FILE}
STAMP_FILE = VENV / ".requirements.sha256"


def lock_digest(lock: Path) -> str:
    digest = hashlib.sha256(lock.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def read_stamp(path: Path = STAMP_FILE) -> dict[str, str]:
    """{"runtime": digest, "dev": digest} of what is installed; {} for none (or an old stamp)."""
    if not path.exists():
        return {}
    stamp = {}
    for line in path.read_text().splitlines():
        kind, _, digest = line.partition(" ")
        if kind in LOCKS and digest:
            stamp[kind] = digest
    return stamp


def locks_to_install(dev: bool, stamp: dict[str, str]) -> list[str]:
    """Which lock to install ([] when the venv is current). The dev lock pins every runtime
    package at the runtime lock's version, so installing it brings the runtime part too."""
    runtime_current = stamp.get("runtime") == lock_digest(LOCK_FILE)
    dev_current = runtime_current and stamp.get("dev") == lock_digest(DEV_LOCK_FILE)
    if dev and not dev_current:
        return ["runtime", "dev"]
    if not runtime_current:
        return ["runtime"]
    return []


def ensure_venv(dev: bool = False) -> None:
    """Create .venv and install the runtime lock (and, with dev, the dev lock) when missing
    or changed; then run inside it."""
    if not VENV_PYTHON.exists():
        print("creating .venv ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if Path(sys.prefix).resolve() != VENV.resolve():
        # Re-run this command with the venv's interpreter (it checks the locks itself).
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(COMMAND), *sys.argv[1:]])
    kinds = locks_to_install(dev, read_stamp())
    if not kinds:
        return
    lock = LOCKS[kinds[-1]]
    what = "runtime and development" if dev else "runtime"
    print(f"installing the locked {what} dependencies ({lock.name}) ...", flush=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--require-hashes",
            "-r",
            str(lock),
        ],
        check=False,
    )
    if result.returncode != 0:
        fail(f"pip could not install {lock.name} (see above)")
    STAMP_FILE.write_text("".join(f"{kind} {lock_digest(LOCKS[kind])}\n" for kind in kinds))
