//! The evaluator: walks a checked expression as cel-go's interpreter does, charging each
//! step its actual cost (`interpreter/runtimecost.go`) against the expression's limit,
//! and cancelling the evaluation once the limit is passed.
//!
//! The `cel` crate's own evaluator recurses over the whole tree with nowhere to count
//! cost or stop a comprehension, so the tree is walked here: identifiers, field access
//! and indexing (borrowing into the bound objects, never copying them), `&&`, `||`,
//! `?:`, list and map literals and comprehensions. Every other call is handed to the
//! crate one node at a time, with its evaluated arguments bound as `@0`, `@1`, ...
//! ([`Program`] prepares those one-node expressions once), so the functions, operators
//! and their errors are the crate's and the library's.
//!
//! Costs: an identifier or selection 1 (a presence test 0), a literal 0, indexing 1, a
//! list literal 10 and a map literal 30 (0 when every element is a constant, as cel-go
//! folds them), `&&`, `||`, `?:` and comprehensions nothing of their own, and a call its
//! [`crate::cost::call`] cost. The walk recurses once per level of the tree, whose depth
//! the parse limits bound; `stacker` gives it more stack where the thread has little.

use std::cell::Cell;
use std::collections::HashMap;

use cel::common::ast::{operators, CallExpr, EntryExpr, Expr, LiteralValue, SelectExpr};
use cel::common::types::{
    CelBool, CelBytes, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelOptional,
    CelString, CelType, CelUInt,
};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, ExecutionError, IdedExpr, Value};

use crate::limits::COST_LIMIT_EXCEEDED;
use crate::value::AbsentNull;
use crate::ENV;

/// The variables an expression reads besides its comprehensions' own.
pub trait Scope<'a>: Sync {
    /// The value bound to `name`, if it is one of the scope's.
    fn resolve<'s>(&'s self, name: &str) -> Option<&'s (dyn Val + 'a)>;
}

/// The cost spent so far by one expression, and its limit.
#[derive(Debug)]
pub struct Tracker {
    cost: Cell<u64>,
    limit: u64,
    cancelled: Cell<bool>,
}

impl Tracker {
    pub fn new(limit: u64) -> Tracker {
        Tracker {
            cost: Cell::new(0),
            limit,
            cancelled: Cell::new(false),
        }
    }

    /// The actual cost so far (past the limit when cancelled, as cel-go reports it).
    pub fn cost(&self) -> u64 {
        self.cost.get()
    }

    /// Whether the limit was passed.
    pub fn cancelled(&self) -> bool {
        self.cancelled.get()
    }

    fn charge(&self, n: u64) -> Result<(), ExecutionError> {
        let c = self.cost.get().saturating_add(n);
        self.cost.set(c);
        if c > self.limit {
            self.cancelled.set(true);
            return Err(cancelled());
        }
        Ok(())
    }

    /// Cancels the evaluation as an exhausted limit does.
    fn cancel(&self) -> ExecutionError {
        self.cancelled.set(true);
        cancelled()
    }

    fn check(&self) -> Result<(), ExecutionError> {
        if self.cancelled.get() {
            return Err(cancelled());
        }
        Ok(())
    }
}

/// cel-go's `EvalCancelledError` for an exhausted cost limit.
pub fn cancelled() -> ExecutionError {
    ExecutionError::function_error("@cost", COST_LIMIT_EXCEEDED)
}

/// Whether `e` is the cancellation [`cancelled`] makes.
pub fn is_cancelled(e: &ExecutionError) -> bool {
    matches!(e, ExecutionError::FunctionError { function, message }
        if function == "@cost" && message == COST_LIMIT_EXCEEDED)
}

/// A checked expression ready to evaluate: the tree and the one-node expressions its
/// calls are handed to the crate as.
#[derive(Debug)]
pub struct Program {
    pub(crate) expr: IdedExpr,
    /// Call or presence-test id -> (one-node expression, cost name, receiver call).
    calls: HashMap<u64, Delegate>,
}

