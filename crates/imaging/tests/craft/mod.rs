//! Hostile JPEGs made in code, as an attacker would write them: the scan structure is chosen
//! freely and every coefficient is zero, so any frame size costs a bit or two per block. Only
//! `std` is used, so the application's tests include this file too.

#![allow(dead_code)]

/// One scan: components (indexes into the frame), spectral selection and successive approximation.
#[derive(Clone, Copy, Debug)]
pub struct Scan {
    pub components: &'static [u8],
    pub ss: u8,
    pub se: u8,
    pub ah: u8,
    pub al: u8,
}

impl Scan {
    pub const fn new(components: &'static [u8], ss: u8, se: u8, ah: u8, al: u8) -> Self {
        Scan {
            components,
            ss,
            se,
            ah,
            al,
        }
    }
}

/// A JPEG of `width`x`height`, `components` components sampled 1x1, with exactly `scans`.
/// Each scan's entropy data codes every block as zero with one-bit Huffman codes: one bit per
/// block and per coded part (DC, AC), so a 50 MP frame costs ~100 KB per scan. `junk` puts one
/// stray byte before the frame header (libjpeg only warns about it). `data` false leaves the
/// scans empty.
pub fn jpeg(
    width: u16,
    height: u16,
    components: u8,
    progressive: bool,
    scans: &[Scan],
    junk: bool,
    data: bool,
) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    segment(&mut out, 0xDB, &[&[0u8][..], &[1u8; 64]].concat()); // DQT 0, all ones
    if junk {
        out.push(0x42);
    }
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    sof.push(components);
    for c in 0..components {
        sof.extend_from_slice(&[c + 1, 0x11, 0]);
    }
    segment(&mut out, if progressive { 0xC2 } else { 0xC0 }, &sof);
    // One code of length 1 for symbol 0 in both tables: DC "no difference", AC "end of block".
    let mut table = vec![1u8];
    table.extend_from_slice(&[0; 15]);
    table.push(0);
    segment(&mut out, 0xC4, &[&[0x00u8][..], &table].concat());
    segment(&mut out, 0xC4, &[&[0x10u8][..], &table].concat());
    let blocks = u64::from(width).div_ceil(8) * u64::from(height).div_ceil(8);
    for scan in scans {
        let mut sos = vec![scan.components.len() as u8];
        for &c in scan.components {
            sos.extend_from_slice(&[c + 1, 0x00]);
        }
        sos.extend_from_slice(&[scan.ss, scan.se, (scan.ah << 4) | scan.al]);
        segment(&mut out, 0xDA, &sos);
        if data {
            let parts: u64 = if !progressive {
                2 // DC + AC
            } else {
                1
            };
            let bits = blocks * scan.components.len() as u64 * parts;
            out.resize(out.len() + bits.div_ceil(8) as usize, 0);
        }
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
}

/// A legitimate progression of a one-component image, as long as asked (at most 896 scans):
/// DC first then its refinements, then each AC coefficient alone, first scan then refinements.
pub fn long_progression(count: usize) -> Vec<Scan> {
    const C: &[u8] = &[0];
    let mut scans = vec![Scan::new(C, 0, 0, 0, 13)];
    scans.extend((1..=13).rev().map(|a| Scan::new(C, 0, 0, a, a - 1)));
    for k in 1..=63u8 {
        scans.push(Scan::new(C, k, k, 0, 13));
        scans.extend((1..=13).rev().map(|a| Scan::new(C, k, k, a, a - 1)));
    }
    assert!(count <= scans.len());
    scans.truncate(count);
    scans
}
