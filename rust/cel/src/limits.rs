//! The bounds kube-apiserver puts on CEL, with their texts.
//!
//! * cel-go's parser (`parser/parser.go`, defaults kept by `k8s.io/apiserver/pkg/cel/
//!   environment`): at most 100,000 code points, at most 250 nested rules of one kind
//!   while parsing and at most 250 nested operations (selections, calls on a receiver,
//!   indexing, arithmetic, relations, `?:`) while building the expression;
//! * `k8s.io/apiserver/pkg/apis/cel/config.go`: the cost one expression may spend
//!   (`PerCallLimit`), and the budgets of one policy evaluation
//!   (`RuntimeCELCostBudget`, `RuntimeCELCostBudgetMatchConditions`).

/// `parser.expressionSizeCodePointLimit`'s default.
pub const MAX_CODE_POINTS: usize = 100_000;

/// `parser.maxRecursionDepth`'s default, for the parse listener and the visitor alike.
pub const MAX_RECURSION_DEPTH: usize = 250;

/// `celconfig.PerCallLimit`: the actual cost one expression may reach.
pub const PER_CALL_LIMIT: u64 = 1_000_000;

/// `celconfig.RuntimeCELCostBudget`: validations and their message expressions, and
/// (a budget of their own) audit annotations, per policy, binding and param.
pub const RUNTIME_BUDGET: u64 = 10_000_000;

/// `celconfig.RuntimeCELCostBudgetMatchConditions`: a policy's match conditions.
pub const MATCH_CONDITIONS_BUDGET: u64 = 2_500_000;

/// cel-go's `EvalCancelledError` for `CostLimitExceeded`.
pub const COST_LIMIT_EXCEEDED: &str = "operation cancelled: actual cost limit exceeded";

/// `plugin/cel/activation.go`: the whole evaluation ran out of its budget.
pub const OUT_OF_BUDGET: &str =
    "validation failed due to running out of cost budget, no further validation rules will be run";

/// The deepest an expression tree may be for the evaluator. cel-go's limits keep a parsed
/// expression far shallower (each counted level costs at least one node, and the
/// uncounted ones, lists, maps, calls and parentheses, nest through the listener's
/// `expr` rule); this second bound only guards the recursive walks over the tree.
pub const MAX_TREE_DEPTH: usize = 4 * MAX_RECURSION_DEPTH + 64;

/// The stack a recursive walk keeps in hand before each level; below it, the walk goes
/// on in a new segment of [`STACK_GROWTH`] bytes (`stacker::maybe_grow`).
pub const STACK_RED_ZONE: usize = 256 * 1024;

/// See [`STACK_RED_ZONE`].
pub const STACK_GROWTH: usize = 4 * 1024 * 1024;
