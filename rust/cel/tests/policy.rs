//! Policy evaluation as `validator.Validate` does it: match conditions, lazy variables,
//! messages and reasons, failure policy, audit annotations; and what a policy reads.

use servicecidr_cel::{Bindings, Data, Decision, Policy, PolicySpec, Projection, ValidationSpec};

fn servicecidr(name: &str, cidrs: &[&str]) -> Data {
    Data::map(vec![
        (
            "metadata".into(),
            Data::map(vec![("name".into(), Data::string(name.into()))]),
        ),
        (
            "spec".into(),
            Data::map(vec![(
                "cidrs".into(),
                Data::list(cidrs.iter().map(|c| Data::string((*c).into())).collect()),
            )]),
        ),
    ])
}

fn validation(expression: &str) -> ValidationSpec {
    ValidationSpec {
        expression: expression.into(),
        ..Default::default()
    }
}

fn seed() -> PolicySpec {
    PolicySpec {
        fail: true,
        match_conditions: vec![(
            "exclude-default-servicecidr".into(),
            "object.metadata.name != 'kubernetes'".into(),
        )],
        variables: vec![("allowed".into(), "['10.96.0.0/16','2001:db8::/64']".into())],
        validations: vec![validation(
            "object.spec.cidrs.all(newCIDR, variables.allowed.exists(allowedCIDR, \
             cidr(allowedCIDR).containsCIDR(newCIDR)))",
        )],
        ..Default::default()
    }
}

fn eval(p: &Policy, object: &Data) -> servicecidr_cel::Outcome {
    p.evaluate(&Bindings {
        object: Some(object.as_val()),
        ..Default::default()
    })
}

#[test]
fn the_seed_policy() {
    let p = Policy::compile(&seed());
    assert!(p.errors().is_empty());
    for cidrs in [
        &["10.96.1.0/24"][..],
        &["2001:db8:0:0:ffff::/80", "10.96.0.0/20"],
    ] {
        let out = eval(&p, &servicecidr("x", cidrs));
        assert!(out.matched && out.decisions.is_empty(), "{cidrs:?}");
    }
    let out = eval(&p, &servicecidr("x", &["172.20.0.0/16"]));
    assert_eq!(out.decisions.len(), 1);
    assert_eq!(out.decisions[0].reason.as_deref(), Some("Invalid"));
    let out = eval(&p, &servicecidr("kubernetes", &["172.20.0.0/16"]));
    assert!(!out.matched);
}

#[test]
fn a_policy_reads_only_what_it_names() {
    let p = Policy::compile(&seed());
    let (object, old) = p.projections();
    let Projection::Fields(f) = object else {
        panic!("{object:?}")
    };
    assert_eq!(f.keys().collect::<Vec<_>>(), ["metadata", "spec"]);
    assert_eq!(object.field("spec").field("cidrs"), &Projection::All);
    assert_eq!(object.field("metadata").field("uid"), &Projection::Nothing);
    assert_eq!(old, &Projection::Nothing);
    let whole = Policy::compile(&PolicySpec {
        validations: vec![validation("size(object) > 0 && object.spec.x == 1")],
        ..Default::default()
    });
    assert_eq!(whole.projections().0, Projection::All);
}

#[test]
fn messages_reasons_and_failure_policy() {
    let spec = |fail: bool| PolicySpec {
        fail,
        validations: vec![
            ValidationSpec {
                expression: "false".into(),
                message: "  static  ".into(),
                reason: Some("Forbidden".into()),
                ..Default::default()
            },
            ValidationSpec {
                expression: "false".into(),
                message: "ignored".into(),
                message_expression: "'name: ' + object.metadata.name".into(),
                ..Default::default()
            },
            ValidationSpec {
                expression: "false".into(),
                message_expression: "'multi\\nline'".into(),
                ..Default::default()
            },
            validation("object.spec.nope == 1"),
        ],
        ..Default::default()
    };
    let out = eval(&Policy::compile(&spec(true)), &servicecidr("n", &[]));
    assert_eq!(
        out.decisions,
        vec![
            Decision {
                index: 0,
                message: "static".into(),
                reason: Some("Forbidden".into())
            },
            Decision {
                index: 1,
                message: "name: n".into(),
                reason: Some("Invalid".into())
            },
            Decision {
                index: 2,
                message: "failed expression: false".into(),
                reason: Some("Invalid".into())
            },
            Decision {
                index: 3,
                message: "expression 'object.spec.nope == 1' resulted in error: no such key: nope"
                    .into(),
                reason: None
            },
        ]
    );
    let out = eval(&Policy::compile(&spec(false)), &servicecidr("n", &[]));
    assert_eq!(
        out.decisions.len(),
        3,
        "Ignore admits the error, not the false"
    );
}

