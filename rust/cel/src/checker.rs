//! The type checker kube-apiserver runs when a policy is written, reduced to what the
//! declarations of a ValidatingAdmissionPolicy need (cel-go's `checker` package).
//!
//! `object`, `oldObject` and `params` are `dyn`; `request` and `namespaceObject` have the
//! object types of `plugin/cel/compile.go`; `variables` is an object type whose fields are
//! the policy's variables with their output types (`plugin/cel/composition.go`). The
//! checker resolves identifiers (undeclared ones are errors), picks overloads from the
//! static argument types (`found no matching overload for ...`), selects fields of the
//! object types (`undefined field ...`), types comprehensions, and yields the expression's
//! output type. Messages and positions are cel-go's.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock};

use cel::common::ast::{operators, EntryExpr, Expr, LiteralValue};
use cel::IdedExpr;

/// A static type.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Dyn,
    Error,
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Timestamp,
    Duration,
    List(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Optional(Box<Ty>),
    Type(Box<Ty>),
    /// An opaque library type (`net.IP`, `net.CIDR`).
    Opaque(&'static str),
    /// An object type with named fields.
    Object(Arc<ObjectType>),
    /// A type parameter of an overload declaration (`A`, `K`, `V`).
    Param(&'static str),
    /// A type variable of the checker.
    Var(u32),
}

/// An object type: a name and typed fields.
#[derive(Debug, PartialEq)]
pub struct ObjectType {
    pub name: String,
    pub fields: Vec<(String, Ty)>,
}

impl ObjectType {
    fn field(&self, name: &str) -> Option<&Ty> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

impl fmt::Display for Ty {
    /// cel-go's `FormatCELType`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Dyn | Ty::Var(_) | Ty::Param(_) => f.write_str("dyn"),
            Ty::Error => f.write_str("*error*"),
            Ty::Null => f.write_str("null_type"),
            Ty::Bool => f.write_str("bool"),
            Ty::Int => f.write_str("int"),
            Ty::Uint => f.write_str("uint"),
            Ty::Double => f.write_str("double"),
            Ty::String => f.write_str("string"),
            Ty::Bytes => f.write_str("bytes"),
            Ty::Timestamp => f.write_str("google.protobuf.Timestamp"),
            Ty::Duration => f.write_str("google.protobuf.Duration"),
            Ty::List(e) => write!(f, "list({e})"),
            Ty::Map(k, v) => write!(f, "map({k}, {v})"),
            Ty::Optional(e) => write!(f, "optional_type({e})"),
            Ty::Type(t) => write!(f, "type({t})"),
            Ty::Opaque(n) => f.write_str(n),
            Ty::Object(o) => f.write_str(&o.name),
        }
    }
}

impl Ty {
    fn list(t: Ty) -> Ty {
        Ty::List(Box::new(t))
    }
    fn map(k: Ty, v: Ty) -> Ty {
        Ty::Map(Box::new(k), Box::new(v))
    }
    fn optional(t: Ty) -> Ty {
        Ty::Optional(Box::new(t))
    }

    /// Parses the small type language of the declaration table.
    fn parse(s: &'static str) -> Ty {
        let s = s.trim();
        if let Some(inner) = s.strip_prefix("list(").and_then(|r| r.strip_suffix(')')) {
            return Ty::list(Ty::parse(inner));
        }
        if let Some(inner) = s.strip_prefix("map(").and_then(|r| r.strip_suffix(')')) {
            let (k, v) = split_top(inner);
            return Ty::map(Ty::parse(k), Ty::parse(v));
        }
        if let Some(inner) = s
            .strip_prefix("optional_type(")
            .and_then(|r| r.strip_suffix(')'))
        {
            return Ty::optional(Ty::parse(inner));
        }
        if let Some(inner) = s.strip_prefix("type(").and_then(|r| r.strip_suffix(')')) {
            return Ty::Type(Box::new(Ty::parse(inner)));
        }
        match s {
            "dyn" => Ty::Dyn,
            "null_type" => Ty::Null,
            "bool" => Ty::Bool,
            "int" => Ty::Int,
            "uint" => Ty::Uint,
            "double" => Ty::Double,
            "string" => Ty::String,
            "bytes" => Ty::Bytes,
            "net.IP" => Ty::Opaque("net.IP"),
            "net.CIDR" => Ty::Opaque("net.CIDR"),
            p if p.len() == 1 => Ty::Param(p),
            other => panic!("unknown type in declaration: {other}"),
        }
    }

    /// The type a composited variable gets from its output type
    /// (`convertCelTypeToDeclType`): scalars, and lists and maps of them; anything else
    /// becomes `dyn`.
    pub fn as_variable_type(&self) -> Ty {
        match self {
            Ty::Bool
            | Ty::Int
            | Ty::Uint
            | Ty::Double
            | Ty::String
            | Ty::Bytes
            | Ty::Null
            | Ty::Timestamp
            | Ty::Duration => self.clone(),
            Ty::List(e) => Ty::list(e.as_variable_type()),
            Ty::Map(k, v) => Ty::map(k.as_variable_type(), v.as_variable_type()),
            _ => Ty::Dyn,
        }
    }
}

fn split_top(s: &'static str) -> (&'static str, &'static str) {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => return (&s[..i], &s[i + 1..]),
            _ => {}
        }
    }
    panic!("expected two type parameters in {s}")
}

