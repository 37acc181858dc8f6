//! A ValidatingAdmissionPolicy compiled once and evaluated many times, as
//! `plugin/policy/validating` does it: match conditions, lazily composited variables,
//! validations with their messages and reasons, and audit annotations, under the
//! policy's failure policy.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use cel::common::traits::Indexer;
use cel::common::types::{CelBool, CelMap, CelMapKey, CelString, Kind, Type, MAP_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{ExecutionError, IdedExpr};

use crate::checker::{self, Declarations, Ty};
use crate::errors::{self, runtime_message, Issue};
use crate::eval::{self, Tracker};
use crate::library::error;
use crate::limits::{STACK_GROWTH, STACK_RED_ZONE};
use crate::value::ABSENT;
use crate::{limits, syntax, ENV};

/// What an expression must evaluate to (`ExpressionAccessor.ReturnTypes`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Returns {
    Bool,
    String,
    StringOrNull,
    Any,
}

/// A parsed and type-checked expression.
#[derive(Debug)]
pub struct Program {
    program: eval::Program,
    output: Ty,
}

impl Program {
    /// The output type the checker found.
    pub fn output(&self) -> &Ty {
        &self.output
    }

    fn expr(&self) -> &IdedExpr {
        &self.program.expr
    }
}

/// `compilation failed: ERROR: <input>:-1:0: <message>`: an issue with no position, as
/// cel-go reports its parser's limits.
fn unpositioned(message: &str) -> String {
    format!("compilation failed: ERROR: <input>:-1:0: {message}")
}

/// The depth of the tree, walked without recursion.
fn tree_depth(e: &IdedExpr) -> usize {
    let mut max = 0;
    let mut stack = vec![(e, 1usize)];
    while let Some((e, d)) = stack.pop() {
        max = max.max(d);
        for_each_child(e, |c| stack.push((c, d + 1)));
    }
    max
}

/// Compiles `source` against `decls`, as `CompileCELExpression` does: a parse or check
/// failure reads `compilation failed: ERROR: <input>:...`; a wrong output type reads
/// `must evaluate to bool`. cel-go's parse limits (size, nesting) are checked first
/// ([`crate::syntax`]), so that what reaches the crate's recursive parser is bounded.
pub fn compile(source: &str, decls: &Declarations, returns: Returns) -> Result<Program, String> {
    if let Err(refusal) = syntax::check(source) {
        return Err(unpositioned(&refusal.message()));
    }
    let parser = ENV
        .parser()
        .max_recursion_depth(limits::MAX_RECURSION_DEPTH as u16);
    // Within the limits the parse nests a few hundred rules deep; an input that is not
    // CEL was not measured, so it gets a stack its worst case cannot exhaust (the size
    // limit bounds it), reserved but only touched as deep as the parse goes.
    let parsed = stacker::grow(512 * 1024 * 1024, || parser.parse_with_source_info(source));
    let (expr, info) = match parsed {
        Ok(parsed) => parsed,
        Err(errs) => {
            let issues: Vec<Issue> = errs
                .errors
                .iter()
                .map(|e| Issue {
                    line: e.pos.0.max(1) as usize,
                    column: (e.pos.1 - 1).max(0) as usize,
                    message: e.msg.clone(),
                })
                .collect();
            return Err(format!(
                "compilation failed: {}",
                errors::display(source, &issues)
            ));
        }
    };
    if tree_depth(&expr) > limits::MAX_TREE_DEPTH {
        // Not reachable within cel-go's limits; kept so that no tree deeper than the
        // walks below were sized for is ever walked.
        return Err(unpositioned("max recursion depth exceeded"));
    }
    let output = match checker::check(&expr, decls) {
        Ok(t) => t,
        Err(errs) => {
            let issues: Vec<Issue> = errs
                .into_iter()
                .map(|e| {
                    let offset = info.offset_for(e.id).map_or(0, |(s, _)| s as usize);
                    let (line, column) = errors::position(source, offset);
                    Issue {
                        line,
                        column,
                        message: e.message,
                    }
                })
                .collect();
            return Err(format!(
                "compilation failed: {}",
                errors::display(source, &issues)
            ));
        }
    };
    let ok = match returns {
        Returns::Bool => output == Ty::Bool,
        Returns::String => output == Ty::String,
        Returns::StringOrNull => output == Ty::String || output == Ty::Null,
        Returns::Any => true,
    };
    if !ok {
        return Err(match returns {
            Returns::Bool => "must evaluate to bool".to_owned(),
            Returns::String => "must evaluate to string".to_owned(),
            _ => "must evaluate to one of [string null_type]".to_owned(),
        });
    }
    let mut expr = expr;
    rewrite_selects(&mut expr);
    Ok(Program {
        program: eval::Program::new(expr, &checker::is_function),
        output,
    })
}

