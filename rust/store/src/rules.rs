//! What a stored object must be for servicecidr to read it back: a JSON object (a map
//! with string keys holding only JSON values, nested at most `max_depth` levels) of a
//! kind the store has, whose `kind` is its write's kind, which has an `apiVersion`,
//! whose `metadata.name` (and, for namespaced kinds, `metadata.namespace`) spell its
//! key, and whose `spec` and `status` are maps.
//!
//! Every put goes through [`ObjectRules::check`] ([`crate::Store::check`]): a live commit
//! before it is recorded, log replay, snapshot loading, and `log verify`. So the log never
//! takes an object its readers refuse, and every reader refuses the same ones.

use servicecidr_codec::msgpack::{NotJson, Reader};

/// The rules, built once from the kinds (and whether each is namespaced).
pub struct ObjectRules {
    namespaced: Vec<bool>,
    max_depth: u32,
}

fn at(r: &Reader<'_>, what: &str) -> String {
    format!("{what} at byte {}", r.pos())
}

fn is_map(r: &Reader<'_>) -> bool {
    matches!(r.peek(), Some(0x80..=0x8f | 0xde | 0xdf))
}

impl ObjectRules {
    /// Rules for the kinds of a store (`namespaced[i]` for kind index `i`), with values
    /// nested at most `max_depth` levels below the object.
    pub fn new(namespaced: Vec<bool>, max_depth: u32) -> Self {
        ObjectRules {
            namespaced,
            max_depth,
        }
    }

    /// How deep a value may nest below its object.
    pub fn max_depth(&self) -> u32 {
        self.max_depth
    }

    fn value(&self, r: &mut Reader<'_>, depth: u32) -> Result<(), String> {
        r.json(depth, self.max_depth)
            .map_err(|e: NotJson| e.describe(self.max_depth))
    }

    /// Why `blob` is not a readable stored object of kind `kind` (`kind_name`) under
    /// `key` (Ok: it is).
    pub fn check(
        &self,
        kind: usize,
        kind_name: &str,
        key: &str,
        blob: &[u8],
    ) -> Result<(), String> {
        let namespaced = self.namespaced.get(kind).copied().unwrap_or(false);
        let mut r = Reader::new(blob);
        let n = r
            .map_len()
            .ok_or("the stored object is not a map (a JSON object)")?;
        let mut obj_kind: Option<&str> = None;
        let mut api_version = false;
        let mut meta: Option<(Option<&str>, Option<&str>)> = None;
        for _ in 0..n {
            let field = r
                .str()
                .ok_or_else(|| at(&r, "an object key is not a string"))?;
            match field {
                "kind" => obj_kind = Some(r.str().ok_or_else(|| at(&r, "kind is not a string"))?),
                "apiVersion" => {
                    r.str()
                        .ok_or_else(|| at(&r, "apiVersion is not a string"))?;
                    api_version = true;
                }
                "metadata" => meta = Some(self.metadata(&mut r)?),
                "spec" | "status" => {
                    if !is_map(&r) {
                        return Err(at(&r, &format!("{field} is not a map")));
                    }
                    self.value(&mut r, 1)?;
                }
                _ => self.value(&mut r, 1)?,
            }
        }
        if !r.at_end() {
            return Err(at(&r, "trailing bytes"));
        }
        if obj_kind != Some(kind_name) {
            return Err(format!(
                "the object's kind is {}, not {kind_name:?}",
                obj_kind.map_or("missing".to_string(), |k| format!("{k:?}"))
            ));
        }
        if !api_version {
            return Err("the object has no apiVersion".into());
        }
        let (name, ns) = meta.ok_or("the object has no metadata")?;
        let name = name.ok_or("the object has no metadata.name")?;
        let (key_ns, key_name) = match key.split_once('/') {
            Some((ns, name)) if namespaced => (Some(ns), name),
            _ => (None, key),
        };
        if namespaced && (key_ns.is_none() || ns != key_ns) {
            return Err(format!(
                "metadata.namespace {} does not match the key {key:?}",
                ns.map_or("(missing)".to_string(), |n| format!("{n:?}"))
            ));
        }
        if name != key_name {
            return Err(format!(
                "metadata.name {name:?} does not match the key {key:?}"
            ));
        }
        Ok(())
    }