#[derive(Debug)]
struct Delegate {
    expr: IdedExpr,
    /// The function as the cost table names it (`ip.isCanonical`, `containsCIDR`).
    name: String,
    /// A call on a receiver (the receiver is evaluated, and is the first argument).
    member: bool,
}

fn temp(i: usize) -> IdedExpr {
    IdedExpr {
        id: 0,
        expr: Expr::Ident(format!("@{i}")),
    }
}

impl Program {
    /// Prepares `expr`. `is_function(q)` tells whether a qualified name such as
    /// `ip.isCanonical` names a function (then `ip` is not evaluated).
    pub fn new(expr: IdedExpr, is_function: &dyn Fn(&str) -> bool) -> Program {
        let mut calls = HashMap::new();
        let mut scopes: Vec<String> = Vec::new();
        prepare(&expr, is_function, &mut scopes, &mut calls);
        Program { expr, calls }
    }
}

fn prepare(
    e: &IdedExpr,
    is_function: &dyn Fn(&str) -> bool,
    scopes: &mut Vec<String>,
    calls: &mut HashMap<u64, Delegate>,
) {
    stacker::maybe_grow(
        crate::limits::STACK_RED_ZONE,
        crate::limits::STACK_GROWTH,
        || match &e.expr {
            Expr::Call(c) => {
                if !structural(&c.func_name, c.args.len()) {
                    calls.insert(e.id, delegate(c, is_function, scopes));
                }
                if let Some(t) = &c.target {
                    prepare(t, is_function, scopes, calls);
                }
                for a in &c.args {
                    prepare(a, is_function, scopes, calls);
                }
            }
            Expr::Select(s) if s.test => {
                calls.insert(
                    e.id,
                    Delegate {
                        expr: IdedExpr {
                            id: e.id,
                            expr: Expr::Select(SelectExpr {
                                operand: Box::new(temp(0)),
                                field: s.field.clone(),
                                test: true,
                            }),
                        },
                        name: String::new(),
                        member: false,
                    },
                );
                prepare(&s.operand, is_function, scopes, calls);
            }
            Expr::List(l) => l
                .elements
                .iter()
                .for_each(|x| prepare(x, is_function, scopes, calls)),
            Expr::Map(m) => {
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        prepare(&me.key, is_function, scopes, calls);
                        prepare(&me.value, is_function, scopes, calls);
                    }
                }
            }
            Expr::Comprehension(c) => {
                prepare(&c.iter_range, is_function, scopes, calls);
                prepare(&c.accu_init, is_function, scopes, calls);
                let depth = scopes.len();
                scopes.push(c.accu_var.clone());
                scopes.push(c.iter_var.clone());
                for x in [&c.loop_cond, &c.loop_step, &c.result] {
                    prepare(x, is_function, scopes, calls);
                }
                scopes.truncate(depth);
            }
            _ => {}
        },
    )
}

/// The calls evaluated here rather than by the crate.
fn structural(name: &str, args: usize) -> bool {
    matches!(
        (name, args),
        (operators::LOGICAL_AND | operators::LOGICAL_OR, 2)
            | (operators::CONDITIONAL, 3)
            | (operators::NOT_STRICTLY_FALSE, 1)
            | (
                operators::INDEX | operators::OPT_INDEX | operators::OPT_SELECT,
                2
            )
    )
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

fn delegate(c: &CallExpr, is_function: &dyn Fn(&str) -> bool, scopes: &[String]) -> Delegate {
    let n = c.args.len();
    if let Some(t) = &c.target {
        if let Some(q) = qualified_name(&t.expr) {
            let full = format!("{q}.{}", c.func_name);
            let root = q.split('.').next().unwrap_or_default();
            if is_function(&full) && !scopes.iter().any(|s| s == root) {
                return Delegate {
                    expr: IdedExpr {
                        id: 0,
                        expr: Expr::Call(CallExpr {
                            func_name: c.func_name.clone(),
                            target: Some(t.clone()),
                            args: (0..n).map(temp).collect(),
                        }),
                    },
                    name: full,
                    member: false,
                };
            }
        }
        return Delegate {
            expr: IdedExpr {
                id: 0,
                expr: Expr::Call(CallExpr {
                    func_name: c.func_name.clone(),
                    target: Some(Box::new(temp(0))),
                    args: (1..=n).map(temp).collect(),
                }),
            },
            name: c.func_name.clone(),
            member: true,
        };
    }
    Delegate {
        expr: IdedExpr {
            id: 0,
            expr: Expr::Call(CallExpr {
                func_name: c.func_name.clone(),
                target: None,
                args: (0..n).map(temp).collect(),
            }),
        },
        name: c.func_name.clone(),
        member: false,
    }
}

/// The evaluated arguments of one delegated call, bound as `@0`, `@1`, ...
struct Temps<'t>(&'t [&'t dyn Val]);

impl VariableResolver for Temps<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let i: usize = variable.strip_prefix('@')?.parse().ok()?;
        self.0.get(i).map(|v| CowVal::Borrowed(*v))
    }
}