/// Rewrites the field selections of a value, `object.metadata.name`, into the equivalent
/// map lookups, `object['metadata']['name']`, once the expression has been checked. Both
/// fail the same way on a missing key (`no such key: name`), but the interpreter resolves
/// a selection chain as a qualified name first (a string built per evaluation), while a
/// lookup goes straight to the value. Type names (`net.IP`) and presence tests stay.
fn rewrite_selects(e: &mut IdedExpr) {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || rewrite_select(e))
}

fn rewrite_select(e: &mut IdedExpr) {
    use cel::common::ast::{CallExpr, EntryExpr, Expr, LiteralValue};
    use cel::common::types::CelString;
    match &mut e.expr {
        Expr::Select(s) if !s.test => {
            let is_type = qualified_name(&e.expr)
                .is_some_and(|q| q == "net.IP" || q == "net.CIDR" || q.starts_with("google."));
            if is_type {
                return;
            }
            let Expr::Select(s) = std::mem::take(&mut e.expr) else {
                unreachable!()
            };
            let mut operand = *s.operand;
            rewrite_selects(&mut operand);
            let key = IdedExpr {
                id: e.id,
                expr: Expr::Literal(LiteralValue::String(CelString::from(s.field))),
            };
            e.expr = Expr::Call(CallExpr {
                func_name: cel::common::ast::operators::INDEX.to_owned(),
                target: None,
                args: vec![operand, key],
            });
        }
        Expr::Select(s) => rewrite_selects(&mut s.operand),
        Expr::Call(c) => {
            if let Some(t) = &mut c.target {
                // A call target may name a function namespace (`ip.isCanonical(...)`).
                let namespace = qualified_name(&t.expr)
                    .is_some_and(|q| checker::is_function(&format!("{q}.{}", c.func_name)));
                if !namespace {
                    rewrite_selects(t);
                }
            }
            c.args.iter_mut().for_each(rewrite_selects);
        }
        Expr::List(l) => l.elements.iter_mut().for_each(rewrite_selects),
        Expr::Map(m) => {
            for entry in &mut m.entries {
                if let EntryExpr::MapEntry(me) = &mut entry.expr {
                    rewrite_selects(&mut me.key);
                    rewrite_selects(&mut me.value);
                }
            }
        }
        Expr::Comprehension(c) => {
            let c = &mut **c;
            for x in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                rewrite_selects(x);
            }
        }
        _ => {}
    }
}

fn qualified_name(e: &cel::common::ast::Expr) -> Option<String> {
    use cel::common::ast::Expr;
    match e {
        Expr::Ident(n) => Some(n.clone()),
        Expr::Select(s) if !s.test => {
            qualified_name(&s.operand.expr).map(|p| format!("{p}.{}", s.field))
        }
        _ => None,
    }
}

/// An expression of a policy: its source and its compilation.
#[derive(Debug)]
pub struct Expression {
    pub source: String,
    pub program: Result<Program, String>,
}

impl Expression {
    fn new(source: &str, decls: &Declarations, returns: Returns) -> Self {
        Expression {
            source: source.to_owned(),
            program: compile(source, decls, returns),
        }
    }
}

/// One validation of a policy.
#[derive(Debug)]
pub struct Validation {
    pub expression: Expression,
    pub message: String,
    pub message_expression: Option<Expression>,
    pub reason: Option<String>,
}

/// The input of [`Policy::compile`]: the parts of a policy spec that hold CEL.
#[derive(Clone, Debug, Default)]
pub struct PolicySpec {
    pub has_params: bool,
    pub fail: bool,
    /// (name, expression)
    pub match_conditions: Vec<(String, String)>,
    /// (name, expression)
    pub variables: Vec<(String, String)>,
    pub validations: Vec<ValidationSpec>,
    /// (key, valueExpression)
    pub audit_annotations: Vec<(String, String)>,
}

/// One validation of a [`PolicySpec`].
#[derive(Clone, Debug, Default)]
pub struct ValidationSpec {
    pub expression: String,
    pub message: String,
    pub message_expression: String,
    pub reason: Option<String>,
}

/// Which activation variables a policy's expressions read, so that a caller builds only
/// those.
#[derive(Clone, Copy, Debug, Default)]
pub struct Uses {
    pub object: bool,
    pub old_object: bool,
    pub request: bool,
    pub params: bool,
    pub namespace_object: bool,
}

/// Which parts of an object a policy reads: the whole value, or only some fields (each
/// with the parts of it read). A caller converting an object for evaluation may leave
/// out everything else: no expression can tell (a field read as a whole, iterated or
/// compared, is [`Projection::All`]; so is an object used other than by field access).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Projection {
    /// Not read at all.
    #[default]
    Nothing,
    /// Read as a whole.
    All,
    /// Only these fields are read.
    Fields(std::collections::BTreeMap<String, Projection>),
}

