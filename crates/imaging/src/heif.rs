//! HEIC/HEIF and AVIF through libheif (HEVC by libde265, AV1 by dav1d).
//!
//! Before libheif sees the file, [`header`] reads the ISO-BMFF boxes itself (bounded, no
//! allocation from a field): the primary item must be a coded image (`hvc1`, `av01`) or a
//! `grid` of them, and its `ispe` (and a grid's own output size) must pass the pixel-flood
//! guard, and every item libheif could decode must code (HEVC SPS, AV1 sequence header, read by
//! [`bitstream`]) the size its `ispe` declares, every grid a bounded number of distinct tiles
//! that cover it (README, "Guards"). libheif is then told the same limit, decodes the primary image only (thumbnails,
//! depth, auxiliary and gain-map items are never decoded), and applies `irot`/`imir`/`clap`
//! itself, so the EXIF Orientation an iPhone also keeps in its Exif item is never applied on
//! top (that would rotate twice). No metadata leaves this module: only pixels and the colour
//! profile (ICC, or the `nclx` primaries and transfer) for the conversion to sRGB.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::os::raw::c_int;
use std::sync::Once;

use libheif_sys as lh;

use crate::{
    Decoded, ImageError, MAX_ICC_BYTES, MAX_SIDE, SourceFormat, bitstream, check_dimensions,
    deadline, largest_target, ops,
};

/// `ftyp` brands of HEIF still images coded with HEVC.
const HEIC_BRANDS: [&[u8; 4]; 6] = [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"];
/// Structural brands that say "HEIF", whatever the codec (the compatible brands tell).
const HEIF_BRANDS: [&[u8; 4]; 3] = [b"mif1", b"msf1", b"miaf"];
const AVIF_BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];

/// Sniffs an ISO-BMFF `ftyp` box with a HEIF image brand (major or compatible).
pub(crate) fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    if bytes.get(4..8) != Some(b"ftyp") {
        return None;
    }
    let size = u32::from_be_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    let ftyp = bytes.get(8..size.clamp(16, bytes.len().max(16)))?;
    let major: &[u8; 4] = ftyp[0..4].try_into().ok()?;
    let compatible: Vec<&[u8]> = ftyp[8..].chunks_exact(4).collect();
    let has = |set: &[&[u8; 4]]| {
        set.contains(&major) || compatible.iter().any(|b| set.iter().any(|s| &s[..] == *b))
    };
    if AVIF_BRANDS.contains(&major) {
        Some(SourceFormat::Avif)
    } else if HEIC_BRANDS.contains(&major) {
        Some(SourceFormat::Heic)
    } else if has(&AVIF_BRANDS) {
        Some(SourceFormat::Avif)
    } else if has(&HEIC_BRANDS) || has(&HEIF_BRANDS) {
        Some(SourceFormat::Heic)
    } else {
        None
    }
}

/// What the boxes say about the primary image, checked against the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Stored size (`ispe` of the primary item), before `irot`.
    pub width: u32,
    pub height: u32,
    /// Largest bit depth in `pixi` (8 when absent).
    pub bits: u8,
    /// The primary item is a grid of tiles.
    pub grid: bool,
}

impl Header {
    /// Peak memory of decoding, in bytes: libheif's decoded planes (4:4:4 at worst, 2 bytes a
    /// sample above 8 bits), the decoder's own picture, an `irot` copy of the planes, the
    /// interleaved RGB libheif converts to, and our packed copy of it when its rows are padded.
    pub fn decode_bytes(&self) -> u64 {
        let pixels = u64::from(self.width) * u64::from(self.height);
        let sample = if self.bits > 8 { 2 } else { 1 };
        let planes = pixels * 3 * sample;
        planes * 2 + pixels * 3 * 2
    }
}

