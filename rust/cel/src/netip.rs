//! Go's `net/netip` as the Kubernetes IP and CIDR library sees it: `ParseAddr`,
//! `ParsePrefix`, `Addr.String()`, `Prefix.String()` and the address classes, with Go's
//! exact error texts (they reach users inside CEL errors).
//!
//! Only what the library needs is here; zones are parsed (so that their errors read as
//! in Go) and kept, because the library rejects a zoned address with its own message.

use std::fmt::{self, Write as _};

/// An address as `netip.Addr` holds it: 4 or 16 bytes, and an IPv6 zone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Addr {
    bytes: [u8; 16],
    is4: bool,
    zone: Option<Box<str>>,
}

/// A prefix as `netip.Prefix` holds it: the address as written (host bits kept) and
/// the number of prefix bits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    addr: Addr,
    bits: u8,
}

impl Addr {
    /// An IPv4 address.
    pub fn from4(b: [u8; 4]) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&b);
        Addr {
            bytes,
            is4: true,
            zone: None,
        }
    }

    /// An IPv6 address.
    pub fn from16(bytes: [u8; 16]) -> Self {
        Addr {
            bytes,
            is4: false,
            zone: None,
        }
    }

    /// Whether this is an IPv4 address.
    pub fn is4(&self) -> bool {
        self.is4
    }

    /// The number of bits (32 or 128).
    pub fn bit_len(&self) -> u8 {
        if self.is4 {
            32
        } else {
            128
        }
    }

    /// The address bytes (4 or 16).
    pub fn octets(&self) -> &[u8] {
        if self.is4 {
            &self.bytes[..4]
        } else {
            &self.bytes
        }
    }

    /// The IPv6 zone, if any.
    pub fn zone(&self) -> Option<&str> {
        self.zone.as_deref()
    }

    /// `Addr.Is4In6`: an IPv6 address in `::ffff:0:0/96`.
    pub fn is_4in6(&self) -> bool {
        !self.is4 && self.bytes[..10].iter().all(|&b| b == 0) && self.bytes[10..12] == [0xff, 0xff]
    }

    fn v6u16(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.bytes[2 * i], self.bytes[2 * i + 1]])
    }

    fn unmap(&self) -> Addr {
        if self.is_4in6() {
            Addr::from4([
                self.bytes[12],
                self.bytes[13],
                self.bytes[14],
                self.bytes[15],
            ])
        } else {
            self.clone()
        }
    }

    /// `Addr.IsUnspecified`: `0.0.0.0` or `::`.
    pub fn is_unspecified(&self) -> bool {
        self.octets().iter().all(|&b| b == 0)
    }

    /// `Addr.IsLoopback`: `127.0.0.0/8` or `::1`.
    pub fn is_loopback(&self) -> bool {
        let ip = self.unmap();
        if ip.is4 {
            ip.bytes[0] == 127
        } else {
            ip.bytes[..15].iter().all(|&b| b == 0) && ip.bytes[15] == 1
        }
    }

    /// `Addr.IsMulticast`: `224.0.0.0/4` or `ff00::/8`.
    pub fn is_multicast(&self) -> bool {
        let ip = self.unmap();
        if ip.is4 {
            ip.bytes[0] & 0xf0 == 0xe0
        } else {
            ip.bytes[0] == 0xff
        }
    }

    /// `Addr.IsLinkLocalMulticast`: `224.0.0.0/24`, or IPv6 whose first group masked
    /// with `0xff0f` is `0xff02`.
    pub fn is_link_local_multicast(&self) -> bool {
        let ip = self.unmap();
        if ip.is4 {
            ip.bytes[..3] == [224, 0, 0]
        } else {
            ip.v6u16(0) & 0xff0f == 0xff02
        }
    }

    /// `Addr.IsLinkLocalUnicast`: `169.254.0.0/16` or `fe80::/10`.
    pub fn is_link_local_unicast(&self) -> bool {
        let ip = self.unmap();
        if ip.is4 {
            ip.bytes[..2] == [169, 254]
        } else {
            ip.v6u16(0) & 0xffc0 == 0xfe80
        }
    }

    /// `Addr.IsGlobalUnicast`, with Go's rule: private ranges and ULAs count.
    pub fn is_global_unicast(&self) -> bool {
        let ip = self.unmap();
        if ip.is4 && (ip.is_unspecified() || ip.bytes[..4] == [255, 255, 255, 255]) {
            return false;
        }
        !ip.is_unspecified()
            && !ip.is_loopback()
            && !ip.is_multicast()
            && !ip.is_link_local_unicast()
    }

    /// The address with every bit from `bits` on cleared (`bits` at most the length).
    fn masked(&self, bits: u8) -> Addr {
        let mut out = Addr {
            bytes: self.bytes,
            is4: self.is4,
            zone: None,
        };
        let len = usize::from(self.bit_len() / 8);
        for (i, b) in out.bytes[..len].iter_mut().enumerate() {
            let start = (i * 8) as u32;
            let keep = u32::from(bits).saturating_sub(start).min(8);
            *b &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
        }
        out
    }
}

