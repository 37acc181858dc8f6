//! A read-only view of a simd-json tape, with Python's `json.loads` semantics where the
//! reader depends on them: object members in document order, and for a key given twice,
//! the last value (a Python dict keeps the last).

use simd_json::{Node, StaticNode};

/// One JSON value: its node and the nodes nested in it.
#[derive(Clone, Copy)]
pub struct J<'t, 'i>(&'t [Node<'i>]);

/// Number of tape nodes a value starting at `n` spans.
fn span(n: &Node<'_>) -> usize {
    match n {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

impl<'t, 'i> J<'t, 'i> {
    /// The whole document of a tape.
    pub fn root(nodes: &'t [Node<'i>]) -> Option<Self> {
        let first = nodes.first()?;
        nodes.get(..span(first)).map(J)
    }

    fn node(self) -> &'t Node<'i> {
        &self.0[0]
    }

    pub fn str(self) -> Option<&'i str> {
        match self.node() {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn bool(self) -> Option<bool> {
        match self.node() {
            Node::Static(StaticNode::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn is_null(self) -> bool {
        matches!(self.node(), Node::Static(StaticNode::Null))
    }

    /// An integer that fits an i64 (Python: an `int`, not a `bool`).
    pub fn i64(self) -> Option<i64> {
        match *self.node() {
            Node::Static(StaticNode::I64(i)) => Some(i),
            Node::Static(StaticNode::U64(u)) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    /// A non-negative integer.
    pub fn u64(self) -> Option<u64> {
        match *self.node() {
            Node::Static(StaticNode::I64(i)) => u64::try_from(i).ok(),
            Node::Static(StaticNode::U64(u)) => Some(u),
            _ => None,
        }
    }

    pub fn obj(self) -> Option<Obj<'t, 'i>> {
        match self.node() {
            Node::Object { len, .. } => Some(Obj { v: self, len: *len }),
            _ => None,
        }
    }

    pub fn arr(self) -> Option<Arr<'t, 'i>> {
        match self.node() {
            Node::Array { len, .. } => Some(Arr { v: self, len: *len }),
            _ => None,
        }
    }

    /// Python truthiness.
    pub fn truthy(self) -> bool {
        match self.node() {
            Node::Static(StaticNode::Null) => false,
            Node::Static(StaticNode::Bool(b)) => *b,
            Node::Static(StaticNode::I64(i)) => *i != 0,
            Node::Static(StaticNode::U64(u)) => *u != 0,
            Node::Static(StaticNode::F64(f)) => *f != 0.0,
            Node::String(s) => !s.is_empty(),
            Node::Array { len, .. } | Node::Object { len, .. } => *len != 0,
        }
    }

    pub fn nodes(self) -> &'t [Node<'i>] {
        self.0
    }
}

/// How deep containers nest in a tape (a scalar document is 0).
pub fn depth(nodes: &[Node<'_>]) -> usize {
    // remaining node counts of the open containers, innermost last
    let mut open: Vec<usize> = Vec::new();
    let mut deepest = 0;
    for n in nodes {
        while open.last() == Some(&0) {
            open.pop();
        }
        if let Some(left) = open.last_mut() {
            *left -= 1;
        }
        if let Node::Object { count, .. } | Node::Array { count, .. } = n {
            open.push(*count);
            deepest = deepest.max(open.len());
        }
    }
    deepest
}

/// Python truthiness of an optional member (absent is falsy).
pub fn truthy(v: Option<J<'_, '_>>) -> bool {
    v.is_some_and(J::truthy)
}

#[derive(Clone, Copy)]
pub struct Obj<'t, 'i> {
    v: J<'t, 'i>,
    len: usize,
}

impl<'t, 'i> Obj<'t, 'i> {
    pub fn len(self) -> usize {
        self.len
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// Members in document order (a repeated key appears each time).
    pub fn iter(self) -> impl Iterator<Item = (&'i str, J<'t, 'i>)> {
        let nodes = self.v.0;
        let mut idx = 1;
        (0..self.len).map_while(move |_| {
            let key = match nodes.get(idx)? {
                Node::String(k) => *k,
                _ => return None,
            };
            let start = idx + 1;
            let end = start + span(nodes.get(start)?);
            idx = end;
            Some((key, J(nodes.get(start..end)?)))
        })
    }

    /// The member's value; for a repeated key the last one, as `json.loads` keeps.
    pub fn get(self, key: &str) -> Option<J<'t, 'i>> {
        self.iter()
            .filter(|(k, _)| *k == key)
            .last()
            .map(|(_, v)| v)
    }

    pub fn contains(self, key: &str) -> bool {
        self.iter().any(|(k, _)| k == key)
    }

    /// Whether a key appears twice (then the object's member order is not a dict's).
    pub fn has_repeated_key(self) -> bool {
        let keys: Vec<&str> = self.iter().map(|(k, _)| k).collect();
        (1..keys.len()).any(|i| keys[..i].contains(&keys[i]))
    }
}

#[derive(Clone, Copy)]
pub struct Arr<'t, 'i> {
    v: J<'t, 'i>,
    len: usize,
}

impl<'t, 'i> Arr<'t, 'i> {
    pub fn len(self) -> usize {
        self.len
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    pub fn iter(self) -> impl Iterator<Item = J<'t, 'i>> {
        let nodes = self.v.0;
        let mut idx = 1;
        (0..self.len).map_while(move |_| {
            let end = idx + span(nodes.get(idx)?);
            let v = J(nodes.get(idx..end)?);
            idx = end;
            Some(v)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with<R>(text: &str, f: impl FnOnce(J<'_, '_>) -> R) -> R {
        let mut b = text.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut b).unwrap();
        f(J::root(&tape.0).unwrap())
    }

    #[test]
    fn members_in_order_and_the_last_of_a_repeated_key() {
        with(r#"{"a":[1,{"x":2}],"b":"s","a":3}"#, |v| {
            let o = v.obj().unwrap();
            let keys: Vec<_> = o.iter().map(|(k, _)| k).collect();
            assert_eq!(keys, ["a", "b", "a"]);
            assert_eq!(o.get("a").unwrap().i64(), Some(3));
            assert_eq!(o.get("b").unwrap().str(), Some("s"));
            assert!(o.has_repeated_key());
            assert!(o.get("zz").is_none());
        });
        with(r#"{"a":[1,{"x":2},[]],"b":{}}"#, |v| {
            let o = v.obj().unwrap();
            assert!(!o.has_repeated_key());
            let a: Vec<_> = o.get("a").unwrap().arr().unwrap().iter().collect();
            assert_eq!(a.len(), 3);
            assert_eq!(a[1].obj().unwrap().get("x").unwrap().u64(), Some(2));
            assert!(!a[2].truthy() && !o.get("b").unwrap().truthy());
        });
        for (text, want) in [
            ("1", 0),
            ("[]", 1),
            ("[[],[[]]]", 3),
            (r#"{"a":{"b":[1,{"c":[]}]},"d":[]}"#, 5),
        ] {
            let mut b = text.as_bytes().to_vec();
            let tape = simd_json::to_tape(&mut b).unwrap();
            assert_eq!(depth(&tape.0), want, "{text}");
        }
    }
}
