//! Hostile HEIF files made in code from the committed corpus: an `ispe` that understates the
//! coded size, grids that name one tile many times. Only `std` is used, so the application's
//! tests include this file too.

#![allow(dead_code)]

fn be32(bytes: &[u8]) -> usize {
    u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize
}

/// Every `ispe` of `file` rewritten to claim `width`x`height`.
pub fn with_ispe(file: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = file.to_vec();
    let mut found = 0;
    for i in 4..out.len().saturating_sub(16) {
        if &out[i..i + 4] == b"ispe" && be32(&out[i - 4..]) == 20 {
            out[i + 8..i + 12].copy_from_slice(&width.to_be_bytes());
            out[i + 12..i + 16].copy_from_slice(&height.to_be_bytes());
            found += 1;
        }
    }
    assert!(found > 0, "no ispe box");
    out
}

/// A grid file whose `dimg` reference names its first tile in every cell.
pub fn with_first_tile_everywhere(file: &[u8]) -> Vec<u8> {
    let mut out = file.to_vec();
    let i = out
        .windows(4)
        .position(|w| w == b"dimg")
        .expect("a dimg reference");
    // (iref version 0) from_item_ID u16, reference_count u16, to_item_ID u16...
    let count = usize::from(u16::from_be_bytes([out[i + 6], out[i + 7]]));
    let first = [out[i + 8], out[i + 9]];
    for k in 1..count {
        out[i + 8 + 2 * k..i + 10 + 2 * k].copy_from_slice(&first);
    }
    out
}

/// The `hvcC` box and the coded data of a single-image HEIC as heif-enc writes it (one item,
/// its data the whole `mdat`).
pub fn single_image(file: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let i = file.windows(4).position(|w| w == b"hvcC").expect("hvcC") - 4;
    let hvcc = file[i..i + be32(&file[i..])].to_vec();
    let m = file.windows(4).position(|w| w == b"mdat").expect("mdat") - 4;
    let data = file[m + 8..m + be32(&file[m..])].to_vec();
    (hvcc, data)
}

fn bmff(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}

fn full(kind: &[u8; 4], version: u8, flags: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = (u32::from(version) << 24 | flags).to_be_bytes().to_vec();
    p.extend_from_slice(payload);
    bmff(kind, &p)
}

fn ispe(width: u32, height: u32) -> Vec<u8> {
    let mut p = width.to_be_bytes().to_vec();
    p.extend(height.to_be_bytes());
    full(b"ispe", 0, 0, &p)
}

/// A HEIC whose primary item is a `rows`x`columns` grid of `grid_size`, every cell of which
/// is the one tile of `single` (a heif-enc file) with its `ispe` set to `tile_ispe`.
pub fn grid_of_one_tile(
    single: &[u8],
    tile_ispe: (u32, u32),
    rows: u8,
    columns: u8,
    grid_size: (u16, u16),
) -> Vec<u8> {
    let (hvcc, data) = single_image(single);
    let (grid, tile) = (1u16, 2u16);
    let cells = usize::from(rows) * usize::from(columns);
    let mut descriptor = vec![0, 0, rows - 1, columns - 1];
    descriptor.extend(grid_size.0.to_be_bytes());
    descriptor.extend(grid_size.1.to_be_bytes());

    let infe = |id: u16, kind: &[u8; 4], hidden: bool| {
        let mut p = id.to_be_bytes().to_vec();
        p.extend([0, 0]);
        p.extend_from_slice(kind);
        p.push(0);
        full(b"infe", 2, u32::from(hidden), &p)
    };
    let mut iinf = 2u16.to_be_bytes().to_vec();
    iinf.extend(infe(grid, b"grid", false));
    iinf.extend(infe(tile, b"hvc1", true));
    let mut dimg = grid.to_be_bytes().to_vec();
    dimg.extend((cells as u16).to_be_bytes());
    for _ in 0..cells {
        dimg.extend(tile.to_be_bytes());
    }
    let iref = full(b"iref", 0, 0, &bmff(b"dimg", &dimg));
    let mut ipco = ispe(tile_ispe.0, tile_ispe.1);
    ipco.extend(&hvcc);
    ipco.extend(ispe(u32::from(grid_size.0), u32::from(grid_size.1)));
    // item 1 (grid): property 3; item 2 (tile): properties 1 and 2 (hvcC essential)
    let ipma = [0, 0, 0, 2, 0, 1, 1, 3, 0, 2, 2, 1, 0x82];
    let iprp = bmff(
        b"iprp",
        &[bmff(b"ipco", &ipco), full(b"ipma", 0, 0, &ipma)].concat(),
    );
    let hdlr = full(b"hdlr", 0, 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
    let pitm = full(b"pitm", 0, 0, &grid.to_be_bytes());
    let ftyp = bmff(b"ftyp", b"heic\0\0\0\0mif1heic");
    let build = |mdat_at: usize| {
        // iloc v1: 4-byte offsets and lengths; the grid in idat, the tile in mdat
        let mut iloc = vec![0x44, 0x00, 0, 2];
        iloc.extend(grid.to_be_bytes());
        iloc.extend([0, 1, 0, 0, 0, 1]);
        iloc.extend(0u32.to_be_bytes());
        iloc.extend((descriptor.len() as u32).to_be_bytes());
        iloc.extend(tile.to_be_bytes());
        iloc.extend([0, 0, 0, 0, 0, 1]);
        iloc.extend(((mdat_at + 8) as u32).to_be_bytes());
        iloc.extend((data.len() as u32).to_be_bytes());
        let meta = [
            hdlr.clone(),
            pitm.clone(),
            full(b"iloc", 1, 0, &iloc),
            full(b"iinf", 0, 0, &iinf),
            iref.clone(),
            iprp.clone(),
            bmff(b"idat", &descriptor),
        ]
        .concat();
        [ftyp.clone(), full(b"meta", 0, 0, &meta)].concat()
    };
    let head = build(0);
    let mut file = build(head.len());
    file.extend(bmff(b"mdat", &data));
    file
}
