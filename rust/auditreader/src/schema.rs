//! The field types an object must have to be stored: the importer stores a recorded
//! object as it was recorded only when kube-apiserver could have decoded it
//! (`servicecidr.api.decode.check`). The table is Python's (`decode.STRUCTS`), handed
//! over when a reader starts, so there is one definition of the schema; this module only
//! answers "surely decodes", and anything it is not sure of goes to the Python reader,
//! which names the problem.

use std::collections::HashMap;

use crate::json::{Obj, J};

/// One field type of the table: `string`, `int32`, `int64`, `bool`, `Time`,
/// `IntOrString`, `raw`, `map[string]string`, `[]T` or a struct name.
#[derive(Debug, Clone, PartialEq)]
enum Type {
    Str,
    Int32,
    Int64,
    Bool,
    Time,
    IntOrString,
    Raw,
    StrMap,
    List(Box<Type>),
    Struct(usize),
}

/// The struct table and the root struct of each kind the reader prepares.
#[derive(Debug, Default)]
pub struct Schema {
    structs: Vec<HashMap<String, Type>>,
    roots: HashMap<String, usize>,
    /// Deepest nesting of containers a stored object may have.
    pub max_depth: usize,
    /// Largest compact JSON encoding a stored object may have.
    pub max_bytes: usize,
}

impl Schema {
    /// Builds the table from `(struct, [(field, type)])` and `(kind, root struct)` pairs;
    /// an unknown type name is an error (the two sides disagree).
    pub fn new(
        structs: &[(String, Vec<(String, String)>)],
        roots: &[(String, String)],
        max_depth: usize,
        max_bytes: usize,
    ) -> Result<Schema, String> {
        let index: HashMap<&str, usize> = structs
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.as_str(), i))
            .collect();
        let parse_struct =
            |fields: &Vec<(String, String)>| -> Result<HashMap<String, Type>, String> {
                fields
                    .iter()
                    .map(|(f, t)| Ok((f.clone(), parse(t, &index)?)))
                    .collect()
            };
        let structs = structs
            .iter()
            .map(|(_, fields)| parse_struct(fields))
            .collect::<Result<Vec<_>, _>>()?;
        let roots = roots
            .iter()
            .map(|(kind, root)| {
                let i = index
                    .get(root.as_str())
                    .ok_or_else(|| format!("unknown root struct {root:?}"))?;
                Ok((kind.clone(), *i))
            })
            .collect::<Result<_, String>>()?;
        Ok(Schema {
            structs,
            roots,
            max_depth,
            max_bytes,
        })
    }

    /// Whether `body`, an object of `kind`, surely has the field types its schema names.
    /// False for a kind without a root (nothing is sure then).
    pub fn valid(&self, kind: &str, body: Obj<'_, '_>) -> bool {
        match self.roots.get(kind) {
            Some(&root) => self.fields(root, body, Mode::Valid),
            None => false,
        }
    }

    /// Whether decoding `body` (`servicecidr.api.decode.decode`, after the importer has
    /// dropped `metadata.managedFields` and `metadata.selfLink`) would give it back
    /// unchanged: valid, and no field the decoder drops or rewrites — no unknown field, no
    /// `null`, no empty list or string map (omitempty), no timestamp other than
    /// `metav1.Time`'s whole-second UTC form. An object that is not canonical is stored
    /// by the Python reader, in its decoded form.
    pub fn canonical(&self, kind: &str, body: Obj<'_, '_>) -> bool {
        let Some(&root) = self.roots.get(kind) else {
            return false;
        };
        let table = &self.structs[root];
        body.iter().all(|(k, v)| match (k, table.get(k)) {
            (_, None) => false,
            ("metadata", Some(Type::Struct(meta))) => v.obj().is_some_and(|m| {
                let fields = &self.structs[*meta];
                m.iter().all(|(mk, mv)| {
                    matches!(mk, "managedFields" | "selfLink")
                        || fields
                            .get(mk)
                            .is_some_and(|t| self.value(t, mv, Mode::Canonical))
                })
            }),
            (_, Some(t)) => self.value(t, v, Mode::Canonical),
        })
    }

    fn fields(&self, s: usize, o: Obj<'_, '_>, mode: Mode) -> bool {
        let table = &self.structs[s];
        o.iter().all(|(k, v)| match table.get(k) {
            Some(t) => self.value(t, v, mode),
            None => mode == Mode::Valid, // the decoder drops an unknown field
        })
    }

    fn value(&self, t: &Type, v: J<'_, '_>, mode: Mode) -> bool {
        let canonical = mode == Mode::Canonical;
        if v.is_null() {
            // a null is an absent field, of any type: valid, but the decoder drops it
            return !canonical;
        }
        match t {
            Type::Str => v.str().is_some(),
            Type::Int32 => v.i64().is_some_and(|i| i32::try_from(i).is_ok()),
            Type::Int64 => v.i64().is_some(),
            Type::Bool => v.bool().is_some(),
            Type::IntOrString => {
                v.str().is_some() || v.i64().is_some_and(|i| i32::try_from(i).is_ok())
            }
            // the reader's strict RFC 3339 subset, inside the years Python can show
            Type::Time => v
                .str()
                .is_some_and(|s| crate::parse_time(s).is_some() && (!canonical || whole_utc(s))),
            Type::Raw => true,
            Type::StrMap => v.obj().is_some_and(|m| {
                (!canonical || !m.is_empty())
                    && m.iter()
                        .all(|(_, x)| x.str().is_some() || (!canonical && x.is_null()))
            }),
            Type::List(elem) => v.arr().is_some_and(|a| {
                (!canonical || !a.is_empty()) && a.iter().all(|x| self.value(elem, x, mode))
            }),
            Type::Struct(s) => v.obj().is_some_and(|o| self.fields(*s, o, mode)),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Valid,
    Canonical,
}

/// `metav1.Time` as it prints: `2025-01-01T00:00:00Z` (whole seconds, UTC).
fn whole_utc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// For tests: the two prepared kinds with their metadata typed and the rest raw.
#[cfg(test)]
pub(crate) fn untyped() -> std::sync::Arc<Schema> {
    let f = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    };
    let root = f(&[
        ("apiVersion", "string"),
        ("kind", "string"),
        ("metadata", "Meta"),
        ("spec", "raw"),
        ("status", "raw"),
    ]);
    let meta = f(&[
        ("name", "string"),
        ("namespace", "string"),
        ("uid", "string"),
        ("resourceVersion", "string"),
        ("creationTimestamp", "Time"),
        ("labels", "map[string]string"),
    ]);
    let roots = [
        ("Service".to_string(), "Root".to_string()),
        ("IPAddress".to_string(), "Root".to_string()),
    ];
    let structs = [("Root".to_string(), root), ("Meta".to_string(), meta)];
    std::sync::Arc::new(Schema::new(&structs, &roots, 100, 1 << 22).unwrap())
}

