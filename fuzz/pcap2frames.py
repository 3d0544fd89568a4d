#!/usr/bin/env python3
"""Turn classic pcap files into decode_sessions fuzz inputs: a link-type
selector byte, then per frame a 2-byte little-endian length (its top bit
set: the step is milliseconds), a time-step byte and the frame bytes.

Usage: pcap2frames.py OUTDIR PCAP...
       pcap2frames.py --scenario OUTDIR DIR...

The first form writes the first 64 frames of each file. The second writes
one input per lab scenario directory (captures/NAME/*.pcap), so that the
diagnose rules see the sessions of a whole recorded failure instead of
waiting for the mutator to assemble them: the scenario's captures are merged
by time, each kept on its own capture point (the harness alternates frames
between two session tables, so an empty frame, which never decodes, is put
in to switch), and from every flow only its first and last frames are kept,
cut to 128 bytes (the decoder takes payload lengths from the IP header), so
that the input stays under run.sh's -max_len."""
import os, struct, sys

LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276]
MAX_LEN = 16384
SNAP = 128


def frames(path):
    """(linktype, [(ts_seconds, frame)]) of a classic pcap, or None."""
    b = open(path, 'rb').read()
    if len(b) < 24:
        return None
    magic = b[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        return None
    frac = 1e-9 if magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d') else 1e-6
    lt = struct.unpack(e + 'I', b[20:24])[0] & 0xffff
    if lt not in LINKTYPES:
        return None
    out, pos = [], 24
    while pos + 16 <= len(b):
        sec, sub, caplen = struct.unpack(e + 'III', b[pos:pos + 12])
        frame = b[pos + 16:pos + 16 + caplen]
        if len(frame) != caplen or caplen > 0xffff:
            break
        out.append((sec + sub * frac, frame))
        pos += 16 + caplen
    return lt, out


def convert(path):
    r = frames(path)
    if not r:
        return None
    lt, fs = r
    out = bytearray([LINKTYPES.index(lt)])
    prev = fs[0][0] if fs else 0
    for ts, frame in fs[:64]:
        frame = frame[:MAX_LEN]
        flag, step = time_step(ts - prev)
        prev = ts
        out += struct.pack('<H', len(frame) | flag) + step + frame
    return bytes(out)


def time_step(gap):
    """(length flag, step byte) for a gap in seconds: up to 255 ms in
    milliseconds (the length's top bit set), longer in whole seconds, at
    least 2 (0 and 1 are huge leaps in the harness), at most 255."""
    ms = round(gap * 1000)
    if 0 <= ms <= 255:
        return 0x8000, bytes([ms])
    return 0, bytes([max(2, min(255, round(gap)))])


def flow_key(lt, f):
    """Protocol and unordered endpoints of an Ethernet IPv4/IPv6 frame, so
    both directions of a flow share a key; the whole frame for anything
    else (kept as its own flow)."""
    if lt != 1 or len(f) < 14:
        return f
    et, off = struct.unpack('>H', f[12:14])[0], 14
    while et in (0x8100, 0x88a8) and len(f) >= off + 4:
        et, off = struct.unpack('>H', f[off + 2:off + 4])[0], off + 4
    if et == 0x0800 and len(f) >= off + 20:
        ihl = (f[off] & 15) * 4
        proto, src, dst, l4 = f[off + 9], f[off + 12:off + 16], f[off + 16:off + 20], off + ihl
    elif et == 0x86dd and len(f) >= off + 40:
        proto, src, dst, l4 = f[off + 6], f[off + 8:off + 24], f[off + 24:off + 40], off + 40
    else:
        return f
    ports = (b'', b'')
    if proto in (6, 17) and len(f) >= l4 + 4:
        ports = (f[l4:l4 + 2], f[l4 + 2:l4 + 4])
    return (proto,) + tuple(sorted([(src, ports[0]), (dst, ports[1])]))


def scenario(d):
    caps = []
    for name in sorted(os.listdir(d)):
        if name.endswith('.pcap'):
            r = frames(os.path.join(d, name))
            if r and r[1]:
                caps.append(r)
    if not caps or len({lt for lt, _ in caps}) != 1:
        return None
    lt = caps[0][0]
    # Two capture points at most, as in the harness.
    caps = caps[:2]
    # Keep fewer frames per flow until the input fits.
    for keep in (8, 6, 4, 3, 2, 1):
        picked = []
        for point, (_, fs) in enumerate(caps):
            by_flow = {}
            for i, (ts, f) in enumerate(fs):
                by_flow.setdefault(flow_key(lt, f), []).append(i)
            for idx in by_flow.values():
                first = idx[:keep]
                last = [i for i in idx[-max(1, keep // 3):] if i not in first]
                for i in first + last:
                    picked.append((fs[i][0], point, fs[i][1][:SNAP]))
        picked.sort(key=lambda p: (p[0], p[1]))
        out, n, prev = bytearray([LINKTYPES.index(lt)]), 0, picked[0][0]
        for ts, point, f in picked:
            flag, step = time_step(ts - prev)
            prev = ts
            if n % 2 != point:
                out += struct.pack('<H', flag) + step
                step, flag, n = b'\0', 0x8000, n + 1
            out += struct.pack('<H', len(f) | flag) + step + f
            n += 1
        if len(out) <= MAX_LEN:
            return bytes(out)
    return None


args = sys.argv[1:]
if args and args[0] == '--scenario':
    outdir = args[1]
    os.makedirs(outdir, exist_ok=True)
    for d in args[2:]:
        f = scenario(d)
        if f:
            name = 'scenario_' + os.path.basename(os.path.normpath(d)) + '.frames'
            open(os.path.join(outdir, name), 'wb').write(f)
else:
    outdir = args[0]
    os.makedirs(outdir, exist_ok=True)
    for p in args[1:]:
        f = convert(p)
        if f:
            name = os.path.basename(os.path.dirname(p)) + '_' + os.path.basename(p) + '.frames'
            open(os.path.join(outdir, name), 'wb').write(f)
