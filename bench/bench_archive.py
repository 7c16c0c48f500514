"""Archive export and verify throughput for documents: a published case with D documents of S MB each, exported as
a BagIt bag (sha256 + sha512 manifests) and verified with nothing but the bag. Prints MB/s.

    .venv/bin/python bench/bench_archive.py --documents 20 --mb 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--documents", type=int, default=20)
    ap.add_argument("--mb", type=int, default=10)
    args = ap.parse_args()

    from flows.usecases.archive import export_archive
    from flows.usecases.archive_verify import verify_archive
    from flows.usecases.documents import attach
    from flows.usecases.workspace import Actor
    from support import CLERK, MANDATORY_PATH, Driver, new_workspace

    tmp = Path(tempfile.mkdtemp(prefix="juece-archive-bench-"))
    try:
        ws = new_workspace(tmp / "ws")
        d = Driver(ws)
        d.launch("risk-relevant", "technical")
        d.walk(MANDATORY_PATH)
        d.walk(["party-reported", "decision-published"])
        t0 = time.perf_counter()
        for i in range(args.documents):
            f = tmp / f"附件{i:02d}.bin"
            f.write_bytes(os.urandom(args.mb * 1024 * 1024))
            attach(ws, CLERK, d.case_id, f, title=f"附件{i}")
            f.unlink()
        t_attach = time.perf_counter() - t0
        total_mb = args.documents * args.mb
        t0 = time.perf_counter()
        export_archive(ws, Actor("archivist", "周档案"), d.case_id, tmp / "bag")
        t_export = time.perf_counter() - t0
        t0 = time.perf_counter()
        v = verify_archive(tmp / "bag")
        t_verify = time.perf_counter() - t0
        assert v.ok, v.failures
        print(f"{args.documents} documents × {args.mb} MB = {total_mb} MB (load average {os.getloadavg()[0]:.2f})")
        print(f"  attach (store, sha256, fsync):        {t_attach:6.2f} s  {total_mb / t_attach:7.1f} MB/s")
        print(f"  archive export (copy, sha256+sha512): {t_export:6.2f} s  {total_mb / t_export:7.1f} MB/s")
        print(f"  archive verify (full, never fast):    {t_verify:6.2f} s  {total_mb / t_verify:7.1f} MB/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
