//! The compact form of the IPAddress objects the engine's allocator writes.
//!
//! A million Services hold a million IPAddress objects, and all but a handful have one
//! shape: the object `registry/service.py` (`ip_address_object`) builds for a ClusterIP,
//! stamped with its resourceVersion by the transaction, as msgpack-python packs it:
//!
//! ```text
//! {"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress",
//!  "metadata": {"name": ADDRESS, "uid": UUID, "creationTimestamp": TIME,
//!               "labels": {"ipaddress.kubernetes.io/ip-family": "IPv4" | "IPv6",
//!                          "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"},
//!               "resourceVersion": RV},
//!  "spec": {"parentRef": {"group": "", "resource": "services",
//!                         "namespace": NAMESPACE, "name": NAME}}}
//! ```
//!
//! Its 350-odd bytes carry about 40 of information: [`compact`] keeps those and
//! [`rebuild`] writes the object again, byte for byte. Only bytes that [`rebuild`]
//! reproduces exactly are taken (the smallest msgpack header of every string, a
//! lowercase UUID, a timestamp `YYYY-MM-DDTHH:MM:SSZ` of digits, a resourceVersion in
//! decimal without leading zeros that fits 64 bits); anything else is not compacted and
//! its holder keeps the bytes as they are. So `rebuild(key, compact(key, b)?) == b` for
//! every `b`, and every compact form rebuilds to bytes that compact to it again.
//!
//! Layout of the compact form (its first byte is never a msgpack map's, so a holder of
//! either form tells them apart by it):
//!
//! ```text
//! 0       flags: FAMILY_V4 or FAMILY_V6 (the ip-family label)
//! 1..17   the uid's 16 bytes
//! 17..23  the timestamp's 14 digits as a 48-bit little-endian integer
//! LEB128  the resourceVersion
//! LEB128  n, then n bytes: the parent's namespace
//! rest    the parent's name
//! ```
//!
//! The address itself is not kept: it is the object's name, which is its storage key.

use crate::msgpack::Reader;

/// First byte of a compact form whose ip-family label is IPv4.
pub const FAMILY_V4: u8 = 0x00;
/// First byte of a compact form whose ip-family label is IPv6.
pub const FAMILY_V6: u8 = 0x01;

// The constant stretches of the object, in order (msgpack of the shape above).
const HEAD: &[u8] = b"\x84\xaaapiVersion\xb4networking.k8s.io/v1\xa4kind\xa9IPAddress\
\xa8metadata\x85\xa4name";
const UID: &[u8] = b"\xa3uid\xd9\x24";
const TIME: &[u8] = b"\xb1creationTimestamp\xb4";
const FAMILY: &[u8] = b"\xa6labels\x82\xd9\x21ipaddress.kubernetes.io/ip-family\xa4IPv";
const MANAGED_RV: &[u8] = b"\xd9\x22ipaddress.kubernetes.io/managed-by\xb2ipallocator.k8s.io\
\xafresourceVersion";
const PARENT: &[u8] = b"\xa4spec\x81\xa9parentRef\x84\xa5group\xa0\xa8resource\xa8services\
\xa9namespace";
const NAME: &[u8] = b"\xa4name";

const UUID_LEN: usize = 36;
const TIME_LEN: usize = 20;
/// Where the fixed part of a compact form ends.
const FIXED: usize = 1 + 16 + 6;

/// Whether `stored` is a compact form (rather than an object's msgpack, which starts
/// with a map header).
#[inline]
pub fn is_compact(stored: &[u8]) -> bool {
    matches!(stored.first(), Some(&(FAMILY_V4 | FAMILY_V6)))
}

fn expect(r: &mut Reader<'_>, lit: &[u8]) -> Option<()> {
    (r.take(lit.len())? == lit).then_some(())
}

