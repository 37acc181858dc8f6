//! The Kubernetes CEL libraries a policy on Services, ServiceCIDRs and IPAddresses may
//! use, on top of the `cel` crate's standard library and strings extension:
//!
//! * `kubernetes.net.ip` and `net.cidr` (`staging/src/k8s.io/apiserver/pkg/cel/library/
//!   ip.go`, `cidr.go`): the `net.IP` and `net.CIDR` values, with the 1.33 `containsCIDR`;
//! * `library.Lists` (`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`);
//! * `library.Regex` (`find`, `findAll`);
//! * `ext.Sets` (`sets.contains`, `sets.equivalent`, `sets.intersects`).
//!
//! Errors carry cel-go's wording in [`ExecutionError::FunctionError`]'s message, which
//! [`crate::errors::runtime_message`] prints as it is.

use std::any::Any;
use std::borrow::Cow;
use std::cmp::Ordering;

use cel::common::types::{
    CelBool, CelInt, CelList, CelString, Type, DYN_TYPE, INT_TYPE, LIST_TYPE, STRING_TYPE,
};
use cel::common::value::{CowVal, StaticVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

use crate::netip::{self, Addr, Prefix};

/// `net.IP`, the type of [`IpVal`].
pub static IP_TYPE: Type = Type::new_unspecified_type("net.IP");
/// `net.CIDR`, the type of [`CidrVal`].
pub static CIDR_TYPE: Type = Type::new_unspecified_type("net.CIDR");

/// A `net.IP` value (`apiservercel.IP`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpVal(pub Addr);

/// A `net.CIDR` value (`apiservercel.CIDR`): the prefix as parsed, host bits kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrVal(pub Prefix);

impl Val for IpVal {
    fn get_type(&self) -> &Type {
        &IP_TYPE
    }
    fn cel_type() -> &'static Type {
        &IP_TYPE
    }
    fn equals(&self, other: &dyn Val) -> bool {
        other.downcast_ref::<IpVal>().is_some_and(|o| o == self)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for IpVal {}

impl Val for CidrVal {
    fn get_type(&self) -> &Type {
        &CIDR_TYPE
    }
    fn cel_type() -> &'static Type {
        &CIDR_TYPE
    }
    fn equals(&self, other: &dyn Val) -> bool {
        other.downcast_ref::<CidrVal>().is_some_and(|o| o == self)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for CidrVal {}

/// An error whose text is exactly `message` (see [`crate::errors::runtime_message`]).
pub fn error(function: &str, message: impl Into<String>) -> ExecutionError {
    ExecutionError::FunctionError {
        function: function.to_owned(),
        message: message.into(),
    }
}

/// `types.MaybeNoSuchOverloadErr`: the bare `no such overload`.
fn no_such_overload(function: &str) -> ExecutionError {
    error(function, "no such overload")
}

/// `decls.MaybeNoSuchOverload`: `no such overload: f(types)`.
fn no_overload_for(function: &str, args: &[CowVal<'_, '_>]) -> ExecutionError {
    let types: Vec<&str> = args.iter().map(|a| a.get_type().name()).collect();
    error(
        function,
        format!("no such overload: {function}({})", types.join(", ")),
    )
}

fn string_arg<'a>(v: &'a CowVal<'_, '_>) -> Option<&'a str> {
    v.downcast_ref::<CelString>().map(|s| s.inner())
}

fn boolean<'b, 'v>(b: bool) -> Result<CowVal<'b, 'v>, ExecutionError> {
    Ok(CowVal::owned(CelBool::from(b)))
}

fn int<'b, 'v>(i: i64) -> Result<CowVal<'b, 'v>, ExecutionError> {
    Ok(CowVal::owned(CelInt::from(i)))
}

fn string<'b, 'v>(s: String) -> Result<CowVal<'b, 'v>, ExecutionError> {
    Ok(CowVal::owned(CelString::from(s)))
}

/// `parseIPAddr` of `library/ip.go`.
pub fn parse_ip(raw: &str) -> Result<Addr, String> {
    let addr = netip::parse_addr(raw).map_err(|e| {
        format!(
            "IP Address {} parse error during conversion from string: {e}",
            netip::go_quote(raw)
        )
    })?;
    if addr.zone().is_some() {
        return Err(format!(
            "IP address {} with zone value is not allowed",
            netip::go_quote(raw)
        ));
    }
    if addr.is_4in6() {
        return Err(format!(
            "IPv4-mapped IPv6 address {} is not allowed",
            netip::go_quote(raw)
        ));
    }
    Ok(addr)
}

/// `parseCIDR` of `library/cidr.go` (whose caller wraps the error once more).
pub fn parse_cidr(raw: &str) -> Result<Prefix, String> {
    let prefix = netip::parse_prefix(raw)
        .map_err(|e| format!("network address parse error during conversion from string: {e}"))?;
    if prefix.addr().is_4in6() {
        return Err(format!(
            "IPv4-mapped IPv6 address {} is not allowed",
            netip::go_quote(raw)
        ));
    }
    Ok(prefix)
}

fn string_to_ip(s: &str) -> Result<IpVal, ExecutionError> {
    parse_ip(s).map(IpVal).map_err(|e| error("ip", e))
}

fn string_to_cidr(s: &str) -> Result<CidrVal, ExecutionError> {
    parse_cidr(s).map(CidrVal).map_err(|e| {
        error(
            "cidr",
            format!("network address parse error during conversion from string: {e}"),
        )
    })
}

macro_rules! overload {
    ($name:ident, |$args:ident| $body:expr) => {
        fn $name<'b, 'v>($args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
            $body
        }
    };
}

overload!(ip_fn, |args| match string_arg(&args[0]) {
    Some(s) => Ok(CowVal::owned(string_to_ip(s)?)),
    None => Err(no_overload_for("ip", &args)),
});
overload!(is_ip, |args| match string_arg(&args[0]) {
    Some(s) => boolean(parse_ip(s).is_ok()),
    None => Err(no_overload_for("isIP", &args)),
});
overload!(ip_is_canonical, |args| match string_arg(&args[0]) {
    Some(s) => boolean(string_to_ip(s)?.0.to_string() == s),
    None => Err(no_overload_for("ip.isCanonical", &args)),
});
overload!(cidr_fn, |args| match string_arg(&args[0]) {
    Some(s) => Ok(CowVal::owned(string_to_cidr(s)?)),
    None => Err(no_overload_for("cidr", &args)),
});
overload!(is_cidr, |args| match string_arg(&args[0]) {
    Some(s) => boolean(parse_cidr(s).is_ok()),
    None => Err(no_overload_for("isCIDR", &args)),
});

fn ip_of<'a>(v: &'a CowVal<'_, '_>) -> Option<&'a Addr> {
    v.downcast_ref::<IpVal>().map(|i| &i.0)
}

