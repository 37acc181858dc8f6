//! The frame around each log record: the payload's length and CRC32C (both u32,
//! little-endian), then the payload (docs/FORMAT.md, "Record").

/// Bytes before the payload.
pub const HEADER: usize = 8;
/// The largest payload a record may have.
pub const MAX_PAYLOAD: usize = 1 << 30;

/// Appends `payload` framed; None when it is empty or larger than [`MAX_PAYLOAD`].
pub fn frame(payload: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if payload.is_empty() || payload.len() > MAX_PAYLOAD {
        return None;
    }
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
    Some(())
}

/// What lies at an offset of a segment's bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Read<'a> {
    /// No bytes left.
    End,
    /// A whole record whose CRC matches; the next one starts at `next`.
    Record {
        /// The payload.
        payload: &'a [u8],
        /// Offset of the byte after the record.
        next: usize,
    },
    /// Fewer bytes than the header or its length promise: what a crash mid-append
    /// leaves (a torn tail when nothing valid follows).
    Short,
    /// A length of zero or above [`MAX_PAYLOAD`].
    BadLength(u32),
    /// A whole record whose CRC does not match: damage, not a crash.
    BadCrc {
        /// The CRC the header promises.
        expected: u32,
        /// The CRC of the payload.
        actual: u32,
    },
}

/// Reads the record at `off`.
pub fn read(bytes: &[u8], off: usize) -> Read<'_> {
    if off >= bytes.len() {
        return Read::End;
    }
    let Some(head) = off.checked_add(HEADER).and_then(|end| bytes.get(off..end)) else {
        return Read::Short;
    };
    let length = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let expected = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if length == 0 || length as usize > MAX_PAYLOAD {
        return Read::BadLength(length);
    }
    let start = off + HEADER;
    let next = start + length as usize;
    let Some(payload) = bytes.get(start..next) else {
        return Read::Short;
    };
    let actual = crc32c::crc32c(payload);
    if actual != expected {
        return Read::BadCrc { expected, actual };
    }
    Read::Record { payload, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_and_damage_is_told_apart() {
        let mut out = Vec::new();
        frame(b"hello", &mut out).unwrap();
        frame(b"world!", &mut out).unwrap();
        let Read::Record { payload, next } = read(&out, 0) else {
            panic!("first record");
        };
        assert_eq!((payload, next), (&b"hello"[..], 13));
        assert!(matches!(
            read(&out, next),
            Read::Record {
                payload: b"world!",
                ..
            }
        ));
        assert_eq!(read(&out, out.len()), Read::End);
        // torn: the last record cut short, or only part of a header
        assert_eq!(read(&out[..out.len() - 1], next), Read::Short);
        assert_eq!(read(&out[..next + 3], next), Read::Short);
        // damaged: whole length, wrong bytes
        let mut bad = out.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(matches!(read(&bad, next), Read::BadCrc { .. }));
        assert_eq!(read(&[0; 8], 0), Read::BadLength(0));
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert!(frame(b"", &mut out).is_none());
    }
}
