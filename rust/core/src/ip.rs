//! IP addresses: strict parsing and canonical text.
//!
//! Parsing follows what Kubernetes accepts in its strict IP validation
//! (`k8s.io/apimachinery/pkg/util/validation/ip.go`): the text must parse with the
//! sloppy legacy parser (`netutils.ParseIPSloppy`), must not have leading zeros (which
//! `netip.ParseAddr` refuses) and must not be an IPv4-mapped IPv6 address. Unlike
//! `IsValidIP`, non-canonical text such as `2001:DB8:0::1` is accepted: callers that
//! need canonical input compare the text with [`Ip`]'s `Display`.
//!
//! Formatting matches Go's `netip.Addr.String()` (RFC 5952 for IPv6), which is also
//! `net.IP.String()` for every address this parser accepts.

use std::fmt;

/// An IP family, named as Kubernetes names them (`IPv4`, `IPv6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4: 32-bit addresses.
    V4,
    /// IPv6: 128-bit addresses.
    V6,
}

impl Family {
    /// The Kubernetes spelling (`api.IPv4Protocol` / `api.IPv6Protocol`).
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    /// Number of bits in an address of this family.
    pub fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not an acceptable IP address.
///
/// [`IpErrorKind::detail`] gives the exact detail Kubernetes' strict validation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpErrorKind {
    /// Not an IP address at all (garbage, a CIDR, a zone, empty text).
    Invalid,
    /// Parsable only by the legacy parser because of leading zeros (`010.1.2.3`).
    LeadingZeros,
    /// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`).
    Ipv4Mapped,
}

impl IpErrorKind {
    /// The detail message of `IsValidIP` for this failure.
    pub fn detail(self) -> &'static str {
        match self {
            IpErrorKind::Invalid => "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            IpErrorKind::LeadingZeros => "must not have leading 0s",
            IpErrorKind::Ipv4Mapped => "must not be an IPv4-mapped IPv6 address",
        }
    }
}

/// An IP address of either family.
///
/// Stored in 16 bytes as one 128-bit number, IPv4 addresses in their IPv4-mapped IPv6
/// form (as Go's `netip` does): batches of addresses then pack twice as densely as a
/// family tag beside a `u128` would. The strict parsers refuse IPv4-mapped IPv6 text,
/// so no IPv6 address is ever mistaken for an IPv4 one.
///
/// Ordering is by family, then by numeric value, i.e. address order within a family.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ip {
    bits: u128,
}

const V4_MAPPED_PREFIX: u128 = 0xffff << 32;

/// Longest text [`Ip::format_into`] writes (`ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff`).
pub const MAX_IP_TEXT_LEN: usize = 39;

impl Ip {
    /// An IPv4 address from its 32-bit value.
    pub fn v4(value: u32) -> Ip {
        Ip {
            bits: V4_MAPPED_PREFIX | u128::from(value),
        }
    }

    /// An IPv6 address from its 128-bit value. A value inside `::ffff:0:0/96` (an
    /// IPv4-mapped address) denotes the IPv4 address it maps.
    pub fn v6(value: u128) -> Ip {
        Ip { bits: value }
    }

    /// An address of `family` from a value that fits the family (IPv4 values are
    /// truncated to 32 bits).
    pub fn new(family: Family, value: u128) -> Ip {
        match family {
            Family::V4 => Ip::v4(value as u32),
            Family::V6 => Ip::v6(value),
        }
    }

    /// The family of this address.
    #[inline]
    pub fn family(self) -> Family {
        if self.bits >> 32 == 0xffff {
            Family::V4
        } else {
            Family::V6
        }
    }

    /// The numeric value (IPv4 in the low 32 bits).
    #[inline]
    pub fn value(self) -> u128 {
        match self.family() {
            Family::V4 => self.bits & 0xffff_ffff,
            Family::V6 => self.bits,
        }
    }

    /// Parses `text` strictly (see the module documentation).
    pub fn parse(text: &str) -> Result<Ip, IpErrorKind> {
        if let Some(v) = parse_v4_fast(text.as_bytes()) {
            return Ok(Ip::v4(v));
        }
        let parsed = parse_sloppy(text.as_bytes()).ok_or(IpErrorKind::Invalid)?;
        if parsed.leading_zeros {
            return Err(IpErrorKind::LeadingZeros);
        }
        if parsed.is_ipv4_mapped() {
            return Err(IpErrorKind::Ipv4Mapped);
        }
        Ok(parsed.ip())
    }

    /// Writes the canonical text into `buf` and returns it; allocation-free, for the
    /// hot paths that turn many addresses into Python strings.
    pub fn format_into(self, buf: &mut [u8; MAX_IP_TEXT_LEN]) -> &str {
        // Only ASCII digits, hex letters, '.' and ':' are ever written.
        std::str::from_utf8(self.format_ascii(buf)).unwrap_or_default()
    }

