//! The allocation core of servicecidr: Service ClusterIP ranges as kube-apiserver's
//! `ipallocator` sees them.
//!
//! This crate owns the bits: parsing IPs and CIDRs strictly, the usable addresses and
//! KEP-3070 bands of a range, and a summarised bitmap (dense for small ranges, sparse
//! for IPv6 ones) on which finding a free address costs the same at 0% and 99.9%
//! fill. It knows nothing of Services or ServiceCIDR objects; that meaning lives in
//! the Python package. The Python extension (`servicecidr._core`) is a thin layer
//! over [`Allocator`].
//!
//! ```
//! use servicecidr_core::{Allocator, Error, Ip};
//!
//! let mut a = Allocator::new("10.96.0.0/28", Some(7)).unwrap();
//! assert_eq!((a.size(), a.range_offset()), (14, 0));
//! let ip = a.allocate_next().unwrap();
//! assert!(a.has(ip));
//! assert_eq!(
//!     a.allocate(ip).unwrap_err().to_string(),
//!     "provided IP is already allocated"
//! );
//! assert!(a.release(ip));
//! assert_eq!(
//!     a.allocate(Ip::parse("10.96.0.15").unwrap()),
//!     Err(Error::NotInRange {
//!         ip: Ip::parse("10.96.0.15").unwrap(),
//!         range: *a.cidr(),
//!     })
//! );
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod allocator;
mod bitmap;
mod cidr;
mod error;
mod ip;
mod rng;
mod snapshot;

pub use allocator::{range_offset, range_size, Allocator, MIN_IPV6_PREFIX_LEN};
pub use cidr::{Cidr, CidrErrorKind};
pub use error::Error;
pub use ip::{Family, Ip, IpErrorKind, MAX_IP_TEXT_LEN};
pub use rng::Rng;