impl Projection {
    fn merge(&mut self, path: &[String]) {
        match self {
            Projection::All => {}
            _ if path.is_empty() => *self = Projection::All,
            Projection::Nothing => {
                let mut f = std::collections::BTreeMap::new();
                let mut child = Projection::Nothing;
                child.merge(&path[1..]);
                f.insert(path[0].clone(), child);
                *self = Projection::Fields(f);
            }
            Projection::Fields(f) => f.entry(path[0].clone()).or_default().merge(&path[1..]),
        }
    }

    /// The projection of the field `name`.
    pub fn field(&self, name: &str) -> &Projection {
        static ALL: Projection = Projection::All;
        static NOTHING: Projection = Projection::Nothing;
        match self {
            Projection::All => &ALL,
            Projection::Nothing => &NOTHING,
            Projection::Fields(f) => f.get(name).unwrap_or(&NOTHING),
        }
    }
}

/// The field path of an access chain on the identifier `root` (`root['a']['b']`, with
/// `.?` and presence tests), innermost first; `None` when `e` is not such a chain.
fn access_path(e: &IdedExpr, root: &str) -> Option<Vec<String>> {
    use cel::common::ast::{Expr, LiteralValue};
    match &e.expr {
        Expr::Ident(n) if n == root => Some(Vec::new()),
        Expr::Select(s) => {
            let mut p = access_path(&s.operand, root)?;
            p.push(s.field.clone());
            Some(p)
        }
        Expr::Call(c)
            if c.target.is_none()
                && c.args.len() == 2
                && (c.func_name == cel::common::ast::operators::INDEX
                    || c.func_name == cel::common::ast::operators::OPT_SELECT
                    || c.func_name == cel::common::ast::operators::OPT_INDEX) =>
        {
            let LiteralValue::String(k) = (match &c.args[1].expr {
                Expr::Literal(l) => l,
                _ => return None,
            }) else {
                return None;
            };
            let mut p = access_path(&c.args[0], root)?;
            p.push(k.inner().to_owned());
            Some(p)
        }
        _ => None,
    }
}

fn project(e: &IdedExpr, root: &str, proj: &mut Projection) {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || project_node(e, root, proj))
}

fn project_node(e: &IdedExpr, root: &str, proj: &mut Projection) {
    use cel::common::ast::{EntryExpr, Expr};
    if let Some(path) = access_path(e, root) {
        proj.merge(&path);
        return;
    }
    match &e.expr {
        Expr::Select(s) => project(&s.operand, root, proj),
        Expr::Call(c) => {
            if let Some(t) = &c.target {
                project(t, root, proj);
            }
            c.args.iter().for_each(|a| project(a, root, proj));
        }
        Expr::List(l) => l.elements.iter().for_each(|a| project(a, root, proj)),
        Expr::Map(m) => {
            for entry in &m.entries {
                if let EntryExpr::MapEntry(me) = &entry.expr {
                    project(&me.key, root, proj);
                    project(&me.value, root, proj);
                }
            }
        }
        Expr::Struct(s) => {
            for entry in &s.entries {
                if let EntryExpr::StructField(f) = &entry.expr {
                    project(&f.value, root, proj);
                }
            }
        }
        Expr::Comprehension(c) => {
            if c.iter_var == root || c.accu_var == root {
                // shadowed inside: only the range and the initial value see the variable
                project(&c.iter_range, root, proj);
                project(&c.accu_init, root, proj);
                return;
            }
            for x in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                project(x, root, proj);
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// A compiled policy.
#[derive(Debug)]
pub struct Policy {
    fail: bool,
    match_conditions: Vec<Expression>,
    variables: Vec<(String, Expression)>,
    validations: Vec<Validation>,
    audit_annotations: Vec<(String, Expression)>,
    uses: Uses,
    /// The value of each variable that reads nothing of the request (computed once).
    constants: Vec<Option<Constant>>,
    /// What the expressions read of `object` and of `oldObject`.
    projections: (Projection, Projection),
    /// Unique among the policies of the process (a cache key for converted objects).
    id: u64,
    /// (field path, detail) of every expression that failed to compile.
    errors: Vec<(String, String)>,
}

/// The values bound to a policy's variables for one evaluation. `None` is `null`.
#[derive(Default)]
pub struct Bindings<'a> {
    pub object: Option<&'a dyn Val>,
    pub old_object: Option<&'a dyn Val>,
    pub request: Option<&'a dyn Val>,
    pub params: Option<&'a dyn Val>,
    pub namespace_object: Option<&'a dyn Val>,
}

/// A decision to deny (`PolicyDecision` with `ActionDeny`).
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The validation's index (`expressionIndex` of the audit annotation).
    pub index: usize,
    pub message: String,
    /// The validation's reason; `None` for errors (reported as `Invalid`).
    pub reason: Option<String>,
}

/// The result of evaluating a policy for one binding and param.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// False when a match condition excluded the request (nothing else is set).
    pub matched: bool,
    /// Deny decisions, subject to the binding's validation actions.
    pub decisions: Vec<Decision>,
    /// Audit annotations to publish as `<policy>/<key>`.
    pub annotations: Vec<(String, String)>,
    /// Audit annotation errors under `Fail`: deny whatever the validation actions.
    pub annotation_errors: Vec<String>,
}

