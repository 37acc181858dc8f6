//! Reading msgpack in place, for the two hot readers (log replay and snapshot load).
//!
//! Only the encodings msgpack-python writes for our layouts are read as values; any
//! other value can be stepped over. A reader returns None on anything unexpected, and
//! its callers then hand the input to the Python reader for the exact error.

/// `bytes` as text, if they are UTF-8. Object keys and values are nearly all short
/// ASCII strings: testing for that first is several times faster than the general
/// validation, which runs only for the rest.
#[inline]
pub fn as_str(bytes: &[u8]) -> Option<&str> {
    if is_ascii(bytes) {
        // SAFETY: ASCII is valid UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

/// Whether every byte is below 0x80, eight at a time (std's check goes byte by byte on
/// short slices, and these are short).
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or([0x80; 8]));
    let n = bytes.len();
    if n >= 8 {
        let mut acc = word(&bytes[n - 8..]); // the tail, overlapping the last chunk
        for c in bytes.chunks_exact(8) {
            acc |= word(c);
        }
        return acc & HIGH == 0;
    }
    let mut acc = 0u8;
    for &b in bytes {
        acc |= b;
    }
    acc < 0x80
}

/// A minimal msgpack reader: the few types the event and snapshot layouts use, and a
/// skip over any value.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    pub fn be(&mut self, n: usize) -> Option<u64> {
        Some(
            self.take(n)?
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        )
    }

    pub fn array_len(&mut self) -> Option<usize> {
        match self.byte()? {
            b @ 0x90..=0x9f => Some(usize::from(b & 0x0f)),
            0xdc => self.be(2).map(|n| n as usize),
            0xdd => self.be(4).map(|n| n as usize),
            _ => None,
        }
    }

    pub fn map_len(&mut self) -> Option<usize> {
        match self.byte()? {
            b @ 0x80..=0x8f => Some(usize::from(b & 0x0f)),
            0xde => self.be(2).map(|n| n as usize),
            0xdf => self.be(4).map(|n| n as usize),
            _ => None,
        }
    }

    /// A non-negative integer (what seq, op and rv are).
    pub fn uint(&mut self) -> Option<u64> {
        match self.byte()? {
            b @ 0x00..=0x7f => Some(u64::from(b)),
            0xcc => self.be(1),
            0xcd => self.be(2),
            0xce => self.be(4),
            0xcf => self.be(8),
            // signed encodings of non-negative values
            0xd0 => self.be(1).filter(|&v| v < 0x80),
            0xd1 => self.be(2).filter(|&v| v < 0x8000),
            0xd2 => self.be(4).filter(|&v| v < 0x8000_0000),
            0xd3 => self.be(8).filter(|&v| v < 0x8000_0000_0000_0000),
            _ => None,
        }
    }

    /// A negative integer, or a non-negative one in a signed encoding.
    pub fn int(&mut self) -> Option<i64> {
        match self.byte()? {
            b @ 0xe0..=0xff => Some(i64::from(b as i8)),
            0xd0 => self.be(1).map(|v| i64::from(v as u8 as i8)),
            0xd1 => self.be(2).map(|v| i64::from(v as u16 as i16)),
            0xd2 => self.be(4).map(|v| i64::from(v as u32 as i32)),
            0xd3 => self.be(8).map(|v| v as i64),
            _ => None,
        }
    }

    pub fn float(&mut self) -> Option<f64> {
        match self.buf.get(self.pos)? {
            0xcb => {
                self.pos += 1;
                self.be(8).map(f64::from_bits)
            }
            0xca => {
                self.pos += 1;
                self.be(4).map(|b| f64::from(f32::from_bits(b as u32)))
            }
            // an integral timestamp (decode_payload accepts it too)
            _ => self.uint().map(|v| v as f64),
        }
    }

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

    /// The next `n` bytes as text, if they are UTF-8.
    #[inline]
    pub fn text(&mut self, n: usize) -> Option<&'a str> {
        let start = self.pos;
        let end = start.checked_add(n).filter(|&e| e <= self.buf.len())?;
        self.pos = end;
        let bytes = &self.buf[start..end];
        // Most strings are short ASCII: one load of the eight bytes ending with the
        // string (the bytes before it masked off) tells.
        if n <= 8 && end >= 8 {
            let word = u64::from_le_bytes(self.buf[end - 8..end].try_into().ok()?);
            let mine = if n == 0 { 0 } else { u64::MAX << (8 * (8 - n)) };
            if word & mine & 0x8080_8080_8080_8080 == 0 {
                // SAFETY: ASCII is valid UTF-8.
                return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
            }
        }
        as_str(bytes)
    }

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

    /// Steps over any one value (the namespace, verb, actor and extra are not needed),
    /// accepting only what msgpack-python's `unpackb(raw=False)` accepts from our
    /// writers: strings in UTF-8, map keys that are strings or bytes, no extension types
    /// (a timestamp extension of the wrong size would be an error there). None for
    /// anything else, so that the Python reader decides (and words the error).
    pub fn skip(&mut self, depth: u32) -> Option<()> {
        if depth > 64 {
            return None;
        }
        let b = self.byte()?;
        let (fixed, items, pairs): (usize, usize, usize) = match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0, 0),
            0x80..=0x8f => (0, 0, usize::from(b & 0x0f)),
            0x90..=0x9f => (0, usize::from(b & 0x0f), 0),
            0xa0..=0xbf => return self.utf8(usize::from(b & 0x1f)),
            0xd9 => return self.be(1).and_then(|n| self.utf8(n as usize)),
            0xda => return self.be(2).and_then(|n| self.utf8(n as usize)),
            0xdb => return self.be(4).and_then(|n| self.utf8(n as usize)),
            0xcc | 0xd0 => (1, 0, 0),
            0xcd | 0xd1 => (2, 0, 0),
            0xce | 0xd2 | 0xca => (4, 0, 0),
            0xcf | 0xd3 | 0xcb => (8, 0, 0),
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
            self.skip(depth + 1)?;
        }
        for _ in 0..pairs {
            match self.buf.get(self.pos)? {
                0xa0..=0xbf | 0xd9 | 0xda | 0xdb | 0xc4 | 0xc5 | 0xc6 => self.skip(depth + 1)?,
                _ => return None, // msgpack-python's strict_map_key refuses it
            }
            self.skip(depth + 1)?;
        }
        Some(())
    }

    fn utf8(&mut self, n: usize) -> Option<()> {
        self.text(n).map(|_| ())
    }

    pub fn nil_or_str(&mut self) -> Option<()> {
        if self.buf.get(self.pos)? == &0xc0 {
            self.pos += 1;
            return Some(());
        }
        self.str().map(|_| ())
    }
}