    /// `metadata`: a map; returns its `name` and `namespace` (strings when present).
    fn metadata<'a>(
        &self,
        r: &mut Reader<'a>,
    ) -> Result<(Option<&'a str>, Option<&'a str>), String> {
        let n = r.map_len().ok_or_else(|| at(r, "metadata is not a map"))?;
        let (mut name, mut ns) = (None, None);
        for _ in 0..n {
            let field = r
                .str()
                .ok_or_else(|| at(r, "a metadata key is not a string"))?;
            match field {
                "name" => {
                    name = Some(
                        r.str()
                            .ok_or_else(|| at(r, "metadata.name is not a string"))?,
                    )
                }
                "namespace" => {
                    ns = Some(
                        r.str()
                            .ok_or_else(|| at(r, "metadata.namespace is not a string"))?,
                    )
                }
                _ => self.value(r, 2)?,
            }
        }
        Ok((name, ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use servicecidr_codec::msgpack::{array_len, map_len, nil, str, uint};

    /// Writes a JSON-like value given as a tiny tree.
    enum V<'a> {
        S(&'a str),
        U(u64),
        Null,
        Bin,
        Arr(Vec<V<'a>>),
        Map(Vec<(&'a str, V<'a>)>),
    }

    fn write(v: &V<'_>, out: &mut Vec<u8>) {
        match v {
            V::S(s) => str(s, out).unwrap(),
            V::U(u) => uint(*u, out),
            V::Null => nil(out),
            V::Bin => out.extend_from_slice(&[0xc4, 1, 0]),
            V::Arr(items) => {
                array_len(items.len(), out).unwrap();
                items.iter().for_each(|i| write(i, out));
            }
            V::Map(fields) => {
                map_len(fields.len(), out).unwrap();
                for (k, v) in fields {
                    str(k, out).unwrap();
                    write(v, out);
                }
            }
        }
    }

    fn service(extra: Vec<(&'static str, V<'static>)>, ns: &'static str) -> Vec<u8> {
        let mut fields = vec![
            ("kind", V::S("Service")),
            ("apiVersion", V::S("v1")),
            (
                "metadata",
                V::Map(vec![("name", V::S("a")), ("namespace", V::S(ns))]),
            ),
        ];
        fields.extend(extra);
        let mut out = Vec::new();
        write(&V::Map(fields), &mut out);
        out
    }

    fn rules() -> ObjectRules {
        ObjectRules::new(vec![true, false], 3)
    }

    #[test]
    fn a_readable_object_passes() {
        let ok = service(vec![("spec", V::Map(vec![("x", V::Null)]))], "default");
        assert_eq!(rules().check(0, "Service", "default/a", &ok), Ok(()));
    }

    #[test]
    fn objects_no_reader_accepts_are_refused_with_the_reason() {
        let nested = V::Map(vec![(
            "a",
            V::Map(vec![("b", V::Map(vec![("c", V::Null)]))]),
        )]);
        let table: Vec<(Vec<u8>, &str, &str)> = vec![
            (vec![0x01], "default/a", "not a map"),
            (service(vec![], "other"), "default/a", "metadata.namespace"),
            (service(vec![], "default"), "default/b", "metadata.name"),
            (service(vec![], "default"), "a", "metadata.namespace"),
            (
                service(vec![("spec", V::Arr(vec![]))], "default"),
                "default/a",
                "spec is not a map",
            ),
            (
                service(vec![("status", V::U(1))], "default"),
                "default/a",
                "status is not a map",
            ),
            (service(vec![("x", V::Bin)], "default"), "default/a", "byte"),
            (
                service(vec![("spec", nested)], "default"),
                "default/a",
                "deep",
            ),
            (
                {
                    let mut o = service(vec![], "default");
                    o.push(0xc0);
                    o
                },
                "default/a",
                "trailing bytes",
            ),
        ];
        for (blob, key, why) in table {
            let err = rules().check(0, "Service", key, &blob).unwrap_err();
            assert!(err.contains(why), "{key}: {err:?} should say {why:?}");
        }
        let wrong_kind = service(vec![], "default");
        let err = rules().check(1, "IPAddress", "a", &wrong_kind).unwrap_err();
        assert!(err.contains("kind is \"Service\""), "{err}");
    }
}
