#!/usr/bin/env python3
"""Writes N small single-file .torrent files (random piece hashes, no data needed):
   bench/mktorrents.py DIR N"""
import hashlib, os, sys

def benc(v):
    if isinstance(v, int): return b"i%de" % v
    if isinstance(v, str): v = v.encode()
    if isinstance(v, bytes): return b"%d:%s" % (len(v), v)
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(v)

out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
for i in range(n):
    info = {"name": "file-%04d.bin" % i, "length": 256 << 10, "piece length": 64 << 10,
            "pieces": b"".join(hashlib.sha1(os.urandom(8)).digest() for _ in range(4))}
    with open(os.path.join(out, "%04d.torrent" % i), "wb") as f:
        f.write(benc({"info": info, "created by": "swarmcast bench"}))
