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

/// Nesting deeper than this is refused by [`Reader::skip`] and [`check_object`]: the
/// depth kube-apiserver's JSON decoding allows an object (apimachinery's 10,000 is for
/// whole requests; no stored object of ours comes near this bound).
pub const MAX_DEPTH: u32 = 1000;

/// How much [`Reader`]'s skips check of what they step over.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// What msgpack-python reads: UTF-8 strings, string or bytes map keys.
    Msgpack,
    /// What JSON carries: also no bytes, finite floats, string keys only.
    Json,
    /// The structure only (bytes checked when they were stored).
    Structure,
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

    /// The next byte, without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn be(&mut self, n: usize) -> Option<u64> {
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
    #[allow(unsafe_code)]
    pub fn str(&mut self) -> Option<&'a str> {
        let n = match self.byte()? {
            b @ 0xa0..=0xbf => usize::from(b & 0x1f),
            0xd9 => self.be(1)? as usize,
            0xda => self.be(2)? as usize,
            0xdb => self.be(4)? as usize,
            _ => return None,
        };
        let bytes = self.take(n)?;
        if bytes.is_ascii() {
            // SAFETY: ASCII bytes are valid UTF-8. (The checked conversion costs more than
            // the rest of reading a record: most of its strings are short ASCII names.)
            return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        std::str::from_utf8(bytes).ok()
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
        self.walk(0, Check::Msgpack)?;
        Some(&self.buf[start..self.pos])
    }

    /// Like [`Reader::skip`], but the value must be what JSON could carry: map keys are
    /// strings, no bytes, no extension types, floats finite.
    pub fn skip_json(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        self.walk(0, Check::Json)?;
        Some(&self.buf[start..self.pos])
    }

    /// Steps over one value of bytes checked before (a stored object): only its
    /// structure is followed, strings are not checked again.
    pub fn skip_checked(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        self.walk(0, Check::Structure)?;
        Some(&self.buf[start..self.pos])
    }

    // Iterative over siblings, recursive only in depth, which is bounded.
    fn walk(&mut self, depth: u32, check: Check) -> Option<()> {
        let json = check == Check::Json;
        if depth > MAX_DEPTH {
            return None;
        }
        let b = self.byte()?;
        let (fixed, items, pairs): (usize, usize, usize) = match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0, 0),
            0x80..=0x8f => (0, 0, usize::from(b & 0x0f)),
            0x90..=0x9f => (0, usize::from(b & 0x0f), 0),
            0xa0..=0xbf => return self.text(usize::from(b & 0x1f), check),
            0xd9 => return self.be(1).and_then(|n| self.text(n as usize, check)),
            0xda => return self.be(2).and_then(|n| self.text(n as usize, check)),
            0xdb => return self.be(4).and_then(|n| self.text(n as usize, check)),
            0xcc | 0xd0 => (1, 0, 0),
            0xcd | 0xd1 => (2, 0, 0),
            0xce | 0xd2 => (4, 0, 0),
            0xcf | 0xd3 => (8, 0, 0),
            0xca => {
                let v = f32::from_bits(self.be(4)? as u32);
                return (!json || v.is_finite()).then_some(());
            }
            0xcb => {
                let v = f64::from_bits(self.be(8)?);
                return (!json || v.is_finite()).then_some(());
            }
            0xc4..=0xc6 if json => return None,
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
            self.walk(depth + 1, check)?;
        }
        for _ in 0..pairs {
            match self.peek()? {
                0xa0..=0xbf | 0xd9 | 0xda | 0xdb => self.walk(depth + 1, check)?,
                0xc4..=0xc6 if !json => self.walk(depth + 1, check)?,
                _ => return None, // msgpack-python's strict_map_key refuses it
            }
            self.walk(depth + 1, check)?;
        }
        Some(())
    }

    fn text(&mut self, n: usize, check: Check) -> Option<()> {
        let bytes = self.take(n)?;
        // Object keys and values are mostly ASCII: the cheap test first.
        (check == Check::Structure || bytes.is_ascii() || std::str::from_utf8(bytes).is_ok())
            .then_some(())
    }

    /// In a map whose header has just been read (`pairs` pairs), finds the value of the
    /// string key `key`, leaving the reader at it; the reader is past the map when it is
    /// absent (None). The last of repeated keys wins, as in msgpack-python.
    pub fn find_key(&mut self, pairs: usize, key: &str) -> Option<Option<usize>> {
        let mut found = None;
        for _ in 0..pairs {
            let k = self.str();
            let at = self.pos;
            self.skip_checked()?;
            if k == Some(key) {
                found = Some(at);
            }
        }
        Some(found)
    }

    /// A reader positioned at `pos` of the same bytes.
    pub fn at(&self, pos: usize) -> Reader<'a> {
        Reader { buf: self.buf, pos }
    }
}

