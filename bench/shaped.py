#!/usr/bin/env python3
"""Helpers of bench/first_frame.sh.

  shaped.py relay LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS
      A TCP relay on 127.0.0.1:LISTEN_PORT that delivers every chunk DELAY_MS after it
      arrived, in each direction (20 ms each way: a 40 ms round trip; this kernel has
      no netem). Throughput is untouched: chunks are pipelined, not stop-and-wait.

  shaped.py needed FILM PIECE_LEN START_S END_S [index]
      The bytes a player needs for media time [START_S, END_S) of FILM (an MP4), in
      whole pieces of PIECE_LEN: the pieces holding the packets of that span (through
      the next video keyframe, which closes the segment), plus with `index` the pieces
      of the file's header and `moov`. Prints the byte count.

  shaped.py segment PLAYLIST FRACTION
      The segment of an HLS media playlist at FRACTION of its duration: prints
      "index start end" (seconds).
"""

import asyncio
import json
import struct
import subprocess
import sys


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    task = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await queue.put((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    await queue.put((0, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


def relay(listen_port, host, port, delay_ms):
    delay = delay_ms / 1000.0

    async def handle(cr, cw):
        try:
            sr, sw = await asyncio.open_connection(host, port)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, sw, delay), pipe(sr, cw, delay))

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def top_boxes(path):
    with open(path, "rb") as f:
        pos = 0
        while True:
            f.seek(pos)
            h = f.read(16)
            if len(h) < 8:
                return
            size, typ = struct.unpack(">I4s", h[:8])
            if size == 1:
                size = struct.unpack(">Q", h[8:16])[0]
            elif size == 0:
                f.seek(0, 2)
                size = f.tell() - pos
            yield typ.decode("latin1"), pos, size
            pos += size


def needed(film, piece, start, end, index):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "packet=stream_index,pts_time,dts_time,pos,size,flags",
         "-of", "json", film], check=True, capture_output=True, text=True).stdout
    packets = json.loads(out)["packets"]
    video = min(p["stream_index"] for p in packets)
    # The segment ends at the first video keyframe at or after `end`: it is read too.
    close = None
    for p in packets:
        t = float(p.get("pts_time") or p.get("dts_time") or 0)
        if p["stream_index"] == video and "K" in p.get("flags", "") and t >= end - 0.001:
            close = t
            break
    stop = close if close is not None else float("inf")
    pieces = set()
    for p in packets:
        t = float(p.get("pts_time") or p.get("dts_time") or 0)
        pos = int(p.get("pos", -1))
        if pos < 0:
            continue
        # Video from the keyframe that starts the span, audio alongside it.
        if start - 0.001 <= t <= stop + 0.001:
            size = int(p["size"])
            pieces.update(range(pos // piece, (pos + size - 1) // piece + 1))
    if index:
        for typ, pos, size in top_boxes(film):
            if typ in ("ftyp", "moov"):
                pieces.update(range(pos // piece, (pos + size - 1) // piece + 1))
    print(len(pieces) * piece)


def segment(playlist, fraction):
    durs = [float(l.split(":")[1].split(",")[0]) for l in open(playlist) if l.startswith("#EXTINF:")]
    target = sum(durs) * fraction
    t = 0.0
    for i, d in enumerate(durs):
        if t + d > target:
            print(i, round(t, 6), round(t + d, 6))
            return
        t += d
    print(len(durs) - 1, round(t - durs[-1], 6), round(t, 6))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "relay":
        relay(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    elif cmd == "needed":
        needed(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), "index" in sys.argv[6:])
    elif cmd == "segment":
        segment(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit(__doc__)
