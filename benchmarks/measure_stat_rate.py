"""Measure the metadata read rate a crawl achieves on this machine: `stat()` (+ `getxattr`) per file.

Generates a directory tree of `--files` small files (`--per-dir` per directory, each with a user
xattr standing for the stub/migration attributes an edge NAS keeps per file, when the file system
supports user xattrs), then walks it the way a scan-based rebuild does (`os.scandir` per directory,
`stat()` of every entry, `getxattr` of the management attribute) and prints files per second.
Three passes with the page cache warm (an upper bound of a crawl's rate on this machine), and
with `--cold` (root only) one pass after `sync; echo 2 > /proc/sys/vm/drop_caches` (dentries and
inodes dropped: the crawl reads them from the disk; this machine's disk is a virtio volume whose
host may still cache it, so even this figure is optimistic for an appliance's disks). The `edge_mgmt_recovery` default `metadata_read_rate`
comes from this script (docs/models/edge_mgmt_recovery.md).

    python benchmarks/measure_stat_rate.py [--files 200000] [--per-dir 1000] [--dir /tmp/x]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

XATTR = "user.edge_mgmt"


def make_tree(root: str, files: int, per_dir: int) -> bool:
    """Create the tree; returns whether user xattrs are supported."""
    xattr = True
    for i in range(files):
        d = os.path.join(root, f"d{i // per_dir:05d}")
        if i % per_dir == 0:
            os.mkdir(d)
        path = os.path.join(d, f"f{i:08d}")
        with open(path, "wb") as fh:
            fh.write(b"x" * 64)
        if xattr:
            try:
                os.setxattr(path, XATTR, b"state=stub;loc=0123456789abcdef")
            except OSError:
                xattr = False
    return xattr


def crawl(root: str, xattr: bool) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = 0
    for d in os.scandir(root):
        for e in os.scandir(d.path):
            e.stat(follow_symlinks=False)
            if xattr:
                os.getxattr(e.path, XATTR)
            n += 1
    return n, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200_000)
    ap.add_argument("--per-dir", type=int, default=1000)
    ap.add_argument("--cold", action="store_true", help="also crawl once after dropping the caches (root)")
    ap.add_argument("--dir", default=None, help="where to build the tree (default: a temporary directory)")
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="stat_rate_", dir=a.dir)
    try:
        t0 = time.perf_counter()
        xattr = make_tree(root, a.files, a.per_dir)
        print(f"tree: {a.files:,} files in {root} ({time.perf_counter() - t0:.1f} s to create), "
              f"user xattrs {'on' if xattr else 'unsupported'}")
        with open("/proc/loadavg") as fh:
            print("load:", fh.read().strip())
        for k in range(3):
            n, dt = crawl(root, xattr)
            print(f"pass {k + 1}: {n:,} files in {dt:.2f} s = {n / dt:,.0f} files/s (stat{' + getxattr' if xattr else ''})")
        if a.cold:
            os.sync()
            with open("/proc/sys/vm/drop_caches", "w") as fh:
                fh.write("2\n")
            n, dt = crawl(root, xattr)
            print(f"cold: {n:,} files in {dt:.2f} s = {n / dt:,.0f} files/s (after drop_caches)")
        n, dt = crawl(root, False)
        print(f"stat only: {n:,} files in {dt:.2f} s = {n / dt:,.0f} files/s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
