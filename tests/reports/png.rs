//! Just enough PNG to judge a screenshot: 8-bit RGB or RGBA, not
//! interlaced (what Chromium writes), decoded with flate2 and the five
//! PNG row filters.

use flate2::read::ZlibDecoder;
use std::io::Read;

/// A decoded image: pixels as RGB, row by row.
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<[u8; 3]>,
}

fn be32(b: &[u8]) -> usize {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Decode a PNG file's bytes.
pub fn decode(bytes: &[u8]) -> Result<Image, String> {
    if bytes.get(..8) != Some(b"\x89PNG\r\n\x1a\n".as_slice()) {
        return Err("not a PNG".into());
    }
    let (mut width, mut height, mut channels) = (0, 0, 0);
    let mut idat = Vec::new();
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let len = be32(&bytes[at..]);
        let kind = &bytes[at + 4..at + 8];
        let data = bytes
            .get(at + 8..at + 8 + len)
            .ok_or("chunk runs past the end")?;
        match kind {
            b"IHDR" => {
                width = be32(data);
                height = be32(&data[4..]);
                let (depth, color, interlace) = (data[8], data[9], data[12]);
                channels = match (depth, color, interlace) {
                    (8, 2, 0) => 3,
                    (8, 6, 0) => 4,
                    _ => {
                        return Err(format!(
                            "depth {depth} colour type {color} interlace {interlace}"
                        ));
                    }
                };
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    ZlibDecoder::new(idat.as_slice())
        .read_to_end(&mut raw)
        .map_err(|e| e.to_string())?;
    let stride = width * channels;
    if raw.len() != height * (stride + 1) {
        return Err(format!(
            "{} bytes of pixel data for {width}×{height}",
            raw.len()
        ));
    }
    let mut prev = vec![0u8; stride];
    let mut rgb = Vec::with_capacity(width * height);
    for row in raw.chunks_exact(stride + 1) {
        let (filter, line) = (row[0], &row[1..]);
        let mut cur = vec![0u8; stride];
        for i in 0..stride {
            let a = if i >= channels { cur[i - channels] } else { 0 };
            let b = prev[i];
            let c = if i >= channels { prev[i - channels] } else { 0 };
            cur[i] = line[i].wrapping_add(match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                f => return Err(format!("row filter {f}")),
            });
        }
        rgb.extend(cur.chunks_exact(channels).map(|p| [p[0], p[1], p[2]]));
        prev = cur;
    }
    Ok(Image { width, height, rgb })
}