/// What an expression reads: the request (any admission variable) and which variables.
#[derive(Default)]
struct Reads {
    request: bool,
    variables: Vec<String>,
}

/// Calls `f` on each direct subexpression of `e`: a selection's operand, a call's target
/// and arguments, list elements, map keys and values, struct field values, and the parts
/// of a comprehension. The walks below differ only in what they do at the leaves.
fn for_each_child<'a>(e: &'a IdedExpr, mut f: impl FnMut(&'a IdedExpr)) {
    use cel::common::ast::{EntryExpr, Expr};
    match &e.expr {
        Expr::Select(s) => f(&s.operand),
        Expr::Call(c) => {
            if let Some(t) = &c.target {
                f(t);
            }
            c.args.iter().for_each(f);
        }
        Expr::List(l) => l.elements.iter().for_each(f),
        Expr::Map(m) => {
            for entry in &m.entries {
                if let EntryExpr::MapEntry(me) = &entry.expr {
                    f(&me.key);
                    f(&me.value);
                }
            }
        }
        Expr::Struct(s) => {
            for entry in &s.entries {
                if let EntryExpr::StructField(field) = &entry.expr {
                    f(&field.value);
                }
            }
        }
        Expr::Comprehension(c) => {
            for x in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                f(x);
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

fn reads_of(e: &IdedExpr, reads: &mut Reads) {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || reads_of_node(e, reads))
}

fn reads_of_node(e: &IdedExpr, reads: &mut Reads) {
    use cel::common::ast::{Expr, LiteralValue};
    match &e.expr {
        Expr::Ident(n) => match n.as_str() {
            "object" | "oldObject" | "request" | "params" | "namespaceObject" | "authorizer" => {
                reads.request = true
            }
            // `variables` itself (not `variables.x`): every variable.
            "variables" => reads.request = true,
            _ => {}
        },
        Expr::Select(s) => {
            if let Expr::Ident(n) = &s.operand.expr {
                if n == "variables" {
                    reads.variables.push(s.field.clone());
                    return;
                }
            }
            reads_of(&s.operand, reads);
        }
        Expr::Call(c)
            if c.func_name == cel::common::ast::operators::INDEX && c.target.is_none() =>
        {
            if let (Expr::Ident(n), Some(Expr::Literal(LiteralValue::String(k)))) =
                (&c.args[0].expr, c.args.get(1).map(|a| &a.expr))
            {
                if n == "variables" {
                    reads.variables.push(k.inner().to_owned());
                    return;
                }
            }
            for_each_child(e, |x| reads_of(x, reads));
        }
        Expr::Struct(_) => reads.request = true,
        _ => for_each_child(e, |x| reads_of(x, reads)),
    }
}

fn collect_uses(e: &IdedExpr, uses: &mut Uses) {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || collect_uses_node(e, uses))
}

fn collect_uses_node(e: &IdedExpr, uses: &mut Uses) {
    use cel::common::ast::Expr;
    match &e.expr {
        Expr::Ident(n) => match n.as_str() {
            "object" => uses.object = true,
            "oldObject" => uses.old_object = true,
            "request" => uses.request = true,
            "params" => uses.params = true,
            "namespaceObject" => uses.namespace_object = true,
            _ => {}
        },
        _ => for_each_child(e, |x| collect_uses(x, uses)),
    }
}

impl Policy {
    /// Compiles every expression of `spec` (the variables in order, each typed by its
    /// output for the expressions after it). Failures are kept: see [`Policy::errors`].
    pub fn compile(spec: &PolicySpec) -> Policy {
        let base = Declarations::admission(spec.has_params);
        let mut errors = Vec::new();
        // Match conditions are validated with the stateless compiler: no `variables`.
        let match_conditions: Vec<Expression> = spec
            .match_conditions
            .iter()
            .enumerate()
            .map(|(i, (_, source))| {
                // Validated trimmed (as kube-apiserver does when the policy is written);
                // errors at evaluation quote the expression as written.
                let mut e = Expression::new(source.trim(), &base, Returns::Bool);
                e.source = source.clone();
                if let Err(d) = &e.program {
                    errors.push((format!("spec.matchConditions[{i}].expression"), d.clone()));
                }
                e
            })
            .collect();
        let composited = !spec.variables.is_empty();
        let mut fields: Vec<(String, Ty)> = Vec::new();
        let decls_now = |fields: &Vec<(String, Ty)>| {
            if composited {
                base.clone().with_variables(fields.clone())
            } else {
                base.clone()
            }
        };
        let mut variables = Vec::with_capacity(spec.variables.len());
        for (i, (name, source)) in spec.variables.iter().enumerate() {
            let e = Expression::new(source, &decls_now(&fields), Returns::Any);
            let t = match &e.program {
                Ok(p) => p.output.as_variable_type(),
                Err(d) => {
                    errors.push((format!("spec.variables[{i}].expression"), d.clone()));
                    Ty::Dyn
                }
            };
            fields.retain(|(n, _)| n != name);
            fields.push((name.clone(), t));
            variables.push((name.clone(), e));
        }
        let decls = decls_now(&fields);
        let mut validations = Vec::with_capacity(spec.validations.len());
        for (i, v) in spec.validations.iter().enumerate() {
            let expression = Expression::new(&v.expression, &decls, Returns::Bool);
            if let Err(d) = &expression.program {
                errors.push((format!("spec.validations[{i}].expression"), d.clone()));
            }
            let message_expression = (!v.message_expression.trim().is_empty()).then(|| {
                let e = Expression::new(&v.message_expression, &decls, Returns::String);
                if let Err(d) = &e.program {
                    errors.push((
                        format!("spec.validations[{i}].messageExpression"),
                        d.clone(),
                    ));
                }
                e
            });
            validations.push(Validation {
                expression,
                message: v.message.clone(),
                message_expression,
                reason: v.reason.clone(),
            });
        }
        let audit_annotations = spec
            .audit_annotations
            .iter()
            .enumerate()
            .map(|(i, (key, source))| {
                let e = Expression::new(source.trim(), &decls, Returns::StringOrNull);
                if let Err(d) = &e.program {
                    errors.push((
                        format!("spec.auditAnnotations[{i}].valueExpression"),
                        d.clone(),
                    ));
                }
                (key.clone(), e)
            })
            .collect();
        let mut policy = Policy {
            fail: spec.fail,
            match_conditions,
            variables,
            validations,
            audit_annotations,
            uses: Uses::default(),
            constants: Vec::new(),
            projections: Default::default(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            errors,
        };
        let mut uses = Uses::default();
        let (mut object, mut old_object) = (Projection::Nothing, Projection::Nothing);
        policy.for_each_program(|p| {
            collect_uses(p.expr(), &mut uses);
            project(p.expr(), "object", &mut object);
            project(p.expr(), "oldObject", &mut old_object);
        });
        policy.uses = uses;
        policy.projections = (object, old_object);
        policy.constants = policy.fold_constants();
        policy
    }

    /// Evaluates, once, the variables whose expressions read neither the request nor a
    /// non-constant variable (a literal list of allowed ranges, say), each within the
    /// per-expression limit and all within one evaluation's budget; a variable past
    /// either is left to be evaluated per request. A folded variable keeps its cost, which
    /// every evaluation that reads it is charged, as if it had evaluated it.
    fn fold_constants(&self) -> Vec<Option<Constant>> {
        let mut constants: Vec<Option<Constant>> = Vec::new();
        let mut spent = 0u64;
        for (i, (_, e)) in self.variables.iter().enumerate() {
            let Ok(p) = &e.program else {
                constants.push(None);
                continue;
            };
            let mut reads = Reads::default();
            reads_of(p.expr(), &mut reads);
            let constant = spent < limits::RUNTIME_BUDGET
                && !reads.request
                && reads.variables.iter().all(|name| {
                    self.variable_index(name)
                        .is_some_and(|j| j < i && constants[j].is_some())
                });
            if !constant {
                constants.push(None);
                continue;
            }
            let bindings = Bindings::default();
            let (value, cost) = {
                let act = Activation::new(&bindings, self, &constants);
                let tracker = Tracker::new(limits::PER_CALL_LIMIT);
                let value = eval::run(&p.program, &act, &tracker)
                    .ok()
                    .and_then(|v| eval::to_static(v.as_ref()));
                (value, tracker.cost().saturating_add(act.take_cost()))
            };
            spent = spent.saturating_add(cost);
            constants.push(value.map(|value| Constant { value, cost }));
        }
        constants
    }

    fn for_each_program(&self, mut f: impl FnMut(&Program)) {
        let all =
            self.match_conditions
                .iter()
                .chain(self.variables.iter().map(|(_, e)| e))
                .chain(self.validations.iter().flat_map(|v| {
                    std::iter::once(&v.expression).chain(v.message_expression.iter())
                }))
                .chain(self.audit_annotations.iter().map(|(_, e)| e));
        for e in all {
            if let Ok(p) = &e.program {
                f(p);
            }
        }
    }

    /// (field path, detail) of each expression that failed to compile, e.g.
    /// (`spec.validations[0].expression`, `compilation failed: ERROR: ...`).
    pub fn errors(&self) -> &[(String, String)] {
        &self.errors
    }

    /// Which activation variables the expressions read.
    pub fn uses(&self) -> Uses {
        self.uses
    }

    /// What the expressions read of `object` and of `oldObject`.
    pub fn projections(&self) -> &(Projection, Projection) {
        &self.projections
    }

    /// An identifier unique among the policies compiled by this process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// A deny decision for an error, under `failurePolicy: Fail`.
    fn error_decision(index: usize, message: String) -> Decision {
        Decision {
            index,
            message,
            reason: None,
        }
    }

    /// The outcome when a part of the evaluation ran out of its budget
    /// (`validator.Validate` returns that one decision): denied under `Fail`, admitted
    /// (with nothing else) under `Ignore`.
    fn out_of_budget(&self) -> Outcome {
        Outcome {
            matched: true,
            decisions: if self.fail {
                vec![Self::error_decision(0, limits::OUT_OF_BUDGET.to_owned())]
            } else {
                Vec::new()
            },
            ..Outcome::default()
        }
    }

    /// Evaluates the policy for one binding and param (`validator.Validate`): the match
    /// conditions within their budget, then the validations and their message
    /// expressions within one budget, then the audit annotations within another, each
    /// part with its own lazily evaluated variables, as kube-apiserver charges them.
    pub fn evaluate(&self, bindings: &Bindings<'_>) -> Outcome {
        if !self.match_conditions.is_empty() {
            let act = Activation::new(bindings, self, &self.constants);
            let mut budget = limits::MATCH_CONDITIONS_BUDGET;
            // `ForInput` evaluates every condition before any result is looked at.
            let mut results = Vec::with_capacity(self.match_conditions.len());
            for mc in &self.match_conditions {
                match act.run(mc, &mut budget, |v| {
                    v.downcast_ref::<CelBool>().map(|b| *b.inner())
                }) {
                    Err(OutOfBudget) => {
                        if !self.fail {
                            return Outcome::default();
                        }
                        let mut out = self.out_of_budget();
                        out.decisions[0].message = limits::OUT_OF_BUDGET.to_owned();
                        return out;
                    }
                    Ok(r) => results.push(r),
                }
            }
            if results.iter().any(|r| matches!(r, Ok(Some(false)))) {
                return Outcome::default();
            }
            let mut mc_errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
            if !mc_errors.is_empty() {
                if !self.fail {
                    return Outcome::default();
                }
                mc_errors.dedup();
                let message = if mc_errors.len() == 1 {
                    mc_errors.remove(0)
                } else {
                    format!("[{}]", mc_errors.join(", "))
                };
                return Outcome {
                    matched: true,
                    decisions: vec![Self::error_decision(0, message)],
                    ..Outcome::default()
                };
            }
        }
        let mut out = Outcome {
            matched: true,
            ..Outcome::default()
        };

        let mut budget = limits::RUNTIME_BUDGET;
        let act = Activation::new(bindings, self, &self.constants);
        let mut results: Vec<Result<bool, String>> = Vec::with_capacity(self.validations.len());
        for v in &self.validations {
            match act.run(&v.expression, &mut budget, |r| {
                r.downcast_ref::<CelBool>().is_some_and(|b| *b.inner())
            }) {
                Err(OutOfBudget) => return self.out_of_budget(),
                Ok(r) => results.push(r),
            }
        }
        // Every message expression is evaluated, with what is left of the budget and
        // variables of their own, whether its validation failed or not.
        let mut messages: Vec<Option<String>> = Vec::with_capacity(self.validations.len());
        let mut messages_out_of_budget = false;
        if self
            .validations
            .iter()
            .any(|v| v.message_expression.is_some())
        {
            let act = Activation::new(bindings, self, &self.constants);
            for v in &self.validations {
                let Some(e) = &v.message_expression else {
                    messages.push(None);
                    continue;
                };
                match act.run(e, &mut budget, |r| {
                    r.downcast_ref::<CelString>()
                        .map(|s| s.inner().trim().to_owned())
                }) {
                    Err(OutOfBudget) => {
                        messages_out_of_budget = true;
                        break;
                    }
                    Ok(m) => messages.push(m.ok().flatten()),
                }
            }
        }
        for (index, (v, result)) in self.validations.iter().zip(results).enumerate() {
            match result {
                Err(message) => {
                    if self.fail {
                        out.decisions.push(Self::error_decision(index, message));
                    }
                }
                Ok(_) if messages_out_of_budget => {
                    if self.fail {
                        out.decisions.push(Self::error_decision(
                            index,
                            format!("failed messageExpression: {}", limits::OUT_OF_BUDGET),
                        ));
                    }
                }
                Ok(true) => {}
                Ok(false) => out.decisions.push(Decision {
                    index,
                    message: failure_message(v, messages.get(index).cloned().flatten()),
                    reason: Some(v.reason.clone().unwrap_or_else(|| "Invalid".to_owned())),
                }),
            }
        }

        if !self.audit_annotations.is_empty() {
            let mut budget = limits::RUNTIME_BUDGET;
            let act = Activation::new(bindings, self, &self.constants);
            for (key, e) in &self.audit_annotations {
                let result = act.run(e, &mut budget, |r| {
                    if let Some(s) = r.downcast_ref::<CelString>() {
                        Ok(Some(s.inner().trim().to_owned()))
                    } else if r.get_type().kind() == Kind::NullType {
                        Ok(None)
                    } else {
                        Err(r.get_type().name().to_owned())
                    }
                });
                match result {
                    Err(OutOfBudget) => return self.out_of_budget(),
                    Ok(Ok(Ok(Some(v)))) if !v.is_empty() => out.annotations.push((key.clone(), v)),
                    Ok(Ok(Ok(_))) => {}
                    Ok(Ok(Err(type_name))) => out.annotation_errors.push(format!(
                        "valueExpression '{}' resulted in unsupported return type: {}. \
                         Return type must be either string or null.",
                        e.source, type_name
                    )),
                    Ok(Err(message)) => {
                        if self.fail {
                            out.annotation_errors.push(message);
                        }
                    }
                }
            }
        }
        out
    }

    fn variable_index(&self, name: &str) -> Option<usize> {
        // The last declaration of a name wins, as in the composition environment.
        self.variables.iter().rposition(|(n, _)| n == name)
    }
}

/// The message of a failed validation: a non-empty, single-line messageExpression
/// result of at most 5 KiB, else the message, else `failed expression: <expr>`.
fn failure_message(v: &Validation, evaluated: Option<String>) -> String {
    if let Some(m) = evaluated {
        if !m.is_empty() && m.len() <= 5 * 1024 && !m.contains('\n') {
            return m;
        }
    }
    let message = v.message.trim();
    if !message.is_empty() {
        return message.to_owned();
    }
    format!("failed expression: {}", v.expression.source.trim())
}

fn expression_error(source: &str, e: &ExecutionError) -> String {
    format!(
        "expression '{source}' resulted in error: {}",
        runtime_message(e)
    )
}

/// A part of the evaluation ran out of its budget.
struct OutOfBudget;

/// A variable evaluated when the policy was compiled, with the cost it took.
#[derive(Debug)]
struct Constant {
    value: Box<dyn Val + 'static>,
    cost: u64,
}

type Cached<'a> = Result<Box<dyn Val + 'a>, ExecutionError>;

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The activation of one part of an evaluation (`ForInput`): resolves the admission
/// variables, and is itself the `variables` value, whose entries are evaluated on first
/// access and kept, their cost charged to the expression that first read them.
struct Activation<'a> {
    bindings: &'a Bindings<'a>,
    policy: &'a Policy,
    cache: Vec<OnceLock<Cached<'a>>>,
    /// The policy's constant variables (while they are being folded, the ones so far).
    constants: &'a [Option<Constant>],
    /// Whether each constant was read (and so charged) in this part.
    charged: Vec<AtomicBool>,
    /// The cost of the variables evaluated since it was last taken
    /// (`compositionContext.accumulatedCost`).
    composition_cost: AtomicU64,
}

impl fmt::Debug for Activation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("variables")
    }
}

