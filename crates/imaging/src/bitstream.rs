//! The coded size of HEVC and AV1 images, read from their own bitstream headers (HEVC sequence
//! parameter sets, AV1 sequence headers), so that a HEIF item cannot declare a small `ispe` and
//! make the decoder allocate and decode a much larger picture. Only the few fields up to the
//! picture size are parsed; every read is bounded by the input.

/// HEVC NAL unit types that matter here.
const HEVC_SPS: u8 = 33;
/// AV1 OBU types that matter here.
const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_FRAME_HEADER: u8 = 3;
const OBU_FRAME: u8 = 6;

/// A big-endian bit reader.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits { data, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(bit))
    }

    /// `n` (≤ 32) bits as an unsigned integer.
    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |v, _| Some((v << 1) | self.bit()?))
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.pos = self.pos.checked_add(n)?;
        (self.pos <= self.data.len() * 8).then_some(())
    }

    /// Exp-Golomb `ue(v)`; values past 32 bits are refused (no valid SPS field is that large).
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0u32;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        ((1u64 << zeros) - 1 + u64::from(rest)).try_into().ok()
    }

    /// AV1 `uvlc()`.
    fn uvlc(&mut self) -> Option<u32> {
        let mut zeros = 0u32;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros >= 32 {
                return Some(u32::MAX);
            }
        }
        let rest = self.bits(zeros)?;
        Some(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
    }
}

/// The RBSP of a NAL unit: emulation-prevention bytes (`00 00 03`) removed. At most `limit`
/// bytes are kept: the fields read here sit well inside the first hundred bytes.
fn rbsp(nal: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len().min(limit));
    let mut zeros = 0;
    for &b in nal {
        if out.len() >= limit {
            break;
        }
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// What an HEVC SPS says about the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodedSize {
    /// Decoded (allocated) picture size, before any cropping.
    pub width: u32,
    pub height: u32,
}

/// Reads `pic_width/height_in_luma_samples` of an HEVC SPS NAL unit (with its 2-byte header).
pub(crate) fn hevc_sps_size(nal: &[u8]) -> Option<CodedSize> {
    let rbsp = rbsp(nal.get(2..)?, 256);
    let mut b = Bits::new(&rbsp);
    b.bits(4)?; // sps_video_parameter_set_id
    let sub_layers = b.bits(3)?; // sps_max_sub_layers_minus1
    b.bits(1)?; // temporal_id_nesting
    // profile_tier_level: general profile (88 bits) and level (8 bits)
    b.skip(96)?;
    let mut present = [(false, false); 8];
    for p in present.iter_mut().take(sub_layers as usize) {
        *p = (b.bit()? == 1, b.bit()? == 1);
    }
    if sub_layers > 0 {
        b.skip(2 * (8 - sub_layers as usize))?;
    }
    for &(profile, level) in present.iter().take(sub_layers as usize) {
        if profile {
            b.skip(88)?;
        }
        if level {
            b.skip(8)?;
        }
    }
    let id = b.ue()?; // sps_seq_parameter_set_id
    if id > 15 {
        return None;
    }
    let chroma = b.ue()?;
    if chroma > 3 {
        return None;
    }
    if chroma == 3 {
        b.bit()?; // separate_colour_plane_flag
    }
    let width = b.ue()?;
    let height = b.ue()?;
    Some(CodedSize { width, height })
}

/// The NAL units of an hvcC box's parameter-set arrays.
pub(crate) fn hvcc_nals(hvcc: &[u8]) -> Option<Vec<&[u8]>> {
    let mut pos = 22usize;
    let arrays = *hvcc.get(pos)?;
    pos += 1;
    let mut nals = Vec::new();
    for _ in 0..arrays {
        pos += 1; // completeness + NAL unit type
        let count = u16::from_be_bytes(hvcc.get(pos..pos + 2)?.try_into().ok()?);
        pos += 2;
        for _ in 0..count {
            let len = usize::from(u16::from_be_bytes(hvcc.get(pos..pos + 2)?.try_into().ok()?));
            pos += 2;
            nals.push(hvcc.get(pos..pos.checked_add(len)?)?);
            pos += len;
        }
    }
    Some(nals)
}

/// What an HEVC image item's stream holds, as libheif hands it to libde265: the hvcC
/// parameter sets, then the item data as NAL units with 4-byte lengths.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct HevcStream {
    /// The size of every SPS, from hvcC and the item data alike (libde265 uses whichever the
    /// picture refers to).
    pub sizes: Vec<CodedSize>,
    /// Coded pictures: slice segments that start a picture.
    pub pictures: u32,
}

pub(crate) fn hevc_stream(hvcc: &[u8], data: &[u8]) -> Option<HevcStream> {
    let mut stream = HevcStream::default();
    let mut visit = |nal: &[u8]| -> Option<()> {
        let kind = (nal.first()? >> 1) & 0x3F;
        if kind == HEVC_SPS {
            stream.sizes.push(hevc_sps_size(nal)?);
        } else if kind < 32 && nal.get(2)? & 0x80 != 0 {
            // a VCL NAL unit whose first_slice_segment_in_pic_flag is set
            stream.pictures += 1;
        }
        Some(())
    };
    for nal in hvcc_nals(hvcc)? {
        visit(nal)?;
    }
    let mut pos = 0usize;
    while pos < data.len() {
        let len = u32::from_be_bytes(data.get(pos..pos + 4)?.try_into().ok()?) as usize;
        pos += 4;
        let nal = data.get(pos..pos.checked_add(len)?)?;
        pos += len;
        if !nal.is_empty() {
            visit(nal)?;
        }
    }
    Some(stream)
}

