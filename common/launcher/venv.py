"""The virtualenv everything else runs in: created and filled from the lock on first use."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from common.launcher.console import fail

REPO = Path(__file__).resolve().parents[2]
COMMAND = REPO / "manage_all.py"
VENV = REPO / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
LOCK_FILE = REPO / "requirements.txt"
STAMP_FILE = VENV / ".requirements.sha256"


def _lock_digest() -> str:
    digest = hashlib.sha256(LOCK_FILE.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the lock when missing or changed; then run inside it."""
    if not VENV_PYTHON.exists():
        print("creating .venv ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if Path(sys.prefix).resolve() != VENV.resolve():
        # Re-run this command with the venv's interpreter (it checks the lock itself).
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(COMMAND), *sys.argv[1:]])
    digest = _lock_digest()
    if STAMP_FILE.exists() and STAMP_FILE.read_text().strip() == digest:
        return
    print("installing the locked dependencies (requirements.txt) ...", flush=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "-r",
            str(LOCK_FILE),
        ],
        check=False,
    )
    if result.returncode != 0:
        fail("pip could not install requirements.txt (see above)")
    STAMP_FILE.write_text(digest)