/// One overload: call style, parameter types (the receiver first for a member) and
/// result type.
#[derive(Debug)]
struct Overload {
    member: bool,
    params: Vec<Ty>,
    result: Ty,
}

/// Function name -> overloads, from a compact table of signatures: `f(int, A) -> A` for
/// a global overload, `T.f(int) -> A` for a member of receiver type `T`.
fn declarations() -> HashMap<&'static str, Vec<Overload>> {
    let mut table: HashMap<&'static str, Vec<Overload>> = HashMap::new();
    let mut add = |sig: &'static str| {
        let (lhs, result) = sig.rsplit_once("->").expect("signature needs ->");
        let lhs = lhs.trim();
        let open = lhs.find('~').map_or(0, |bar| bar + 1)
            + lhs[lhs.find('~').map_or(0, |bar| bar + 1)..]
                .find('(')
                .expect("signature needs (");
        let head = &lhs[..open];
        let args = lhs[open + 1..]
            .strip_suffix(')')
            .expect("signature needs )");
        let mut params = Vec::new();
        let mut rest = args.trim();
        while !rest.is_empty() {
            let mut depth = 0;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    ',' if depth == 0 => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            params.push(Ty::parse(&rest[..end]));
            rest = rest.get(end + 1..).unwrap_or("").trim();
        }
        let (name, member) = match head.split_once('~') {
            // `T~f`: a member function of receiver type `T`.
            Some((recv, name)) => {
                params.insert(0, Ty::parse(recv));
                (name, true)
            }
            None => (head, false),
        };
        table.entry(name).or_default().push(Overload {
            member,
            params,
            result: Ty::parse(result),
        });
    };
    for sig in [
        "!_(bool) -> bool",
        "-_(int) -> int",
        "-_(double) -> double",
        "_&&_(bool, bool) -> bool",
        "_||_(bool, bool) -> bool",
        "@not_strictly_false(bool) -> bool",
        "_?_:_(bool, A, A) -> A",
        "_==_(A, A) -> bool",
        "_!=_(A, A) -> bool",
        "_+_(int, int) -> int",
        "_+_(uint, uint) -> uint",
        "_+_(double, double) -> double",
        "_+_(string, string) -> string",
        "_+_(bytes, bytes) -> bytes",
        "_+_(list(A), list(A)) -> list(A)",
        "_-_(int, int) -> int",
        "_-_(uint, uint) -> uint",
        "_-_(double, double) -> double",
        "_*_(int, int) -> int",
        "_*_(uint, uint) -> uint",
        "_*_(double, double) -> double",
        "_/_(int, int) -> int",
        "_/_(uint, uint) -> uint",
        "_/_(double, double) -> double",
        "_%_(int, int) -> int",
        "_%_(uint, uint) -> uint",
        "_[_](list(A), int) -> A",
        "_[_](map(K, V), K) -> V",
        "_[?_](list(A), int) -> optional_type(A)",
        "_[?_](map(K, V), K) -> optional_type(V)",
        "@in(A, list(A)) -> bool",
        "@in(A, map(A, B)) -> bool",
        "size(string) -> int",
        "size(bytes) -> int",
        "size(list(A)) -> int",
        "size(map(A, B)) -> int",
        "string~size() -> int",
        "bytes~size() -> int",
        "list(A)~size() -> int",
        "map(A, B)~size() -> int",
        "int(int) -> int",
        "int(uint) -> int",
        "int(double) -> int",
        "int(string) -> int",
        "uint(uint) -> uint",
        "uint(int) -> uint",
        "uint(double) -> uint",
        "uint(string) -> uint",
        "double(double) -> double",
        "double(int) -> double",
        "double(uint) -> double",
        "double(string) -> double",
        "string(string) -> string",
        "string(int) -> string",
        "string(uint) -> string",
        "string(double) -> string",
        "string(bool) -> string",
        "string(bytes) -> string",
        "string(net.IP) -> string",
        "string(net.CIDR) -> string",
        "bytes(bytes) -> bytes",
        "bytes(string) -> bytes",
        "bool(bool) -> bool",
        "bool(string) -> bool",
        "type(A) -> type(A)",
        "dyn(A) -> dyn",
        "matches(string, string) -> bool",
        "string~matches(string) -> bool",
        "string~contains(string) -> bool",
        "string~startsWith(string) -> bool",
        "string~endsWith(string) -> bool",
        // ext.Strings (version 2)
        "string~charAt(int) -> string",
        "string~indexOf(string) -> int",
        "string~indexOf(string, int) -> int",
        "string~lastIndexOf(string) -> int",
        "string~lastIndexOf(string, int) -> int",
        "string~lowerAscii() -> string",
        "string~upperAscii() -> string",
        "string~replace(string, string) -> string",
        "string~replace(string, string, int) -> string",
        "string~split(string) -> list(string)",
        "string~split(string, int) -> list(string)",
        "string~substring(int) -> string",
        "string~substring(int, int) -> string",
        "string~trim() -> string",
        "list(string)~join() -> string",
        "list(string)~join(string) -> string",
        "string~format(list(dyn)) -> string",
        "strings.quote(string) -> string",
        // library.Lists
        "list(A)~isSorted() -> bool",
        "list(int)~sum() -> int",
        "list(uint)~sum() -> uint",
        "list(double)~sum() -> double",
        "list(A)~min() -> A",
        "list(A)~max() -> A",
        "list(A)~indexOf(A) -> int",
        "list(A)~lastIndexOf(A) -> int",
        // library.Regex
        "string~find(string) -> string",
        "string~findAll(string) -> list(string)",
        "string~findAll(string, int) -> list(string)",
        // ext.Sets
        "sets.contains(list(A), list(A)) -> bool",
        "sets.equivalent(list(A), list(A)) -> bool",
        "sets.intersects(list(A), list(A)) -> bool",
        // library.IP
        "ip(string) -> net.IP",
        "isIP(string) -> bool",
        "ip.isCanonical(string) -> bool",
        "net.IP~family() -> int",
        "net.IP~isUnspecified() -> bool",
        "net.IP~isLoopback() -> bool",
        "net.IP~isLinkLocalMulticast() -> bool",
        "net.IP~isLinkLocalUnicast() -> bool",
        "net.IP~isGlobalUnicast() -> bool",
        // library.CIDR
        "cidr(string) -> net.CIDR",
        "isCIDR(string) -> bool",
        "net.CIDR~containsIP(net.IP) -> bool",
        "net.CIDR~containsIP(string) -> bool",
        "net.CIDR~containsCIDR(net.CIDR) -> bool",
        "net.CIDR~containsCIDR(string) -> bool",
        "net.CIDR~ip() -> net.IP",
        "net.CIDR~masked() -> net.CIDR",
        "net.CIDR~prefixLength() -> int",
        // cel.OptionalTypes
        "optional.of(A) -> optional_type(A)",
        "optional.ofNonZeroValue(A) -> optional_type(A)",
        "optional.none() -> optional_type(A)",
        "optional_type(A)~hasValue() -> bool",
        "optional_type(A)~value() -> A",
        "optional_type(A)~orValue(A) -> A",
        "optional_type(A)~or(optional_type(A)) -> optional_type(A)",
    ] {
        add(sig);
    }
    // Ordering, with cross-type numeric comparisons (cel.CrossTypeNumericComparisons).
    for op in ["_<_", "_<=_", "_>_", "_>=_"] {
        for (a, b) in [
            (Ty::Bool, Ty::Bool),
            (Ty::Int, Ty::Int),
            (Ty::Uint, Ty::Uint),
            (Ty::Double, Ty::Double),
            (Ty::String, Ty::String),
            (Ty::Bytes, Ty::Bytes),
            (Ty::Int, Ty::Uint),
            (Ty::Int, Ty::Double),
            (Ty::Uint, Ty::Int),
            (Ty::Uint, Ty::Double),
            (Ty::Double, Ty::Int),
            (Ty::Double, Ty::Uint),
        ] {
            table.entry(op).or_default().push(Overload {
                member: false,
                params: vec![a, b],
                result: Ty::Bool,
            });
        }
    }
    table
}