fn cidr_of<'a>(v: &'a CowVal<'_, '_>) -> Option<&'a Prefix> {
    v.downcast_ref::<CidrVal>().map(|c| &c.0)
}

macro_rules! ip_predicate {
    ($name:ident, $cel:literal, $method:ident) => {
        overload!($name, |args| match ip_of(&args[0]) {
            Some(ip) => boolean(ip.$method()),
            None => Err(no_overload_for($cel, &args)),
        });
    };
}

ip_predicate!(ip_is_unspecified, "isUnspecified", is_unspecified);
ip_predicate!(ip_is_loopback, "isLoopback", is_loopback);
ip_predicate!(
    ip_is_link_local_multicast,
    "isLinkLocalMulticast",
    is_link_local_multicast
);
ip_predicate!(
    ip_is_link_local_unicast,
    "isLinkLocalUnicast",
    is_link_local_unicast
);
ip_predicate!(ip_is_global_unicast, "isGlobalUnicast", is_global_unicast);

overload!(ip_family, |args| match ip_of(&args[0]) {
    Some(ip) => int(if ip.is4() { 4 } else { 6 }),
    None => Err(no_overload_for("family", &args)),
});
overload!(ip_to_string, |args| match ip_of(&args[0]) {
    Some(ip) => string(ip.to_string()),
    None => Err(no_overload_for("string", &args)),
});
overload!(cidr_to_string, |args| match cidr_of(&args[0]) {
    Some(c) => string(c.to_string()),
    None => Err(no_overload_for("string", &args)),
});
overload!(cidr_ip, |args| match cidr_of(&args[0]) {
    Some(c) => Ok(CowVal::owned(IpVal(c.addr().clone()))),
    None => Err(no_overload_for("ip", &args)),
});
overload!(cidr_masked, |args| match cidr_of(&args[0]) {
    Some(c) => Ok(CowVal::owned(CidrVal(c.masked()))),
    None => Err(no_overload_for("masked", &args)),
});
overload!(cidr_prefix_length, |args| match cidr_of(&args[0]) {
    Some(c) => int(i64::from(c.bits())),
    None => Err(no_overload_for("prefixLength", &args)),
});
overload!(cidr_contains_ip, |args| {
    match (cidr_of(&args[0]), ip_of(&args[1])) {
        (Some(c), Some(ip)) => boolean(c.contains(ip)),
        _ => Err(no_overload_for("containsIP", &args)),
    }
});
overload!(cidr_contains_ip_string, |args| {
    let Some(c) = cidr_of(&args[0]) else {
        return Err(no_overload_for("containsIP", &args));
    };
    let Some(s) = string_arg(&args[1]) else {
        return Err(no_overload_for("containsIP", &args));
    };
    // cidrContainsIP(arg, stringToIP(other)): the parse error is not an IP, so the
    // helper answers MaybeNoSuchOverloadErr(receiver), i.e. "no such overload".
    match parse_ip(s) {
        Ok(ip) => boolean(c.contains(&ip)),
        Err(_) => Err(no_such_overload("containsIP")),
    }
});
overload!(cidr_contains_cidr, |args| {
    match (cidr_of(&args[0]), cidr_of(&args[1])) {
        (Some(c), Some(o)) => boolean(c.contains_prefix(o)),
        _ => Err(no_overload_for("containsCIDR", &args)),
    }
});
overload!(cidr_contains_cidr_string, |args| {
    let Some(c) = cidr_of(&args[0]) else {
        return Err(no_overload_for("containsCIDR", &args));
    };
    let Some(s) = string_arg(&args[1]) else {
        return Err(no_overload_for("containsCIDR", &args));
    };
    // MaybeNoSuchOverloadErr(other) hands an error argument back: the parse error.
    let other = string_to_cidr(s)?;
    boolean(c.contains_prefix(&other.0))
});