    /// Like [`Ip::format_into`], as ASCII bytes: for callers that build strings from
    /// ASCII directly and need no UTF-8 check.
    pub fn format_ascii(self, buf: &mut [u8; MAX_IP_TEXT_LEN]) -> &[u8] {
        let len = match self.family() {
            Family::V4 => write_v4(self.bits as u32, buf, 0),
            Family::V6 => write_v6(self.bits, buf),
        };
        &buf[..len]
    }
}

impl PartialOrd for Ip {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ip {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.family(), self.value()).cmp(&(other.family(), other.value()))
    }
}

impl fmt::Debug for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ip({self})")
    }
}

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; MAX_IP_TEXT_LEN];
        f.write_str(self.format_into(&mut buf))
    }
}

/// The result of the legacy ("sloppy") parse, with a note of what the strict parser
/// would have refused.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sloppy {
    pub(crate) family: Family,
    pub(crate) value: u128,
    pub(crate) leading_zeros: bool,
}

impl Sloppy {
    /// Whether the text was IPv6 in `::ffff:0:0/96`, which strict parsing refuses.
    pub(crate) fn is_ipv4_mapped(&self) -> bool {
        self.family == Family::V6 && (self.value >> 32) == 0xffff
    }

    /// The address (meaningful only when not IPv4-mapped).
    pub(crate) fn ip(&self) -> Ip {
        Ip::new(self.family, self.value)
    }
}

/// Parses like `netutils.ParseIPSloppy` (Go 1.16's `net.ParseIP`): the first '.' or
/// ':' decides the family; IPv4 octets may have leading zeros; IPv6 groups may have
/// more than four hex digits as long as the value fits 16 bits. Zones are refused.
pub(crate) fn parse_sloppy(s: &[u8]) -> Option<Sloppy> {
    for &c in s {
        match c {
            b'.' => {
                let (v, leading_zeros) = parse_v4(s)?;
                return Some(Sloppy {
                    family: Family::V4,
                    value: u128::from(v),
                    leading_zeros,
                });
            }
            b':' => {
                let (v, leading_zeros) = parse_v6(s)?;
                return Some(Sloppy {
                    family: Family::V6,
                    value: v,
                    leading_zeros,
                });
            }
            _ => {}
        }
    }
    None
}

/// The common case, canonical dotted-quad IPv4, in one tight pass with no
/// intermediate results. Anything unusual (leading zeros, more than three digits,
/// other characters) returns `None` and goes through the full parser, which
/// classifies it.
#[inline]
fn parse_v4_fast(s: &[u8]) -> Option<u32> {
    let n = s.len();
    if !(7..=15).contains(&n) {
        return None;
    }
    let mut value: u32 = 0;
    let mut i = 0usize;
    for field in 0..4 {
        if field > 0 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut octet: u32 = 0;
        while let Some(&c) = s.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            if i - start == 3 {
                // A fourth digit: never a canonical octet, and the value would soon
                // outgrow any integer.
                return None;
            }
            octet = octet * 10 + u32::from(d);
            i += 1;
        }
        let len = i - start;
        if len == 0 || octet > 255 || (len > 1 && s[start] == b'0') {
            return None;
        }
        value = (value << 8) | octet;
    }
    (i == n).then_some(value)
}

