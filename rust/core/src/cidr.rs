//! CIDR prefixes: strict parsing and canonical text.
//!
//! The checks and their order mirror Kubernetes' strict CIDR validation
//! (`parseCIDR` in `k8s.io/apimachinery/pkg/util/validation/ip.go`): the text must
//! parse with the legacy parser, then leading zeros (in the address or the prefix
//! length), an IPv4-mapped IPv6 address, or host bits set beyond the prefix length
//! are each refused. Non-canonical spellings of a valid prefix (`FD00:0::/64`) are
//! accepted; [`Cidr`]'s `Display` gives the canonical one.

use std::fmt;

use crate::ip::{parse_sloppy, Family, Ip};

/// Why a text is not an acceptable CIDR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CidrErrorKind {
    /// Not a CIDR at all (garbage, a bare IP, a prefix length out of range).
    Invalid,
    /// Leading zeros in the address or in the prefix length (`10.0.0.0/024`).
    LeadingZeros,
    /// An IPv4-mapped IPv6 address (`::ffff:10.0.0.0/104`).
    Ipv4Mapped,
    /// Host bits set beyond the prefix length (`10.0.0.1/24`).
    HostBits,
}

impl CidrErrorKind {
    /// The detail message of `IsValidCIDR` for this failure.
    pub fn detail(self) -> &'static str {
        match self {
            CidrErrorKind::Invalid => {
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
            }
            CidrErrorKind::LeadingZeros => "must not have leading 0s in IP or prefix length",
            CidrErrorKind::Ipv4Mapped => "must not have an IPv4-mapped IPv6 address",
            CidrErrorKind::HostBits => "must not have bits set beyond the prefix length",
        }
    }
}

/// A network prefix: a family, a network address with no host bits, a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: Ip,
    prefix_len: u8,
}

impl Cidr {
    /// Builds a prefix from parts; `None` when the length exceeds the family's bits or
    /// host bits are set.
    pub fn new(network: Ip, prefix_len: u8) -> Option<Cidr> {
        let bits = network.family().bits();
        if prefix_len > bits || network.value() & host_mask(bits, prefix_len) != 0 {
            return None;
        }
        Some(Cidr {
            network,
            prefix_len,
        })
    }

    /// Parses `text` strictly (see the module documentation).
    pub fn parse(text: &str) -> Result<Cidr, CidrErrorKind> {
        let bytes = text.as_bytes();
        let slash = bytes
            .iter()
            .position(|&c| c == b'/')
            .ok_or(CidrErrorKind::Invalid)?;
        let (addr_text, len_text) = (&bytes[..slash], &bytes[slash + 1..]);
        let parsed = parse_sloppy(addr_text).ok_or(CidrErrorKind::Invalid)?;
        let family = parsed.family;

        // The legacy parser reads the length with a plain decimal scan that tolerates
        // leading zeros; anything else (sign, space, a second '/') is garbage.
        if len_text.is_empty() || !len_text.iter().all(u8::is_ascii_digit) {
            return Err(CidrErrorKind::Invalid);
        }
        let prefix_len = len_text
            .iter()
            .fold(0u32, |acc, &c| (acc * 10 + u32::from(c - b'0')).min(1000));
        if prefix_len > u32::from(family.bits()) {
            return Err(CidrErrorKind::Invalid);
        }
        let prefix_len = prefix_len as u8;

        if parsed.leading_zeros || (len_text.len() > 1 && len_text[0] == b'0') {
            return Err(CidrErrorKind::LeadingZeros);
        }
        if parsed.is_ipv4_mapped() {
            return Err(CidrErrorKind::Ipv4Mapped);
        }
        Cidr::new(parsed.ip(), prefix_len).ok_or(CidrErrorKind::HostBits)
    }

    /// The address family.
    pub fn family(&self) -> Family {
        self.network.family()
    }

    /// The network address (all host bits zero).
    pub fn network(&self) -> Ip {
        self.network
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Number of host bits (`family bits - prefix length`).
    pub fn host_bits(&self) -> u8 {
        self.family().bits() - self.prefix_len
    }

    /// The last address of the prefix (the IPv4 broadcast address).
    pub fn last(&self) -> Ip {
        let bits = self.family().bits();
        Ip::new(
            self.family(),
            self.network.value() | host_mask(bits, self.prefix_len),
        )
    }

    /// Whether `ip` lies anywhere inside the prefix (network and broadcast included).
    pub fn contains(&self, ip: Ip) -> bool {
        ip.family() == self.family()
            && ip.value() & !host_mask(self.family().bits(), self.prefix_len)
                == self.network.value()
    }
}

/// Mask of the host bits of a `bits`-wide address with `prefix_len` network bits.
fn host_mask(bits: u8, prefix_len: u8) -> u128 {
    let host = u32::from(bits - prefix_len);
    if host == 0 {
        0
    } else {
        u128::MAX >> (128 - host)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text() {
        let cases = [
            ("10.96.0.0/12", "10.96.0.0/12"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("192.168.1.1/32", "192.168.1.1/32"),
            ("FD00:1234::/64", "fd00:1234::/64"),
            ("2001:db8:0:0::/64", "2001:db8::/64"),
            ("::/0", "::/0"),
            ("2001:db8::1/128", "2001:db8::1/128"),
            ("00fc::/112", "fc::/112"),
        ];
        for (input, want) in cases {
            assert_eq!(
                Cidr::parse(input).unwrap().to_string(),
                want,
                "input {input}"
            );
        }
    }

    #[test]
    fn refusals_in_kubernetes_order() {
        use CidrErrorKind::*;
        let cases = [
            ("", Invalid),
            ("abc", Invalid),
            ("192.168.0.1", Invalid),
            ("10.0.0.0/33", Invalid),
            ("fd00::/129", Invalid),
            ("10.0.0.0/", Invalid),
            ("10.0.0.0/+8", Invalid),
            ("10.0.0.0/8/8", Invalid),
            ("10.0.0.0/ 8", Invalid),
            ("fe80::%eth0/64", Invalid),
            ("10.0.0.0/999999999999", Invalid),
            ("192.168.007.0/24", LeadingZeros),
            ("10.0.0.0/024", LeadingZeros),
            ("010.0.0.1/8", LeadingZeros),
            ("10.0.0.0/000000000008", LeadingZeros),
            ("::ffff:10.0.0.0/104", Ipv4Mapped),
            ("::ffff:10.0.0.1/24", Ipv4Mapped),
            ("10.0.0.1/24", HostBits),
            ("192.168.0.1/24", HostBits),
            ("2001:db8::1/64", HostBits),
        ];
        for (input, want) in cases {
            assert_eq!(Cidr::parse(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn last_and_contains() {
        let c = Cidr::parse("10.0.0.0/12").unwrap();
        assert_eq!(c.last().to_string(), "10.15.255.255");
        assert!(c.contains(Ip::parse("10.15.255.255").unwrap()));
        assert!(!c.contains(Ip::parse("10.16.0.0").unwrap()));
        assert!(!c.contains(Ip::parse("::a00:1").unwrap()));
        let c = Cidr::parse("fd00:1:2:3::/64").unwrap();
        assert_eq!(c.last().to_string(), "fd00:1:2:3:ffff:ffff:ffff:ffff");
        let c = Cidr::parse("0.0.0.0/0").unwrap();
        assert_eq!(c.last().to_string(), "255.255.255.255");
        let c = Cidr::parse("::/0").unwrap();
        assert_eq!(c.last().value(), u128::MAX);
    }
}