fn elements<'a, 'b, 'v>(
    function: &str,
    v: &'a CowVal<'b, 'v>,
) -> Result<Vec<&'a (dyn Val + 'v)>, ExecutionError> {
    let iterable = v.as_iterable().ok_or_else(|| no_such_overload(function))?;
    let mut it = iterable.iter();
    let mut out = Vec::new();
    while let Some(x) = it.next() {
        out.push(x);
    }
    Ok(out)
}

fn compare(a: &dyn Val, b: &dyn Val) -> Result<Ordering, ExecutionError> {
    a.as_comparer()
        .ok_or_else(|| no_such_overload("compare"))?
        .compare(b)
        .map_err(|_| no_such_overload("compare"))
}

overload!(list_is_sorted, |args| {
    let items = elements("isSorted", &args[0])?;
    for w in items.windows(2) {
        if compare(w[0], w[1])? == Ordering::Greater {
            return boolean(false);
        }
    }
    boolean(true)
});
overload!(list_sum, |args| {
    let items = elements("sum", &args[0])?;
    let mut acc: Option<Box<dyn Val + 'v>> = None;
    for x in items {
        acc = Some(match acc {
            None => {
                if x.as_adder().is_none() {
                    return Err(no_such_overload("sum"));
                }
                x.clone_as_boxed()
            }
            Some(a) => a
                .as_adder()
                .ok_or_else(|| no_such_overload("sum"))?
                .add(x)?
                .into_owned(),
        });
    }
    Ok(match acc {
        Some(a) => CowVal::Owned(a),
        None => CowVal::owned(CelInt::from(0)),
    })
});

