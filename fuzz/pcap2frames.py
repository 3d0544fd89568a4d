#!/usr/bin/env python3
"""Turn classic pcap files into decode_sessions fuzz inputs: a link-type
selector byte, then per frame a 2-byte little-endian length, a time-step
byte and the frame bytes. Usage: pcap2frames.py OUTDIR PCAP..."""
import os, struct, sys

LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276]

def convert(path):
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
    lt = struct.unpack(e + 'I', b[20:24])[0] & 0xffff
    if lt not in LINKTYPES:
        return None
    out = bytearray([LINKTYPES.index(lt)])
    pos, n = 24, 0
    while pos + 16 <= len(b) and n < 64:
        caplen = struct.unpack(e + 'I', b[pos + 8:pos + 12])[0]
        frame = b[pos + 16:pos + 16 + caplen]
        if len(frame) != caplen or caplen > 0xffff:
            break
        out += struct.pack('<H', caplen) + bytes([2]) + frame
        pos += 16 + caplen
        n += 1
    return bytes(out)

outdir = sys.argv[1]
os.makedirs(outdir, exist_ok=True)
for p in sys.argv[2:]:
    f = convert(p)
    if f:
        name = os.path.basename(os.path.dirname(p)) + '_' + os.path.basename(p) + '.frames'
        open(os.path.join(outdir, name), 'wb').write(f)