impl fmt::Display for Addr {
    /// `Addr.String()`: dotted quad, or RFC 5952 (the longest run of two or more zero
    /// groups becomes `::`, the first on a tie; lower-case hex), then `%zone`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is4 {
            let b = &self.bytes;
            return write!(f, "{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
        }
        if self.is_4in6() {
            let b = &self.bytes;
            write!(f, "::ffff:{}.{}.{}.{}", b[12], b[13], b[14], b[15])?;
        } else {
            let (mut zb, mut ze) = (255usize, 255usize);
            let mut i = 0;
            while i < 8 {
                let mut j = i;
                while j < 8 && self.v6u16(j) == 0 {
                    j += 1;
                }
                let len = j - i;
                if len >= 2 && (zb == 255 || len > ze - zb) {
                    zb = i;
                    ze = j;
                }
                i = j.max(i + 1);
            }
            let mut i = 0;
            while i < 8 {
                if i == zb {
                    f.write_str("::")?;
                    i = ze;
                    if i >= 8 {
                        break;
                    }
                } else if i > 0 {
                    f.write_char(':')?;
                }
                write!(f, "{:x}", self.v6u16(i))?;
                i += 1;
            }
        }
        if let Some(z) = &self.zone {
            write!(f, "%{z}")?;
        }
        Ok(())
    }
}

impl Prefix {
    /// The address as written, host bits included (`Prefix.Addr()`).
    pub fn addr(&self) -> &Addr {
        &self.addr
    }

    /// `Prefix.Bits()`.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// `Prefix.Masked()`.
    pub fn masked(&self) -> Prefix {
        Prefix {
            addr: self.addr.masked(self.bits),
            bits: self.bits,
        }
    }

    /// `Prefix.Contains`: same family, no zone, and the first `bits` bits agree.
    pub fn contains(&self, ip: &Addr) -> bool {
        ip.is4 == self.addr.is4
            && ip.zone.is_none()
            && ip.masked(self.bits).bytes == self.addr.masked(self.bits).bytes
    }

    /// The 1.33 `containsCIDR` (PR 130450): same family, `self` no longer than
    /// `other`, and both agree on `self`'s prefix bits.
    pub fn contains_prefix(&self, other: &Prefix) -> bool {
        self.addr.is4 == other.addr.is4
            && self.bits <= other.bits
            && self.addr.masked(self.bits).bytes == other.addr.masked(self.bits).bytes
    }
}

impl fmt::Display for Prefix {
    /// `Prefix.String()`: the address as written, `/`, the bits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

/// Go's `strconv.Quote`: a double-quoted Go string literal.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn addr_error(input: &str, msg: &str, at: Option<&str>) -> String {
    match at {
        Some(at) if !at.is_empty() => format!(
            "ParseAddr({}): {} (at {})",
            go_quote(input),
            msg,
            go_quote(at)
        ),
        _ => format!("ParseAddr({}): {}", go_quote(input), msg),
    }
}

/// `netip.ParseAddr`, with Go's error texts (`ParseAddr("x"): unable to parse IP`).
pub fn parse_addr(s: &str) -> Result<Addr, String> {
    for &c in s.as_bytes() {
        match c {
            b'.' => return parse_ipv4(s),
            b':' => return parse_ipv6(s),
            b'%' => return Err(addr_error(s, "missing IPv6 address", None)),
            _ => {}
        }
    }
    Err(addr_error(s, "unable to parse IP", None))
}

fn parse_ipv4_fields(input: &str, off: usize, end: usize, fields: &mut [u8]) -> Result<(), String> {
    let s = &input.as_bytes()[off..end];
    let (mut val, mut pos, mut dig_len) = (0u32, 0usize, 0usize);
    for i in 0..s.len() {
        let c = s[i];
        if c.is_ascii_digit() {
            if dig_len == 1 && val == 0 {
                return Err(addr_error(
                    input,
                    "IPv4 field has octet with leading zero",
                    None,
                ));
            }
            val = val * 10 + u32::from(c - b'0');
            dig_len += 1;
            if val > 255 {
                return Err(addr_error(input, "IPv4 field has value >255", None));
            }
        } else if c == b'.' {
            if i == 0 || i == s.len() - 1 || s[i - 1] == b'.' {
                return Err(addr_error(
                    input,
                    "IPv4 field must have at least one digit",
                    Some(&input[off + i..end]),
                ));
            }
            if pos == 3 {
                return Err(addr_error(input, "IPv4 address too long", None));
            }
            fields[pos] = val as u8;
            pos += 1;
            val = 0;
            dig_len = 0;
        } else {
            return Err(addr_error(
                input,
                "unexpected character",
                Some(&input[off + i..end]),
            ));
        }
    }
    if pos < 3 {
        return Err(addr_error(input, "IPv4 address too short", None));
    }
    fields[3] = val as u8;
    Ok(())
}

