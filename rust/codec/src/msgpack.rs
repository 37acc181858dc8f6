//! msgpack exactly as msgpack-python's `packb(..., use_bin_type=True)` writes it (the
//! smallest encoding of each integer, doubles for floats, `str` and `bin` kept apart),
//! and a reader of it in place.
//!
//! The reader takes only what msgpack-python's `unpackb(raw=False)` takes from our
//! writers (UTF-8 strings, string or bytes map keys, no extension types); it returns
//! `None` on anything else, and its callers hand the bytes to the Python reader, which
//! words the error.

/// Writes nil.
pub fn nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

/// Writes a boolean.
pub fn boolean(b: bool, out: &mut Vec<u8>) {
    out.push(if b { 0xc3 } else { 0xc2 });
}

/// Writes a double (msgpack-python writes every Python float as one).
pub fn f64(v: f64, out: &mut Vec<u8>) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_be_bytes());
}

/// Writes a non-negative integer in its smallest encoding.
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

/// Writes a signed integer in its smallest encoding (non-negative ones as unsigned).
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

/// A header for `n` items: the fix form below `fix_max`, then 8 (where the family has
/// it), 16 and 32 bits. None past 32 bits (msgpack has no such length).
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

/// Writes a string; None when it is longer than msgpack can say.
pub fn str(s: &str, out: &mut Vec<u8>) -> Option<()> {
    header(s.len(), 0xa0, 32, Some(0xd9), 0xda, 0xdb, out)?;
    out.extend_from_slice(s.as_bytes());
    Some(())
}

/// Writes bytes; None when they are longer than msgpack can say.
pub fn bin(b: &[u8], out: &mut Vec<u8>) -> Option<()> {
    header(b.len(), 0, 0, Some(0xc4), 0xc5, 0xc6, out)?;
    out.extend_from_slice(b);
    Some(())
}

/// Writes the header of an array of `n` items.
pub fn array_len(n: usize, out: &mut Vec<u8>) -> Option<()> {
    header(n, 0x90, 16, None, 0xdc, 0xdd, out)
}

/// Writes the header of a map of `n` pairs.
pub fn map_len(n: usize, out: &mut Vec<u8>) -> Option<()> {
    header(n, 0x80, 16, None, 0xde, 0xdf, out)
}

/// Nesting deeper than this is refused by [`Reader::skip`] (and by the record's `extra`):
/// what the write side lets into a request (`servicecidr.api.storable.MAX_DEPTH`; a test
/// binds the two), so whatever was written reads back.
pub const MAX_DEPTH: u32 = 100;

/// Why a value is not JSON ([`Reader::json`]): what, and the offset where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotJson {
    /// Something JSON has no value for, or a broken encoding.
    Bad(&'static str, usize),
    /// Nested deeper than allowed.
    TooDeep(usize),
}

impl NotJson {
    /// The message, naming `max_depth` for a value too deep.
    pub fn describe(self, max_depth: u32) -> String {
        match self {
            NotJson::Bad(what, at) => format!("{what} at byte {at}"),
            NotJson::TooDeep(at) => format!("nested deeper than {max_depth} levels at byte {at}"),
        }
    }
}

fn finite(v: f64, start: usize) -> Result<(), NotJson> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(NotJson::Bad("a float that is not finite (not JSON)", start))
    }
}

/// ASCII bytes as text.
#[allow(unsafe_code)]
fn ascii_str(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii());
    // SAFETY: the caller checked that every byte is ASCII, and ASCII is valid UTF-8.
    // (The checked conversion costs more than the rest of reading a record: most of its
    // strings are short ASCII names, and every record and object is read this way.)
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// Whether `bytes` are UTF-8 (most strings are short ASCII names: that test first).
fn utf8(bytes: &[u8]) -> bool {
    ascii(bytes) || std::str::from_utf8(bytes).is_ok()
}

/// Whether every byte is ASCII: `<[u8]>::is_ascii` for the short strings every record
/// and object is made of, in a few overlapping word loads instead of a byte loop (the
/// byte loop was most of what reading a name cost).
#[inline]
fn ascii(b: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0x80; 8]));
    let half = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0x80; 4]));
    let n = b.len();
    if n >= 8 {
        let mut acc = word(n - 8);
        let mut at = 0;
        while at + 8 < n {
            acc |= word(at);
            at += 8;
        }
        acc & HIGH == 0
    } else if n >= 4 {
        (half(0) | half(n - 4)) & 0x8080_8080 == 0
    } else {
        b.iter().fold(0, |acc, &x| acc | x) & 0x80 == 0
    }
}