static DECLARATIONS: LazyLock<HashMap<&'static str, Vec<Overload>>> = LazyLock::new(declarations);

/// Whether `name` (`size`, `ip.isCanonical`) is a declared function.
pub fn is_function(name: &str) -> bool {
    DECLARATIONS.contains_key(name)
}

/// Type names usable as identifiers (`type(x) == net.CIDR`).
fn type_ident(name: &str) -> Option<Ty> {
    let t = match name {
        "bool" => Ty::Bool,
        "int" => Ty::Int,
        "uint" => Ty::Uint,
        "double" => Ty::Double,
        "string" => Ty::String,
        "bytes" => Ty::Bytes,
        "null_type" => Ty::Null,
        "list" => Ty::list(Ty::Dyn),
        "map" => Ty::map(Ty::Dyn, Ty::Dyn),
        "type" => Ty::Type(Box::new(Ty::Dyn)),
        "dyn" => Ty::Dyn,
        "net.IP" => Ty::Opaque("net.IP"),
        "net.CIDR" => Ty::Opaque("net.CIDR"),
        _ => return None,
    };
    Some(Ty::Type(Box::new(t)))
}

/// `kubernetes.AdmissionRequest` (`BuildRequestType`).
pub fn request_type() -> Ty {
    let gvk = Ty::Object(Arc::new(ObjectType {
        name: "kubernetes.GroupVersionKind".into(),
        fields: vec![
            ("group".into(), Ty::String),
            ("version".into(), Ty::String),
            ("kind".into(), Ty::String),
        ],
    }));
    let gvr = Ty::Object(Arc::new(ObjectType {
        name: "kubernetes.GroupVersionResource".into(),
        fields: vec![
            ("group".into(), Ty::String),
            ("version".into(), Ty::String),
            ("resource".into(), Ty::String),
        ],
    }));
    let user = Ty::Object(Arc::new(ObjectType {
        name: "kubernetes.UserInfo".into(),
        fields: vec![
            ("username".into(), Ty::String),
            ("uid".into(), Ty::String),
            ("groups".into(), Ty::list(Ty::String)),
            ("extra".into(), Ty::map(Ty::String, Ty::list(Ty::String))),
        ],
    }));
    Ty::Object(Arc::new(ObjectType {
        name: "kubernetes.AdmissionRequest".into(),
        fields: vec![
            ("kind".into(), gvk.clone()),
            ("resource".into(), gvr.clone()),
            ("subResource".into(), Ty::String),
            ("requestKind".into(), gvk),
            ("requestResource".into(), gvr),
            ("requestSubResource".into(), Ty::String),
            ("name".into(), Ty::String),
            ("namespace".into(), Ty::String),
            ("operation".into(), Ty::String),
            ("userInfo".into(), user),
            ("dryRun".into(), Ty::Bool),
            ("options".into(), Ty::Dyn),
        ],
    }))
}

