//! kube-apiserver's bounds on CEL: cel-go's parse limits refuse an expression when the
//! policy is written, and the cost limit and budgets stop an evaluation, under the
//! policy's failure policy. Nothing here may crash the process: each shape below used
//! to overflow the stack or exhaust memory.

use servicecidr_cel::{eval_standalone, Bindings, Data, Policy, PolicySpec, ValidationSpec};

const LIMIT_EXCEEDED: &str = "operation cancelled: actual cost limit exceeded";
const OUT_OF_BUDGET: &str =
    "validation failed due to running out of cost budget, no further validation rules will be run";

fn validation(expression: &str) -> ValidationSpec {
    ValidationSpec {
        expression: expression.into(),
        ..Default::default()
    }
}

fn policy(fail: bool, validations: &[&str]) -> Policy {
    Policy::compile(&PolicySpec {
        fail,
        validations: validations.iter().map(|v| validation(v)).collect(),
        ..Default::default()
    })
}

fn run(p: &Policy) -> servicecidr_cel::Outcome {
    let object = Data::map(vec![]);
    p.evaluate(&Bindings {
        object: Some(object.as_val()),
        ..Default::default()
    })
}

fn compile_error(expression: &str) -> String {
    let p = policy(true, &[expression]);
    assert_eq!(p.errors().len(), 1, "{expression:.80}");
    p.errors()[0].1.clone()
}

fn chain(op: &str, n: usize) -> String {
    vec!["1"; n].join(op)
}

#[test]
fn deep_chains_are_refused_as_cel_go_refuses_them() {
    for (op, n) in [(" + ", 250), (" * ", 250), (" - ", 250)] {
        let e = format!("{} == 1", chain(op, n));
        let errors = policy(true, &[&e]).errors().to_vec();
        // within the limit: compiles, or fails for its types, never for its depth
        assert!(errors.iter().all(|(_, d)| !d.contains("recursion")), "{op}");
    }
    for n in [300, 5_600, 10_000, 24_000] {
        assert_eq!(
            compile_error(&format!("{} == 1", chain(" + ", n))),
            "compilation failed: ERROR: <input>:-1:0: max recursion depth exceeded"
        );
    }
    let selects = format!("object{} == 1", ".a".repeat(6_000));
    assert_eq!(
        compile_error(&selects),
        "compilation failed: ERROR: <input>:-1:0: max recursion depth exceeded"
    );
    let index = format!("object{} == 1", "[0]".repeat(6_000));
    assert_eq!(
        compile_error(&index),
        "compilation failed: ERROR: <input>:-1:0: max recursion depth exceeded"
    );
    let lists = format!("size({}1{}) == 1", "[".repeat(3_000), "]".repeat(3_000));
    assert_eq!(
        compile_error(&lists),
        "compilation failed: ERROR: <input>:-1:0: expression recursion limit exceeded: 250"
    );
}

#[test]
fn oversized_expressions_are_refused() {
    let big = format!("size([{}]) > 0", vec!["1"; 60_000].join(","));
    assert_eq!(
        compile_error(&big),
        format!(
            "compilation failed: ERROR: <input>:-1:0: expression code point size exceeds \
             limit: size: {}, limit 100000",
            big.chars().count()
        )
    );
}

#[test]
fn malformed_deep_input_reports_syntax_errors_without_crashing() {
    let e = format!("{} +", chain(" + ", 40_000));
    let d = compile_error(&e);
    assert!(
        d.starts_with("compilation failed: ERROR: <input>:"),
        "{d:.200}"
    );
}

#[test]
fn the_per_expression_limit_cancels_an_expression() {
    // 4 nested all() over 60 elements: about 60^4 steps
    let range = format!(
        "[{}]",
        (0..60).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    );
    let e = format!(
        "{r}.all(a, {r}.all(b, {r}.all(c, {r}.all(d, a + b + c + d >= 0))))",
        r = range
    );
    let p = policy(true, &[&e]);
    assert!(p.errors().is_empty());
    let out = run(&p);
    assert_eq!(out.decisions.len(), 1);
    assert_eq!(
        out.decisions[0].message,
        format!("expression '{e}' resulted in error: {LIMIT_EXCEEDED}")
    );
    // under Ignore the error admits
    assert!(run(&policy(false, &[&e])).decisions.is_empty());
    assert_eq!(
        eval_standalone(&e.replace(">= 0", ">= 0 || true")),
        Err(LIMIT_EXCEEDED.to_owned())
    );
}

#[test]
fn the_evaluation_budget_stops_the_policy() {
    // `contains` costs ceil(20000 * .1) * ceil(4500 * .1) = 900,000: under the
    // per-expression limit, and twelve of them pass the 10M budget
    let e = format!(
        "!'{}'.contains('{}')",
        "a".repeat(20_000),
        "b".repeat(4_500)
    );
    let p = policy(true, &[&e]);
    assert!(run(&p).decisions.is_empty(), "one alone passes");
    let eleven: Vec<&str> = (0..11).map(|_| e.as_str()).collect();
    assert!(run(&policy(true, &eleven)).decisions.is_empty());
    let twelve: Vec<&str> = (0..12).map(|_| e.as_str()).collect();
    let out = run(&policy(true, &twelve));
    assert_eq!(out.decisions.len(), 1);
    assert_eq!(out.decisions[0].message, OUT_OF_BUDGET);
    assert_eq!(out.decisions[0].reason, None);
    assert!(run(&policy(false, &twelve)).decisions.is_empty());
}

#[test]
fn string_doubling_variables_stop_at_the_limit() {
    let mut variables = vec![("v0".to_owned(), "'0123456789abcdef'".to_owned())];
    for i in 1..40 {
        variables.push((
            format!("v{i}"),
            format!("variables.v{0} + variables.v{0}", i - 1),
        ));
    }
    let p = Policy::compile(&PolicySpec {
        fail: true,
        variables,
        validations: vec![validation("size(variables.v39) > 0")],
        ..Default::default()
    });
    assert!(p.errors().is_empty());
    let out = run(&p);
    assert_eq!(out.decisions.len(), 1);
    let m = &out.decisions[0].message;
    assert!(
        m.contains("fails to evaluate: operation cancelled: actual cost limit exceeded")
            || m == OUT_OF_BUDGET,
        "{m}"
    );
}

#[test]
fn list_doubling_is_stopped() {
    let mut variables = vec![("v0".to_owned(), "[1, 2, 3, 4]".to_owned())];
    for i in 1..64 {
        variables.push((
            format!("v{i}"),
            format!("variables.v{0} + variables.v{0}", i - 1),
        ));
    }
    let p = Policy::compile(&PolicySpec {
        fail: true,
        variables,
        validations: vec![validation("size(variables.v63) > 0")],
        ..Default::default()
    });
    assert!(p.errors().is_empty());
    let out = run(&p);
    assert_eq!(out.decisions.len(), 1);
    assert!(
        out.decisions[0].message.contains(LIMIT_EXCEEDED),
        "{}",
        out.decisions[0].message
    );
}

#[test]
fn an_evaluation_on_a_small_stack_does_not_overflow() {
    // 249 additions and a comparison: 250 nested operations, cel-go's most
    let e = format!("{} == 250", chain(" + ", 250));
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || eval_standalone(&e))
        .expect("thread");
    assert_eq!(handle.join().expect("no overflow"), Ok("true".to_owned()));
}