#[test]
fn match_conditions() {
    let p = |fail: bool, conditions: &[&str]| {
        Policy::compile(&PolicySpec {
            fail,
            match_conditions: conditions
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("c{i}"), (*c).to_owned()))
                .collect(),
            validations: vec![validation("false")],
            ..Default::default()
        })
    };
    let o = servicecidr("n", &[]);
    // any false skips, even beside an error
    assert!(!eval(&p(true, &["object.x == 1", "false"]), &o).matched);
    // errors alone: Fail denies with the error, Ignore skips
    let out = eval(&p(true, &["object.x == 1"]), &o);
    assert_eq!(
        out.decisions[0].message,
        "expression 'object.x == 1' resulted in error: no such key: x"
    );
    assert!(!eval(&p(false, &["object.x == 1"]), &o).matched);
    assert_eq!(
        eval(&p(true, &["true"]), &o).decisions[0].message,
        "failed expression: false"
    );
}

#[test]
fn variables_are_lazy_composited_and_constant_when_they_can_be() {
    let p = Policy::compile(&PolicySpec {
        fail: true,
        variables: vec![
            ("bad".into(), "object.spec.missing".into()),
            ("two".into(), "1 + 1".into()),
            ("four".into(), "variables.two * 2".into()),
            (
                "n".into(),
                "size(object.spec.cidrs) + variables.four".into(),
            ),
        ],
        validations: vec![
            validation("variables.n == 5"),
            validation("object.metadata.name != 'bad' || variables.bad == 1"),
        ],
        ..Default::default()
    });
    assert!(p.errors().is_empty(), "{:?}", p.errors());
    assert!(eval(&p, &servicecidr("ok", &["10.0.0.0/8"]))
        .decisions
        .is_empty());
    let out = eval(&p, &servicecidr("bad", &["10.0.0.0/8"]));
    assert_eq!(
        out.decisions[0].message,
        "expression 'object.metadata.name != 'bad' || variables.bad == 1' resulted in error: \
         composited variable \"bad\" fails to evaluate: no such key: missing"
    );
}

#[test]
fn audit_annotations() {
    let p = |fail: bool| {
        Policy::compile(&PolicySpec {
            fail,
            audit_annotations: vec![
                ("name".into(), "' ' + object.metadata.name + ' '".into()),
                ("none".into(), "null".into()),
                ("blank".into(), "'  '".into()),
                ("broken".into(), "string(object.nope)".into()),
            ],
            ..Default::default()
        })
    };
    let out = eval(&p(true), &servicecidr("n", &[]));
    assert_eq!(out.annotations, vec![("name".to_owned(), "n".to_owned())]);
    assert_eq!(
        out.annotation_errors,
        vec!["expression 'string(object.nope)' resulted in error: no such key: nope".to_owned()]
    );
    assert!(eval(&p(false), &servicecidr("n", &[]))
        .annotation_errors
        .is_empty());
}

#[test]
fn compile_errors_are_kept_per_field() {
    let p = Policy::compile(&PolicySpec {
        fail: true,
        match_conditions: vec![("m".into(), "variables.x".into())],
        variables: vec![("x".into(), "params.y".into())],
        validations: vec![ValidationSpec {
            expression: "object.a".into(),
            message_expression: "1".into(),
            ..Default::default()
        }],
        audit_annotations: vec![("k".into(), "1".into())],
        ..Default::default()
    });
    let fields: Vec<&str> = p.errors().iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.matchConditions[0].expression",
            "spec.variables[0].expression",
            "spec.validations[0].expression",
            "spec.validations[0].messageExpression",
            "spec.auditAnnotations[0].valueExpression",
        ]
    );
    assert_eq!(p.errors()[2].1, "must evaluate to bool");
    // At run time a broken expression reads as a compilation error (here the match
    // condition's, which fails the request under Fail).
    let out = eval(&p, &servicecidr("n", &[]));
    assert!(out.decisions[0]
        .message
        .starts_with("compilation error: compilation failed: ERROR: <input>:1:1: undeclared"));
}

#[test]
fn absent_objects_are_null() {
    let p = Policy::compile(&PolicySpec {
        fail: true,
        validations: vec![
            validation("oldObject == null && !has(oldObject.metadata)"),
            validation("oldObject.metadata.name == 'x'"),
        ],
        ..Default::default()
    });
    let out = eval(&p, &servicecidr("n", &[]));
    assert_eq!(out.decisions.len(), 1);
    assert_eq!(
        out.decisions[0].message,
        "expression 'oldObject.metadata.name == 'x'' resulted in error: no such key: metadata"
    );
}