/// `kubernetes.Namespace` (`BuildNamespaceType`).
pub fn namespace_type() -> Ty {
    let obj = |name: &str, fields: Vec<(&str, Ty)>| {
        Ty::Object(Arc::new(ObjectType {
            name: name.into(),
            fields: fields.into_iter().map(|(n, t)| (n.to_owned(), t)).collect(),
        }))
    };
    let strings = || Ty::list(Ty::String);
    let condition = obj(
        "kubernetes.NamespaceCondition",
        vec![
            ("status", Ty::String),
            ("type", Ty::String),
            ("lastTransitionTime", Ty::Timestamp),
            ("message", Ty::String),
            ("reason", Ty::String),
        ],
    );
    obj(
        "kubernetes.Namespace",
        vec![
            (
                "metadata",
                obj(
                    "kubernetes.NamespaceMetadata",
                    vec![
                        ("name", Ty::String),
                        ("generateName", Ty::String),
                        ("namespace", Ty::String),
                        ("labels", Ty::map(Ty::String, Ty::String)),
                        ("annotations", Ty::map(Ty::String, Ty::String)),
                        ("UID", Ty::String),
                        ("creationTimestamp", Ty::Timestamp),
                        ("deletionGracePeriodSeconds", Ty::Int),
                        ("deletionTimestamp", Ty::Timestamp),
                        ("generation", Ty::Int),
                        ("resourceVersion", Ty::String),
                        ("finalizers", strings()),
                    ],
                ),
            ),
            (
                "spec",
                obj("kubernetes.NamespaceSpec", vec![("finalizers", strings())]),
            ),
            (
                "status",
                obj(
                    "kubernetes.NamespaceStatus",
                    vec![("conditions", Ty::list(condition)), ("phase", Ty::String)],
                ),
            ),
        ],
    )
}

/// The variables an expression is checked against.
#[derive(Clone, Debug)]
pub struct Declarations {
    vars: Vec<(String, Ty)>,
}

impl Declarations {
    /// `object`, `oldObject`, `request`, `namespaceObject`, and `params` when the policy
    /// has a `paramKind`.
    pub fn admission(has_params: bool) -> Self {
        let mut vars = vec![
            ("object".to_owned(), Ty::Dyn),
            ("oldObject".to_owned(), Ty::Dyn),
            ("request".to_owned(), request_type()),
            ("namespaceObject".to_owned(), namespace_type()),
        ];
        if has_params {
            vars.push(("params".to_owned(), Ty::Dyn));
        }
        Declarations { vars }
    }