/// A string whose header is the smallest msgpack has for its length (what the writer
/// produces), as bytes; UTF-8 is checked by the caller where it matters.
fn canonical_str<'a>(r: &mut Reader<'a>) -> Option<&'a [u8]> {
    let n = match r.byte()? {
        b @ 0xa0..=0xbf => usize::from(b & 0x1f),
        0xd9 => Some(r.be(1)? as usize).filter(|&n| n >= 32)?,
        0xda => Some(r.be(2)? as usize).filter(|&n| n >= 1 << 8)?,
        0xdb => Some(r.be(4)? as usize).filter(|&n| n >= 1 << 16)?,
        _ => return None,
    };
    r.take(n)
}

fn str_header(n: usize, out: &mut Vec<u8>) {
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n < 1 << 8 {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else if n < 1 << 16 {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn str_header_len(n: usize) -> usize {
    match n {
        0..32 => 1,
        32..256 => 2,
        256..65536 => 3,
        _ => 5,
    }
}

/// The value of each lowercase hex digit, 0xff for every other byte (a table: this is
/// on the path of every IPAddress a snapshot load or a replay stores).
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";
/// Where the dashes of a UUID's text stand.
const DASHES: [usize; 4] = [8, 13, 18, 23];
/// Where the 32 hex digits of a UUID's text stand.
const UUID_DIGITS: [usize; 32] = {
    let mut t = [0usize; 32];
    let (mut at, mut n) = (0, 0);
    while n < 32 {
        if !(at == 8 || at == 13 || at == 18 || at == 23) {
            t[n] = at;
            n += 1;
        }
        at += 1;
    }
    t
};

/// A lowercase UUID's text (8-4-4-4-12 hex digits) as its 16 bytes.
fn uuid_bytes(text: &[u8]) -> Option<[u8; 16]> {
    if text.len() != UUID_LEN || DASHES.iter().any(|&at| text[at] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let mut bad = 0u8;
    for (i, byte) in out.iter_mut().enumerate() {
        let hi = HEX_VALUE[usize::from(text[UUID_DIGITS[2 * i]])];
        let lo = HEX_VALUE[usize::from(text[UUID_DIGITS[2 * i + 1]])];
        // (one test after the loop: 0xff marks a byte that is no digit)
        bad |= (hi | lo) & 0xf0;
        *byte = (hi << 4) | (lo & 0x0f);
    }
    (bad == 0).then_some(out)
}

fn uuid_text(bytes: &[u8], out: &mut Vec<u8>) {
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// Positions of the 14 digits in `YYYY-MM-DDTHH:MM:SSZ`, and the separators between.
const TIME_DIGITS: [usize; 14] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
const TIME_SEPARATORS: [(usize, u8); 6] = [
    (4, b'-'),
    (7, b'-'),
    (10, b'T'),
    (13, b':'),
    (16, b':'),
    (19, b'Z'),
];

/// `YYYY-MM-DDTHH:MM:SSZ` (any digits) as the number its 14 digits spell.
fn time_number(text: &[u8]) -> Option<u64> {
    for (at, sep) in TIME_SEPARATORS {
        if text[at] != sep {
            return None;
        }
    }
    let mut n = 0u64;
    for at in TIME_DIGITS {
        let d = text[at].wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    Some(n)
}

fn time_text(mut n: u64, out: &mut Vec<u8>) {
    let mut text = *b"0000-00-00T00:00:00Z";
    for at in TIME_DIGITS.iter().rev() {
        text[*at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&text);
}

/// A resourceVersion as the decimal text of a u64 without leading zeros.
fn decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || (text[0] == b'0' && text.len() > 1) {
        return None;
    }
    let mut n = 0u64;
    for &c in text {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

fn leb128(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn read_leb128(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        n |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

/// The parts of a compact form.
struct Parts<'a> {
    family: u8,
    uid: &'a [u8],
    time: u64,
    rv: u64,
    namespace: &'a [u8],
    name: &'a [u8],
}

fn parts(c: &[u8]) -> Option<Parts<'_>> {
    if c.len() < FIXED || !is_compact(c) {
        return None;
    }
    let mut time = [0u8; 8];
    time[..6].copy_from_slice(&c[17..23]);
    let mut at = FIXED;
    let rv = read_leb128(c, &mut at)?;
    let ns_len = usize::try_from(read_leb128(c, &mut at)?).ok()?;
    let namespace = c.get(at..at.checked_add(ns_len)?)?;
    Some(Parts {
        family: c[0],
        uid: &c[1..17],
        time: u64::from_le_bytes(time),
        rv,
        namespace,
        name: &c[at + ns_len..],
    })
}

/// The compact form of the IPAddress stored under `key` as `blob`, when `blob` is the
/// engine's shape (see the module doc) and [`rebuild`] gives it back byte for byte;
/// None otherwise. When it returns a form, `blob` is also an object the store's rules
/// take (a map of JSON values, kind IPAddress, an apiVersion, metadata.name equal to
/// `key`, spec a map, nested three levels deep).
pub fn compact(key: &str, blob: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader::new(blob);
    expect(&mut r, HEAD)?;
    if canonical_str(&mut r)? != key.as_bytes() {
        return None;
    }
    expect(&mut r, UID)?;
    let uid = uuid_bytes(r.take(UUID_LEN)?)?;
    expect(&mut r, TIME)?;
    let time = time_number(r.take(TIME_LEN)?)?;
    expect(&mut r, FAMILY)?;
    let family = match r.byte()? {
        b'4' => FAMILY_V4,
        b'6' => FAMILY_V6,
        _ => return None,
    };
    expect(&mut r, MANAGED_RV)?;
    let rv = decimal(canonical_str(&mut r)?)?;
    expect(&mut r, PARENT)?;
    let namespace = canonical_str(&mut r)?;
    expect(&mut r, NAME)?;
    let name = canonical_str(&mut r)?;
    if !r.at_end() || std::str::from_utf8(namespace).is_err() || std::str::from_utf8(name).is_err()
    {
        return None;
    }
    let mut out = Vec::with_capacity(FIXED + 12 + namespace.len() + name.len());
    out.push(family);
    out.extend_from_slice(&uid);
    out.extend_from_slice(&time.to_le_bytes()[..6]);
    leb128(rv, &mut out);
    leb128(namespace.len() as u64, &mut out);
    out.extend_from_slice(namespace);
    out.extend_from_slice(name);
    Some(out)
}

/// How many bytes [`rebuild`] writes for this compact form (0 when it is not one).
pub fn rebuilt_len(key: &str, c: &[u8]) -> usize {
    let Some(p) = parts(c) else { return 0 };
    let rv_len = decimal_len(p.rv);
    HEAD.len()
        + str_header_len(key.len())
        + key.len()
        + UID.len()
        + UUID_LEN
        + TIME.len()
        + TIME_LEN
        + FAMILY.len()
        + 1
        + MANAGED_RV.len()
        + str_header_len(rv_len)
        + rv_len
        + PARENT.len()
        + str_header_len(p.namespace.len())
        + p.namespace.len()
        + NAME.len()
        + str_header_len(p.name.len())
        + p.name.len()
}

/// Appends the object whose compact form under `key` is `c` to `out`; false (nothing
/// written) when `c` is not a compact form.
pub fn rebuild(key: &str, c: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(p) = parts(c) else { return false };
    out.reserve(rebuilt_len(key, c));
    out.extend_from_slice(HEAD);
    str_header(key.len(), out);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(UID);
    uuid_text(p.uid, out);
    out.extend_from_slice(TIME);
    time_text(p.time, out);
    out.extend_from_slice(FAMILY);
    out.push(if p.family == FAMILY_V6 { b'6' } else { b'4' });
    out.extend_from_slice(MANAGED_RV);
    str_header(decimal_len(p.rv), out);
    // (itoa by hand: the rv is at most 20 digits)
    let mut digits = [0u8; 20];
    let mut n = p.rv;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(PARENT);
    str_header(p.namespace.len(), out);
    out.extend_from_slice(p.namespace);
    out.extend_from_slice(NAME);
    str_header(p.name.len(), out);
    out.extend_from_slice(p.name);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgpack::{map_len, str};
    use proptest::prelude::*;

    /// The engine's object, written field by field with the msgpack writer.
    fn object(
        key: &str,
        uid: &str,
        time: &str,
        family: &str,
        rv: &str,
        ns: &str,
        name: &str,
    ) -> Vec<u8> {
        let mut o = Vec::new();
        let s = |t: &str, o: &mut Vec<u8>| str(t, o).unwrap();
        map_len(4, &mut o).unwrap();
        s("apiVersion", &mut o);
        s("networking.k8s.io/v1", &mut o);
        s("kind", &mut o);
        s("IPAddress", &mut o);
        s("metadata", &mut o);
        map_len(5, &mut o).unwrap();
        for (k, v) in [("name", key), ("uid", uid), ("creationTimestamp", time)] {
            s(k, &mut o);
            s(v, &mut o);
        }
        s("labels", &mut o);
        map_len(2, &mut o).unwrap();
        s("ipaddress.kubernetes.io/ip-family", &mut o);
        s(family, &mut o);
        s("ipaddress.kubernetes.io/managed-by", &mut o);
        s("ipallocator.k8s.io", &mut o);
        s("resourceVersion", &mut o);
        s(rv, &mut o);
        s("spec", &mut o);
        map_len(1, &mut o).unwrap();
        s("parentRef", &mut o);
        map_len(4, &mut o).unwrap();
        for (k, v) in [
            ("group", ""),
            ("resource", "services"),
            ("namespace", ns),
            ("name", name),
        ] {
            s(k, &mut o);
            s(v, &mut o);
        }
        o
    }

    const UID_TEXT: &str = "ad5b3ccc-371d-4f0e-9c4d-262f687229df";

    fn round_trip(key: &str, blob: &[u8]) -> Option<Vec<u8>> {
        let c = compact(key, blob)?;
        assert!(is_compact(&c));
        let mut out = Vec::new();
        assert!(rebuild(key, &c, &mut out));
        assert_eq!(out.len(), rebuilt_len(key, &c));
        assert_eq!(compact(key, &out).as_deref(), Some(&c[..]));
        Some(out)
    }

    #[test]
    fn the_engines_object_is_compacted_and_rebuilt_exactly() {
        let key = "10.157.185.54";
        let blob = object(
            key,
            UID_TEXT,
            "2025-01-01T00:00:00Z",
            "IPv4",
            "5",
            "default",
            "a",
        );
        assert_eq!(blob.len(), 346); // what the engine stores today
        let c = compact(key, &blob).unwrap();
        assert!(c.len() < 40, "{}", c.len());
        assert_eq!(round_trip(key, &blob).unwrap(), blob);
        let v6 = object(
            "fd00::1",
            UID_TEXT,
            "1970-01-01T00:00:00Z",
            "IPv6",
            "18446744073709551615",
            &"n".repeat(63),
            &"s".repeat(300),
        );
        assert_eq!(round_trip("fd00::1", &v6).unwrap(), v6);
    }

    #[test]
    fn anything_else_is_not_compacted() {
        let ok = |uid: &str, time: &str, family: &str, rv: &str| {
            object("10.0.0.1", uid, time, family, rv, "default", "a")
        };
        let cases = [
            ok(
                &UID_TEXT.to_uppercase(),
                "2025-01-01T00:00:00Z",
                "IPv4",
                "5",
            ),
            ok("not-a-uuid", "2025-01-01T00:00:00Z", "IPv4", "5"),
            ok(
                "ad5b3ccc-371d-4f0e-9c4d-262f687229dg",
                "2025-01-01T00:00:00Z",
                "IPv4",
                "5",
            ),
            ok(
                "ad5b3ccc-371d-4f0e-9c4d+262f687229df",
                "2025-01-01T00:00:00Z",
                "IPv4",
                "5",
            ),
            ok(
                "ad5b3ccc-371d-4f0e-9c4d-262f687229d/",
                "2025-01-01T00:00:00Z",
                "IPv4",
                "5",
            ),
            ok(UID_TEXT, "2025-01-01T00:00:00.5Z", "IPv4", "5"),
            ok(UID_TEXT, "2025-01-01 00:00:00Z", "IPv4", "5"),
            ok(UID_TEXT, "2025-01-01T00:00:00Z", "IPv5", "5"),
            ok(UID_TEXT, "2025-01-01T00:00:00Z", "IPv4", "05"),
            ok(UID_TEXT, "2025-01-01T00:00:00Z", "IPv4", ""),
            ok(
                UID_TEXT,
                "2025-01-01T00:00:00Z",
                "IPv4",
                "18446744073709551616",
            ),
            ok(UID_TEXT, "2025-01-01T00:00:00Z", "IPv4", "-1"),
        ];
        for blob in &cases {
            assert!(compact("10.0.0.1", blob).is_none());
        }
        let good = ok(UID_TEXT, "2025-01-01T00:00:00Z", "IPv4", "5");
        // another key, a trailing byte, a cut, a string header longer than it must be
        assert!(compact("10.0.0.2", &good).is_none());
        let mut longer = good.clone();
        longer.push(0xc0);
        assert!(compact("10.0.0.1", &longer).is_none());
        assert!(compact("10.0.0.1", &good[..good.len() - 1]).is_none());
        let mut wide = good.clone();
        let at = HEAD.len();
        wide.splice(at..at + 1, [0xd9, 8]);
        assert!(compact("10.0.0.1", &wide).is_none());
        // a namespace that is not UTF-8
        let mut bad = good.clone();
        let ns_at = bad.windows(7).position(|w| w == b"default").unwrap();
        bad[ns_at] = 0xff;
        assert!(compact("10.0.0.1", &bad).is_none());
        assert!(!rebuild("10.0.0.1", &good, &mut Vec::new()));
        assert!(!rebuild("10.0.0.1", &[FAMILY_V4; 5], &mut Vec::new()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Whatever the variable parts, the object comes back byte for byte.
        #[test]
        fn any_object_of_the_shape_comes_back(
            key in "[0-9a-f:.]{1,45}",
            uid in proptest::array::uniform16(any::<u8>()),
            digits in proptest::collection::vec(0u8..10, 14),
            v6 in any::<bool>(),
            rv in any::<u64>(),
            ns in "\\PC{0,70}",
            name in "\\PC{0,300}",
        ) {
            let mut uid_text = Vec::new();
            uuid_text(&uid, &mut uid_text);
            let mut time = Vec::new();
            time_text(digits.iter().fold(0u64, |n, &d| n * 10 + u64::from(d)), &mut time);
            let blob = object(
                &key,
                std::str::from_utf8(&uid_text).unwrap(),
                std::str::from_utf8(&time).unwrap(),
                if v6 { "IPv6" } else { "IPv4" },
                &rv.to_string(),
                &ns,
                &name,
            );
            prop_assert_eq!(round_trip(&key, &blob), Some(blob));
        }

        /// Arbitrary bytes never panic, and whatever compacts rebuilds to itself.
        #[test]
        fn arbitrary_bytes_compact_only_when_exact(
            cut in 0usize..400,
            flip in any::<(usize, u8)>(),
        ) {
            let mut blob = object(
                "10.0.0.1", UID_TEXT, "2025-01-01T00:00:00Z", "IPv4", "77", "ns", "svc",
            );
            let at = flip.0 % blob.len();
            blob[at] ^= flip.1;
            blob.truncate(cut.min(blob.len()));
            if let Some(c) = compact("10.0.0.1", &blob) {
                let mut out = Vec::new();
                prop_assert!(rebuild("10.0.0.1", &c, &mut out));
                prop_assert_eq!(&out, &blob);
            }
            let _ = rebuild("10.0.0.1", &blob, &mut Vec::new());
        }
    }
}