/// Whether `blob` is a stored API object: one msgpack map with string keys holding only
/// what JSON carries (see [`Reader::skip_json`]), and nothing after it.
///
/// Every put of the store checks its object with this, live and on replay, so it is one
/// loop over the bytes with an explicit stack (no recursion, bounded by [`MAX_DEPTH`]).
pub fn is_json_object(blob: &[u8]) -> bool {
    if !matches!(blob.first(), Some(0x80..=0x8f | 0xde | 0xdf)) {
        return false;
    }
    // Open containers: items still to read, and whether the next item is a map key
    // (maps count two items per pair, keys at even positions from the end).
    let mut stack: Vec<(u32, bool)> = Vec::with_capacity(16);
    let mut pos = 0usize;
    let n = blob.len();
    let be = |pos: usize, len: usize| -> Option<u64> {
        let bytes = blob.get(pos..pos.checked_add(len)?)?;
        let mut v = 0u64;
        for &b in bytes {
            v = (v << 8) | u64::from(b);
        }
        Some(v)
    };
    loop {
        // The item about to be read: is it a map key?
        let is_key = match stack.last_mut() {
            None if pos > 0 => return pos == n,
            None => false,
            Some((0, _)) => {
                stack.pop();
                continue;
            }
            Some((left, is_map)) => {
                *left -= 1;
                *is_map && *left % 2 == 1
            }
        };
        let Some(&b) = blob.get(pos) else {
            return false;
        };
        pos += 1;
        let text_len = match b {
            0xa0..=0xbf => Some(usize::from(b & 0x1f)),
            0xd9..=0xdb => {
                let w = 1usize << (b - 0xd9);
                let Some(len) = be(pos, w) else {
                    return false;
                };
                pos += w;
                Some(len as usize)
            }
            _ => None,
        };
        if let Some(len) = text_len {
            let Some(end) = pos.checked_add(len) else {
                return false;
            };
            let Some(text) = blob.get(pos..end) else {
                return false;
            };
            // Keys and values are mostly ASCII: the cheap test first.
            if !text.is_ascii() && std::str::from_utf8(text).is_err() {
                return false;
            }
            pos = end;
            continue;
        }
        if is_key {
            return false; // a key that is not a string: JSON has none
        }
        let (skip, open): (usize, Option<(u64, bool)>) = match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, None),
            0x80..=0x8f => (0, Some((u64::from(b & 0x0f), true))),
            0x90..=0x9f => (0, Some((u64::from(b & 0x0f), false))),
            0xcc | 0xd0 => (1, None),
            0xcd | 0xd1 => (2, None),
            0xce | 0xd2 => (4, None),
            0xcf | 0xd3 => (8, None),
            0xca => match be(pos, 4) {
                Some(v) if f32::from_bits(v as u32).is_finite() => (4, None),
                _ => return false,
            },
            0xcb => match be(pos, 8) {
                Some(v) if f64::from_bits(v).is_finite() => (8, None),
                _ => return false,
            },
            0xdc | 0xde => match be(pos, 2) {
                Some(len) => (2, Some((len, b == 0xde))),
                None => return false,
            },
            0xdd | 0xdf => match be(pos, 4) {
                Some(len) => (4, Some((len, b == 0xdf))),
                None => return false,
            },
            _ => return false, // bytes, extension types, 0xc1
        };
        pos += skip;
        if pos > n {
            return false;
        }
        if let Some((len, is_map)) = open {
            let items = if is_map { len * 2 } else { len };
            // (a count is only a promise: no container can hold more items than bytes)
            if items > (n - pos) as u64 || stack.len() >= MAX_DEPTH as usize {
                return false;
            }
            stack.push((items as u32, is_map));
        }
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

    #[test]
    fn json_objects_only() {
        let obj = |build: &dyn Fn(&mut Vec<u8>)| {
            let mut o = Vec::new();
            map_len(1, &mut o).unwrap();
            str("k", &mut o).unwrap();
            build(&mut o);
            o
        };
        assert!(is_json_object(&obj(&|o| str("v", o).unwrap())));
        assert!(is_json_object(&obj(&|o| f64(1.5, o))));
        assert!(!is_json_object(&obj(&|o| f64(f64::NAN, o))));
        assert!(!is_json_object(&obj(&|o| bin(b"x", o).unwrap())));
        // an integer map key
        assert!(!is_json_object(&[0x81, 0x01, 0x02]));
        // not a map, trailing bytes, truncated
        assert!(!is_json_object(&[0x90]));
        assert!(!is_json_object(&[0x80, 0x00]));
        assert!(!is_json_object(&[0x81, 0xa1, b'k']));
        // deep nesting is refused, not a stack overflow
        let mut deep = vec![0x81, 0xa1, b'k'];
        deep.extend(std::iter::repeat_n(0x91, 100_000));
        deep.push(0xc0);
        assert!(!is_json_object(&deep));
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

    #[test]
    fn find_key_takes_the_last_repeat() {
        let mut o = Vec::new();
        map_len(3, &mut o).unwrap();
        for (k, v) in [("a", 1u64), ("b", 2), ("a", 3)] {
            str(k, &mut o).unwrap();
            uint(v, &mut o);
        }
        let mut r = Reader::new(&o);
        let n = r.map_len().unwrap();
        let at = r.find_key(n, "a").unwrap().unwrap();
        assert!(r.at_end());
        assert_eq!(r.at(at).uint(), Some(3));
        let mut r = Reader::new(&o);
        let n = r.map_len().unwrap();
        assert_eq!(r.find_key(n, "z"), Some(None));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn the_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = is_json_object(&bytes);
            let mut r = Reader::new(&bytes);
            let _ = r.skip();
        }

        /// The fast object check and the reader's JSON walk are one rule: they agree on
        /// any bytes (random ones, and maps with random tails).
        #[test]
        fn the_object_check_agrees_with_the_json_walk(
            tail in proptest::collection::vec(any::<u8>(), 0..120),
            head in 0x80u8..0x90,
        ) {
            for bytes in [tail.clone(), [&[head][..], &tail].concat()] {
                let mut r = Reader::new(&bytes);
                let walked = matches!(r.peek(), Some(0x80..=0x8f | 0xde | 0xdf))
                    && r.skip_json().is_some()
                    && r.at_end();
                prop_assert_eq!(is_json_object(&bytes), walked, "{:?}", bytes);
            }
        }
    }
}
