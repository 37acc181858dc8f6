//! The pure bit of servicecidr's one-call Service delete: what the stored Service says
//! the delete must do.

use servicecidr_codec::msgpack::Reader;

/// The ClusterIPs a delete of this stored Service releases (every `spec.clusterIPs`
/// entry but `"None"`, in order), when the object is one the one-call delete answers
/// exactly as the full path (``registry/service.py`` ``delete``): a map whose `metadata`
/// is a map without finalizers (absent, nil or an empty array: the object goes at
/// once), whose `spec`, when present, is a map, and whose `spec.clusterIPs`, when
/// present, is nil or an array of strings. None for anything else (finalizers that hold
/// the object, a field of another type, a key written twice, bytes that are not one
/// msgpack value): the full path judges it.
pub fn released_addresses(blob: &[u8]) -> Option<Vec<&str>> {
    let mut r = Reader::new(blob);
    let mut metadata = false;
    let mut spec = false;
    let mut ips = Vec::new();
    for _ in 0..r.map_len()? {
        match r.str()? {
            "metadata" if !metadata => {
                metadata = true;
                let mut finalizers = false;
                for _ in 0..r.map_len()? {
                    if r.str()? == "finalizers" {
                        // (a second one would be a key written twice)
                        if finalizers || !nil_or_empty(&mut r)? {
                            return None;
                        }
                        finalizers = true;
                    } else {
                        r.skip()?;
                    }
                }
            }
            "spec" if !spec => {
                spec = true;
                let mut seen = false;
                for _ in 0..r.map_len()? {
                    if r.str()? == "clusterIPs" {
                        if seen {
                            return None;
                        }
                        seen = true;
                        if r.peek()? == 0xc0 {
                            r.byte()?;
                            continue;
                        }
                        for _ in 0..r.array_len()? {
                            let ip = r.str()?;
                            if ip != "None" {
                                ips.push(ip);
                            }
                        }
                    } else {
                        r.skip()?;
                    }
                }
            }
            "metadata" | "spec" => return None,
            _ => {
                r.skip()?;
            }
        }
    }
    (metadata && r.at_end()).then_some(ips)
}

/// Reads a value that is nil or an empty array (true), or any other value (false).
fn nil_or_empty(r: &mut Reader<'_>) -> Option<bool> {
    match r.peek()? {
        0xc0 | 0x90 => {
            r.byte()?;
            Some(true)
        }
        _ => {
            r.skip()?;
            Some(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use servicecidr_codec::msgpack as mp;

    /// A tiny msgpack writer for the tests' objects.
    enum V<'a> {
        Nil,
        S(&'a str),
        I(i64),
        A(Vec<V<'a>>),
        M(Vec<(&'a str, V<'a>)>),
    }

    fn enc(v: &V<'_>, out: &mut Vec<u8>) {
        match v {
            V::Nil => mp::nil(out),
            V::S(s) => mp::str(s, out).unwrap(),
            V::I(i) => mp::int(*i, out),
            V::A(items) => {
                mp::array_len(items.len(), out).unwrap();
                items.iter().for_each(|x| enc(x, out));
            }
            V::M(pairs) => {
                mp::map_len(pairs.len(), out).unwrap();
                for (k, x) in pairs {
                    mp::str(k, out).unwrap();
                    enc(x, out);
                }
            }
        }
    }

    fn service<'a>(meta: Vec<(&'a str, V<'a>)>, spec: Option<Vec<(&'a str, V<'a>)>>) -> Vec<u8> {
        let mut pairs = vec![("apiVersion", V::S("v1")), ("metadata", V::M(meta))];
        if let Some(spec) = spec {
            pairs.push(("spec", V::M(spec)));
        }
        let mut out = Vec::new();
        enc(&V::M(pairs), &mut out);
        out
    }

    fn ips<'a>(list: &[&'a str]) -> V<'a> {
        V::A(list.iter().map(|s| V::S(s)).collect())
    }

    #[test]
    fn plain_services_release_their_addresses_in_order() {
        let b = service(
            vec![("name", V::S("a"))],
            Some(vec![
                ("clusterIP", V::S("10.0.0.1")),
                ("clusterIPs", ips(&["10.0.0.1", "fd00::1"])),
            ]),
        );
        assert_eq!(released_addresses(&b), Some(vec!["10.0.0.1", "fd00::1"]));
        let headless = service(vec![], Some(vec![("clusterIPs", ips(&["None"]))]));
        assert_eq!(released_addresses(&headless), Some(vec![]));
        for spec in [None, Some(vec![]), Some(vec![("clusterIPs", V::Nil)])] {
            assert_eq!(released_addresses(&service(vec![], spec)), Some(vec![]));
        }
        let empty = service(vec![("finalizers", V::A(vec![]))], None);
        assert_eq!(released_addresses(&empty), Some(vec![]));
        let nil = service(vec![("finalizers", V::Nil)], None);
        assert_eq!(released_addresses(&nil), Some(vec![]));
    }

    #[test]
    fn anything_unusual_is_left_to_the_full_path() {
        let held = service(vec![("finalizers", ips(&["x/y"]))], None);
        assert_eq!(released_addresses(&held), None);
        let odd = service(vec![("finalizers", V::S(""))], None);
        assert_eq!(released_addresses(&odd), None);
        let not_list = service(vec![], Some(vec![("clusterIPs", V::S("10.0.0.1"))]));
        assert_eq!(released_addresses(&not_list), None);
        let not_str = service(vec![], Some(vec![("clusterIPs", V::A(vec![V::I(1)]))]));
        assert_eq!(released_addresses(&not_str), None);
        let twice = service(
            vec![],
            Some(vec![
                ("clusterIPs", ips(&["10.0.0.1"])),
                ("clusterIPs", ips(&[])),
            ]),
        );
        assert_eq!(released_addresses(&twice), None);
        let mut no_meta = Vec::new();
        enc(&V::M(vec![("spec", V::M(vec![]))]), &mut no_meta);
        assert_eq!(released_addresses(&no_meta), None);
        let mut spec_nil = Vec::new();
        enc(
            &V::M(vec![("metadata", V::M(vec![])), ("spec", V::Nil)]),
            &mut spec_nil,
        );
        assert_eq!(released_addresses(&spec_nil), None);
        let mut trailing = service(vec![], None);
        trailing.push(0xc0);
        assert_eq!(released_addresses(&trailing), None);
        assert_eq!(released_addresses(b""), None);
    }
}