/// ISO-BMFF boxes of `data`: (type, payload). Stops at the first box that does not fit.
fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let head = data.get(pos..pos.checked_add(8)?)?;
        let kind: [u8; 4] = head[4..8].try_into().ok()?;
        let (size, header) = match u32::from_be_bytes(head[0..4].try_into().ok()?) {
            0 => (data.len() - pos, 8),
            1 => {
                let large = data.get(pos + 8..pos + 16)?;
                (
                    usize::try_from(u64::from_be_bytes(large.try_into().ok()?)).ok()?,
                    16,
                )
            }
            n => (n as usize, 8),
        };
        let body = data.get(pos.checked_add(header)?..pos.checked_add(size)?)?;
        pos += size.max(header);
        Some((kind, body))
    })
}

fn find<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(k, _)| k == kind).map(|(_, b)| b)
}

/// A big-endian reader over a box payload.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    /// An unsigned big-endian integer of `n` (0..=8) bytes.
    fn uint(&mut self, n: usize) -> Option<u64> {
        Some(
            self.bytes(n)?
                .iter()
                .fold(0u64, |v, &b| (v << 8) | u64::from(b)),
        )
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    /// A FullBox's (version, flags).
    fn full(&mut self) -> Option<(u8, u32)> {
        let v = self.uint(4)?;
        Some(((v >> 24) as u8, (v & 0xFF_FFFF) as u32))
    }
}

fn corrupt(what: &str) -> ImageError {
    ImageError::Corrupt(format!("HEIF: {what}"))
}

/// Most tiles a grid may have. An iPhone's 48 MP photo is a grid of 16x12 = 192 tiles of 512 px;
/// 1024 still allows 50 MP in tiles of 224 px, while a crafted grid can no longer name 65,536.
pub const MAX_GRID_TILES: u64 = 1024;
/// How far an HEVC picture's coded size may differ from its `ispe`: one coding tree block
/// (64 px at most), the padding an encoder adds to reach whole blocks.
pub const HEVC_SIZE_SLACK: u32 = 64;
/// The same for AV1: one superblock (128 px at most).
pub const AV1_SIZE_SLACK: u32 = 128;

/// Reads the boxes and applies the guard, without decoding: to the primary image's `ispe`,
/// and to every item libheif could decode (coded items and grids, not just the primary one,
/// since an alpha or tile item is decoded along with it), whose bitstream must code the size
/// its `ispe` declares.
pub(crate) fn header(bytes: &[u8]) -> Result<Header, ImageError> {
    let meta = find(bytes, b"meta").ok_or_else(|| corrupt("no meta box"))?;
    let meta = meta.get(4..).ok_or_else(|| corrupt("short meta box"))?;
    let primary = {
        let pitm = find(meta, b"pitm").ok_or_else(|| corrupt("no primary item"))?;
        let mut r = Reader::new(pitm);
        let (version, _) = r.full().ok_or_else(|| corrupt("short pitm"))?;
        r.uint(if version == 0 { 2 } else { 4 })
            .ok_or_else(|| corrupt("short pitm"))?
    };
    let container = Container::read(bytes, meta)?;
    let item_type = *container
        .items
        .get(&primary)
        .ok_or_else(|| corrupt("no primary item entry"))?;
    let grid = match &item_type {
        b"hvc1" | b"av01" => false,
        b"grid" => true,
        // overlays, derived, JPEG or uncompressed items: not what phones write
        _ => return Err(ImageError::Unsupported),
    };
    let properties = container.properties_of(primary)?;
    let mut bits = 8u8;
    for (kind, body) in &properties {
        if kind == b"pixi" {
            let mut r = Reader::new(body);
            r.full();
            let channels = r.u8().unwrap_or(0);
            for _ in 0..channels {
                bits = bits.max(r.u8().unwrap_or(8));
            }
        }
    }
    let (w, h) = container
        .ispe(primary)?
        .ok_or_else(|| corrupt("the primary image has no size (ispe)"))?;
    let (width, height) = check_dimensions(u64::from(w), u64::from(h))?;
    container.check_decodable_items()?;
    Ok(Header {
        width,
        height,
        bits,
        grid,
    })
}

/// A property box: (type, payload).
type Property<'a> = ([u8; 4], &'a [u8]);