/// Evaluates `node` alone with `args` bound, and copies the result out of the borrow.
fn run_delegate(node: &IdedExpr, args: &[&dyn Val]) -> Result<Box<dyn Val>, ExecutionError> {
    let temps = Temps(args);
    let mut ctx = Context::with_env(ENV.clone());
    ctx.set_variable_resolver(&temps);
    let v = Value::resolve_val(node, &ctx)?;
    to_static(v.as_ref()).ok_or_else(|| {
        ExecutionError::InternalError(format!("unsupported value {}", v.get_type().name()))
    })
}

/// A deep copy of a value that borrows nothing (`None` for a value of an unknown type).
pub fn to_static(v: &dyn Val) -> Option<Box<dyn Val + 'static>> {
    use crate::library::{CidrVal, IpVal};
    if let Some(s) = v.downcast_ref::<CelString>() {
        return Some(Box::new(CelString::from(s.inner().to_owned())));
    }
    if let Some(l) = v.downcast_ref::<CelList>() {
        let items: Option<Vec<Box<dyn Val + 'static>>> =
            l.inner().iter().map(|x| to_static(x.as_ref())).collect();
        return Some(Box::new(CelList::from(items?)));
    }
    if let Some(m) = v.downcast_ref::<CelMap>() {
        let mut out = HashMap::with_capacity(m.inner().len());
        for (k, x) in m.inner() {
            let key: CelMapKey<'static> = match k {
                CelMapKey::String(s) => CelMapKey::from(s.inner().to_owned()),
                CelMapKey::Int(i) => CelMapKey::from(*i.inner()),
                CelMapKey::UInt(u) => CelMapKey::from(*u.inner()),
                CelMapKey::Bool(b) => CelMapKey::from(*b.inner()),
            };
            out.insert(key, to_static(x.as_ref())?);
        }
        return Some(Box::new(CelMap::from(out)));
    }
    if let Some(o) = v.downcast_ref::<CelOptional>() {
        return Some(Box::new(match o.inner() {
            Some(x) => CelOptional::of(to_static(x)?),
            None => CelOptional::none(),
        }));
    }
    macro_rules! copy {
        ($($t:ty),*) => {$(
            if let Some(x) = v.downcast_ref::<$t>() {
                return Some(Box::new(x.clone()));
            }
        )*};
    }
    copy!(CelBool, CelInt, CelUInt, CelDouble, IpVal, CidrVal, CelType);
    if let Some(b) = v.downcast_ref::<CelBytes>() {
        return Some(Box::new(CelBytes::from(b.inner().to_vec())));
    }
    if v.downcast_ref::<AbsentNull>().is_some() {
        return Some(Box::new(AbsentNull));
    }
    if v.downcast_ref::<CelNull>().is_some() {
        return Some(Box::new(CelNull));
    }
    let value = Value::try_from(v).ok()?;
    Box::<dyn Val>::try_from(value).ok()
}

/// A comprehension variable in scope.
struct Local<'e, 'a> {
    name: &'e str,
    value: &'e (dyn Val + 'a),
    next: Option<&'e Local<'e, 'a>>,
}

