//! The errors of the core, with Kubernetes' texts where Kubernetes has one.

use std::fmt;

use crate::cidr::{Cidr, CidrErrorKind};
use crate::ip::{Ip, IpErrorKind};

/// Everything the core can refuse.
///
/// The allocator errors display exactly as `ipallocator/interfaces.go` words them; the
/// input errors name the offending value and end with Kubernetes' validation detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A text that is not an acceptable IP address.
    InvalidIp {
        /// The text as given (shortened when very long).
        value: String,
        /// What is wrong with it.
        kind: IpErrorKind,
    },
    /// A text that is not an acceptable CIDR.
    InvalidCidr {
        /// The text as given (shortened when very long).
        value: String,
        /// What is wrong with it.
        kind: CidrErrorKind,
    },
    /// An IPv6 range shorter than /64, which `NewIPAllocator` refuses.
    PrefixTooShort {
        /// The prefix length given.
        prefix_len: u8,
    },
    /// No free address is left (`ErrFull`).
    RangeFull,
    /// The address is already allocated (`ErrAllocated`).
    AlreadyAllocated {
        /// The address.
        ip: Ip,
    },
    /// The address is not one of the usable addresses of the range (`ErrNotInRange`).
    NotInRange {
        /// The address.
        ip: Ip,
        /// The range.
        range: Cidr,
    },
    /// A batch asked for more addresses than can be held in memory at once.
    TooMany {
        /// How many were asked for.
        requested: u64,
    },
    /// Snapshot bytes that cannot be decoded.
    InvalidSnapshot {
        /// What is wrong.
        reason: String,
    },
    /// A snapshot of a different range than the one it is restored as.
    SnapshotMismatch {
        /// The range recorded in the snapshot, canonical.
        snapshot: String,
        /// The range asked for, canonical.
        requested: String,
    },
}

/// Longest part of a rejected value repeated in an error message.
const MAX_QUOTED_CHARS: usize = 80;

fn shorten(value: &str) -> String {
    if value.chars().count() <= MAX_QUOTED_CHARS {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(MAX_QUOTED_CHARS).collect();
        s.push_str("...");
        s
    }
}

impl Error {
    /// Parses an IP address, mapping a refusal to [`Error::InvalidIp`].
    pub fn parse_ip(text: &str) -> Result<Ip, Error> {
        Ip::parse(text).map_err(|kind| Error::InvalidIp {
            value: shorten(text),
            kind,
        })
    }

    /// Parses a CIDR, mapping a refusal to [`Error::InvalidCidr`].
    pub fn parse_cidr(text: &str) -> Result<Cidr, Error> {
        Cidr::parse(text).map_err(|kind| Error::InvalidCidr {
            value: shorten(text),
            kind,
        })
    }

    /// Whether this is malformed input (as opposed to an allocation refusal).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidIp { .. }
                | Error::InvalidCidr { .. }
                | Error::PrefixTooShort { .. }
                | Error::InvalidSnapshot { .. }
                | Error::SnapshotMismatch { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidIp { value, kind } => {
                write!(f, "invalid IP address {value:?}: {}", kind.detail())
            }
            Error::InvalidCidr { value, kind } => {
                write!(f, "invalid CIDR {value:?}: {}", kind.detail())
            }
            Error::PrefixTooShort { prefix_len } => write!(
                f,
                "shortest allowed prefix length for service CIDR is 64, got {prefix_len}"
            ),
            Error::RangeFull => f.write_str("range is full"),
            Error::AlreadyAllocated { .. } => f.write_str("provided IP is already allocated"),
            Error::NotInRange { ip, range } => write!(
                f,
                "the provided IP ({ip}) is not in the valid range. \
                 The range of valid IPs is {range}"
            ),
            Error::TooMany { requested } => {
                write!(f, "cannot hold {requested} addresses in one batch")
            }
            Error::InvalidSnapshot { reason } => write!(f, "invalid allocator snapshot: {reason}"),
            Error::SnapshotMismatch {
                snapshot,
                requested,
            } => write!(
                f,
                "allocator snapshot is of range {snapshot}, not of the requested range {requested}"
            ),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_value() {
        assert_eq!(
            Error::parse_cidr("10.0.0.1/24").unwrap_err().to_string(),
            "invalid CIDR \"10.0.0.1/24\": must not have bits set beyond the prefix length"
        );
        assert_eq!(
            Error::parse_ip("abc").unwrap_err().to_string(),
            "invalid IP address \"abc\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
        );
        assert_eq!(
            Error::parse_ip("::ffff:1.2.3.4").unwrap_err().to_string(),
            "invalid IP address \"::ffff:1.2.3.4\": must not be an IPv4-mapped IPv6 address"
        );
        let long = "x".repeat(1000);
        let msg = Error::parse_ip(&long).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
        assert!(Error::parse_ip("a\"b\n")
            .unwrap_err()
            .to_string()
            .contains("\\\""));
    }
}
