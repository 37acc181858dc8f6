//! Writing msgpack exactly as msgpack-python's `packb(..., use_bin_type=True)` does: the
//! smallest encoding of each integer, doubles for floats, `str` and `bin` kept apart.
//! Shared by the reader (encoded objects) and the extension's log encoder, whose bytes
//! must equal what `journal/records.py` writes.

pub fn nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

pub fn boolean(b: bool, out: &mut Vec<u8>) {
    out.push(if b { 0xc3 } else { 0xc2 });
}

pub fn f64(v: f64, out: &mut Vec<u8>) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn uint(u: u64, out: &mut Vec<u8>) {
    if u < 128 {
        out.push(u as u8);
    } else if u < 1 << 8 {
        out.extend_from_slice(&[0xcc, u as u8]);
    } else if u < 1 << 16 {
        out.push(0xcd);
        out.extend_from_slice(&(u as u16).to_be_bytes());
    } else if u < 1 << 32 {
        out.push(0xce);
        out.extend_from_slice(&(u as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}

pub fn int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        uint(i as u64, out);
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -(1 << 7) {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -(1 << 15) {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -(1 << 31) {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

/// A header for `n` items: the fix form below `fix_max`, then 16 and 32 bits. None past
/// 32 bits (msgpack has no such length).
fn header(
    n: usize,
    fix: u8,
    fix_max: usize,
    m8: Option<u8>,
    m16: u8,
    m32: u8,
    out: &mut Vec<u8>,
) -> Option<()> {
    if n < fix_max {
        out.push(fix | n as u8);
    } else if let (Some(m8), true) = (m8, n < 1 << 8) {
        out.extend_from_slice(&[m8, n as u8]);
    } else if n < 1 << 16 {
        out.push(m16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(m32);
        out.extend_from_slice(&u32::try_from(n).ok()?.to_be_bytes());
    }
    Some(())
}

pub fn str(s: &str, out: &mut Vec<u8>) -> Option<()> {
    header(s.len(), 0xa0, 32, Some(0xd9), 0xda, 0xdb, out)?;
    out.extend_from_slice(s.as_bytes());
    Some(())
}

pub fn bin(b: &[u8], out: &mut Vec<u8>) -> Option<()> {
    header(b.len(), 0, 0, Some(0xc4), 0xc5, 0xc6, out)?;
    out.extend_from_slice(b);
    Some(())
}

pub fn array_len(n: usize, out: &mut Vec<u8>) -> Option<()> {
    header(n, 0x90, 16, None, 0xdc, 0xdd, out)
}

pub fn map_len(n: usize, out: &mut Vec<u8>) -> Option<()> {
    header(n, 0x80, 16, None, 0xde, 0xdf, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_at_the_edges() {
        let mut o = Vec::new();
        for u in [0u64, 127, 128, 255, 256, 65535, 65536, 1 << 32] {
            uint(u, &mut o);
        }
        for i in [-1i64, -32, -33, -128, -129, -32768, -32769, i64::MIN] {
            int(i, &mut o);
        }
        assert_eq!(
            o,
            [
                vec![0x00, 0x7f, 0xcc, 0x80, 0xcc, 0xff, 0xcd, 1, 0, 0xcd, 0xff, 0xff],
                vec![0xce, 0, 1, 0, 0, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0],
                vec![0xff, 0xe0, 0xd0, 0xdf, 0xd0, 0x80, 0xd1, 0xff, 0x7f, 0xd1, 0x80, 0],
                vec![0xd2, 0xff, 0xff, 0x7f, 0xff, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],
            ]
            .concat()
        );
        let mut o = Vec::new();
        str(&"x".repeat(31), &mut o);
        assert_eq!(o[0], 0xbf);
        let mut o = Vec::new();
        str(&"x".repeat(32), &mut o);
        assert_eq!(o[..2], [0xd9, 32]);
        let mut o = Vec::new();
        bin(&[1, 2], &mut o);
        array_len(16, &mut o);
        map_len(3, &mut o);
        assert_eq!(o, [0xc4, 2, 1, 2, 0xdc, 0, 16, 0x83]);
    }
}
