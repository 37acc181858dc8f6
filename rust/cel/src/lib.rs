//! ValidatingAdmissionPolicy evaluation in CEL, as kube-apiserver does it, on the `cel`
//! crate, with the Kubernetes IP and CIDR library written here.
//!
//! * [`netip`]: Go's `net/netip` parsing and printing, with Go's error texts;
//! * [`library`]: `ip()`, `cidr()`, `isIP`, `isCIDR`, `ip.isCanonical`, the `net.IP` and
//!   `net.CIDR` members (1.33 `containsCIDR`), and the lists, sets and regex libraries;
//! * [`checker`]: the type checker run when a policy is written (undeclared
//!   identifiers, overloads, object fields, output types);
//! * [`errors`]: compile issues and evaluation errors in cel-go's words;
//! * [`policy`]: a policy compiled once ([`Policy::compile`]) and evaluated per request
//!   ([`Policy::evaluate`]), with lazy composited variables;
//! * [`value`]: building the JSON-shaped values the activation binds.
//!
//! ```
//! use servicecidr_cel::{eval_standalone, Policy, PolicySpec, ValidationSpec, Bindings, Data};
//!
//! assert_eq!(
//!     eval_standalone("cidr('10.96.0.0/16').containsCIDR('10.96.1.0/24')"),
//!     Ok("true".to_owned())
//! );
//! let spec = PolicySpec {
//!     fail: true,
//!     validations: vec![ValidationSpec {
//!         expression: "object.spec.cidrs.all(c, cidr('10.96.0.0/16').containsCIDR(c))".into(),
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let policy = Policy::compile(&spec);
//! assert!(policy.errors().is_empty());
//! let object = Data::map(vec![(
//!     "spec".into(),
//!     Data::map(vec![("cidrs".into(), Data::list(vec![Data::string("172.20.0.0/16".into())]))]),
//! )]);
//! let out = policy.evaluate(&Bindings { object: Some(object.as_val()), ..Default::default() });
//! assert_eq!(out.decisions[0].message, "failed expression: object.spec.cidrs.all(c, cidr('10.96.0.0/16').containsCIDR(c))");
//! ```

pub mod checker;
pub mod cost;
pub mod errors;
pub mod eval;
pub mod library;
pub mod limits;
pub mod netip;
pub mod policy;
pub mod syntax;
pub mod value;

use std::sync::{Arc, LazyLock};

use cel::Env;

pub use policy::{
    Bindings, Decision, Outcome, Policy, PolicySpec, Projection, Uses, ValidationSpec,
};
pub use value::Data;

/// The evaluation environment: the standard library, optional types, the strings
/// extension, and the Kubernetes libraries of [`library`].
pub static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    // cel-go keeps the last entry of a repeated map-literal key.
    env.set_error_on_duplicate_map_keys(false);
    env.add_extension(cel::extensions::strings)
        .expect("the strings extension registers once");
    library::register(&mut env).expect("the Kubernetes libraries register once");
    Arc::new(env)
});

/// Compiles and evaluates an expression that reads no variables, and prints the result
/// (`true`, `"text"`, `net.CIDR 192.168.0.0/24`, ...), or the error: a compile error as
/// kube-apiserver words it, a runtime error as cel-go does. For tests and tools.
pub fn eval_standalone(source: &str) -> Result<String, String> {
    let decls = checker::Declarations::admission(false);
    let program = policy::compile(source, &decls, policy::Returns::Any)?;
    policy::eval_program(&program).map_err(|e| errors::runtime_message(&e))
}