/// The item structure of a HEIF file, read once (each table in one pass, so a file with many
/// items costs linear time).
struct Container<'a> {
    file: &'a [u8],
    meta: &'a [u8],
    /// item id -> `infe` type
    items: HashMap<u64, [u8; 4]>,
    /// `ipco`, in order (`ipma` indices are 1-based into it)
    properties: Vec<Property<'a>>,
    /// item id -> indices into `properties`
    associations: HashMap<u64, Vec<usize>>,
    /// item id -> where its data is
    locations: HashMap<u64, Location>,
    /// grid item id -> the tiles its `dimg` reference names, in order
    tiles: HashMap<u64, Vec<u64>>,
}

struct Location {
    /// 0: in the file, 1: in `idat` (2, item offsets, is not used by image items)
    method: u64,
    base: u64,
    /// (offset, length); length 0 means "to the end"
    extents: Vec<(u64, u64)>,
}

impl<'a> Container<'a> {
    fn read(file: &'a [u8], meta: &'a [u8]) -> Result<Self, ImageError> {
        Ok(Container {
            file,
            meta,
            items: read_iinf(meta).ok_or_else(|| corrupt("bad item information (iinf)"))??,
            properties: find(meta, b"iprp")
                .and_then(|iprp| find(iprp, b"ipco"))
                .map(|ipco| boxes(ipco).collect())
                .unwrap_or_default(),
            associations: read_ipma(meta).ok_or_else(|| corrupt("bad properties"))?,
            locations: read_iloc(meta).ok_or_else(|| corrupt("bad item locations (iloc)"))??,
            tiles: read_dimg(meta).ok_or_else(|| corrupt("bad item references (iref)"))??,
        })
    }