fn parse_ipv4(s: &str) -> Result<Addr, String> {
    let mut fields = [0u8; 4];
    parse_ipv4_fields(s, 0, s.len(), &mut fields)?;
    Ok(Addr::from4(fields))
}

fn parse_ipv6(input: &str) -> Result<Addr, String> {
    let mut s = input;
    let mut zone = "";
    if let Some(i) = s.find('%') {
        zone = &s[i + 1..];
        s = &s[..i];
        if zone.is_empty() {
            return Err(addr_error(input, "zone must be a non-empty string", None));
        }
    }
    let with_zone = |a: Addr| Addr {
        zone: (!zone.is_empty()).then(|| zone.into()),
        ..a
    };
    let mut ip = [0u8; 16];
    let mut ellipsis: isize = -1;
    if s.len() >= 2 && s.as_bytes()[0] == b':' && s.as_bytes()[1] == b':' {
        ellipsis = 0;
        s = &s[2..];
        if s.is_empty() {
            return Ok(with_zone(Addr::from16([0; 16])));
        }
    }
    let mut i = 0usize;
    while i < 16 {
        let b = s.as_bytes();
        let mut off = 0usize;
        let mut acc = 0u32;
        while off < b.len() {
            let c = b[off];
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => break,
            };
            acc = (acc << 4) + u32::from(d);
            if off > 3 {
                return Err(addr_error(
                    input,
                    "each group must have 4 or less digits",
                    Some(s),
                ));
            }
            if acc > 0xffff {
                return Err(addr_error(input, "IPv6 field has value >=2^16", Some(s)));
            }
            off += 1;
        }
        if off == 0 {
            return Err(addr_error(
                input,
                "each colon-separated field must have at least one digit",
                Some(s),
            ));
        }
        if off < b.len() && b[off] == b'.' {
            if ellipsis < 0 && i != 12 {
                return Err(addr_error(
                    input,
                    "embedded IPv4 address must replace the final 2 fields of the address",
                    Some(s),
                ));
            }
            if i + 4 > 16 {
                return Err(addr_error(
                    input,
                    "too many hex fields to fit an embedded IPv4 at the end of the address",
                    Some(s),
                ));
            }
            let mut end = input.len();
            if !zone.is_empty() {
                end -= zone.len() + 1;
            }
            parse_ipv4_fields(input, end - s.len(), end, &mut ip[i..i + 4])?;
            s = "";
            i += 4;
            break;
        }
        ip[i] = (acc >> 8) as u8;
        ip[i + 1] = acc as u8;
        i += 2;
        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if s.as_bytes()[0] != b':' {
            return Err(addr_error(
                input,
                "unexpected character, want colon",
                Some(s),
            ));
        } else if s.len() == 1 {
            return Err(addr_error(
                input,
                "colon must be followed by more characters",
                Some(s),
            ));
        }
        s = &s[1..];
        if s.as_bytes()[0] == b':' {
            if ellipsis >= 0 {
                return Err(addr_error(input, "multiple :: in address", Some(s)));
            }
            ellipsis = i as isize;
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return Err(addr_error(input, "trailing garbage after address", Some(s)));
    }
    if i < 16 {
        if ellipsis < 0 {
            return Err(addr_error(input, "address string too short", None));
        }
        let e = ellipsis as usize;
        let n = 16 - i;
        for j in (e..i).rev() {
            ip[j + n] = ip[j];
        }
        for b in &mut ip[e..e + n] {
            *b = 0;
        }
    } else if ellipsis >= 0 {
        return Err(addr_error(
            input,
            "the :: must expand to at least one field of zeros",
            Some(s),
        ));
    }
    Ok(with_zone(Addr::from16(ip)))
}