/// A minimal msgpack reader over a byte slice.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Where the next value starts.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Whether every byte has been read.
    pub fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// How many bytes are left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The next byte, without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// The next byte.
    pub fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// A big-endian unsigned integer of `n` bytes.
    pub fn be(&mut self, n: usize) -> Option<u64> {
        Some(
            self.take(n)?
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        )
    }

    /// An array header: the number of items.
    pub fn array_len(&mut self) -> Option<usize> {
        match self.byte()? {
            b @ 0x90..=0x9f => Some(usize::from(b & 0x0f)),
            0xdc => self.be(2).map(|n| n as usize),
            0xdd => self.be(4).map(|n| n as usize),
            _ => None,
        }
    }

    /// A map header: the number of pairs.
    pub fn map_len(&mut self) -> Option<usize> {
        match self.byte()? {
            b @ 0x80..=0x8f => Some(usize::from(b & 0x0f)),
            0xde => self.be(2).map(|n| n as usize),
            0xdf => self.be(4).map(|n| n as usize),
            _ => None,
        }
    }

    /// A non-negative integer, in any encoding msgpack allows for it.
    pub fn uint(&mut self) -> Option<u64> {
        match self.byte()? {
            b @ 0x00..=0x7f => Some(u64::from(b)),
            0xcc => self.be(1),
            0xcd => self.be(2),
            0xce => self.be(4),
            0xcf => self.be(8),
            0xd0 => self.be(1).filter(|&v| v < 0x80),
            0xd1 => self.be(2).filter(|&v| v < 0x8000),
            0xd2 => self.be(4).filter(|&v| v < 0x8000_0000),
            0xd3 => self.be(8).filter(|&v| v < 0x8000_0000_0000_0000),
            _ => None,
        }
    }

    /// A signed integer, in any encoding msgpack allows for it (None past i64).
    pub fn int(&mut self) -> Option<i64> {
        match self.peek()? {
            b @ 0xe0..=0xff => {
                self.pos += 1;
                Some(i64::from(b as i8))
            }
            0xd0 => self.be_signed(1),
            0xd1 => self.be_signed(2),
            0xd2 => self.be_signed(4),
            0xd3 => self.be_signed(8),
            _ => self.uint().and_then(|u| i64::try_from(u).ok()),
        }
    }

    fn be_signed(&mut self, n: usize) -> Option<i64> {
        self.pos += 1;
        let v = self.be(n)?;
        let shift = 64 - 8 * n as u32;
        Some(((v << shift) as i64) >> shift)
    }

    /// A float; an integer is taken as one too (what the Python reader accepts for a
    /// record's timestamp).
    pub fn float(&mut self) -> Option<f64> {
        match self.peek()? {
            0xcb => {
                self.pos += 1;
                self.be(8).map(f64::from_bits)
            }
            0xca => {
                self.pos += 1;
                self.be(4).map(|b| f64::from(f32::from_bits(b as u32)))
            }
            _ => self.uint().map(|v| v as f64),
        }
    }

    /// A UTF-8 string.
    pub fn str(&mut self) -> Option<&'a str> {
        let n = match self.byte()? {
            b @ 0xa0..=0xbf => usize::from(b & 0x1f),
            0xd9 => self.be(1)? as usize,
            0xda => self.be(2)? as usize,
            0xdb => self.be(4)? as usize,
            _ => return None,
        };
        self.text(n)
    }

    /// nil (None) or a string.
    pub fn nil_or_str(&mut self) -> Option<Option<&'a str>> {
        if self.peek()? == 0xc0 {
            self.pos += 1;
            return Some(None);
        }
        self.str().map(Some)
    }

    /// nil (None) or bytes.
    pub fn bin_or_nil(&mut self) -> Option<Option<&'a [u8]>> {
        let n = match self.byte()? {
            0xc0 => return Some(None),
            0xc4 => self.be(1)? as usize,
            0xc5 => self.be(2)? as usize,
            0xc6 => self.be(4)? as usize,
            _ => return None,
        };
        self.take(n).map(Some)
    }

    /// Steps over any one value msgpack-python's `unpackb(raw=False)` would read from
    /// our writers: strings in UTF-8, map keys that are strings or bytes, no extension
    /// types, nesting up to [`MAX_DEPTH`]. Returns the value's bytes.
    pub fn skip(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        self.walk(0)?;
        Some(&self.buf[start..self.pos])
    }

    // Iterative over siblings, recursive only in depth, which is bounded.
    fn walk(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let b = self.byte()?;
        let (fixed, items, pairs): (usize, usize, usize) = match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0, 0),
            0x80..=0x8f => (0, 0, usize::from(b & 0x0f)),
            0x90..=0x9f => (0, usize::from(b & 0x0f), 0),
            0xa0..=0xbf => return self.text(usize::from(b & 0x1f)).map(|_| ()),
            0xd9 => return self.be(1).and_then(|n| self.text(n as usize)).map(|_| ()),
            0xda => return self.be(2).and_then(|n| self.text(n as usize)).map(|_| ()),
            0xdb => return self.be(4).and_then(|n| self.text(n as usize)).map(|_| ()),
            0xcc | 0xd0 => (1, 0, 0),
            0xcd | 0xd1 => (2, 0, 0),
            0xce | 0xd2 => (4, 0, 0),
            0xcf | 0xd3 => (8, 0, 0),
            0xca => (4, 0, 0),
            0xcb => (8, 0, 0),
            0xc4 => (self.be(1)? as usize, 0, 0),
            0xc5 => (self.be(2)? as usize, 0, 0),
            0xc6 => (self.be(4)? as usize, 0, 0),
            0xdc => (0, self.be(2)? as usize, 0),
            0xdd => (0, self.be(4)? as usize, 0),
            0xde => (0, 0, self.be(2)? as usize),
            0xdf => (0, 0, self.be(4)? as usize),
            _ => return None, // extension types, and 0xc1 (never used)
        };
        self.take(fixed)?;
        for _ in 0..items {
            self.walk(depth + 1)?;
        }
        for _ in 0..pairs {
            match self.peek()? {
                0xa0..=0xbf | 0xd9 | 0xda | 0xdb | 0xc4..=0xc6 => self.walk(depth + 1)?,
                _ => return None, // msgpack-python's strict_map_key refuses it
            }
            self.walk(depth + 1)?;
        }
        Some(())
    }

    /// `n` bytes of UTF-8 text (the cheap ASCII test first: most strings are names).
    pub fn text(&mut self, n: usize) -> Option<&'a str> {
        let bytes = self.take(n)?;
        if ascii(bytes) {
            return Some(ascii_str(bytes));
        }
        std::str::from_utf8(bytes).ok()
    }

    /// One value JSON could carry (nil, bool, number, finite float, UTF-8 string, array,
    /// map with string keys) nested at most `max_depth` levels below `depth`, or where and
    /// why it is not one (the first fault in reading order).
    ///
    /// Every object a log replays is walked here, so it is one loop over the bytes with
    /// the open containers on a small stack in place of a call per value (the recursive
    /// walk it replaced is kept in the tests as the model it must agree with).
    pub fn json(&mut self, depth: u32, max_depth: u32) -> Result<(), NotJson> {
        // Per open container: the values still to read in it, shifted left once, with
        // the low bit set for a map (whose values each come after a key).
        const OPEN: usize = 32;
        let mut open = [0u64; OPEN];
        let mut top = 0;
        let mut d = depth; // the depth of the value about to be read
        loop {
            let start = self.pos;
            if d > max_depth {
                return Err(NotJson::TooDeep(start));
            }
            let truncated = NotJson::Bad("truncated value", start);
            let b = self.byte().ok_or(truncated)?;
            let (n, map) = match b {
                0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, false),
                0xa0..=0xbf => {
                    self.json_text(usize::from(b & 0x1f), start)?;
                    (0, false)
                }
                0x80..=0x8f => (u64::from(b & 0x0f), true),
                0x90..=0x9f => (u64::from(b & 0x0f), false),
                0xcc | 0xd0 => (self.skip_n(1, truncated)?, false),
                0xcd | 0xd1 => (self.skip_n(2, truncated)?, false),
                0xce | 0xd2 => (self.skip_n(4, truncated)?, false),
                0xcf | 0xd3 => (self.skip_n(8, truncated)?, false),
                0xca => {
                    let v = f64::from(f32::from_bits(self.be(4).ok_or(truncated)? as u32));
                    finite(v, start)?;
                    (0, false)
                }
                0xcb => {
                    finite(f64::from_bits(self.be(8).ok_or(truncated)?), start)?;
                    (0, false)
                }
                0xd9..=0xdb => {
                    let n = self.be(1 << (b - 0xd9)).ok_or(truncated)? as usize;
                    self.json_text(n, start)?;
                    (0, false)
                }
                0xdc => (self.be(2).ok_or(truncated)?, false),
                0xdd => (self.be(4).ok_or(truncated)?, false),
                0xde => (self.be(2).ok_or(truncated)?, true),
                0xdf => (self.be(4).ok_or(truncated)?, true),
                0xc4..=0xc6 => return Err(NotJson::Bad("bytes (msgpack bin: not JSON)", start)),
                _ => return Err(NotJson::Bad("a msgpack extension type (not JSON)", start)),
            };
            if n > 0 {
                if top < OPEN {
                    open[top] = n << 1 | u64::from(map);
                    top += 1;
                    d += 1;
                } else {
                    // Deeper than the stack: this container is walked by a walk of its
                    // own (a bounded depth, as `max_depth` bounds the nesting).
                    self.pos = start;
                    self.json(d, max_depth)?;
                }
            }
            // To the next value: past the containers this one closed, after its key.
            loop {
                let Some(last) = top.checked_sub(1) else {
                    return Ok(());
                };
                let slot = &mut open[last];
                if *slot >> 1 == 0 {
                    top = last;
                    d -= 1;
                    continue;
                }
                *slot -= 2;
                if *slot & 1 == 1 {
                    let at = self.pos;
                    if !self.key() {
                        return Err(NotJson::Bad("a map key that is not a string", at));
                    }
                }
                break;
            }
        }
    }

    /// Steps over `n` bytes (Ok(0): nothing nested).
    fn skip_n(&mut self, n: usize, truncated: NotJson) -> Result<u64, NotJson> {
        self.take(n).ok_or(truncated)?;
        Ok(0)
    }

    /// Steps over a map key: whether it is a UTF-8 string ([`Reader::str`], without
    /// making the `&str`).
    fn key(&mut self) -> bool {
        let n = match self.peek() {
            Some(b @ 0xa0..=0xbf) => usize::from(b & 0x1f),
            _ => return self.str().is_some(),
        };
        let Some(bytes) = self.buf.get(self.pos + 1..self.pos + 1 + n) else {
            return self.str().is_some();
        };
        if !utf8(bytes) {
            return false;
        }
        self.pos += 1 + n;
        true
    }

    fn json_text(&mut self, n: usize, start: usize) -> Result<(), NotJson> {
        let Some(bytes) = self.take(n) else {
            return Err(NotJson::Bad("truncated string", start));
        };
        if utf8(bytes) {
            Ok(())
        } else {
            Err(NotJson::Bad("a string that is not UTF-8", start))
        }
    }

    /// A reader positioned at `pos` of the same bytes.
    pub fn at(&self, pos: usize) -> Reader<'a> {
        Reader { buf: self.buf, pos }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        str(&"x".repeat(31), &mut o).unwrap();
        assert_eq!(o[0], 0xbf);
        let mut o = Vec::new();
        str(&"x".repeat(32), &mut o).unwrap();
        assert_eq!(o[..2], [0xd9, 32]);
        let mut o = Vec::new();
        bin(&[1, 2], &mut o).unwrap();
        array_len(16, &mut o).unwrap();
        map_len(3, &mut o).unwrap();
        assert_eq!(o, [0xc4, 2, 1, 2, 0xdc, 0, 16, 0x83]);
    }

    /// The recursive JSON walk [`Reader::json`] replaced: the model it must agree with.
    fn model_json(r: &mut Reader<'_>, depth: u32, max_depth: u32) -> Result<(), NotJson> {
        let start = r.pos;
        if depth > max_depth {
            return Err(NotJson::TooDeep(start));
        }
        let truncated = NotJson::Bad("truncated value", start);
        let b = r.byte().ok_or(truncated)?;
        let (items, pairs) = match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => return Ok(()),
            0xcc | 0xd0 => return r.take(1).map(|_| ()).ok_or(truncated),
            0xcd | 0xd1 => return r.take(2).map(|_| ()).ok_or(truncated),
            0xce | 0xd2 => return r.take(4).map(|_| ()).ok_or(truncated),
            0xcf | 0xd3 => return r.take(8).map(|_| ()).ok_or(truncated),
            0xca => {
                let v = f64::from(f32::from_bits(r.be(4).ok_or(truncated)? as u32));
                return finite(v, start);
            }
            0xcb => return finite(f64::from_bits(r.be(8).ok_or(truncated)?), start),
            0xa0..=0xbf => return model_text(r, usize::from(b & 0x1f), start),
            0xd9..=0xdb => {
                let n = r.be(1 << (b - 0xd9)).ok_or(truncated)? as usize;
                return model_text(r, n, start);
            }
            0x90..=0x9f => (usize::from(b & 0x0f), 0),
            0xdc => (r.be(2).ok_or(truncated)? as usize, 0),
            0xdd => (r.be(4).ok_or(truncated)? as usize, 0),
            0x80..=0x8f => (0, usize::from(b & 0x0f)),
            0xde => (0, r.be(2).ok_or(truncated)? as usize),
            0xdf => (0, r.be(4).ok_or(truncated)? as usize),
            0xc4..=0xc6 => return Err(NotJson::Bad("bytes (msgpack bin: not JSON)", start)),
            _ => return Err(NotJson::Bad("a msgpack extension type (not JSON)", start)),
        };
        for _ in 0..items {
            model_json(r, depth + 1, max_depth)?;
        }
        for _ in 0..pairs {
            let at = r.pos;
            r.str()
                .ok_or(NotJson::Bad("a map key that is not a string", at))?;
            model_json(r, depth + 1, max_depth)?;
        }
        Ok(())
    }

    fn model_text(r: &mut Reader<'_>, n: usize, start: usize) -> Result<(), NotJson> {
        if r.buf.len() - r.pos < n {
            return Err(NotJson::Bad("truncated string", start));
        }
        r.text(n)
            .map(|_| ())
            .ok_or(NotJson::Bad("a string that is not UTF-8", start))
    }

    fn json_of(bytes: &[u8], max_depth: u32) -> Result<(), NotJson> {
        let mut r = Reader::new(bytes);
        r.json(0, max_depth)?;
        if r.at_end() {
            Ok(())
        } else {
            Err(NotJson::Bad("trailing bytes", r.pos()))
        }
    }

    #[test]
    fn json_values_only() {
        let obj = |build: &dyn Fn(&mut Vec<u8>)| {
            let mut o = Vec::new();
            map_len(1, &mut o).unwrap();
            str("k", &mut o).unwrap();
            build(&mut o);
            o
        };
        assert_eq!(json_of(&obj(&|o| str("v", o).unwrap()), 10), Ok(()));
        assert_eq!(json_of(&obj(&|o| f64(1.5, o)), 10), Ok(()));
        assert_eq!(
            json_of(&obj(&|o| f64(f64::NAN, o)), 10),
            Err(NotJson::Bad("a float that is not finite (not JSON)", 3))
        );
        assert!(json_of(&obj(&|o| bin(b"x", o).unwrap()), 10).is_err());
        // an integer map key
        assert_eq!(
            json_of(&[0x81, 0x01, 0x02], 10),
            Err(NotJson::Bad("a map key that is not a string", 1))
        );
        assert!(json_of(&[0x81, 0xa1, b'k'], 10).is_err());
        // deep nesting is refused at the bound, not a stack overflow
        let mut deep = vec![0x81, 0xa1, b'k'];
        deep.extend(std::iter::repeat_n(0x91, 100_000));
        deep.push(0xc0);
        assert_eq!(json_of(&deep, 100), Err(NotJson::TooDeep(103)));
        assert_eq!(
            NotJson::TooDeep(7).describe(100),
            "nested deeper than 100 levels at byte 7"
        );
    }

    proptest! {
        #[test]
        fn ascii_is_is_ascii(b in proptest::collection::vec(prop_oneof![30 => 0u8..0x80, 1 => Just(0x80u8), 1 => Just(0xffu8)], 0..40)) {
            prop_assert_eq!(ascii(&b), b.is_ascii());
        }
    }

    #[test]
    fn signed_integers_read_back() {
        for i in [
            0i64,
            1,
            -1,
            -32,
            -33,
            127,
            -128,
            300,
            -300,
            i64::MIN,
            i64::MAX,
        ] {
            let mut o = Vec::new();
            int(i, &mut o);
            assert_eq!(Reader::new(&o).int(), Some(i));
        }
    }

    /// Both walks over the same bytes: the same answer, and on success the same end.
    fn agree(bytes: &[u8], depth: u32, max_depth: u32) -> Result<(), TestCaseError> {
        let (mut fast, mut model) = (Reader::new(bytes), Reader::new(bytes));
        let got = fast.json(depth, max_depth);
        prop_assert_eq!(got, model_json(&mut model, depth, max_depth));
        if got.is_ok() {
            prop_assert_eq!(fast.pos(), model.pos());
        }
        Ok(())
    }

    /// A tree of values, some of them not JSON (bytes, NaN, integer map keys, bad UTF-8).
    fn value() -> impl Strategy<Value = Vec<u8>> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(|i| {
                let mut o = Vec::new();
                int(i, &mut o);
                o
            }),
            any::<u64>().prop_map(|u| {
                let mut o = Vec::new();
                uint(u, &mut o);
                o
            }),
            prop_oneof![Just(1.5), Just(f64::NAN), Just(f64::INFINITY)].prop_map(|v| {
                let mut o = Vec::new();
                f64(v, &mut o);
                o
            }),
            Just(vec![0xca, 0x7f, 0xc0, 0, 0]), // f32 NaN
            Just(vec![0xca, 0x3f, 0x80, 0, 0]),
            "[a-z\u{e9}\u{1F600}]{0,40}".prop_map(|t| {
                let mut o = Vec::new();
                str(&t, &mut o).unwrap();
                o
            }),
            Just(vec![0xa2, 0xc3, 0x28]), // not UTF-8
            Just(vec![0xc4, 1, 0]),
            Just(vec![0xd4, 0, 0]),
            Just(vec![0xc1]),
            Just(vec![0xc0]),
            Just(vec![0xc3]),
        ];
        leaf.prop_recursive(40, 400, 20, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..20).prop_map(|items| {
                    let mut o = Vec::new();
                    array_len(items.len(), &mut o).unwrap();
                    items.concat().into_iter().for_each(|b| o.push(b));
                    o
                }),
                proptest::collection::vec((inner.clone(), inner, any::<bool>()), 0..20).prop_map(
                    |pairs| {
                        let mut o = Vec::new();
                        map_len(pairs.len(), &mut o).unwrap();
                        for (i, (k, v, string_key)) in pairs.into_iter().enumerate() {
                            if string_key {
                                str(&format!("k{i}"), &mut o).unwrap();
                            } else {
                                o.extend(k);
                            }
                            o.extend(v);
                        }
                        o
                    }
                ),
            ]
        })
    }

    #[test]
    fn the_walk_agrees_with_the_model_past_its_stack() {
        for (nest, max_depth) in [(31, 100), (32, 100), (33, 100), (100, 100), (101, 100)] {
            for open in [0x91u8, 0x81] {
                let mut deep = Vec::new();
                for _ in 0..nest {
                    deep.push(open);
                    if open == 0x81 {
                        deep.extend([0xa1, b'k']);
                    }
                }
                deep.push(0xc0);
                agree(&deep, 0, max_depth).unwrap();
                agree(&deep, 3, max_depth).unwrap();
                agree(&deep[..deep.len() - 1], 0, max_depth).unwrap();
            }
        }
        let mut deep = vec![0x91u8; 100_000];
        deep.push(0xc0);
        // (the model recurses once a level: a depth a debug build's test thread holds)
        agree(&deep, 0, 1_000).unwrap();
        assert_eq!(
            Reader::new(&deep).json(0, 1_000),
            Err(NotJson::TooDeep(1_001))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The JSON walk answers as the recursive model does, on values and on their
        /// truncations and one-byte mutations.
        #[test]
        fn the_json_walk_agrees_with_its_model(
            v in value(),
            cut in any::<prop::sample::Index>(),
            flip in any::<(prop::sample::Index, u8)>(),
            max_depth in 0u32..12,
        ) {
            agree(&v, 0, max_depth)?;
            agree(&v, 1, 100)?;
            agree(&v[..cut.index(v.len() + 1)], 0, 100)?;
            let mut m = v.clone();
            let at = flip.0.index(m.len());
            m[at] = flip.1;
            agree(&m, 0, max_depth)?;
            agree(&m, 0, 100)?;
        }

        #[test]
        fn the_json_walk_agrees_with_its_model_on_any_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            agree(&bytes, 0, 100)?;
            agree(&bytes, 0, 2)?;
        }

        #[test]
        fn the_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Reader::new(&bytes).json(0, 100);
            let mut r = Reader::new(&bytes);
            let _ = r.skip();
        }

        /// What the JSON walk accepts, msgpack-python reads back.
        #[test]
        fn the_json_walk_accepts_only_what_reads_back(
            tail in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            let mut r = Reader::new(&tail);
            if r.json(0, 100).is_ok() {
                prop_assert!(Reader::new(&tail).skip().is_some());
            }
        }
    }
}