/// Dotted-quad IPv4; returns the value and whether any octet had a leading zero.
fn parse_v4(s: &[u8]) -> Option<(u32, bool)> {
    let mut value: u32 = 0;
    let mut leading_zeros = false;
    let mut i = 0;
    for field in 0..4 {
        if field > 0 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut n: u32 = 0;
        while let Some(&c) = s.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            n = n * 10 + u32::from(c - b'0');
            if n > 0xff {
                return None;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        if i - start > 1 && s[start] == b'0' {
            leading_zeros = true;
        }
        value = (value << 8) | n;
    }
    if i != s.len() {
        return None;
    }
    Some((value, leading_zeros))
}

/// IPv6 with optional "::" and optional trailing dotted IPv4.
fn parse_v6(mut s: &[u8]) -> Option<(u128, bool)> {
    let mut groups = [0u16; 8];
    let mut leading_zeros = false;
    let mut n = 0usize; // groups filled
    let mut ellipsis: Option<usize> = None;

    if s.starts_with(b"::") {
        ellipsis = Some(0);
        s = &s[2..];
        if s.is_empty() {
            return Some((0, false));
        }
    }
    while n < 8 {
        // One hex field.
        let mut digits = 0usize;
        let mut v: u32 = 0;
        while let Some(&c) = s.get(digits) {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => break,
            };
            v = v * 16 + u32::from(d);
            if v > 0xffff {
                return None;
            }
            digits += 1;
        }
        if digits == 0 {
            return None;
        }
        if s.get(digits) == Some(&b'.') {
            // Trailing IPv4: only where it fills the last two groups exactly, or
            // anywhere before them when an ellipsis can absorb the rest.
            if ellipsis.is_none() && n != 6 {
                return None;
            }
            if n + 2 > 8 {
                return None;
            }
            let (v4, lz) = parse_v4(s)?;
            leading_zeros |= lz;
            groups[n] = (v4 >> 16) as u16;
            groups[n + 1] = v4 as u16;
            n += 2;
            s = &[];
            break;
        }
        if digits > 4 {
            // Accepted by the legacy parser (value fits 16 bits) but not by netip.
            leading_zeros = true;
        }
        groups[n] = v as u16;
        n += 1;
        s = &s[digits..];
        if s.is_empty() {
            break;
        }
        if s[0] != b':' || s.len() == 1 {
            return None;
        }
        s = &s[1..];
        if s[0] == b':' {
            if ellipsis.is_some() {
                return None;
            }
            ellipsis = Some(n);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return None;
    }
    if n < 8 {
        let e = ellipsis?;
        let shift = 8 - n;
        for j in (e..n).rev() {
            groups[j + shift] = groups[j];
        }
        for g in groups.iter_mut().skip(e).take(shift) {
            *g = 0;
        }
    } else if ellipsis.is_some() {
        // "::" must stand for at least one zero group.
        return None;
    }
    let value = groups
        .iter()
        .fold(0u128, |acc, &g| (acc << 16) | u128::from(g));
    Some((value, leading_zeros))
}

/// Decimal text of every octet value: three digit bytes (left-aligned) and the length.
/// Formatting copies a fixed 4 bytes and advances by the length, instead of dividing
/// and branching per digit.
const OCTET_TEXT: [[u8; 4]; 256] = {
    let mut table = [[0u8; 4]; 256];
    let mut v = 0;
    while v < 256 {
        let (h, t, o) = ((v / 100) as u8, ((v / 10) % 10) as u8, (v % 10) as u8);
        table[v] = if v >= 100 {
            [b'0' + h, b'0' + t, b'0' + o, 3]
        } else if v >= 10 {
            [b'0' + t, b'0' + o, b'.', 2]
        } else {
            [b'0' + o, b'.', b'.', 1]
        };
        v += 1;
    }
    table
};

fn write_v4(v: u32, buf: &mut [u8; MAX_IP_TEXT_LEN], at: usize) -> usize {
    let mut at = at;
    for (i, octet) in v.to_be_bytes().into_iter().enumerate() {
        let entry = &OCTET_TEXT[usize::from(octet)];
        // Longest IPv4 text is 15 bytes; the 4-byte copies stay far inside the buffer.
        buf[at..at + 4].copy_from_slice(entry);
        at += usize::from(entry[3]);
        if i < 3 {
            buf[at] = b'.';
            at += 1;
        }
    }
    at
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_hex_group(g: u16, buf: &mut [u8], mut at: usize) -> usize {
    let mut started = false;
    for shift in [12u32, 8, 4, 0] {
        let d = ((g >> shift) & 0xf) as usize;
        if d != 0 || started || shift == 0 {
            buf[at] = HEX[d];
            at += 1;
            started = true;
        }
    }
    at
}

/// RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups
/// (the first one on a tie) written as "::". IPv4-mapped addresses never reach here
/// because the parser refuses them.
fn write_v6(v: u128, buf: &mut [u8]) -> usize {
    let groups: [u16; 8] = std::array::from_fn(|i| (v >> (112 - 16 * i)) as u16);
    let (mut best_start, mut best_len) = (8usize, 0usize);
    let mut i = 0;
    while i < 8 {
        if groups[i] == 0 {
            let start = i;
            while i < 8 && groups[i] == 0 {
                i += 1;
            }
            if i - start >= 2 && i - start > best_len {
                best_start = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    let mut at = 0;
    let mut i = 0;
    while i < 8 {
        if i == best_start {
            buf[at] = b':';
            buf[at + 1] = b':';
            at += 2;
            i += best_len;
            continue;
        }
        if i > 0 && i != best_start + best_len {
            buf[at] = b':';
            at += 1;
        }
        at = write_hex_group(groups[i], buf, at);
        i += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn text_round_trips(v4 in any::<u32>(), v6 in any::<u128>()) {
            let ip = Ip::v4(v4);
            prop_assert_eq!(Ip::parse(&ip.to_string()), Ok(ip));
            let ip = Ip::v6(v6);
            prop_assert_eq!(Ip::parse(&ip.to_string()), Ok(ip));
        }

        #[test]
        fn fast_path_agrees_on_dotted_noise(s in "[0-9.]{0,17}") {
            let full = parse_sloppy(s.as_bytes())
                .filter(|p| !p.leading_zeros && p.family == Family::V4)
                .map(|p| p.value as u32);
            if let Some(v) = parse_v4_fast(s.as_bytes()) {
                prop_assert_eq!(Some(v), full);
            }
            prop_assert_eq!(Ip::parse(&s).ok().map(|ip| ip.value() as u32), full);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,50}", t in "[0-9a-fA-F:.%/]{0,45}") {
            let _ = Ip::parse(&s);
            let _ = Ip::parse(&t);
        }
    }

    fn canon(s: &str) -> String {
        Ip::parse(s).unwrap().to_string()
    }

    #[test]
    fn ipv4_round_trip() {
        for s in ["0.0.0.0", "10.96.0.1", "255.255.255.255", "192.168.1.10"] {
            assert_eq!(canon(s), s);
        }
    }

    #[test]
    fn ipv6_canonical_like_go_netip() {
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("fd00:0:0:0:0:0:0:0", "fd00::"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("1:0:0:0:0:0:0:0", "1::"),
            (
                "fd00:1:2:3:ffff:ffff:ffff:ffff",
                "fd00:1:2:3:ffff:ffff:ffff:ffff",
            ),
            ("00fc::1", "fc::1"),
            ("::1.2.3.4", "::102:304"),
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
            ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input), want, "input {input}");
        }
    }

    #[test]
    fn refusals() {
        use IpErrorKind::*;
        let cases = [
            ("", Invalid),
            ("abc", Invalid),
            ("10.0.0.0/24", Invalid),
            ("fe80::1%eth0", Invalid),
            ("1.2.3", Invalid),
            ("1.2.3.4.5", Invalid),
            ("256.1.1.1", Invalid),
            ("1.2.3.4 ", Invalid),
            (" 1.2.3.4", Invalid),
            ("1:2:3:4:5:6:7:8:9", Invalid),
            ("1::2::3", Invalid),
            ("1:2:3:4::5:6:7:8", Invalid),
            (":1:2", Invalid),
            ("1:2:", Invalid),
            ("12345::", Invalid),
            ("::1.2.3", Invalid),
            ("1:2:3:4:5:6:7:1.2.3.4", Invalid),
            ("010.1.2.3", LeadingZeros),
            ("1.2.3.04", LeadingZeros),
            ("00001::", LeadingZeros),
            ("::ffff:1.2.3.4", Ipv4Mapped),
            ("::ffff:102:304", Ipv4Mapped),
            ("::FFFF:0:0", Ipv4Mapped),
        ];
        for (input, want) in cases {
            assert_eq!(Ip::parse(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn fast_ipv4_path_agrees_with_the_full_parser() {
        let mut samples: Vec<String> = Vec::new();
        for a in [0u32, 1, 9, 10, 99, 100, 199, 255, 256, 300, 999] {
            samples.push(format!("{a}.{a}.0.1"));
            samples.push(format!("1.2.3.{a}"));
            samples.push(format!("0{a}.2.3.4"));
        }
        samples.extend(
            [
                "1..2.3",
                ".1.2.3",
                "1.2.3.",
                "1.2.3.4.",
                "1.2.3.4.5",
                "1234.1.1.1",
                "1.2.3.a",
                "1.2.3:4",
                "00.0.0.0",
                "0.0.0.00",
                "1.2.3.4/",
                "255.255.255.255",
                // More digits than a u32 holds: the fast path must refuse them, not
                // overflow (found by fast_path_agrees_on_dotted_noise).
                "4300000000",
                "10000000000",
                "99999999999999",
                "1.1.4294967296",
                "1.2.3.99999999999",
            ]
            .map(String::from),
        );
        for s in &samples {
            let full = parse_sloppy(s.as_bytes()).and_then(|p| {
                (!p.leading_zeros && p.family == Family::V4).then_some(p.value as u32)
            });
            if let Some(v) = parse_v4_fast(s.as_bytes()) {
                assert_eq!(Some(v), full, "{s}");
            }
            assert_eq!(Ip::parse(s).ok().map(|ip| ip.value() as u32), full, "{s}");
        }
        for v in [0u32, 1, 0x0a60_0001, 0xffff_ffff, 0x0102_0304, 0x6464_6464] {
            let text = Ip::v4(v).to_string();
            assert_eq!(parse_v4_fast(text.as_bytes()), Some(v), "{text}");
        }
    }

    #[test]
    fn non_ascii_never_panics() {
        for s in ["é", "1.2.3.é", "::é", "\u{0}", "１.２.３.４"] {
            assert_eq!(Ip::parse(s), Err(IpErrorKind::Invalid));
        }
    }
}