fn extreme<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
    name: &str,
    prefer: Ordering,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let items = elements(name, &args[0])?;
    let mut best: Option<&(dyn Val + 'v)> = None;
    for x in items {
        if x.as_comparer().is_none() {
            return Err(no_such_overload(name));
        }
        best = Some(match best {
            None => x,
            Some(b) if compare(b, x)? == prefer => x,
            Some(b) => b,
        });
    }
    match best {
        Some(b) => Ok(CowVal::Owned(b.clone_as_boxed())),
        None => Err(error(name, format!("{name} called on empty list"))),
    }
}

overload!(list_min, |args| extreme(args, "min", Ordering::Greater));
overload!(list_max, |args| extreme(args, "max", Ordering::Less));
overload!(list_index_of, |args| {
    let items = elements("indexOf", &args[0])?;
    let pos = items.iter().position(|x| x.equals(args[1].as_ref()));
    int(pos.map_or(-1, |p| p as i64))
});
overload!(list_last_index_of, |args| {
    let items = elements("lastIndexOf", &args[0])?;
    let pos = items.iter().rposition(|x| x.equals(args[1].as_ref()));
    int(pos.map_or(-1, |p| p as i64))
});

fn contains_all(list: &[&dyn Val], sub: &[&dyn Val]) -> bool {
    sub.iter().all(|s| list.iter().any(|l| l.equals(*s)))
}

overload!(sets_contains, |args| {
    let (l, s) = (
        elements("sets.contains", &args[0])?,
        elements("sets.contains", &args[1])?,
    );
    boolean(contains_all(&l, &s))
});
overload!(sets_equivalent, |args| {
    let (l, s) = (
        elements("sets.equivalent", &args[0])?,
        elements("sets.equivalent", &args[1])?,
    );
    boolean(contains_all(&l, &s) && contains_all(&s, &l))
});
overload!(sets_intersects, |args| {
    let (l, s) = (
        elements("sets.intersects", &args[0])?,
        elements("sets.intersects", &args[1])?,
    );
    boolean(s.iter().any(|x| l.iter().any(|y| y.equals(*x))))
});

fn regex_of(function: &str, pattern: &str) -> Result<regex::Regex, ExecutionError> {
    regex::Regex::new(pattern).map_err(|e| error(function, format!("Illegal regex: {e}")))
}

overload!(string_find, |args| {
    match (string_arg(&args[0]), string_arg(&args[1])) {
        (Some(s), Some(p)) => {
            let re = regex_of("find", p)?;
            string(re.find(s).map_or(String::new(), |m| m.as_str().to_owned()))
        }
        _ => Err(no_overload_for("find", &args)),
    }
});

fn find_all<'b, 'v>(s: &str, p: &str, limit: i64) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let re = regex_of("findAll", p)?;
    let mut out: Vec<Box<dyn Val + 'v>> = Vec::new();
    if limit != 0 {
        for m in re.find_iter(s) {
            if limit > 0 && out.len() as i64 >= limit {
                break;
            }
            out.push(Box::new(CelString::from(Cow::Owned(m.as_str().to_owned()))));
        }
    }
    Ok(CowVal::owned(CelList::from(out)))
}

overload!(string_find_all, |args| {
    match (string_arg(&args[0]), string_arg(&args[1])) {
        (Some(s), Some(p)) => find_all(s, p, -1),
        _ => Err(no_overload_for("findAll", &args)),
    }
});
overload!(string_find_all_n, |args| {
    let n = args[2].downcast_ref::<CelInt>().map(|i| *i.inner());
    match (string_arg(&args[0]), string_arg(&args[1]), n) {
        (Some(s), Some(p), Some(n)) => find_all(s, p, n),
        _ => Err(no_overload_for("findAll", &args)),
    }
});

