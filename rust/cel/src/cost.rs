//! The actual cost of a function call, as cel-go's `CostTracker.costCall` computes it
//! with Kubernetes' `library.CostEstimator` (`k8s.io/apiserver/pkg/cel/library/cost.go`)
//! and the sets extension's trackers (`cel-go/ext/sets.go`) in front of it.
//!
//! Sizes are `actualSize`: a string's code points, a byte string's bytes, a list's or
//! map's entries, an IP's address bytes, a CIDR's prefix bytes, otherwise 1.

use cel::common::types::{CelBytes, CelOptional, CelString};
use cel::common::value::Val;

use crate::library::{CidrVal, IpVal};

/// `common.StringTraversalCostFactor`.
const STRING_TRAVERSAL: f64 = 0.1;
/// `common.RegexStringLengthCostFactor`.
const REGEX_LENGTH: f64 = 0.25;

/// `actualSize`.
pub fn size(v: &dyn Val) -> u64 {
    if let Some(s) = v.downcast_ref::<CelString>() {
        return s.inner().chars().count() as u64;
    }
    if let Some(b) = v.downcast_ref::<CelBytes>() {
        return b.inner().len() as u64;
    }
    if let Some(ip) = v.downcast_ref::<IpVal>() {
        return if ip.0.is4() { 4 } else { 16 };
    }
    if let Some(c) = v.downcast_ref::<CidrVal>() {
        return u64::from(c.0.bits()).div_ceil(8);
    }
    if let Some(o) = v.downcast_ref::<CelOptional>() {
        return o.inner().map_or(1, size);
    }
    if let Some(s) = v.as_sizer() {
        return u64::try_from(*s.size().inner()).unwrap_or(0);
    }
    1
}

fn traversal(n: u64, factor: f64) -> u64 {
    (n as f64 * factor).ceil() as u64
}

/// `traversalCost` of `library/cost.go` (truncating, with strings in bytes).
fn traversal_cost(v: &dyn Val) -> u64 {
    if let Some(s) = v.downcast_ref::<CelString>() {
        return (s.inner().len() as f64 * STRING_TRAVERSAL) as u64;
    }
    if let Some(b) = v.downcast_ref::<CelBytes>() {
        return (b.inner().len() as f64 * STRING_TRAVERSAL) as u64;
    }
    if let Some(it) = v.as_iterable() {
        let is_map = v.get_type().name() == "map";
        let indexer = v.as_indexer();
        let mut cost = 0u64;
        let mut items = it.iter();
        while let Some(x) = items.next() {
            cost = cost.saturating_add(traversal_cost(x));
            if is_map {
                if let Some(Ok(value)) = indexer.map(|i| i.get(x)) {
                    cost = cost.saturating_add(traversal_cost(value.as_ref()));
                }
            }
        }
        return cost;
    }
    1
}