    /// The properties (type, payload) associated with an item, in `ipma` order.
    fn properties_of(&self, item: u64) -> Result<Vec<Property<'a>>, ImageError> {
        let indices = self.associations.get(&item).map_or(&[][..], Vec::as_slice);
        indices
            .iter()
            .map(|&i| {
                self.properties
                    .get(i)
                    .copied()
                    .ok_or_else(|| corrupt("bad properties"))
            })
            .collect()
    }

    /// The one property of a type an item has; two of them would leave it to chance which
    /// one libheif reads.
    fn single(&self, item: u64, kind: &[u8; 4]) -> Result<Option<&'a [u8]>, ImageError> {
        let mut found = self
            .properties_of(item)?
            .into_iter()
            .filter(|(k, _)| k == kind);
        match (found.next(), found.next()) {
            (first, None) => Ok(first.map(|(_, body)| body)),
            _ => Err(corrupt(&format!(
                "item {item} has two {} properties",
                String::from_utf8_lossy(kind)
            ))),
        }
    }

    fn ispe(&self, item: u64) -> Result<Option<(u32, u32)>, ImageError> {
        let Some(body) = self.single(item, b"ispe")? else {
            return Ok(None);
        };
        let mut r = Reader::new(body);
        r.full();
        let size = r
            .uint(4)
            .zip(r.uint(4))
            .ok_or_else(|| corrupt("short ispe"))?;
        Ok(Some((size.0 as u32, size.1 as u32)))
    }

    /// The bytes of an item, its extents joined as libheif joins them.
    fn data(&self, item: u64) -> Result<Cow<'a, [u8]>, ImageError> {
        let bad = || corrupt(&format!("item {item} has no readable data"));
        let location = self.locations.get(&item).ok_or_else(bad)?;
        let source = match location.method {
            0 => self.file,
            1 => find(self.meta, b"idat").ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        let slice = |&(offset, length): &(u64, u64)| -> Option<&'a [u8]> {
            let start = usize::try_from(location.base.checked_add(offset)?).ok()?;
            let end = if length == 0 {
                source.len()
            } else {
                start.checked_add(usize::try_from(length).ok()?)?
            };
            source.get(start..end)
        };
        match location.extents.as_slice() {
            [one] => Ok(Cow::Borrowed(slice(one).ok_or_else(bad)?)),
            extents => {
                let mut joined = Vec::new();
                for extent in extents {
                    let part = slice(extent).ok_or_else(bad)?;
                    // Extents may name the same bytes again; joined, they may not outgrow
                    // the file.
                    if joined.len() + part.len() > self.file.len() {
                        return Err(bad());
                    }
                    joined.extend_from_slice(part);
                }
                Ok(Cow::Owned(joined))
            }
        }
    }

    /// Every coded item must code the size its `ispe` declares, and every grid must be a
    /// bounded number of distinct tiles that cover its output size. Items that share bytes
    /// are refused too: together they could make this check, and the decoder, read the same
    /// large stream many times.
    fn check_decodable_items(&self) -> Result<(), ImageError> {
        let mut coded_bytes = 0usize;
        let mut ids: Vec<&u64> = self.items.keys().collect();
        ids.sort();
        for &id in ids {
            match &self.items[&id] {
                kind @ (b"hvc1" | b"av01") => {
                    let data = self.data(id)?;
                    coded_bytes = coded_bytes.saturating_add(data.len());
                    if coded_bytes > self.file.len() {
                        return Err(corrupt("image items share their data"));
                    }
                    self.check_coded_item(id, kind, &data)?;
                }
                b"grid" => self.check_grid(id)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn check_coded_item(&self, id: u64, kind: &[u8; 4], data: &[u8]) -> Result<(), ImageError> {
        let (w, h) = self
            .ispe(id)?
            .ok_or_else(|| corrupt(&format!("item {id} has no size (ispe)")))?;
        // Tiles, thumbnails and alpha planes pass the pixel-flood guard on their own too.
        check_dimensions(u64::from(w), u64::from(h))?;
        let (sizes, pictures, slack) = if kind == b"hvc1" {
            let hvcc = self
                .single(id, b"hvcC")?
                .ok_or_else(|| corrupt(&format!("item {id} has no hvcC")))?;
            let stream = bitstream::hevc_stream(hvcc, data)
                .ok_or_else(|| corrupt(&format!("item {id}: unreadable HEVC stream")))?;
            (stream.sizes, stream.pictures, HEVC_SIZE_SLACK)
        } else {
            let av1c = self
                .single(id, b"av1C")?
                .ok_or_else(|| corrupt(&format!("item {id} has no av1C")))?;
            let stream = bitstream::av1_stream(av1c, data)
                .ok_or_else(|| corrupt(&format!("item {id}: unreadable AV1 stream")))?;
            (stream.sizes, stream.frames, AV1_SIZE_SLACK)
        };
        if sizes.is_empty() {
            return Err(corrupt(&format!("item {id} has no sequence header")));
        }
        // One image is one coded picture; more would each be decoded in turn.
        if pictures > 1 {
            return Err(corrupt(&format!("item {id} codes {pictures} pictures")));
        }
        for coded in sizes {
            if coded.width.abs_diff(w) >= slack || coded.height.abs_diff(h) >= slack {
                return Err(corrupt(&format!(
                    "item {id} declares {w}x{h} (ispe) but codes {}x{}",
                    coded.width, coded.height
                )));
            }
        }
        Ok(())
    }

    fn check_grid(&self, id: u64) -> Result<(), ImageError> {
        let data = self.data(id)?;
        let mut r = Reader::new(&data);
        let short = || corrupt("short grid");
        let _version = r.u8();
        let flags = r.u8().ok_or_else(short)?;
        let rows = r.u8().ok_or_else(short)? as u64 + 1;
        let columns = r.u8().ok_or_else(short)? as u64 + 1;
        let n = if flags & 1 == 1 { 4 } else { 2 };
        let (gw, gh) = r.uint(n).zip(r.uint(n)).ok_or_else(short)?;
        // The grid's own output size is what libheif allocates: it must pass the guard too,
        // and be the size its `ispe` declares, which the memory estimate is made from.
        check_dimensions(gw, gh)?;
        if let Some(declared) = self.ispe(id)?
            && (u64::from(declared.0), u64::from(declared.1)) != (gw, gh)
        {
            return Err(corrupt(&format!(
                "a grid of {gw}x{gh} declares {}x{} (ispe)",
                declared.0, declared.1
            )));
        }
        if rows * columns > MAX_GRID_TILES {
            return Err(corrupt(&format!(
                "a grid of {rows}x{columns} tiles (at most {MAX_GRID_TILES})"
            )));
        }
        let tiles = self.tiles.get(&id).map_or(&[][..], Vec::as_slice);
        if tiles.len() as u64 != rows * columns {
            return Err(corrupt(&format!(
                "a grid of {rows}x{columns} with {} tiles",
                tiles.len()
            )));
        }
        let mut seen = HashSet::new();
        let mut tile_size = None;
        for &tile in tiles {
            if !seen.insert(tile) {
                return Err(corrupt(&format!("the grid names tile {tile} twice")));
            }
            if !matches!(self.items.get(&tile), Some(b"hvc1" | b"av01")) {
                return Err(corrupt(&format!("grid tile {tile} is not a coded image")));
            }
            let size = self
                .ispe(tile)?
                .ok_or_else(|| corrupt(&format!("tile {tile} has no size (ispe)")))?;
            if *tile_size.get_or_insert(size) != size {
                return Err(corrupt("the tiles of a grid differ in size"));
            }
        }
        let (tw, th) = tile_size.map_or((0, 0), |(w, h)| (u64::from(w), u64::from(h)));
        // The tiles cover the output, no row or column of them lies wholly outside it, and a
        // tile is less than one coding block wider than the output (a 1x1 grid of a large
        // tile would decode all of it for a small output): the tiles decode fewer than 4 times
        // the output's pixels.
        let covers = |tiles: u64, tile: u64, side: u64| {
            tiles * tile >= side
                && (tiles - 1) * tile < side
                && tile < side + u64::from(HEVC_SIZE_SLACK)
        };
        if !covers(columns, tw, gw) || !covers(rows, th, gh) {
            return Err(corrupt(&format!(
                "{rows}x{columns} tiles of {tw}x{th} for a {gw}x{gh} grid"
            )));
        }
        Ok(())
    }
}

/// item id -> type, from `iinf`; an id listed twice is refused.
fn read_iinf(meta: &[u8]) -> Option<Result<HashMap<u64, [u8; 4]>, ImageError>> {
    let iinf = find(meta, b"iinf")?;
    let mut r = Reader::new(iinf);
    let (version, _) = r.full()?;
    r.uint(if version == 0 { 2 } else { 4 })?;
    let mut items = HashMap::new();
    for (kind, body) in boxes(&iinf[r.pos..]) {
        if &kind != b"infe" {
            continue;
        }
        let mut r = Reader::new(body);
        let (version, _) = r.full()?;
        if version < 2 {
            continue;
        }
        let id = r.uint(if version == 2 { 2 } else { 4 })?;
        r.uint(2)?; // protection index
        let item_type: [u8; 4] = r.bytes(4)?.try_into().ok()?;
        if items.insert(id, item_type).is_some() {
            return Some(Err(corrupt(&format!("item {id} is listed twice"))));
        }
    }
    Some(Ok(items))
}

/// item id -> 0-based property indices, from every `ipma`.
fn read_ipma(meta: &[u8]) -> Option<HashMap<u64, Vec<usize>>> {
    let mut found: HashMap<u64, Vec<usize>> = HashMap::new();
    let Some(iprp) = find(meta, b"iprp") else {
        return Some(found);
    };
    for (kind, body) in boxes(iprp) {
        if &kind != b"ipma" {
            continue;
        }
        let mut r = Reader::new(body);
        let (version, flags) = r.full()?;
        let entries = r.uint(4)?;
        for _ in 0..entries {
            let id = r.uint(if version < 1 { 2 } else { 4 })?;
            let count = r.u8()?;
            for _ in 0..count {
                let index = if flags & 1 == 1 {
                    r.uint(2)? & 0x7FFF
                } else {
                    r.uint(1)? & 0x7F
                };
                if index > 0 {
                    found
                        .entry(id)
                        .or_default()
                        .push(usize::try_from(index - 1).ok()?);
                }
            }
        }
    }
    Some(found)
}

/// item id -> location, from `iloc`; an id located twice is refused.
fn read_iloc(meta: &[u8]) -> Option<Result<HashMap<u64, Location>, ImageError>> {
    let mut locations = HashMap::new();
    let Some(iloc) = find(meta, b"iloc") else {
        return Some(Ok(locations));
    };
    let mut r = Reader::new(iloc);
    let (version, _) = r.full()?;
    let sizes = r.u8()?;
    let (offset_size, length_size) = (usize::from(sizes >> 4), usize::from(sizes & 15));
    let sizes = r.u8()?;
    let base_size = usize::from(sizes >> 4);
    let index_size = if version >= 1 {
        usize::from(sizes & 15)
    } else {
        0
    };
    if [offset_size, length_size, base_size, index_size]
        .iter()
        .any(|&s| s > 8)
    {
        return None;
    }
    let count = r.uint(if version < 2 { 2 } else { 4 })?;
    for _ in 0..count {
        let id = r.uint(if version < 2 { 2 } else { 4 })?;
        let method = if version >= 1 { r.uint(2)? & 15 } else { 0 };
        r.uint(2)?; // data reference index
        let base = r.uint(base_size)?;
        let extent_count = r.uint(2)?;
        let mut extents = Vec::new();
        for _ in 0..extent_count {
            r.uint(index_size)?;
            let offset = r.uint(offset_size)?;
            let length = r.uint(length_size)?;
            extents.push((offset, length));
        }
        let location = Location {
            method,
            base,
            extents,
        };
        if locations.insert(id, location).is_some() {
            return Some(Err(corrupt(&format!("item {id} is located twice"))));
        }
    }
    Some(Ok(locations))
}

/// grid id -> tile ids, from the `dimg` references of `iref`; two `dimg` references from one
/// item are refused (libheif would read only the first).
fn read_dimg(meta: &[u8]) -> Option<Result<HashMap<u64, Vec<u64>>, ImageError>> {
    let mut tiles = HashMap::new();
    let Some(iref) = find(meta, b"iref") else {
        return Some(Ok(tiles));
    };
    let mut r = Reader::new(iref);
    let (version, _) = r.full()?;
    let id_size = if version == 0 { 2 } else { 4 };
    for (kind, body) in boxes(&iref[r.pos..]) {
        if &kind != b"dimg" {
            continue;
        }
        let mut r = Reader::new(body);
        let from = r.uint(id_size)?;
        let count = r.uint(2)?;
        let mut to = Vec::new();
        for _ in 0..count {
            to.push(r.uint(id_size)?);
        }
        if tiles.insert(from, to).is_some() {
            return Some(Err(corrupt(&format!(
                "item {from} has two dimg references"
            ))));
        }
    }
    Some(Ok(tiles))
}

/// True when the file has an `Exif` item or an XMP (`mime`) item.
pub(crate) fn has_metadata(bytes: &[u8]) -> bool {
    let Some(meta) = find(bytes, b"meta").and_then(|m| m.get(4..)) else {
        return false;
    };
    let Some(iinf) = find(meta, b"iinf") else {
        return false;
    };
    let mut r = Reader::new(iinf);
    let Some((version, _)) = r.full() else {
        return false;
    };
    if r.uint(if version == 0 { 2 } else { 4 }).is_none() {
        return false;
    }
    boxes(&iinf[r.pos..]).any(|(kind, body)| {
        let mut r = Reader::new(body);
        let Some((version, _)) = r.full() else {
            return false;
        };
        &kind == b"infe"
            && version >= 2
            && r.uint(if version == 2 { 2 } else { 4 }).is_some()
            && r.uint(2).is_some()
            && matches!(r.bytes(4), Some(b"Exif" | b"mime"))
    })
}

// ------------------------------------------------------------------ libheif

struct Context(*mut lh::heif_context);
impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_context_alloc, freed once.
        unsafe { lh::heif_context_free(self.0) }
    }
}
struct Handle(*mut lh::heif_image_handle);
impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: returned by heif_context_get_primary_image_handle, released once.
        unsafe { lh::heif_image_handle_release(self.0) }
    }
}
struct Image(*mut lh::heif_image);
impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: returned by heif_decode_image, released once.
        unsafe { lh::heif_image_release(self.0) }
    }
}
struct Options(*mut lh::heif_decoding_options);
impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_decoding_options_alloc, freed once.
        unsafe { lh::heif_decoding_options_free(self.0) }
    }
}