/// What an AV1 image item's stream holds: the av1C config OBUs, then the item data.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Av1Stream {
    /// `max_frame_width/height` of every sequence header.
    pub sizes: Vec<CodedSize>,
    /// Frame headers (`OBU_FRAME` and `OBU_FRAME_HEADER`).
    pub frames: u32,
}

pub(crate) fn av1_stream(av1c: &[u8], data: &[u8]) -> Option<Av1Stream> {
    let mut stream = Av1Stream::default();
    for obus in [av1c.get(4..)?, data] {
        let mut pos = 0usize;
        while pos < obus.len() {
            let (kind, payload, next) = obu(obus, pos)?;
            match kind {
                OBU_SEQUENCE_HEADER => stream.sizes.push(av1_sequence_size(payload)?),
                OBU_FRAME | OBU_FRAME_HEADER => stream.frames += 1,
                _ => {}
            }
            pos = next;
        }
    }
    Some(stream)
}

/// One OBU at `pos`: (type, payload, position of the next one).
fn obu(data: &[u8], pos: usize) -> Option<(u8, &[u8], usize)> {
    let header = *data.get(pos)?;
    if header & 0x80 != 0 {
        return None; // obu_forbidden_bit
    }
    let kind = (header >> 3) & 15;
    let extension = header & 4 != 0;
    let has_size = header & 2 != 0;
    let mut p = pos + 1 + usize::from(extension);
    let size = if has_size {
        let (size, len) = leb128(data.get(p..)?)?;
        p += len;
        size
    } else {
        data.len().checked_sub(p)?
    };
    let end = p.checked_add(size)?;
    Some((kind, data.get(p..end)?, end))
}

fn leb128(data: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0u64;
    for (i, &b) in data.iter().take(8).enumerate() {
        value |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some((usize::try_from(value).ok()?, i + 1));
        }
    }
    None
}

/// `max_frame_width/height_minus_1 + 1` of an AV1 sequence header OBU payload.
pub(crate) fn av1_sequence_size(payload: &[u8]) -> Option<CodedSize> {
    let mut b = Bits::new(payload);
    b.bits(3)?; // seq_profile
    b.bit()?; // still_picture
    let reduced = b.bit()? == 1;
    if reduced {
        b.bits(5)?; // seq_level_idx[0]
    } else {
        let mut decoder_model = false;
        let mut buffer_delay_bits = 0;
        if b.bit()? == 1 {
            // timing_info
            b.skip(64)?;
            if b.bit()? == 1 {
                b.uvlc()?;
            }
            decoder_model = b.bit()? == 1;
            if decoder_model {
                buffer_delay_bits = b.bits(5)? + 1;
                b.skip(32 + 5 + 5)?;
            }
        }
        let display_delay = b.bit()? == 1;
        let points = b.bits(5)? + 1;
        for _ in 0..points {
            b.bits(12)?; // operating_point_idc
            if b.bits(5)? > 7 {
                b.bit()?; // seq_tier
            }
            if decoder_model && b.bit()? == 1 {
                b.skip(2 * buffer_delay_bits as usize + 1)?;
            }
            if display_delay && b.bit()? == 1 {
                b.bits(4)?;
            }
        }
    }
    let width_bits = b.bits(4)? + 1;
    let height_bits = b.bits(4)? + 1;
    let width = b.bits(width_bits)?.checked_add(1)?;
    let height = b.bits(height_bits)?.checked_add(1)?;
    Some(CodedSize { width, height })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb() {
        // 1 -> 0, 010 -> 1, 011 -> 2, 00100 -> 3, 0001000 -> 7
        let mut b = Bits::new(&[0b1010_0110, 0b0100_0001, 0b0000_0000]);
        assert_eq!(b.ue(), Some(0));
        assert_eq!(b.ue(), Some(1));
        assert_eq!(b.ue(), Some(2));
        assert_eq!(b.ue(), Some(3));
        assert_eq!(b.ue(), Some(7));
        // 32 leading zeros: refused, and running out of bits is None
        assert_eq!(Bits::new(&[0, 0, 0, 0, 0x80]).ue(), None);
        assert_eq!(Bits::new(&[0]).ue(), None);
    }

    #[test]
    fn emulation_prevention_is_removed() {
        assert_eq!(
            rbsp(&[0, 0, 3, 1, 0, 0, 3, 0, 3], 100),
            [0, 0, 1, 0, 0, 0, 3]
        );
        assert_eq!(rbsp(&[1, 2, 3, 4], 2), [1, 2]);
    }

    #[test]
    fn av1_reduced_still_picture_header() {
        // profile 0, still, reduced, level 31 (5 bits), then 4+4 bits of sizes, 1200-1 in 11
        // bits and 900-1 in 10 bits
        let mut bits = String::from("000") + "1" + "1" + "11111" + "1010" + "1001";
        bits += &format!("{:011b}{:010b}", 1199, 899);
        while !bits.len().is_multiple_of(8) {
            bits.push('0');
        }
        let bytes: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        assert_eq!(
            av1_sequence_size(&bytes),
            Some(CodedSize {
                width: 1200,
                height: 900
            })
        );
        assert_eq!(av1_sequence_size(&bytes[..2]), None);
    }

    #[test]
    fn truncated_streams_are_refused() {
        assert_eq!(hevc_stream(&[0; 22], &[]), None);
        assert_eq!(av1_stream(&[0x81, 0, 0, 0], &[0x0A, 0x20]), None);
        assert_eq!(leb128(&[0x80; 9]), None);
    }
}
