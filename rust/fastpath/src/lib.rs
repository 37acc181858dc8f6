//! The pure bits of servicecidr's one-call Service create.
//!
//! Python decides what a Service *means*: it validates each new shape of request once,
//! through the full path, and turns the objects that create stored into templates by
//! putting a sentinel string wherever a later create of that shape differs (the name,
//! the uid, the timestamp, the resourceVersion, the addresses). Here those templates are
//! bytes: [`Template::split`] cuts an encoded object at its sentinels, and
//! [`Template::render`] writes it again with other values, byte for byte what the full
//! path would encode. Beside them, the two per-request checks and formats the one call
//! needs: [`is_dns1035_label`] (a Service name) and [`uuid4_text`] (a metadata.uid).
//! The one-call delete needs one: [`released_addresses`] (what a stored Service's
//! delete releases, or None when the full path must judge it); the repair loop's quiet
//! pass two: [`service_is_quiet`] and [`address_is_quiet`] (objects its checks would
//! certainly leave alone).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod mt;

use servicecidr_codec::msgpack::{self as mp, Reader};

mod delete;
mod repair;
pub use delete::released_addresses;
pub use repair::{address_is_quiet, range_holds, service_is_quiet};

/// An encoded object with holes: the bytes between the holes, and which value fills each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Every constant byte, holes cut out.
    bytes: Vec<u8>,
    /// For each hole: where it is in `bytes`, and the index of the value that fills it.
    holes: Vec<(usize, usize)>,
}

/// Why a template could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// The bytes are not one msgpack value as servicecidr writes them.
    Malformed,
    /// A sentinel appears nowhere (the caller meant every one to be used).
    Unused(usize),
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SplitError::Malformed => f.write_str("the template is not one msgpack value"),
            SplitError::Unused(i) => write!(f, "sentinel {i} appears nowhere in the template"),
        }
    }
}

impl std::error::Error for SplitError {}

impl Template {
    /// Cuts `blob` (one msgpack value) at every string value or key that equals one of
    /// `sentinels`; the hole is filled by the value of the same index. Only whole strings
    /// are holes: a sentinel inside a longer string is not one.
    pub fn split(blob: &[u8], sentinels: &[&str]) -> Result<Template, SplitError> {
        let mut cuts: Vec<(usize, usize, usize)> = Vec::new();
        let mut r = Reader::new(blob);
        walk(&mut r, sentinels, &mut cuts, 0).ok_or(SplitError::Malformed)?;
        if !r.at_end() {
            return Err(SplitError::Malformed);
        }
        if let Some(unused) = (0..sentinels.len()).find(|i| !cuts.iter().any(|c| c.2 == *i)) {
            return Err(SplitError::Unused(unused));
        }
        let mut bytes = Vec::with_capacity(blob.len());
        let mut holes = Vec::with_capacity(cuts.len());
        let mut at = 0;
        for (start, end, slot) in cuts {
            bytes.extend_from_slice(&blob[at..start]);
            holes.push((bytes.len(), slot));
            at = end;
        }
        bytes.extend_from_slice(&blob[at..]);
        Ok(Template { bytes, holes })
    }

    /// Appends the template to `out`, each hole holding the value of its slot (a string).
    /// Panics if a slot has no value (the caller built the template with as many).
    pub fn render(&self, values: &[&str], out: &mut Vec<u8>) {
        let mut at = 0;
        for &(pos, slot) in &self.holes {
            out.extend_from_slice(&self.bytes[at..pos]);
            // A value longer than 4 GiB cannot reach here (names, uids, texts of numbers).
            let _ = mp::str(values[slot], out);
            at = pos;
        }
        out.extend_from_slice(&self.bytes[at..]);
    }

    /// The template's constant bytes (for a caller looking for a pattern in them).
    pub fn constant_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many holes it has.
    pub fn holes(&self) -> usize {
        self.holes.len()
    }
}

/// Records the (start, end, slot) of every string equal to a sentinel, in order.
fn walk(
    r: &mut Reader<'_>,
    sentinels: &[&str],
    cuts: &mut Vec<(usize, usize, usize)>,
    depth: u32,
) -> Option<()> {
    if depth > mp::MAX_DEPTH {
        return None;
    }
    let start = r.pos();
    match r.peek()? {
        0xa0..=0xbf | 0xd9..=0xdb => {
            let s = r.str()?;
            if let Some(slot) = sentinels.iter().position(|x| *x == s) {
                cuts.push((start, r.pos(), slot));
            }
        }
        0x80..=0x8f | 0xde | 0xdf => {
            let n = r.map_len()?;
            for _ in 0..2 * n {
                walk(r, sentinels, cuts, depth + 1)?;
            }
        }
        0x90..=0x9f | 0xdc | 0xdd => {
            let n = r.array_len()?;
            for _ in 0..n {
                walk(r, sentinels, cuts, depth + 1)?;
            }
        }
        _ => {
            r.skip()?;
        }
    }
    Some(())
}