/// The cost of calling `function` (its CEL name; `member` for a receiver call, whose
/// receiver is `args[0]`) with `args`, returning `result`.
pub fn call(function: &str, member: bool, args: &[&dyn Val], result: &dyn Val) -> u64 {
    let arg = |i: usize| args.get(i).copied();
    let sz = |i: usize| arg(i).map_or(1, size);
    match function {
        // ext.Sets: 1 + m * n (twice for equivalence)
        "sets.contains" | "sets.intersects" if args.len() == 2 => 1 + sz(0) * sz(1),
        "sets.equivalent" if args.len() == 2 => 1 + 2 * sz(0) * sz(1),
        // library.CostEstimator.CallCost
        "isSorted" | "sum" | "max" | "min" | "indexOf" | "lastIndexOf" if !args.is_empty() => {
            traversal_cost(args[0])
        }
        "lowerAscii" | "upperAscii" | "substring" | "trim" if !args.is_empty() => {
            traversal(sz(0), STRING_TRAVERSAL)
        }
        "replace" | "split" if !args.is_empty() => traversal(sz(0), 2.0 * STRING_TRAVERSAL),
        "join" if !args.is_empty() => traversal(size(result), 2.0 * STRING_TRAVERSAL),
        "find" | "findAll" if args.len() >= 2 => {
            traversal(1 + sz(0), STRING_TRAVERSAL) * traversal(sz(1), REGEX_LENGTH)
        }
        "cidr" | "isIP" | "isCIDR" if !args.is_empty() => traversal(sz(0), STRING_TRAVERSAL),
        "ip" if !args.is_empty() => {
            if member {
                1 // cidr_ip: a field of the CIDR
            } else {
                traversal(sz(0), STRING_TRAVERSAL)
            }
        }
        "ip.isCanonical" if !args.is_empty() => traversal(sz(0), 2.0 * STRING_TRAVERSAL),
        "masked"
        | "prefixLength"
        | "family"
        | "isUnspecified"
        | "isLoopback"
        | "isLinkLocalMulticast"
        | "isLinkLocalUnicast"
        | "isGlobalUnicast" => 1,
        "containsIP" if args.len() >= 2 => {
            let c = sz(0);
            let mut cost = traversal(c + c, STRING_TRAVERSAL);
            if arg(1).is_some_and(|v| v.downcast_ref::<CelString>().is_some()) {
                cost += traversal(sz(1), STRING_TRAVERSAL);
            }
            cost
        }
        "containsCIDR" if args.len() >= 2 => {
            let c = sz(0);
            let mut cost = traversal(c + c, STRING_TRAVERSAL) + traversal(c, STRING_TRAVERSAL) + 1;
            if arg(1).is_some_and(|v| v.downcast_ref::<CelString>().is_some()) {
                cost += traversal(sz(1), STRING_TRAVERSAL);
            }
            cost
        }
        "_==_"
            if arg(0).is_some_and(|v| {
                v.downcast_ref::<IpVal>().is_some() || v.downcast_ref::<CidrVal>().is_some()
            }) =>
        {
            1
        }
        // cel-go's defaults (interpreter/runtimecost.go)
        "startsWith" | "endsWith" | "strings.quote" | "format" if !args.is_empty() => {
            traversal(sz(0), STRING_TRAVERSAL)
        }
        "string" | "bytes"
            if args.len() == 1
                && (arg(0).is_some_and(|v| v.downcast_ref::<CelBytes>().is_some())
                    || (function == "bytes"
                        && arg(0).is_some_and(|v| v.downcast_ref::<CelString>().is_some()))) =>
        {
            traversal(sz(0), STRING_TRAVERSAL)
        }
        "@in" if args.len() == 2 && args[1].get_type().name() == "list" => sz(1),
        "_<_" | "_>_" | "_<=_" | "_>=_" | "_==_" | "_!=_" if args.len() == 2 => {
            let sized = |v: &dyn Val| {
                v.downcast_ref::<CelString>().is_some()
                    || v.downcast_ref::<CelBytes>().is_some()
                    || function == "_==_"
                    || function == "_!=_"
            };
            if sized(args[0]) && sized(args[1]) {
                traversal(sz(0).min(sz(1)), STRING_TRAVERSAL)
            } else {
                1
            }
        }
        "_+_"
            if args.len() == 2
                && (args[0].downcast_ref::<CelString>().is_some()
                    || args[0].downcast_ref::<CelBytes>().is_some()) =>
        {
            traversal(sz(0) + sz(1), STRING_TRAVERSAL)
        }
        "matches" if args.len() == 2 => {
            traversal(1 + sz(0), STRING_TRAVERSAL) * traversal(sz(1), REGEX_LENGTH)
        }
        "contains" if args.len() == 2 => {
            traversal(sz(0), STRING_TRAVERSAL) * traversal(sz(1), STRING_TRAVERSAL)
        }
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::parse_cidr;
    use cel::common::types::{CelBool, CelInt, CelList};

    #[test]
    fn costs_follow_kubernetes_and_cel_go() {
        let s = |x: &str| CelString::from(x.to_owned());
        let t = CelBool::from(true);
        let cidr16 = CidrVal(parse_cidr("10.96.0.0/16").unwrap());
        let ten = s("0123456789");
        // string traversals round up: ceil(10 * 0.1) = 1, ceil(11 * 0.1) = 2
        assert_eq!(call("startsWith", true, &[&ten, &s("0")], &t), 1);
        assert_eq!(
            call("startsWith", true, &[&s("01234567890"), &s("0")], &t),
            2
        );
        // /16 is 2 bytes: ceil(4 * .1) + ceil(2 * .1) + 1 = 3, + ceil(13 * .1) = 2 for a string
        assert_eq!(
            call("containsCIDR", true, &[&cidr16, &s("10.96.1.0/24")], &t),
            5
        );
        assert_eq!(call("containsCIDR", true, &[&cidr16, &cidr16], &t), 3);
        assert_eq!(call("cidr", false, &[&s("10.96.0.0/16")], &cidr16), 2);
        assert_eq!(call("_==_", false, &[&cidr16, &cidr16], &t), 1);
        let list = CelList::from(
            (0..30)
                .map(|i| Box::new(CelInt::from(i)) as Box<dyn Val>)
                .collect::<Vec<_>>(),
        );
        assert_eq!(call("@in", false, &[&CelInt::from(1), &list], &t), 30);
        assert_eq!(call("sets.equivalent", false, &[&list, &list], &t), 1801);
        assert_eq!(call("size", false, &[&list], &CelInt::from(30)), 1);
        assert_eq!(call("sum", true, &[&list], &CelInt::from(0)), 30);
        // matches: ceil((1 + 10) * .1) * ceil(4 * .25)
        assert_eq!(call("matches", true, &[&ten, &s("^a+$")], &t), 2);
    }
}