impl<'a> Activation<'a> {
    fn new(
        bindings: &'a Bindings<'a>,
        policy: &'a Policy,
        constants: &'a [Option<Constant>],
    ) -> Self {
        let n = policy.variables.len();
        Activation {
            bindings,
            policy,
            cache: (0..n).map(|_| OnceLock::new()).collect(),
            constants,
            charged: (0..n).map(|_| AtomicBool::new(false)).collect(),
            composition_cost: AtomicU64::new(0),
        }
    }

    fn take_cost(&self) -> u64 {
        self.composition_cost.swap(0, Ordering::Relaxed)
    }

    fn add_cost(&self, cost: u64) {
        let _ = self
            .composition_cost
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                Some(c.saturating_add(cost))
            });
    }

    /// Evaluates one expression within the per-expression limit and what is left of
    /// `budget` (`evaluationActivation.Evaluate`): `Err` when the budget ran out, else
    /// the value handed to `inspect`, or the error as the decision words it.
    fn run<T>(
        &self,
        e: &Expression,
        budget: &mut u64,
        inspect: impl FnOnce(&dyn Val) -> T,
    ) -> Result<Result<T, String>, OutOfBudget> {
        let p = match &e.program {
            Err(detail) => return Ok(Err(format!("compilation error: {detail}"))),
            Ok(p) => p,
        };
        let tracker = Tracker::new(limits::PER_CALL_LIMIT);
        let result = eval::run(&p.program, self, &tracker).map(|v| inspect(v.as_ref()));
        // the variables it read first, then its own cost
        let composition = self.take_cost();
        if composition > *budget {
            return Err(OutOfBudget);
        }
        *budget -= composition;
        if tracker.cost() > *budget {
            return Err(OutOfBudget);
        }
        *budget -= tracker.cost();
        Ok(result.map_err(|err| expression_error(&e.source, &err)))
    }

    fn variable(&self, index: usize) -> &Cached<'a> {
        self.cache[index].get_or_init(|| {
            let (name, e) = &self.policy.variables[index];
            let program = match &e.program {
                Ok(p) => p,
                Err(detail) => {
                    return Err(error(
                        "variables",
                        format!("composited variable {name:?} fails to compile: {detail}"),
                    ))
                }
            };
            let tracker = Tracker::new(limits::PER_CALL_LIMIT);
            let result = eval::run(&program.program, self, &tracker).map(CowVal::into_owned);
            self.add_cost(tracker.cost());
            result.map_err(|err| {
                error(
                    "variables",
                    format!(
                        "composited variable {name:?} fails to evaluate: {}",
                        runtime_message(&err)
                    ),
                )
            })
        })
    }

    fn constant(&self, index: usize) -> Option<&'a (dyn Val + 'static)> {
        let c = self.constants.get(index)?.as_ref()?;
        if !self.charged[index].swap(true, Ordering::Relaxed) {
            self.add_cost(c.cost);
        }
        Some(c.value.as_ref())
    }
}