struct Env<'e, 'a> {
    program: &'e Program,
    scope: &'e dyn Scope<'a>,
    tracker: &'e Tracker,
    locals: Option<&'e Local<'e, 'a>>,
}

type Res<'e, 'a> = Result<CowVal<'e, 'a>, ExecutionError>;

/// Evaluates `program` in `scope`, charging `tracker`. A cancelled evaluation fails
/// with [`cancelled`] whatever it would have returned.
pub fn run<'e, 'a>(
    program: &'e Program,
    scope: &'e dyn Scope<'a>,
    tracker: &'e Tracker,
) -> Res<'e, 'a> {
    let env = Env {
        program,
        scope,
        tracker,
        locals: None,
    };
    let out = eval(&program.expr, &env);
    if tracker.cancelled() {
        return Err(cancelled());
    }
    out
}

fn boolean(b: bool) -> CowVal<'static, 'static> {
    static TRUE: CelBool = CelBool::TRUE;
    static FALSE: CelBool = CelBool::FALSE;
    CowVal::Borrowed(if b { &TRUE } else { &FALSE })
}

fn try_bool(v: Res<'_, '_>) -> Result<bool, ExecutionError> {
    let v = v?;
    v.downcast_ref::<CelBool>()
        .map(|b| *b.inner())
        .ok_or_else(|| ExecutionError::UnexpectedType {
            got: v.get_type().name().to_owned(),
            want: "bool".to_owned(),
        })
}

fn boolean_operator_error(
    op: &str,
    left: Result<bool, ExecutionError>,
    right: &dyn Val,
) -> ExecutionError {
    let right_type = right.get_type().name().to_owned();
    match left {
        Err(ExecutionError::UnexpectedType { got, want }) if want == "bool" => {
            ExecutionError::no_such_overload(op, vec![got, right_type])
        }
        Err(error) => error,
        Ok(_) => ExecutionError::no_such_overload(op, vec!["bool".to_owned(), right_type]),
    }
}

/// Whether `e` is a literal, or a list or map literal of constants (cel-go builds those
/// once, at no cost per evaluation).
fn constant(e: &IdedExpr) -> bool {
    match &e.expr {
        Expr::Literal(_) => true,
        Expr::List(l) => l.optional_indices.is_empty() && l.elements.iter().all(constant),
        Expr::Map(m) => m.entries.iter().all(|entry| match &entry.expr {
            EntryExpr::MapEntry(me) => !me.optional && constant(&me.key) && constant(&me.value),
            EntryExpr::StructField(_) => false,
        }),
        _ => false,
    }
}

fn eval<'e, 'a>(e: &'e IdedExpr, env: &Env<'e, 'a>) -> Res<'e, 'a> {
    stacker::maybe_grow(
        crate::limits::STACK_RED_ZONE,
        crate::limits::STACK_GROWTH,
        || eval_node(e, env),
    )
}