/// Whether `name` is a DNS-1035 label (`[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63 bytes):
/// what ``validation.IsDNS1035Label`` accepts, the rule for Service names.
pub fn is_dns1035_label(name: &str) -> bool {
    let b = name.as_bytes();
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return false;
    };
    b.len() <= 63
        && first.is_ascii_lowercase()
        && (last.is_ascii_lowercase() || last.is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// The text of a version-4 UUID made from 128 random bits, as Python's
/// ``uuid.UUID(int=bits, version=4)`` prints it: the version and variant bits set, lower
/// case hex in 8-4-4-4-12 groups.
pub fn uuid4_text(bits: u128) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let v = (bits & !(0xF000u128 << 64) & !(0xC000u128 << 48))
        | (0x4000u128 << 64)
        | (0x8000u128 << 48);
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in v.to_be_bytes().into_iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1; // the dash
        }
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0xF)];
        at += 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut o = Vec::new();
        mp::map_len(parts.len(), &mut o).unwrap();
        for (k, v) in parts {
            mp::str(k, &mut o).unwrap();
            mp::str(v, &mut o).unwrap();
        }
        o
    }

    #[test]
    fn split_and_render_give_the_bytes_back() {
        let t = Template::split(
            &enc(&[("name", "\0N"), ("x", "y"), ("uid", "\0U")]),
            &["\0N", "\0U"],
        )
        .unwrap();
        assert_eq!(t.holes(), 2);
        let mut out = Vec::new();
        t.render(&["web-1", "0123"], &mut out);
        assert_eq!(out, enc(&[("name", "web-1"), ("x", "y"), ("uid", "0123")]));
        // a long value takes a longer header
        let long = "a".repeat(40);
        out.clear();
        t.render(&[&long, ""], &mut out);
        assert_eq!(out, enc(&[("name", &long), ("x", "y"), ("uid", "")]));
    }

    #[test]
    fn only_whole_strings_are_holes() {
        let blob = enc(&[("a", "x\0Ny"), ("b", "\0N")]);
        let t = Template::split(&blob, &["\0N"]).unwrap();
        assert_eq!(t.holes(), 1);
        let mut out = Vec::new();
        t.render(&["v"], &mut out);
        assert_eq!(out, enc(&[("a", "x\0Ny"), ("b", "v")]));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            Template::split(&enc(&[("a", "b")]), &["\0N"]),
            Err(SplitError::Unused(0))
        );
        assert_eq!(
            Template::split(&[0x81, 0xa1], &[]),
            Err(SplitError::Malformed)
        );
        assert_eq!(
            Template::split(&[0xc0, 0xc0], &[]),
            Err(SplitError::Malformed)
        );
    }

    #[test]
    fn dns1035_labels() {
        for ok in ["a", "web", "a-1", "x9", &"a".repeat(63)] {
            assert!(is_dns1035_label(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "-a",
            "a-",
            "A",
            "a_b",
            "a.b",
            "é",
            &"a".repeat(64),
            "a\n",
        ] {
            assert!(!is_dns1035_label(bad), "{bad:?}");
        }
    }

    #[test]
    fn uuid_text_matches_pythons() {
        // uuid.UUID(int=(1 << 128) - 1, version=4) and uuid.UUID(int=0, version=4)
        assert_eq!(
            &uuid4_text(u128::MAX),
            b"ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
        assert_eq!(&uuid4_text(0), b"00000000-0000-4000-8000-000000000000");
        assert_eq!(
            &uuid4_text(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            b"01234567-89ab-4def-8123-456789abcdef"
        );
    }

    proptest! {
        /// Rendering a template with the values it was cut from gives its bytes back.
        #[test]
        fn render_inverts_split(
            fields in proptest::collection::vec(("[a-z]{1,8}", "[a-z0-9]{0,70}", any::<bool>()), 1..12),
        ) {
            let mut parts: Vec<(String, String)> = Vec::new();
            let mut values: Vec<String> = Vec::new();
            let sentinels: Vec<String> =
                (0..fields.len()).map(|i| format!("\0slot{i}")).collect();
            let mut used = Vec::new();
            for (i, (k, v, hole)) in fields.iter().enumerate() {
                if *hole {
                    parts.push((k.clone(), sentinels[i].clone()));
                    used.push(sentinels[i].as_str());
                    values.push(v.clone());
                } else {
                    parts.push((k.clone(), v.clone()));
                }
            }
            let borrowed: Vec<(&str, &str)> =
                parts.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let t = Template::split(&enc(&borrowed), &used).unwrap();
            let vals: Vec<&str> = values.iter().map(String::as_str).collect();
            let mut out = Vec::new();
            t.render(&vals, &mut out);
            let mut j = 0;
            let expect: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v, hole)| {
                    if *hole {
                        j += 1;
                        (k.as_str(), values[j - 1].as_str())
                    } else {
                        (k.as_str(), v.as_str())
                    }
                })
                .collect();
            prop_assert_eq!(out, enc(&expect));
        }
    }
}