/// Registers the libraries of this module on `env`, and the `net.IP` and `net.CIDR`
/// type names (so that `type(x) == net.CIDR` evaluates).
pub fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let ip = IP_TYPE.to_owned();
    let cidr = CIDR_TYPE.to_owned();
    env.add_type(IP_TYPE.to_owned())?;
    env.add_type(CIDR_TYPE.to_owned())?;

    env.add_overload("ip", "string_to_ip", vec![STRING_TYPE], ip_fn)?;
    env.add_overload("isIP", "is_ip", vec![STRING_TYPE], is_ip)?;
    env.add_overload(
        "ip.isCanonical",
        "ip_is_canonical",
        vec![STRING_TYPE],
        ip_is_canonical,
    )?;
    env.add_member_overload("family", "ip_family", ip.to_owned(), vec![], ip_family)?;
    for (name, id, f) in [
        (
            "isUnspecified",
            "ip_is_unspecified",
            ip_is_unspecified as cel::common::functions::Function,
        ),
        ("isLoopback", "ip_is_loopback", ip_is_loopback),
        (
            "isLinkLocalMulticast",
            "ip_is_link_local_multicast",
            ip_is_link_local_multicast,
        ),
        (
            "isLinkLocalUnicast",
            "ip_is_link_local_unicast",
            ip_is_link_local_unicast,
        ),
        (
            "isGlobalUnicast",
            "ip_is_global_unicast",
            ip_is_global_unicast,
        ),
    ] {
        env.add_member_overload(name, id, ip.to_owned(), vec![], f)?;
    }
    env.add_overload("string", "ip_to_string", vec![ip.to_owned()], ip_to_string)?;

    env.add_overload("cidr", "string_to_cidr", vec![STRING_TYPE], cidr_fn)?;
    env.add_overload("isCIDR", "is_cidr", vec![STRING_TYPE], is_cidr)?;
    env.add_member_overload(
        "containsIP",
        "cidr_contains_ip_ip",
        cidr.to_owned(),
        vec![ip.to_owned()],
        cidr_contains_ip,
    )?;
    env.add_member_overload(
        "containsIP",
        "cidr_contains_ip_string",
        cidr.to_owned(),
        vec![STRING_TYPE],
        cidr_contains_ip_string,
    )?;
    env.add_member_overload(
        "containsCIDR",
        "cidr_contains_cidr",
        cidr.to_owned(),
        vec![cidr.to_owned()],
        cidr_contains_cidr,
    )?;
    env.add_member_overload(
        "containsCIDR",
        "cidr_contains_cidr_string",
        cidr.to_owned(),
        vec![STRING_TYPE],
        cidr_contains_cidr_string,
    )?;
    env.add_member_overload("ip", "cidr_ip", cidr.to_owned(), vec![], cidr_ip)?;
    env.add_member_overload(
        "masked",
        "cidr_masked",
        cidr.to_owned(),
        vec![],
        cidr_masked,
    )?;
    env.add_member_overload(
        "prefixLength",
        "cidr_prefix_length",
        cidr.to_owned(),
        vec![],
        cidr_prefix_length,
    )?;
    env.add_overload(
        "string",
        "cidr_to_string",
        vec![cidr.to_owned()],
        cidr_to_string,
    )?;

    env.add_member_overload(
        "isSorted",
        "list_is_sorted",
        LIST_TYPE,
        vec![],
        list_is_sorted,
    )?;
    env.add_member_overload("sum", "list_sum", LIST_TYPE, vec![], list_sum)?;
    env.add_member_overload("min", "list_min", LIST_TYPE, vec![], list_min)?;
    env.add_member_overload("max", "list_max", LIST_TYPE, vec![], list_max)?;
    env.add_member_overload(
        "indexOf",
        "list_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        list_index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list_last_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        list_last_index_of,
    )?;

    env.add_overload(
        "sets.contains",
        "list_sets_contains_list",
        vec![LIST_TYPE, LIST_TYPE],
        sets_contains,
    )?;
    env.add_overload(
        "sets.equivalent",
        "list_sets_equivalent_list",
        vec![LIST_TYPE, LIST_TYPE],
        sets_equivalent,
    )?;
    env.add_overload(
        "sets.intersects",
        "list_sets_intersects_list",
        vec![LIST_TYPE, LIST_TYPE],
        sets_intersects,
    )?;

    env.add_member_overload(
        "find",
        "string_find_string",
        STRING_TYPE,
        vec![STRING_TYPE],
        string_find,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all_string",
        STRING_TYPE,
        vec![STRING_TYPE],
        string_find_all,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all_string_int",
        STRING_TYPE,
        vec![STRING_TYPE, INT_TYPE],
        string_find_all_n,
    )?;
    Ok(())
}