fn parse(t: &str, index: &HashMap<&str, usize>) -> Result<Type, String> {
    Ok(match t {
        "string" => Type::Str,
        "int32" => Type::Int32,
        "int64" => Type::Int64,
        "bool" => Type::Bool,
        "Time" => Type::Time,
        "IntOrString" => Type::IntOrString,
        "raw" => Type::Raw,
        "map[string]string" => Type::StrMap,
        _ => match t.strip_prefix("[]") {
            Some(elem) => Type::List(Box::new(parse(elem, index)?)),
            None => Type::Struct(
                *index
                    .get(t)
                    .ok_or_else(|| format!("unknown field type {t:?}"))?,
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        let s = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        Schema::new(
            &[
                (
                    "Thing".into(),
                    s(&[
                        ("name", "string"),
                        ("port", "int32"),
                        ("at", "Time"),
                        ("labels", "map[string]string"),
                        ("parts", "[]Part"),
                        ("raw", "raw"),
                    ]),
                ),
                (
                    "Part".into(),
                    s(&[("on", "bool"), ("target", "IntOrString")]),
                ),
            ],
            &[("Thing".into(), "Thing".into())],
            100,
            1 << 20,
        )
        .unwrap()
    }

    fn valid(text: &str) -> bool {
        let mut b = text.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut b).unwrap();
        let o = J::root(&tape.0).unwrap().obj().unwrap();
        schema().valid("Thing", o)
    }

    fn canonical(text: &str) -> bool {
        let mut b = text.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut b).unwrap();
        let o = J::root(&tape.0).unwrap().obj().unwrap();
        schema().canonical("Thing", o)
    }

    #[test]
    fn canonical_is_what_decoding_gives_back_unchanged() {
        assert!(canonical(
            r#"{"name":"a","port":80,"at":"2025-01-01T00:00:00Z","labels":{"a":"b"},
               "parts":[{"on":true,"target":"http"},{"target":8080}],"raw":{"x":[1,null]}}"#
        ));
        // each of these decodes, but not to itself
        for changed in [
            r#"{"name":null}"#,
            r#"{"zz":1}"#,
            r#"{"labels":{}}"#,
            r#"{"labels":{"a":null}}"#,
            r#"{"parts":[]}"#,
            r#"{"parts":[null]}"#,
            r#"{"parts":[{"on":null}]}"#,
            r#"{"parts":[{"zz":1}]}"#,
            r#"{"at":"2025-01-01T00:00:00.5Z"}"#,
            r#"{"at":"2025-01-01T01:00:00+01:00"}"#,
        ] {
            assert!(valid(changed), "{changed}");
            assert!(!canonical(changed), "{changed}");
        }
        assert!(!canonical(r#"{"port":"80"}"#), "not even valid");
    }

    #[test]
    fn types_as_the_python_decoder_checks_them() {
        assert!(valid(
            r#"{"name":"a","port":80,"at":"2025-01-01T00:00:00Z","labels":{"a":"b","c":null},
               "parts":[{"on":true,"target":"http"},{"target":8080},null],"raw":{"x":[1]},"zz":1}"#
        ));
        for bad in [
            r#"{"name":5}"#,
            r#"{"port":4294967296}"#,
            r#"{"port":"80"}"#,
            r#"{"at":"9999-12-31T23:59:59-23:59"}"#,
            r#"{"at":5}"#,
            r#"{"labels":{"a":1}}"#,
            r#"{"labels":[]}"#,
            r#"{"parts":{"on":true}}"#,
            r#"{"parts":[{"on":"yes"}]}"#,
            r#"{"parts":[{"target":true}]}"#,
            r#"{"parts":[5]}"#,
        ] {
            assert!(!valid(bad), "{bad}");
        }
        assert!(Schema::new(
            &[("T".into(), vec![("a".into(), "Nope".into())])],
            &[],
            1,
            1
        )
        .is_err());
        let mut b = b"{}".to_vec();
        let tape = simd_json::to_tape(&mut b).unwrap();
        let empty = J::root(&tape.0).unwrap().obj().unwrap();
        assert!(schema().valid("Thing", empty));
        assert!(
            !schema().valid("Other", empty),
            "no root for the kind: never sure"
        );
    }
}