    /// Adds `variables`, typed `kubernetes.variables` with the given fields.
    pub fn with_variables(mut self, fields: Vec<(String, Ty)>) -> Self {
        self.vars.push((
            "variables".to_owned(),
            Ty::Object(Arc::new(ObjectType {
                name: "kubernetes.variables".into(),
                fields,
            })),
        ));
        self
    }

    fn lookup(&self, name: &str) -> Option<&Ty> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// A checker error: where (an AST node id) and what.
#[derive(Debug)]
pub struct CheckError {
    pub id: u64,
    pub message: String,
}

struct Checker<'d> {
    decls: &'d Declarations,
    scopes: Vec<(String, Ty)>,
    subst: HashMap<u32, Ty>,
    next_var: u32,
    errors: Vec<CheckError>,
    types: HashMap<u64, Ty>,
}

/// Checks `expr` against `decls`; returns its output type, or the errors.
pub fn check(expr: &IdedExpr, decls: &Declarations) -> Result<Ty, Vec<CheckError>> {
    let mut c = Checker {
        decls,
        scopes: Vec::new(),
        subst: HashMap::new(),
        next_var: 0,
        errors: Vec::new(),
        types: HashMap::new(),
    };
    let t = c.check(expr);
    if c.errors.is_empty() {
        c.validate(expr, false);
    }
    if c.errors.is_empty() {
        Ok(c.resolve_deep(&t))
    } else {
        Err(c.errors)
    }
}

/// cel-go's `IsEquivalentType`: same kind and equivalent parameters.
fn equivalent(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::List(x), Ty::List(y)) | (Ty::Optional(x), Ty::Optional(y)) => equivalent(x, y),
        (Ty::Map(k1, v1), Ty::Map(k2, v2)) => equivalent(k1, k2) && equivalent(v1, v2),
        (Ty::Type(_), Ty::Type(_)) => true,
        (Ty::Object(x), Ty::Object(y)) => x.name == y.name,
        (Ty::Var(_) | Ty::Param(_) | Ty::Dyn, Ty::Var(_) | Ty::Param(_) | Ty::Dyn) => true,
        _ => a == b,
    }
}

fn qualified_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Ident(n) => Some(n.clone()),
        Expr::Select(s) if !s.test => {
            qualified_name(&s.operand.expr).map(|p| format!("{p}.{}", s.field))
        }
        _ => None,
    }
}

