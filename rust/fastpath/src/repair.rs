//! The pure bit of the repair loop's quiet pass: which Services and IPAddresses a pass
//! of `servicecidr.controllers.repair` would look at and leave alone.
//!
//! A repair pass reads every changed (or, on a resync, every) Service and IPAddress;
//! almost all are consistent, and for those the Python checks decode two objects each to
//! do nothing. [`service_is_quiet`] and [`address_is_quiet`] answer, from the stored
//! bytes, "the Python check certainly does nothing here": every field they read has the
//! plain shape and the happy-path value. Anything else (a field of another type, a key
//! written twice, an address that does not parse, any inconsistency) is not quiet, and
//! the Python check judges it, so what the loop writes and records stays its own.

use std::borrow::Cow;

use servicecidr_codec::msgpack::Reader;
use servicecidr_core::{Cidr, Family, Ip};

/// The labels the allocator puts on its IPAddresses, and the manager's value.
const FAMILY_LABEL: &str = "ipaddress.kubernetes.io/ip-family";
const MANAGED_BY_LABEL: &str = "ipaddress.kubernetes.io/managed-by";
const MANAGED_BY: &str = "ipallocator.k8s.io";

/// One msgpack value, as its bytes.
type Value<'a> = &'a [u8];

/// The pairs of a map whose keys are all strings; None when the value is not such a map
/// or a key repeats (its reading would be the last pair's, which no check here mirrors).
fn pairs(v: Value<'_>) -> Option<Vec<(&str, Value<'_>)>> {
    let mut r = Reader::new(v);
    let n = r.map_len()?;
    let mut out: Vec<(&str, Value<'_>)> = Vec::with_capacity(n);
    for _ in 0..n {
        let k = r.str()?;
        if out.iter().any(|(seen, _)| *seen == k) {
            return None;
        }
        out.push((k, r.skip()?));
    }
    r.at_end().then_some(out)
}

fn get<'a>(pairs: &[(&str, Value<'a>)], key: &str) -> Option<Value<'a>> {
    pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn text(v: Value<'_>) -> Option<&str> {
    let mut r = Reader::new(v);
    let s = r.str()?;
    r.at_end().then_some(s)
}

/// The items of an array.
fn items(v: Value<'_>) -> Option<Vec<Value<'_>>> {
    let mut r = Reader::new(v);
    let n = r.array_len()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(r.skip()?);
    }
    r.at_end().then_some(out)
}

const NIL: u8 = 0xc0;
const EMPTY_MAP: u8 = 0x80;
const EMPTY_ARRAY: u8 = 0x90;

/// `obj.get(key) or {}` of a map field: its pairs (none when absent, nil or `{}`), or
/// None when it is anything else.
fn map_or_empty<'a>(
    pairs_of: &[(&str, Value<'a>)],
    key: &str,
) -> Option<Vec<(&'a str, Value<'a>)>> {
    match get(pairs_of, key) {
        None => Some(Vec::new()),
        Some([NIL] | [EMPTY_MAP]) => Some(Vec::new()),
        Some(v) => pairs(v),
    }
}

/// `obj.get(key) or []` of a list of strings: its items (none when absent, nil or `[]`),
/// or None when it is anything else.
fn texts_or_empty<'a>(pairs_of: &[(&str, Value<'a>)], key: &str) -> Option<Vec<&'a str>> {
    match get(pairs_of, key) {
        None | Some([NIL] | [EMPTY_ARRAY]) => Some(Vec::new()),
        Some(v) => items(v)?.into_iter().map(text).collect(),
    }
}

/// A ServiceCIDR range as the repair loop reads it: its usable addresses are all but
/// the network address and, for IPv4 shorter than /31, the broadcast address
/// (`cidr_contains_ip`).
pub fn range_holds(range: &Cidr, ip: Ip) -> bool {
    range.contains(ip)
        && ip != range.network()
        && !(range.family() == Family::V4 && ip == range.last() && range.prefix_len() < 31)
}

/// The parent reference of an IPAddress, when it names a Service plainly (group `""` or
/// absent, resource `services`): (namespace, name).
fn service_parent<'a>(obj: &[(&'a str, Value<'a>)]) -> Option<(&'a str, &'a str)> {
    let spec = pairs(get(obj, "spec")?)?;
    let parent = pairs(get(&spec, "parentRef")?)?;
    if !matches!(get(&parent, "group").map(text), None | Some(Some(""))) {
        return None;
    }
    if text(get(&parent, "resource")?)? != "services" {
        return None;
    }
    Some((
        text(get(&parent, "namespace")?)?,
        text(get(&parent, "name")?)?,
    ))
}

/// Whether the repair loop's Service check (`_sync_service`) certainly does nothing for
/// this stored Service: it has no ClusterIP, or each of its ClusterIPs parses, lies in
/// one of `ranges` and is held by an IPAddress (`address(name)` gives its stored bytes)
/// that names this Service as its parent and carries the allocator's labels.
pub fn service_is_quiet<'s>(
    blob: &[u8],
    ranges: &[Cidr],
    address: impl Fn(&str) -> Option<Cow<'s, [u8]>>,
) -> bool {
    service_check(blob, ranges, address).unwrap_or(false)
}

