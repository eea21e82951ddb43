#!/usr/bin/env python3
"""Writes a large ledger straight into a repository (make bench, section `ledger`): the records
cacheform would have written, without running a million purges.

    gen_ledger.py REPO RECORDS [ENDPOINTS_PER_MANIFEST] [--old-layout]

RECORDS succeeded purge records of manifests bench-m0000000... (ENDPOINTS_PER_MANIFEST, default
10, endpoints each, named ep00..), one commit on refs/cacheform/ledger. The layout is the v2
fan-out of reconcile/repo_ledger.h with its index by day (--old-layout: purges/<id>/<endpoint>.json). Ids and names
are plain [a-z0-9-], so their path component is the name itself.

The objects go into one pack written here and indexed by `git index-pack`: git fast-import
spends about 1 ms of system time per object on the benchmark machine (20,000 records: 24 s).
"""
import hashlib
import os
import struct
import subprocess
import sys
import zlib

REF = "refs/cacheform/ledger"
TIME = "2025-11-21T09:00:00Z"
TYPES = {b"commit": 1, b"tree": 2, b"blob": 3}


def fnv1a32(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def shard(s):
    h = fnv1a32(s)
    return ["%02x" % (h >> 24), "%02x" % ((h >> 16) & 0xFF)]


def record(mid, ep):
    # the shape ledger_purge_encode writes (pretty JSON), one finished task
    return ('{\n  "format_version": 1,\n  "purge": "%s",\n  "endpoint": "%s",\n'
            '  "account": "cn",\n  "content_hash": "%s",\n  "status": "succeeded",\n'
            '  "tasks": [\n    {\n      "id": "task-%s-%s",\n'
            '      "poll_url": "http://127.0.0.1:1/tasks/%s-%s",\n      "preload": false,\n'
            '      "batch": 0,\n      "state": "succeeded"\n    }\n  ],\n  "batches": 1,\n'
            '  "files": 3,\n  "dirs": 1,\n  "submitted_at": "%s",\n  "finished_at": "%s"\n}\n'
            % (mid, ep, "a" * 64, mid, ep, mid, ep, TIME, TIME)).encode()


def stored(data):
    """data as a zlib stream of stored (uncompressed) blocks: zlib.compress allocates its
    state per call, and page faults are what is slow on the benchmark machine."""
    out = [b"\x78\x01"]
    for at in range(0, max(len(data), 1), 65535):
        chunk = data[at:at + 65535]
        last = 1 if at + 65535 >= len(data) else 0
        out.append(struct.pack("<BHH", last, len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    out.append(struct.pack(">I", zlib.adler32(data)))
    return b"".join(out)


class Pack:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.sha = hashlib.sha1()
        self.n = 0
        self.emit(b"PACK" + struct.pack(">II", 2, 0))  # count patched at the end

    def emit(self, b):
        self.f.write(b)

    def add(self, kind, data):
        oid = hashlib.sha1(b"%s %d\0" % (kind, len(data)) + data).digest()
        size = len(data)
        head = bytearray()
        c = (TYPES[kind] << 4) | (size & 15)
        size >>= 4
        while size:
            head.append(c | 0x80)
            c = size & 0x7F
            size >>= 7
        head.append(c)
        self.emit(bytes(head) + stored(data))
        self.n += 1
        return oid

    def close(self):
        self.f.close()
        with open(self.f.name, "r+b") as f:  # patch the count, then the trailing checksum
            f.seek(8)
            f.write(struct.pack(">I", self.n))
            f.seek(0)
            h = hashlib.sha1()
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
            f.write(h.digest())


def tree(pack, node):
    """node: name -> oid (blob) or dict (subtree); returns the tree's oid."""
    entries = []
    for name, v in node.items():
        if isinstance(v, dict):
            entries.append((name + "/", b"40000 %s\0" % name.encode() + tree(pack, v)))
        else:
            entries.append((name, b"100644 %s\0" % name.encode() + v))
    entries.sort()
    return pack.add(b"tree", b"".join(e[1] for e in entries))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    old = "--old-layout" in sys.argv
    repo, n = args[0], int(args[1])
    per = int(args[2]) if len(args) > 2 else 10
    gitdir = subprocess.check_output(["git", "-C", repo, "rev-parse", "--absolute-git-dir"],
                                     text=True).strip()
    tmp = os.path.join(gitdir, "objects", "pack", "tmp-bench-ledger.pack")
    pack = Pack(tmp)
    root = {}
    for i in range(n):
        mid, ep = "bench-m%07d" % (i // per), "ep%02d" % (i % per)
        oid = pack.add(b"blob", record(mid, ep))
        d = root.setdefault("purges", {}) if old else \
            root.setdefault("v2", {}).setdefault("purges", {})
        if not old:
            for part in shard(mid):
                d = d.setdefault(part, {})
        d.setdefault(mid, {})[ep + ".json"] = oid
        if not old:  # the index by day (the same blob), as cacheform writes it
            d = root["v2"].setdefault("days", {}).setdefault(TIME[:10], {})
            for part in shard(mid):
                d = d.setdefault(part, {})
            d.setdefault(mid, {})[ep + ".json"] = oid
    top = tree(pack, root)
    msg = b"bench: %d ledger records\n" % n
    commit = pack.add(b"commit", b"tree %s\nauthor bench <bench@example.com> 1763715600 +0000\n"
                      b"committer bench <bench@example.com> 1763715600 +0000\n\n"
                      % top.hex().encode() + msg)
    pack.close()
    with open(tmp, "rb") as f:
        subprocess.check_call(["git", "-C", repo, "index-pack", "--stdin"], stdin=f,
                              stdout=subprocess.DEVNULL)
    os.unlink(tmp)
    subprocess.check_call(["git", "-C", repo, "update-ref", REF, commit.hex()])


if __name__ == "__main__":
    main()