impl<'a> eval::Scope<'a> for Activation<'a> {
    fn resolve<'s>(&'s self, variable: &str) -> Option<&'s (dyn Val + 'a)> {
        let b = self.bindings;
        Some(match variable {
            "object" => b.object.unwrap_or(&ABSENT),
            "oldObject" => b.old_object.unwrap_or(&ABSENT),
            "request" => b.request.unwrap_or(&ABSENT),
            "params" => b.params.unwrap_or(&ABSENT),
            "namespaceObject" => b.namespace_object.unwrap_or(&ABSENT),
            "variables" if !self.policy.variables.is_empty() => self,
            _ => return None,
        })
    }
}

impl Val for Activation<'_> {
    fn get_type(&self) -> &Type {
        &MAP_TYPE
    }
    fn cel_type() -> &'static Type {
        &MAP_TYPE
    }
    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v>
    where
        Self: 'v,
    {
        let mut m = std::collections::HashMap::new();
        for (i, (name, _)) in self.policy.variables.iter().enumerate() {
            if let Some(v) = self.constant(i) {
                m.insert(CelMapKey::from(name.clone()), v.clone_as_boxed());
            } else if let Ok(v) = self.variable(i) {
                m.insert(CelMapKey::from(name.clone()), v.clone_as_boxed());
            }
        }
        Box::new(CelMap::from(m))
    }
}