fn check(err: lh::heif_error, size: (u32, u32)) -> Result<(), ImageError> {
    if err.code == lh::heif_error_code_heif_error_Ok {
        return Ok(());
    }
    let message = if err.message.is_null() {
        String::new()
    } else {
        // SAFETY: libheif's messages are static NUL-terminated strings.
        unsafe { std::ffi::CStr::from_ptr(err.message) }
            .to_string_lossy()
            .into_owned()
    };
    Err(match (err.code, err.subcode) {
        (_, lh::heif_suberror_code_heif_suberror_Security_limit_exceeded) => ImageError::TooLarge {
            width: size.0,
            height: size.1,
        },
        (_, lh::heif_suberror_code_heif_suberror_Unsupported_codec)
        | (lh::heif_error_code_heif_error_Unsupported_filetype, _)
        | (lh::heif_error_code_heif_error_Unsupported_feature, _) => ImageError::Unsupported,
        _ => corrupt(&message),
    })
}

/// Colour information of the primary image.
pub(crate) enum Colour {
    Icc(Vec<u8>),
    /// `nclx` colour primaries and transfer characteristics (ITU-T H.273 code points).
    Cicp(u8, u8),
}

fn colour(handle: &Handle) -> Option<Colour> {
    // SAFETY: handle is valid; buffers are sized from libheif's own answer.
    unsafe {
        let kind = lh::heif_image_handle_get_color_profile_type(handle.0);
        if kind == lh::heif_color_profile_type_heif_color_profile_type_prof
            || kind == lh::heif_color_profile_type_heif_color_profile_type_rICC
        {
            let size = lh::heif_image_handle_get_raw_color_profile_size(handle.0);
            if size == 0 || size > MAX_ICC_BYTES {
                return None;
            }
            let mut icc = vec![0u8; size];
            let err =
                lh::heif_image_handle_get_raw_color_profile(handle.0, icc.as_mut_ptr().cast());
            return (err.code == lh::heif_error_code_heif_error_Ok).then_some(Colour::Icc(icc));
        }
        let mut nclx: *mut lh::heif_color_profile_nclx = std::ptr::null_mut();
        let err = lh::heif_image_handle_get_nclx_color_profile(handle.0, &mut nclx);
        if err.code != lh::heif_error_code_heif_error_Ok || nclx.is_null() {
            return None;
        }
        let cicp = (
            u8::try_from((*nclx).color_primaries).unwrap_or(2),
            u8::try_from((*nclx).transfer_characteristics).unwrap_or(2),
        );
        lh::heif_nclx_color_profile_free(nclx);
        Some(Colour::Cicp(cicp.0, cicp.1))
    }
}

