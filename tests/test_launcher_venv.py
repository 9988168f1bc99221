"""The launcher's venv stamp: which locks `up` and `test` still have to install."""

from __future__ import annotations

from devtools.launcher import venv


def test_the_venv_stamp_tells_runtime_from_runtime_and_dev(tmp_path):
    """`up` after `test` installs nothing; `test` after `up` installs the dev lock, which
    pip reduces to the dev part (the runtime pins are already satisfied)."""
    runtime = f"runtime {venv.lock_digest(venv.LOCK_FILE)}\n"
    both = runtime + f"dev {venv.lock_digest(venv.DEV_LOCK_FILE)}\n"
    stamp = tmp_path / "stamp"
    cases = {
        "": (["runtime"], ["runtime", "dev"]),
        "0123abcd\n": (["runtime"], ["runtime", "dev"]),  # a stamp of one lock, from before
        runtime: ([], ["runtime", "dev"]),
        both: ([], []),
        both.replace("runtime ", "runtime 0"): (["runtime"], ["runtime", "dev"]),
        runtime + "dev 0\n": ([], ["runtime", "dev"]),
    }
    for text, (for_up, for_test) in cases.items():
        stamp.write_text(text)
        assert venv.locks_to_install(False, venv.read_stamp(stamp)) == for_up, text
        assert venv.locks_to_install(True, venv.read_stamp(stamp)) == for_test, text