impl Indexer for Activation<'_> {
    fn get<'b, 'v>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        let name = idx
            .downcast_ref::<CelString>()
            .map(|s| s.inner().to_owned())
            .unwrap_or_default();
        let Some(i) = self.policy.variable_index(&name) else {
            return Err(ExecutionError::no_such_key(&name));
        };
        if let Some(v) = self.constant(i) {
            return Ok(CowVal::Borrowed(v));
        }
        match self.variable(i) {
            Ok(v) => Ok(CowVal::Borrowed(v.as_ref())),
            Err(e) => Err(e.clone()),
        }
    }

    fn steal<'v>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}

/// Evaluates a program with every admission variable `null` and prints the result:
/// scalars as CEL literals, lists as `[...]`, the library types as `net.CIDR <text>`.
pub fn eval_program(program: &Program) -> Result<String, ExecutionError> {
    let policy = Policy {
        fail: true,
        match_conditions: Vec::new(),
        variables: Vec::new(),
        validations: Vec::new(),
        audit_annotations: Vec::new(),
        uses: Uses::default(),
        constants: Vec::new(),
        projections: Default::default(),
        id: 0,
        errors: Vec::new(),
    };
    let bindings = Bindings::default();
    let act = Activation::new(&bindings, &policy, &[]);
    let tracker = Tracker::new(limits::PER_CALL_LIMIT);
    eval::run(&program.program, &act, &tracker).map(|v| show(v.as_ref()))
}