fn eval_node<'e, 'a>(e: &'e IdedExpr, env: &Env<'e, 'a>) -> Res<'e, 'a> {
    match &e.expr {
        Expr::Literal(l) => Ok(literal(l)),
        Expr::Ident(name) => {
            let mut local = env.locals;
            while let Some(l) = local {
                if l.name == name {
                    env.tracker.charge(1)?;
                    return Ok(CowVal::Borrowed(l.value));
                }
                local = l.next;
            }
            if let Some(v) = env.scope.resolve(name) {
                env.tracker.charge(1)?;
                return Ok(CowVal::Borrowed(v));
            }
            // a type name (`int`, `net.IP`): a constant
            run_delegate(e, &[]).map(CowVal::Owned)
        }
        Expr::Select(s) if s.test => {
            let operand = eval(&s.operand, env)?;
            let d = &env.program.calls[&e.id];
            run_delegate(&d.expr, &[operand.as_ref()]).map(CowVal::Owned)
        }
        // what is left of selections after checking: qualified type names
        Expr::Select(s) => match run_delegate(e, &[]) {
            Ok(v) => Ok(CowVal::Owned(v)),
            Err(_) => {
                let operand = eval(&s.operand, env)?;
                env.tracker.charge(1)?;
                index_into(operand, &CelString::from(s.field.as_str()), "_._")
            }
        },
        Expr::Call(c) => call(e, c, env),
        Expr::List(l) => {
            if !constant(e) {
                env.tracker.charge(10)?;
            }
            let mut items: Vec<Box<dyn Val + 'a>> = Vec::with_capacity(l.elements.len());
            for (i, x) in l.elements.iter().enumerate() {
                let v = eval(x, env)?;
                if l.optional_indices.contains(&i) {
                    if let Some(v) = unwrap_optional(v)? {
                        items.push(v.into_owned());
                    }
                } else {
                    items.push(v.into_owned());
                }
            }
            Ok(CowVal::owned(CelList::from(items)))
        }
        Expr::Map(m) => {
            if !constant(e) {
                env.tracker.charge(30)?;
            }
            let mut map: HashMap<CelMapKey<'a>, Box<dyn Val + 'a>> =
                HashMap::with_capacity(m.entries.len());
            for entry in &m.entries {
                let EntryExpr::MapEntry(me) = &entry.expr else {
                    return Err(ExecutionError::InternalError(
                        "struct field in a map".into(),
                    ));
                };
                let key = eval(&me.key, env)?.into_owned();
                let key: CelMapKey<'a> = CowVal::Owned(key).try_into()?;
                let value = eval(&me.value, env)?;
                let value = if me.optional {
                    unwrap_optional(value)?
                } else {
                    Some(value)
                };
                if let Some(value) = value {
                    map.insert(key, value.into_owned());
                }
            }
            Ok(CowVal::owned(CelMap::from(map)))
        }
        Expr::Comprehension(c) => comprehension(c, env),
        Expr::Struct(s) => Err(ExecutionError::UnexpectedType {
            got: s.type_name.clone(),
            want: "known struct".to_owned(),
        }),
        Expr::Unspecified => Err(ExecutionError::InternalError(
            "unspecified expression".into(),
        )),
    }
}

fn literal(l: &LiteralValue) -> CowVal<'_, 'static> {
    l.to_val()
}

/// `Ok(None)` for an empty optional, the value of a full one, or the value itself.
fn unwrap_optional<'e, 'a>(v: CowVal<'e, 'a>) -> Result<Option<CowVal<'e, 'a>>, ExecutionError> {
    match v {
        CowVal::Borrowed(b) => match b.downcast_ref::<CelOptional>() {
            None => Ok(Some(CowVal::Borrowed(b))),
            Some(o) => Ok(o.inner().map(CowVal::Borrowed)),
        },
        CowVal::Owned(b) => match b.downcast_ref::<CelOptional>() {
            None => Ok(Some(CowVal::Owned(b))),
            Some(o) => Ok(o.inner().map(|x| CowVal::Owned(x.clone_as_boxed()))),
        },
    }
}

fn overload_error(function: &str, args: &[&dyn Val]) -> ExecutionError {
    ExecutionError::no_such_overload(
        function,
        args.iter()
            .map(|a| a.get_type().name().to_owned())
            .collect(),
    )
}

/// `value[idx]` as the crate indexes: a borrowed value yields a borrow into it.
fn index_into<'e, 'a>(value: CowVal<'e, 'a>, idx: &dyn Val, function: &str) -> Res<'e, 'a> {
    let context = |e: ExecutionError, v: &dyn Val| match e {
        ExecutionError::NoSuchOverload(_)
        | ExecutionError::ValuesNotComparable(_, _)
        | ExecutionError::UnsupportedKeyType(_)
        | ExecutionError::UnexpectedType { .. } => overload_error(function, &[v, idx]),
        e => e,
    };
    match value {
        CowVal::Borrowed(v) => {
            let indexer = v
                .as_indexer()
                .ok_or_else(|| overload_error(function, &[v, idx]))?;
            indexer.get(idx).map_err(|e| context(e, v))
        }
        CowVal::Owned(b) => {
            let indexer = b
                .as_indexer()
                .ok_or_else(|| overload_error(function, &[b.as_ref(), idx]))?;
            match indexer.get(idx) {
                Ok(v) => Ok(CowVal::Owned(v.into_owned())),
                Err(e) => Err(context(e, b.as_ref())),
            }
        }
    }
}