/// `netip.ParsePrefix`, with Go's error texts
/// (`netip.ParsePrefix("10.0.0.0/"): bad bits after slash: ""`).
pub fn parse_prefix(s: &str) -> Result<Prefix, String> {
    let err = |msg: &str| format!("netip.ParsePrefix({}): {}", go_quote(s), msg);
    let Some(i) = s.rfind('/') else {
        return Err(err("no '/'"));
    };
    let addr = parse_addr(&s[..i]).map_err(|e| err(&e))?;
    if !addr.is4 && addr.zone.is_some() {
        return Err(err("IPv6 zones cannot be present in a prefix"));
    }
    let bits_str = &s[i + 1..];
    let bad_bits = || err(&format!("bad bits after slash: {}", go_quote(bits_str)));
    let b = bits_str.as_bytes();
    if b.len() > 1 && !(b'1'..=b'9').contains(&b[0]) {
        return Err(bad_bits());
    }
    // strconv.Atoi: an optional sign, then digits; out of int range is an error too.
    let digits = bits_str.strip_prefix(['+', '-']).unwrap_or(bits_str);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad_bits());
    }
    let bits: i64 = match bits_str.parse() {
        Ok(v) => v,
        Err(_) => return Err(bad_bits()),
    };
    if bits < 0 || bits > i64::from(addr.bit_len()) {
        return Err(err("prefix length out of range"));
    }
    Ok(Prefix {
        addr,
        bits: bits as u8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_like_go() {
        for (input, want) in [
            ("192.168.0.1", "192.168.0.1"),
            ("2001:DB8::68", "2001:db8::68"),
            ("2001:db8:0:0:0:0:0:abcd", "2001:db8::abcd"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("fe80::1%eth0", "fe80::1%eth0"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ] {
            assert_eq!(parse_addr(input).unwrap().to_string(), want, "{input}");
        }
    }

    #[test]
    fn errors_read_as_in_go() {
        for (input, want) in [
            (
                "192.168.0.1.0",
                r#"ParseAddr("192.168.0.1.0"): IPv4 address too long"#,
            ),
            (
                "2001:db8:::68",
                r#"ParseAddr("2001:db8:::68"): each colon-separated field must have at least one digit (at ":68")"#,
            ),
            (
                "127.0.0.01",
                r#"ParseAddr("127.0.0.01"): IPv4 field has octet with leading zero"#,
            ),
            ("abc", r#"ParseAddr("abc"): unable to parse IP"#),
            ("1.2.3", r#"ParseAddr("1.2.3"): IPv4 address too short"#),
            (
                "1.2.3.x",
                r#"ParseAddr("1.2.3.x"): unexpected character (at "x")"#,
            ),
            ("", r#"ParseAddr(""): unable to parse IP"#),
        ] {
            assert_eq!(parse_addr(input).unwrap_err(), want, "{input}");
        }
        for (input, want) in [
            (
                "192.168.0.0/",
                r#"netip.ParsePrefix("192.168.0.0/"): bad bits after slash: """#,
            ),
            (
                "192.168.0.0/33",
                r#"netip.ParsePrefix("192.168.0.0/33"): prefix length out of range"#,
            ),
            ("10.0.0.0", r#"netip.ParsePrefix("10.0.0.0"): no '/'"#),
            (
                "10.0.0.0/08",
                r#"netip.ParsePrefix("10.0.0.0/08"): bad bits after slash: "08""#,
            ),
            (
                "x/8",
                r#"netip.ParsePrefix("x/8"): ParseAddr("x"): unable to parse IP"#,
            ),
        ] {
            assert_eq!(parse_prefix(input).unwrap_err(), want, "{input}");
        }
    }

    #[test]
    fn prefixes_keep_host_bits_and_mask() {
        let p = parse_prefix("192.168.0.1/24").unwrap();
        assert_eq!(p.to_string(), "192.168.0.1/24");
        assert_eq!(p.masked().to_string(), "192.168.0.0/24");
        let p = parse_prefix("2001:db8:1::/32").unwrap();
        assert_eq!(p.masked().to_string(), "2001:db8::/32");
        assert_eq!(
            parse_prefix("0.0.0.0/0").unwrap().masked().to_string(),
            "0.0.0.0/0"
        );
        let p = parse_prefix("10.96.0.0/16").unwrap();
        assert!(p.contains_prefix(&parse_prefix("10.96.1.0/24").unwrap()));
        assert!(!p.contains_prefix(&parse_prefix("10.0.0.0/8").unwrap()));
        assert!(!parse_prefix("::/0")
            .unwrap()
            .contains_prefix(&parse_prefix("10.0.0.0/8").unwrap()));
        assert!(!parse_prefix("0.0.0.0/0")
            .unwrap()
            .contains(&parse_addr("::1").unwrap()));
    }

    #[test]
    fn quotes_like_strconv() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), r#""a\"b\\c\n\x01é""#);
    }
}
