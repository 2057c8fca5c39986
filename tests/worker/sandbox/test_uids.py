"""Job uids: distinct leases from the range, across processes, refused when exhausted, and a
lock folder someone else controls is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.errors import SandboxError
from worker.sandbox.uids import UidPool

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a uid range needs a root worker")

HOLDER = """
import sys, time
from worker.sandbox.uids import UidPool
with UidPool(int(sys.argv[1]), 2, sys.argv[2]).lease() as uid:
    print(uid, flush=True)
    time.sleep(30)
"""


def test_leases_are_distinct_across_processes_and_bounded(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    pool = UidPool(400_000, 2, str(locks))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "400000", str(locks)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        held = int(holder.stdout.readline())
        with pool.lease() as uid:
            assert uid != held and {uid, held} == {400_000, 400_001}
            with pytest.raises(SandboxError, match="all 2 sandbox uids are in use"), pool.lease():
                pass
    finally:
        holder.kill()
        holder.communicate()
    with pool.lease() as first, pool.lease() as second:  # the dead holder's lease is free
        assert {first, second} == {400_000, 400_001}


def test_a_lock_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o777)
    os.chmod(planted, 0o777)
    pool = UidPool(400_000, 2, str(planted))
    with pytest.raises(SandboxError, match="not a folder of this worker's alone"), pool.lease():
        pass