impl Checker<'_> {
    fn error(&mut self, id: u64, message: String) {
        self.errors.push(CheckError { id, message });
    }

    fn fresh(&mut self) -> Ty {
        self.next_var += 1;
        Ty::Var(self.next_var)
    }

    fn lookup_ident(&self, name: &str) -> Option<Ty> {
        if let Some((_, t)) = self.scopes.iter().rev().find(|(n, _)| n == name) {
            return Some(t.clone());
        }
        if let Some(t) = self.decls.lookup(name) {
            return Some(t.clone());
        }
        type_ident(name)
    }

    /// Follows variable bindings at the top level.
    fn resolve(&self, t: &Ty) -> Ty {
        let mut t = t.clone();
        while let Ty::Var(v) = t {
            match self.subst.get(&v) {
                Some(b) => t = b.clone(),
                None => break,
            }
        }
        t
    }

    /// Substitutes bound variables everywhere.
    fn resolve_deep(&self, t: &Ty) -> Ty {
        match self.resolve(t) {
            Ty::List(e) => Ty::list(self.resolve_deep(&e)),
            Ty::Map(k, v) => Ty::map(self.resolve_deep(&k), self.resolve_deep(&v)),
            Ty::Optional(e) => Ty::optional(self.resolve_deep(&e)),
            Ty::Type(e) => Ty::Type(Box::new(self.resolve_deep(&e))),
            other => other,
        }
    }

    fn occurs(&self, v: u32, t: &Ty) -> bool {
        match self.resolve(t) {
            Ty::Var(w) => w == v,
            Ty::List(e) | Ty::Optional(e) | Ty::Type(e) => self.occurs(v, &e),
            Ty::Map(k, x) => self.occurs(v, &k) || self.occurs(v, &x),
            _ => false,
        }
    }

    /// cel-go's `isAssignable(actual, declared)`, binding type variables on the way.
    fn assignable(&mut self, a: &Ty, b: &Ty) -> bool {
        let (a, b) = (self.resolve(a), self.resolve(b));
        if let Ty::Var(v) = b {
            if a == Ty::Var(v) {
                return true;
            }
            if self.occurs(v, &a) {
                return false;
            }
            self.subst.insert(v, a);
            return true;
        }
        if let Ty::Var(v) = a {
            if self.occurs(v, &b) {
                return false;
            }
            self.subst.insert(v, b);
            return true;
        }
        match (&a, &b) {
            (Ty::Dyn | Ty::Error, _) | (_, Ty::Dyn | Ty::Error) => true,
            (Ty::Null, other) | (other, Ty::Null) => matches!(
                other,
                Ty::Null
                    | Ty::Object(_)
                    | Ty::Optional(_)
                    | Ty::Timestamp
                    | Ty::Duration
                    | Ty::Opaque(_)
            ),
            (Ty::List(x), Ty::List(y)) | (Ty::Optional(x), Ty::Optional(y)) => {
                self.assignable(x, y)
            }
            (Ty::Map(k1, v1), Ty::Map(k2, v2)) => {
                self.assignable(k1, k2) && self.assignable(v1, v2)
            }
            (Ty::Type(_), Ty::Type(_)) => true,
            (Ty::Opaque(x), Ty::Opaque(y)) => x == y,
            (Ty::Object(x), Ty::Object(y)) => x.name == y.name,
            _ => a == b,
        }
    }

    fn instantiate(&mut self, t: &Ty, params: &mut Vec<(&'static str, Ty)>) -> Ty {
        match t {
            Ty::Param(p) => {
                if let Some((_, v)) = params.iter().find(|(n, _)| n == p) {
                    return v.clone();
                }
                let v = self.fresh();
                params.push((p, v.clone()));
                v
            }
            Ty::List(e) => Ty::list(self.instantiate(e, params)),
            Ty::Map(k, v) => {
                let k = self.instantiate(k, params);
                Ty::map(k, self.instantiate(v, params))
            }
            Ty::Optional(e) => Ty::optional(self.instantiate(e, params)),
            Ty::Type(e) => Ty::Type(Box::new(self.instantiate(e, params))),
            other => other.clone(),
        }
    }

    /// cel-go's `resolveOverload`: every overload whose parameters accept the argument
    /// types contributes; several with different results make the result `dyn`.
    fn resolve_overload(&mut self, id: u64, name: &str, member: bool, args: &[Ty]) -> Ty {
        let Some(overloads) = DECLARATIONS.get(name) else {
            self.error(
                id,
                format!("undeclared reference to '{name}' (in container '')"),
            );
            return Ty::Error;
        };
        let mut result: Option<Ty> = None;
        for o in overloads.iter().filter(|o| o.member == member) {
            if o.params.len() != args.len() {
                continue;
            }
            let saved = (self.subst.clone(), self.next_var);
            let mut params = Vec::new();
            let decl: Vec<Ty> = o
                .params
                .iter()
                .map(|p| self.instantiate(p, &mut params))
                .collect();
            let res = self.instantiate(&o.result, &mut params);
            if args.iter().zip(&decl).all(|(a, d)| self.assignable(a, d)) {
                let res = self.resolve_deep(&res);
                result = Some(match result {
                    None => res,
                    Some(prev) if prev == Ty::Dyn || prev != res => Ty::Dyn,
                    Some(prev) => prev,
                });
            } else {
                (self.subst, self.next_var) = saved;
            }
        }
        match result {
            Some(t) => t,
            None => {
                let shown: Vec<String> = args
                    .iter()
                    .map(|a| self.resolve_deep(a).to_string())
                    .collect();
                let sig = if member {
                    format!("{}.({})", shown[0], shown[1..].join(", "))
                } else {
                    format!("({})", shown.join(", "))
                };
                self.error(
                    id,
                    format!("found no matching overload for '{name}' applied to '{sig}'"),
                );
                Ty::Error
            }
        }
    }

    fn select_field(&mut self, id: u64, operand: &Ty, field: &str) -> Ty {
        match self.resolve(operand) {
            Ty::Dyn | Ty::Error | Ty::Var(_) => Ty::Dyn,
            Ty::Map(_, v) => *v,
            Ty::Object(o) => match o.field(field) {
                Some(t) => t.clone(),
                None => {
                    self.error(id, format!("undefined field '{field}'"));
                    Ty::Error
                }
            },
            other => {
                let shown = self.resolve_deep(&other);
                self.error(
                    id,
                    format!("type '{shown}' does not support field selection"),
                );
                Ty::Error
            }
        }
    }

    fn join(&mut self, prev: Option<Ty>, next: Ty) -> Ty {
        match prev {
            None => next,
            Some(p) => {
                let saved = (self.subst.clone(), self.next_var);
                if self.assignable(&p, &next) {
                    p
                } else {
                    (self.subst, self.next_var) = saved;
                    Ty::Dyn
                }
            }
        }
    }

    fn check(&mut self, e: &IdedExpr) -> Ty {
        // The tree's depth is bounded by the parse limits; more stack if the thread has
        // little left.
        let t = stacker::maybe_grow(
            crate::limits::STACK_RED_ZONE,
            crate::limits::STACK_GROWTH,
            || self.check_kind(e),
        );
        self.types.insert(e.id, t.clone());
        t
    }

    fn type_of(&self, id: u64) -> Ty {
        self.types
            .get(&id)
            .map_or(Ty::Dyn, |t| self.resolve_deep(t))
    }

    /// The AST validators of the 1.29 base environment: homogeneous aggregate literals
    /// (`expected type 'int' but found 'string'`; the arguments of `format` exempted)
    /// and regex literals (`invalid matches argument`).
    fn validate(&mut self, e: &IdedExpr, exempt: bool) {
        stacker::maybe_grow(
            crate::limits::STACK_RED_ZONE,
            crate::limits::STACK_GROWTH,
            || self.validate_node(e, exempt),
        )
    }

    fn validate_node(&mut self, e: &IdedExpr, exempt: bool) {
        match &e.expr {
            Expr::List(l) => {
                if !exempt {
                    let mut first: Option<Ty> = None;
                    for (i, el) in l.elements.iter().enumerate() {
                        let mut t = self.type_of(el.id);
                        if l.optional_indices.contains(&i) {
                            if let Ty::Optional(inner) = t {
                                t = *inner;
                            }
                        }
                        match &first {
                            None => first = Some(t),
                            Some(f) if !equivalent(f, &t) => {
                                let msg = format!("expected type '{f}' but found '{t}'");
                                self.error(el.id, msg);
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                for el in &l.elements {
                    self.validate(el, exempt);
                }
            }
            Expr::Map(m) => {
                let (mut kt, mut vt): (Option<Ty>, Option<Ty>) = (None, None);
                let mut reported = false;
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        if !exempt && !reported {
                            let k = self.type_of(me.key.id);
                            let mut v = self.type_of(me.value.id);
                            if me.optional {
                                if let Ty::Optional(inner) = v {
                                    v = *inner;
                                }
                            }
                            for (slot, t, id) in
                                [(&mut kt, k, me.key.id), (&mut vt, v, me.value.id)]
                            {
                                match slot {
                                    None => *slot = Some(t),
                                    Some(f) if !reported && !equivalent(f, &t) => {
                                        let msg = format!("expected type '{f}' but found '{t}'");
                                        self.error(id, msg);
                                        reported = true;
                                    }
                                    Some(_) => {}
                                }
                            }
                        }
                        self.validate(&me.key, exempt);
                        self.validate(&me.value, exempt);
                    }
                }
            }
            Expr::Call(c) => {
                if c.func_name == "matches" && c.target.is_none() && c.args.len() > 1 {
                    if let Expr::Literal(LiteralValue::String(re)) = &c.args[1].expr {
                        if regex::Regex::new(re.inner()).is_err() {
                            self.error(c.args[1].id, "invalid matches argument".to_owned());
                        }
                    }
                }
                let exempt_args = exempt || c.func_name == "format";
                if let Some(t) = &c.target {
                    self.validate(t, exempt);
                }
                for a in &c.args {
                    self.validate(a, exempt_args);
                }
            }
            Expr::Select(s) => self.validate(&s.operand, exempt),
            Expr::Comprehension(c) => {
                for x in [
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ] {
                    self.validate(x, exempt);
                }
            }
            _ => {}
        }
    }

    fn check_kind(&mut self, e: &IdedExpr) -> Ty {
        match &e.expr {
            Expr::Literal(l) => match l {
                LiteralValue::Boolean(_) => Ty::Bool,
                LiteralValue::Bytes(_) => Ty::Bytes,
                LiteralValue::Double(_) => Ty::Double,
                LiteralValue::Int(_) => Ty::Int,
                LiteralValue::Null => Ty::Null,
                LiteralValue::String(_) => Ty::String,
                LiteralValue::UInt(_) => Ty::Uint,
            },
            Expr::Ident(name) => match self.lookup_ident(name) {
                Some(t) => t,
                None => {
                    self.error(
                        e.id,
                        format!("undeclared reference to '{name}' (in container '')"),
                    );
                    Ty::Error
                }
            },
            Expr::Select(s) => {
                if !s.test {
                    if let Some(q) = qualified_name(&e.expr) {
                        let local = q.split('.').next().unwrap_or_default();
                        let shadowed = self.scopes.iter().any(|(n, _)| n == local)
                            || self.decls.lookup(local).is_some();
                        if !shadowed {
                            if let Some(t) = type_ident(&q) {
                                return t;
                            }
                        }
                    }
                }
                let operand = self.check(&s.operand);
                let t = self.select_field(e.id, &operand, &s.field);
                if s.test {
                    Ty::Bool
                } else {
                    t
                }
            }
            Expr::Call(call) => self.check_call(e.id, call),
            Expr::List(list) => {
                let mut elem = None;
                for (i, el) in list.elements.iter().enumerate() {
                    let mut t = self.check(el);
                    if list.optional_indices.contains(&i) {
                        t = match self.resolve(&t) {
                            Ty::Optional(inner) => *inner,
                            other => other,
                        };
                    }
                    elem = Some(self.join(elem, t));
                }
                let elem = match elem {
                    Some(t) => t,
                    None => self.fresh(),
                };
                Ty::list(elem)
            }
            Expr::Map(m) => {
                let (mut kt, mut vt) = (None, None);
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        let k = self.check(&me.key);
                        let mut v = self.check(&me.value);
                        if me.optional {
                            v = match self.resolve(&v) {
                                Ty::Optional(inner) => *inner,
                                other => other,
                            };
                        }
                        kt = Some(self.join(kt, k));
                        vt = Some(self.join(vt, v));
                    }
                }
                let k = kt.unwrap_or_else(|| self.fresh());
                let v = vt.unwrap_or_else(|| self.fresh());
                Ty::map(k, v)
            }
            Expr::Comprehension(comp) => {
                let range = self.check(&comp.iter_range);
                let accu = self.check(&comp.accu_init);
                let range = self.resolve_deep(&range);
                let (var1, var2) = match &range {
                    Ty::List(el) => (Ty::Int, (**el).clone()),
                    Ty::Map(k, v) => ((**k).clone(), (**v).clone()),
                    Ty::Dyn | Ty::Error | Ty::Var(_) => (Ty::Dyn, Ty::Dyn),
                    other => {
                        self.error(
                            comp.iter_range.id,
                            format!(
                                "expression of type '{other}' cannot be range of a \
                                 comprehension (must be list, map, or dynamic)"
                            ),
                        );
                        (Ty::Error, Ty::Error)
                    }
                };
                let depth = self.scopes.len();
                self.scopes.push((comp.accu_var.clone(), accu.clone()));
                match &comp.iter_var2 {
                    Some(v2) => {
                        self.scopes.push((comp.iter_var.clone(), var1));
                        self.scopes.push((v2.clone(), var2));
                    }
                    None => {
                        let single = if matches!(range, Ty::List(_)) {
                            var2
                        } else {
                            var1
                        };
                        self.scopes.push((comp.iter_var.clone(), single));
                    }
                }
                let cond = self.check(&comp.loop_cond);
                self.expect(comp.loop_cond.id, &cond, &Ty::Bool);
                let step = self.check(&comp.loop_step);
                self.expect(comp.loop_step.id, &step, &accu);
                self.scopes.truncate(depth + 1);
                let result = self.check(&comp.result);
                self.scopes.truncate(depth);
                self.resolve_deep(&result)
            }
            Expr::Struct(s) => {
                self.error(
                    e.id,
                    format!(
                        "undeclared reference to '{}' (in container '')",
                        s.type_name
                    ),
                );
                Ty::Error
            }
            Expr::Unspecified => Ty::Error,
        }
    }

    fn expect(&mut self, id: u64, got: &Ty, want: &Ty) {
        if !self.assignable(got, want) {
            let (w, g) = (self.resolve_deep(want), self.resolve_deep(got));
            self.error(id, format!("expected type '{w}' but found '{g}'"));
        }
    }

    fn check_call(&mut self, id: u64, call: &cel::common::ast::CallExpr) -> Ty {
        let name = call.func_name.as_str();
        if name == operators::OPT_SELECT && call.args.len() == 2 {
            let operand = self.check(&call.args[0]);
            let field = match &call.args[1].expr {
                Expr::Literal(LiteralValue::String(s)) => s.inner().to_owned(),
                _ => String::new(),
            };
            let inner = match self.resolve(&operand) {
                Ty::Optional(t) => *t,
                other => other,
            };
            let t = self.select_field(id, &inner, &field);
            return Ty::optional(t);
        }
        if let Some(target) = &call.target {
            if let Some(q) = qualified_name(&target.expr) {
                let full = format!("{q}.{name}");
                let local = q.split('.').next().unwrap_or_default();
                let is_var = self.scopes.iter().any(|(n, _)| n == local)
                    || self.decls.lookup(local).is_some();
                if DECLARATIONS.contains_key(full.as_str()) && !is_var {
                    let args: Vec<Ty> = call.args.iter().map(|a| self.check(a)).collect();
                    return self.resolve_overload(id, &full, false, &args);
                }
            }
            let mut args = vec![self.check(target)];
            args.extend(call.args.iter().map(|a| self.check(a)));
            return self.resolve_overload(id, name, true, &args);
        }
        let args: Vec<Ty> = call.args.iter().map(|a| self.check(a)).collect();
        self.resolve_overload(id, name, false, &args)
    }
}