fn show(v: &dyn Val) -> String {
    use crate::library::{CidrVal, IpVal};
    use cel::common::types::{CelDouble, CelInt, CelList, CelType, CelUInt};
    if let Some(b) = v.downcast_ref::<CelBool>() {
        return b.inner().to_string();
    }
    if let Some(i) = v.downcast_ref::<CelInt>() {
        return i.inner().to_string();
    }
    if let Some(u) = v.downcast_ref::<CelUInt>() {
        return format!("{}u", u.inner());
    }
    if let Some(d) = v.downcast_ref::<CelDouble>() {
        return d.inner().to_string();
    }
    if let Some(s) = v.downcast_ref::<CelString>() {
        return format!("{:?}", s.inner());
    }
    if let Some(ip) = v.downcast_ref::<IpVal>() {
        return format!("net.IP {}", ip.0);
    }
    if let Some(c) = v.downcast_ref::<CidrVal>() {
        return format!("net.CIDR {}", c.0);
    }
    if let Some(t) = v.downcast_ref::<CelType>() {
        return format!("type {t:?}");
    }
    if let Some(l) = v.downcast_ref::<CelList>() {
        let items: Vec<String> = l.inner().iter().map(|x| show(x.as_ref())).collect();
        return format!("[{}]", items.join(", "));
    }
    if v.get_type().kind() == Kind::NullType {
        return "null".to_owned();
    }
    format!("{v:?}")
}