static INIT: Once = Once::new();

pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, ImageError> {
    let header = header(bytes)?;
    INIT.call_once(|| {
        // SAFETY: global initialisation, once; never deinitialised (other threads may decode).
        unsafe {
            lh::heif_init(std::ptr::null_mut());
        }
    });
    let stored = (header.width, header.height);
    // SAFETY: every pointer below comes from libheif and is owned by a guard that frees it;
    // `bytes` outlives the context that reads it without copying.
    unsafe {
        let ctx = lh::heif_context_alloc();
        if ctx.is_null() {
            return Err(corrupt("no context"));
        }
        let ctx = Context(ctx);
        // libheif refuses anything above our own side limit too (its check is `>=`).
        lh::heif_context_set_maximum_image_size_limit(ctx.0, (MAX_SIDE + 1) as c_int);
        // One thread per job: the worker runs jobs side by side, and the container has 1 vCPU.
        lh::heif_context_set_max_decoding_threads(ctx.0, 1);
        check(
            lh::heif_context_read_from_memory_without_copy(
                ctx.0,
                bytes.as_ptr().cast(),
                bytes.len(),
                std::ptr::null(),
            ),
            stored,
        )?;
        let mut handle = std::ptr::null_mut();
        check(
            lh::heif_context_get_primary_image_handle(ctx.0, &mut handle),
            stored,
        )?;
        let handle = Handle(handle);
        // Displayed size: after irot/clap. The guard again, on libheif's own reading.
        let (width, height) = check_dimensions(
            u64::try_from(lh::heif_image_handle_get_width(handle.0)).unwrap_or(0),
            u64::try_from(lh::heif_image_handle_get_height(handle.0)).unwrap_or(0),
        )?;
        let colour = colour(&handle);
        deadline::check()?;

        let options = lh::heif_decoding_options_alloc();
        if options.is_null() {
            return Err(corrupt("no decoding options"));
        }
        let options = Options(options);
        (*options.0).convert_hdr_to_8bit = 1;
        let mut image = std::ptr::null_mut();
        check(
            lh::heif_decode_image(
                handle.0,
                &mut image,
                lh::heif_colorspace_heif_colorspace_RGB,
                lh::heif_chroma_heif_chroma_interleaved_RGB,
                options.0,
            ),
            stored,
        )?;
        let image = Image(image);
        drop(handle);
        deadline::check()?;

        let channel = lh::heif_channel_heif_channel_interleaved;
        let iw = lh::heif_image_get_width(image.0, channel);
        let ih = lh::heif_image_get_height(image.0, channel);
        let mut stride: c_int = 0;
        let plane = lh::heif_image_get_plane_readonly(image.0, channel, &mut stride);
        let (Ok(iw), Ok(ih), Ok(stride)) = (
            u32::try_from(iw),
            u32::try_from(ih),
            usize::try_from(stride),
        ) else {
            return Err(corrupt("decoded image has no size"));
        };
        if plane.is_null() || (iw, ih) != (width, height) || stride < iw as usize * 3 {
            return Err(corrupt("decoded image does not match its header"));
        }
        let row = iw as usize * 3;
        let rows = std::slice::from_raw_parts(plane, stride * (ih as usize - 1) + row);
        let (tw, th) = largest_target(iw, ih);
        let packed;
        let pixels: &[u8] = if stride == row {
            rows
        } else {
            let mut v = Vec::with_capacity(row * ih as usize);
            for y in 0..ih as usize {
                v.extend_from_slice(&rows[y * stride..y * stride + row]);
            }
            packed = v;
            &packed
        };
        let pixels = ops::resize_slice(pixels, iw, ih, tw, th)?;
        drop(image);
        let (icc, cicp) = match colour {
            Some(Colour::Icc(icc)) => (Some(icc), None),
            Some(Colour::Cicp(p, t)) => (None, Some((p, t))),
            None => (None, None),
        };
        Ok(Decoded {
            width: iw,
            height: ih,
            pixels,
            // irot/imir are applied by libheif; EXIF Orientation must not be applied again.
            orientation: 1,
            icc,
            cicp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brands() {
        let ftyp = |major: &[u8; 4], compat: &[u8]| {
            let mut v = ((16 + compat.len()) as u32).to_be_bytes().to_vec();
            v.extend(b"ftyp");
            v.extend(major);
            v.extend([0, 0, 0, 0]);
            v.extend(compat);
            v
        };
        assert_eq!(sniff(&ftyp(b"heic", b"mif1heic")), Some(SourceFormat::Heic));
        assert_eq!(sniff(&ftyp(b"heix", b"")), Some(SourceFormat::Heic));
        assert_eq!(sniff(&ftyp(b"mif1", b"heic")), Some(SourceFormat::Heic));
        assert_eq!(sniff(&ftyp(b"msf1", b"")), Some(SourceFormat::Heic));
        assert_eq!(sniff(&ftyp(b"avif", b"mif1miaf")), Some(SourceFormat::Avif));
        assert_eq!(sniff(&ftyp(b"mif1", b"miafavif")), Some(SourceFormat::Avif));
        assert_eq!(sniff(&ftyp(b"isom", b"mp41")), None); // an MP4 video
        assert_eq!(sniff(&ftyp(b"qt  ", b"")), None);
        assert_eq!(sniff(b"\0\0\0\x18ftyp"), None);
    }
}