fn call<'e, 'a>(e: &'e IdedExpr, c: &'e CallExpr, env: &Env<'e, 'a>) -> Res<'e, 'a> {
    let t = env.tracker;
    match (c.func_name.as_str(), c.args.len()) {
        (operators::CONDITIONAL, 3) => {
            if try_bool(eval(&c.args[0], env))? {
                eval(&c.args[1], env)
            } else {
                eval(&c.args[2], env)
            }
        }
        (operators::LOGICAL_OR, 2) => {
            let left = try_bool(eval(&c.args[0], env));
            t.check()?;
            if matches!(left, Ok(true)) {
                return Ok(boolean(true));
            }
            let right_value = eval(&c.args[1], env)?;
            let right = right_value.downcast_ref::<CelBool>().map(|b| *b.inner());
            match (left, right) {
                (Ok(false), Some(right)) => Ok(boolean(right)),
                (Err(_), Some(true)) => Ok(boolean(true)),
                (left, _) => Err(boolean_operator_error(
                    &c.func_name,
                    left,
                    right_value.as_ref(),
                )),
            }
        }
        (operators::LOGICAL_AND, 2) => {
            let left = try_bool(eval(&c.args[0], env));
            t.check()?;
            if matches!(left, Ok(false)) {
                return Ok(boolean(false));
            }
            let right_value = eval(&c.args[1], env)?;
            let right = right_value.downcast_ref::<CelBool>().map(|b| *b.inner());
            match (left, right) {
                (Ok(true), Some(right)) => Ok(boolean(right)),
                (Err(_), Some(false)) => Ok(boolean(false)),
                (left, _) => Err(boolean_operator_error(
                    &c.func_name,
                    left,
                    right_value.as_ref(),
                )),
            }
        }
        (operators::NOT_STRICTLY_FALSE, 1) => {
            let v = try_bool(eval(&c.args[0], env));
            t.check()?;
            t.charge(1)?;
            Ok(boolean(v.unwrap_or(true)))
        }
        (operators::INDEX | operators::OPT_INDEX, 2) => {
            let mut optional = c.func_name == operators::OPT_INDEX;
            let value = eval(&c.args[0], env)?;
            let value = match value.downcast_ref::<CelOptional>() {
                None => value,
                Some(_) => match unwrap_optional(value)? {
                    Some(v) => {
                        optional = true;
                        v
                    }
                    None => {
                        t.charge(1)?;
                        return Ok(CowVal::owned(CelOptional::none()));
                    }
                },
            };
            let index = eval(&c.args[1], env)?;
            t.charge(1)?;
            let result = index_into(value, index.as_ref(), &c.func_name);
            if optional {
                Ok(CowVal::owned(match result {
                    Ok(v) => CelOptional::of(v.into_owned()),
                    Err(_) => CelOptional::none(),
                }))
            } else {
                result
            }
        }
        (operators::OPT_SELECT, 2) => {
            let operand = eval(&c.args[0], env)?;
            let field = eval(&c.args[1], env)?;
            t.charge(1)?;
            if field.downcast_ref::<CelString>().is_none() {
                return Err(ExecutionError::function_error(
                    "_?._",
                    "field must be string",
                ));
            }
            let Some(target) = unwrap_optional(operand)? else {
                return Ok(CowVal::owned(CelOptional::none()));
            };
            Ok(CowVal::owned(
                match index_into(target, field.as_ref(), "_?._") {
                    Ok(v) => CelOptional::of(v.into_owned()),
                    Err(_) => CelOptional::none(),
                },
            ))
        }
        _ => {
            let d = &env.program.calls[&e.id];
            let mut values: Vec<CowVal<'e, 'a>> = Vec::with_capacity(c.args.len() + 1);
            for a in &c.args {
                values.push(eval(a, env)?);
            }
            if d.member {
                let target = c.target.as_deref().expect("a receiver call has a target");
                values.insert(0, eval(target, env)?);
            }
            let args: Vec<&dyn Val> = values.iter().map(|v| v.as_ref() as &dyn Val).collect();
            if too_large(&d.name, &args) {
                return Err(t.cancel());
            }
            let result = run_delegate(&d.expr, &args)?;
            let mut cost = crate::cost::call(&d.name, d.member, &args, result.as_ref());
            if d.name == operators::IN && c.args.get(1).is_some_and(constant) {
                // cel-go turns `x in [constants]` into a set lookup
                cost = 0;
            }
            t.charge(cost)?;
            Ok(CowVal::Owned(result))
        }
    }
}