fn service_check<'s>(
    blob: &[u8],
    ranges: &[Cidr],
    address: impl Fn(&str) -> Option<Cow<'s, [u8]>>,
) -> Option<bool> {
    let obj = pairs(blob)?;
    let spec = map_or_empty(&obj, "spec")?;
    match get(&spec, "clusterIP") {
        None | Some([NIL]) => return Some(true),
        Some(v) => {
            if matches!(text(v)?, "" | "None") {
                return Some(true);
            }
        }
    }
    let meta = pairs(get(&obj, "metadata")?)?;
    let namespace = text(get(&meta, "namespace")?)?;
    let name = text(get(&meta, "name")?)?;
    for raw in texts_or_empty(&spec, "clusterIPs")? {
        let ip = Ip::parse(raw).ok()?;
        if !ranges.iter().any(|r| range_holds(r, ip)) {
            return Some(false);
        }
        let canonical = ip.to_string();
        let Some(stored) = address(&canonical) else {
            return Some(false);
        };
        let ipa = pairs(&stored)?;
        if service_parent(&ipa)? != (namespace, name) || !labels_ok(&ipa)? {
            return Some(false);
        }
    }
    Some(true)
}

/// `_labels_ok`: the family label matches the IPAddress's name, and the allocator
/// manages it.
fn labels_ok(ipa: &[(&str, Value<'_>)]) -> Option<bool> {
    let meta = pairs(get(ipa, "metadata")?)?;
    let name = text(get(&meta, "name")?)?;
    let labels = map_or_empty(&meta, "labels")?;
    let family = if name.contains(':') { "IPv6" } else { "IPv4" };
    Some(
        get(&labels, FAMILY_LABEL).and_then(text) == Some(family)
            && get(&labels, MANAGED_BY_LABEL).and_then(text) == Some(MANAGED_BY),
    )
}

/// Whether the repair loop's IPAddress check (`_sync_ip_address`) certainly does
/// nothing for this stored IPAddress: the allocator does not manage it, or its parent
/// Service (`service(key)` gives its stored bytes) exists and lists its address among
/// its ClusterIPs.
pub fn address_is_quiet<'s>(blob: &[u8], service: impl Fn(&str) -> Option<Cow<'s, [u8]>>) -> bool {
    address_check(blob, service).unwrap_or(false)
}

fn address_check<'s>(blob: &[u8], service: impl Fn(&str) -> Option<Cow<'s, [u8]>>) -> Option<bool> {
    let obj = pairs(blob)?;
    let meta = pairs(get(&obj, "metadata")?)?;
    let labels = map_or_empty(&meta, "labels")?;
    match get(&labels, MANAGED_BY_LABEL) {
        None | Some([NIL]) => return Some(true),
        Some(v) => {
            if text(v)? != MANAGED_BY {
                return Some(true);
            }
        }
    }
    let ip = text(get(&meta, "name")?)?;
    let (namespace, name) = service_parent(&obj)?;
    let stored = service(&format!("{namespace}/{name}"))?;
    let svc = pairs(&stored)?;
    let spec = map_or_empty(&svc, "spec")?;
    for raw in texts_or_empty(&spec, "clusterIPs")? {
        // canonical_ip: the canonical text of an address, or the text as it is
        let listed = match Ip::parse(raw) {
            Ok(parsed) => parsed.to_string() == ip,
            Err(_) => raw == ip,
        };
        if listed {
            return Some(true);
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use servicecidr_codec::msgpack as mp;

    enum V<'a> {
        Nil,
        S(&'a str),
        I(i64),
        A(Vec<V<'a>>),
        M(Vec<(&'a str, V<'a>)>),
    }
    use V::*;

    fn enc(v: &V<'_>, out: &mut Vec<u8>) {
        match v {
            Nil => mp::nil(out),
            S(s) => mp::str(s, out).unwrap(),
            I(i) => mp::int(*i, out),
            A(items) => {
                mp::array_len(items.len(), out).unwrap();
                items.iter().for_each(|x| enc(x, out));
            }
            M(pairs) => {
                mp::map_len(pairs.len(), out).unwrap();
                for (k, x) in pairs {
                    mp::str(k, out).unwrap();
                    enc(x, out);
                }
            }
        }
    }

    fn bytes(v: &V<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        enc(v, &mut out);
        out
    }

    fn service<'a>(ips: Vec<V<'a>>) -> V<'a> {
        let first = match ips.first() {
            Some(S(s)) => S(s),
            _ => Nil,
        };
        M(vec![
            (
                "metadata",
                M(vec![("namespace", S("ns")), ("name", S("a"))]),
            ),
            (
                "spec",
                M(vec![("clusterIP", first), ("clusterIPs", A(ips))]),
            ),
        ])
    }

    fn address<'a>(ip: &'a str, family: &'a str, parent: &'a str) -> V<'a> {
        M(vec![
            (
                "metadata",
                M(vec![
                    ("name", S(ip)),
                    (
                        "labels",
                        M(vec![
                            (FAMILY_LABEL, S(family)),
                            (MANAGED_BY_LABEL, S(MANAGED_BY)),
                        ]),
                    ),
                ]),
            ),
            (
                "spec",
                M(vec![(
                    "parentRef",
                    M(vec![
                        ("group", S("")),
                        ("resource", S("services")),
                        ("namespace", S("ns")),
                        ("name", S(parent)),
                    ]),
                )]),
            ),
        ])
    }

    fn ranges() -> Vec<Cidr> {
        vec![
            Cidr::parse("10.0.0.0/24").unwrap(),
            Cidr::parse("fd00::/120").unwrap(),
        ]
    }

    #[test]
    fn a_consistent_service_and_its_addresses_are_quiet() {
        let v4 = bytes(&address("10.0.0.5", "IPv4", "a"));
        let v6 = bytes(&address("fd00::5", "IPv6", "a"));
        let lookup = |k: &str| match k {
            "10.0.0.5" => Some(Cow::Borrowed(&v4[..])),
            "fd00::5" => Some(Cow::Borrowed(&v6[..])),
            _ => None,
        };
        let svc = bytes(&service(vec![S("10.0.0.5"), S("fd00:0::5")]));
        assert!(service_is_quiet(&svc, &ranges(), lookup));
        let svcs = |k: &str| (k == "ns/a").then_some(Cow::Borrowed(&svc[..]));
        assert!(address_is_quiet(&v4, svcs));
        assert!(address_is_quiet(&v6, svcs));
        // headless, and an IPAddress no allocator manages
        let headless = bytes(&service(vec![S("None")]));
        assert!(service_is_quiet(&headless, &[], |_| None));
        let foreign = bytes(&M(vec![("metadata", M(vec![("name", S("x"))]))]));
        assert!(address_is_quiet(&foreign, |_| None));
    }

    #[test]
    fn anything_the_python_check_might_act_on_is_not_quiet() {
        let v4 = bytes(&address("10.0.0.5", "IPv4", "a"));
        let other = bytes(&address("10.0.0.5", "IPv4", "b"));
        let wrong_family = bytes(&address("10.0.0.5", "IPv6", "a"));
        let svc = bytes(&service(vec![S("10.0.0.5")]));
        let found = |b: &'static [u8]| move |_: &str| Some(Cow::Borrowed(b));
        let v4: &'static [u8] = Box::leak(v4.into_boxed_slice());
        assert!(service_is_quiet(&svc, &ranges(), found(v4)));
        // missing IPAddress, another parent, a wrong label, out of every range
        assert!(!service_is_quiet(&svc, &ranges(), |_| None));
        let other: &'static [u8] = Box::leak(other.into_boxed_slice());
        assert!(!service_is_quiet(&svc, &ranges(), found(other)));
        let wrong: &'static [u8] = Box::leak(wrong_family.into_boxed_slice());
        assert!(!service_is_quiet(&svc, &ranges(), found(wrong)));
        assert!(!service_is_quiet(&svc, &[], found(v4)));
        // the network and broadcast addresses are not usable ones
        let net = bytes(&service(vec![S("10.0.0.0")]));
        assert!(!service_is_quiet(&net, &ranges(), found(v4)));
        let broadcast = bytes(&service(vec![S("10.0.0.255")]));
        assert!(!service_is_quiet(&broadcast, &ranges(), found(v4)));
        // odd shapes: an address that does not parse, not a string, a key twice
        let bad = bytes(&service(vec![S("10.0.0.05")]));
        assert!(!service_is_quiet(&bad, &ranges(), found(v4)));
        let not_text = bytes(&M(vec![
            (
                "metadata",
                M(vec![("namespace", S("ns")), ("name", S("a"))]),
            ),
            (
                "spec",
                M(vec![
                    ("clusterIP", S("10.0.0.5")),
                    ("clusterIPs", A(vec![I(1)])),
                ]),
            ),
        ]));
        assert!(!service_is_quiet(&not_text, &ranges(), found(v4)));
        // a Service without a ClusterIP is never looked at further
        let none = bytes(&service(vec![I(1)]));
        assert!(service_is_quiet(&none, &ranges(), found(v4)));
        let twice = bytes(&M(vec![("metadata", M(vec![])), ("metadata", M(vec![]))]));
        assert!(!service_is_quiet(&twice, &ranges(), found(v4)));
        // an IPAddress whose Service is gone, or does not list it
        assert!(!address_is_quiet(v4, |_| None));
        let elsewhere = bytes(&service(vec![S("10.0.0.6")]));
        let elsewhere: &'static [u8] = Box::leak(elsewhere.into_boxed_slice());
        assert!(!address_is_quiet(v4, found(elsewhere)));
        assert!(!address_is_quiet(b"\xc1", found(elsewhere)));
    }
}