/// Whether a call would build a value larger than this process holds for one
/// expression. cel-go charges a list concatenation 1 whatever its length (it joins the
/// two lists lazily), and a replacement by the length of the receiver alone, so neither
/// is bounded by cost; the crate builds both in full. Such a call cancels the
/// evaluation as the cost limit does.
fn too_large(function: &str, args: &[&dyn Val]) -> bool {
    let len = |v: &dyn Val| {
        if let Some(s) = v.downcast_ref::<CelString>() {
            return s.inner().len() as u64;
        }
        v.as_sizer()
            .map_or(0, |s| u64::try_from(*s.size().inner()).unwrap_or(0))
    };
    match (function, args) {
        (operators::ADD, [a, b]) if a.get_type().name() == "list" => {
            len(*a) + len(*b) > MAX_ELEMENTS
        }
        ("replace", [s, old, new, ..]) => {
            let (s, old, new) = (len(*s), len(*old), len(*new));
            let replacements = s.checked_div(old).unwrap_or(s + 1);
            s.saturating_add(replacements.saturating_mul(new)) > MAX_STRING_BYTES
        }
        _ => false,
    }
}

/// The most elements a list built by `+` may have.
const MAX_ELEMENTS: u64 = 1 << 20;
/// The most bytes a string built by `replace` may have.
const MAX_STRING_BYTES: u64 = 64 << 20;

/// How a comprehension's loop step folds errors (cel-go's `evalAnd` / `evalOr`):
/// `error && false` is `false`, `error || true` is `true`.
#[derive(Clone, Copy)]
enum Fold {
    And,
    Or,
}

fn fold_of(c: &cel::common::ast::ComprehensionExpr) -> Option<Fold> {
    let Expr::Call(call) = &c.loop_step.expr else {
        return None;
    };
    let folds_accu = call.target.is_none()
        && matches!(call.args.first().map(|a| &a.expr), Some(Expr::Ident(n)) if *n == c.accu_var);
    match call.func_name.as_str() {
        operators::LOGICAL_AND if folds_accu => Some(Fold::And),
        operators::LOGICAL_OR if folds_accu => Some(Fold::Or),
        _ => None,
    }
}

/// The `[x]` of a `map` / `filter` loop step `@result + [x]` (optionally
/// `guard ? @result + [x] : @result`), with the guard.
fn append_step(c: &cel::common::ast::ComprehensionExpr) -> Option<(Option<&IdedExpr>, &IdedExpr)> {
    let accu = c.accu_var.as_str();
    let is_accu = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if n == accu);
    fn items_of<'x>(e: &'x IdedExpr, accu: &str) -> Option<&'x IdedExpr> {
        match &e.expr {
            Expr::Call(call) if call.func_name == operators::ADD && call.target.is_none() => {
                match call.args.as_slice() {
                    [lhs, rhs]
                        if matches!(&lhs.expr, Expr::Ident(n) if n == accu)
                            && matches!(rhs.expr, Expr::List(_)) =>
                    {
                        Some(rhs)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
    if !is_accu(&c.result) || !matches!(c.loop_cond.expr, Expr::Literal(_)) {
        return None;
    }
    match &c.loop_step.expr {
        Expr::Call(call) if call.func_name == operators::CONDITIONAL && call.target.is_none() => {
            match call.args.as_slice() {
                [guard, step, otherwise] if is_accu(otherwise) => {
                    Some((Some(guard), items_of(step, accu)?))
                }
                _ => None,
            }
        }
        _ => Some((None, items_of(&c.loop_step, accu)?)),
    }
}

fn comprehension<'e, 'a>(
    c: &'e cel::common::ast::ComprehensionExpr,
    env: &Env<'e, 'a>,
) -> Res<'e, 'a> {
    let t = env.tracker;
    let accu_init = eval(&c.accu_init, env)?;
    let iter = eval(&c.iter_range, env)?;
    let iterable = iter
        .as_iterable()
        .ok_or_else(|| ExecutionError::UnexpectedType {
            got: iter.get_type().name().to_owned(),
            want: "iterable".to_owned(),
        })?;
    let mut items = iterable.iter();

    if let Some((guard, list)) = append_step(c) {
        if accu_init
            .downcast_ref::<CelList>()
            .is_some_and(|l| l.inner().is_empty())
        {
            let mut accu: Vec<Box<dyn Val + 'a>> = Vec::new();
            while let Some(item) = items.next() {
                t.check()?;
                let local = Local {
                    name: &c.iter_var,
                    value: item,
                    next: env.locals,
                };
                let inner = Env {
                    program: env.program,
                    scope: env.scope,
                    tracker: t,
                    locals: Some(&local),
                };
                if !try_bool(eval(&c.loop_cond, &inner))? {
                    break;
                }
                if let Some(g) = guard {
                    if !try_bool(eval(g, &inner))? {
                        t.charge(1)?; // the `@result` of the other branch
                        continue;
                    }
                }
                // `@result` (1), the appended list, `_+_` (1)
                t.charge(1)?;
                let v = eval(list, &inner)?;
                t.charge(1)?;
                if let Some(l) = v.downcast_ref::<CelList>() {
                    accu.extend(l.inner().iter().map(|x| x.clone_as_boxed()));
                }
            }
            t.charge(1)?; // the result, `@result`
            return Ok(CowVal::owned(CelList::from(accu)));
        }
    }

    let fold = fold_of(c);
    let mut pending: Option<ExecutionError> = None;
    let mut accu: Box<dyn Val + 'a> = accu_init.into_owned();
    while let Some(item) = items.next() {
        t.check()?;
        let accu_local = Local {
            name: &c.accu_var,
            value: accu.as_ref(),
            next: env.locals,
        };
        let iter_local = Local {
            name: &c.iter_var,
            value: item,
            next: Some(&accu_local),
        };
        let inner = Env {
            program: env.program,
            scope: env.scope,
            tracker: t,
            locals: Some(&iter_local),
        };
        if !try_bool(eval(&c.loop_cond, &inner))? {
            break;
        }
        let step = eval(&c.loop_step, &inner);
        t.check()?;
        let next: Option<Box<dyn Val + 'a>> = match (step, fold) {
            (Err(err), Some(_)) => {
                pending = Some(err);
                None
            }
            (Err(err), None) => return Err(err),
            (Ok(v), Some(f)) if pending.is_some() => {
                let absorbing = matches!(f, Fold::Or);
                if v.downcast_ref::<CelBool>()
                    .is_some_and(|b| *b.inner() == absorbing)
                {
                    pending = None;
                    Some(v.into_owned())
                } else {
                    None
                }
            }
            (Ok(v), _) => {
                pending = None;
                Some(v.into_owned())
            }
        };
        if let Some(n) = next {
            accu = n;
        }
    }
    if let Some(err) = pending {
        return Err(err);
    }
    let accu_local = Local {
        name: &c.accu_var,
        value: accu.as_ref(),
        next: env.locals,
    };
    let inner = Env {
        program: env.program,
        scope: env.scope,
        tracker: t,
        locals: Some(&accu_local),
    };
    let out = eval(&c.result, &inner)?.into_owned();
    Ok(CowVal::Owned(out))
}
