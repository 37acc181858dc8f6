//! The Python face of `servicecidr-cel`: a ValidatingAdmissionPolicy compiled once
//! ([`CompiledPolicy`]) and evaluated per request against an [`AdmissionInput`].
//!
//! Python objects (the dicts of `servicecidr.api.decode`) become CEL values here, once
//! per request for `object` and `oldObject` (the input caches them for every policy and
//! binding of the request), and only for the variables a policy reads. Evaluation is
//! pure Rust; nothing calls back into Python except a `request`/`namespaceObject`
//! argument given as a callable, called only when a policy reads that variable.

use std::sync::{Arc, Mutex, PoisonError};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use servicecidr_cel::{Bindings, Data, Policy, PolicySpec, Projection, ValidationSpec};

/// Converts a JSON-shaped Python value (dict, list, str, int, float, bool, None).
fn to_data(v: &Bound<'_, PyAny>) -> PyResult<Data> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Data::string(s.to_str()?.to_owned()));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut entries = Vec::with_capacity(d.len());
        for (k, x) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_str()?.to_owned(),
                Err(_) => k.str()?.to_str()?.to_owned(),
            };
            entries.push((key, to_data(&x)?));
        }
        return Ok(Data::map(entries));
    }
    if let Ok(l) = v.cast::<PyList>() {
        let mut items = Vec::with_capacity(l.len());
        for x in l.iter() {
            items.push(to_data(&x)?);
        }
        return Ok(Data::list(items));
    }
    if v.is_none() {
        return Ok(Data::null());
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Data::bool(b.is_true()));
    }
    if v.cast::<PyInt>().is_ok() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Data::int(i));
        }
        if let Ok(u) = v.extract::<u64>() {
            return Ok(Data::uint(u));
        }
        return Ok(Data::double(v.extract::<f64>()?));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(Data::double(f.value()));
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        let mut items = Vec::with_capacity(t.len());
        for x in t.iter() {
            items.push(to_data(&x)?);
        }
        return Ok(Data::list(items));
    }
    Err(PyTypeError::new_err(format!(
        "a CEL value must be JSON-shaped (dict, list, str, int, float, bool or None), not {}",
        v.get_type().name()?
    )))
}

/// A [`Projection`] with its field names as interned Python strings (their hashes are
/// computed once, not at every lookup).
enum PyProjection {
    All,
    Fields(Vec<(Py<PyString>, String, PyProjection)>),
}

impl PyProjection {
    fn new(py: Python<'_>, p: &Projection) -> Self {
        match p {
            Projection::Fields(fields) => PyProjection::Fields(
                fields
                    .iter()
                    .map(|(k, sub)| {
                        (
                            PyString::intern(py, k).unbind(),
                            k.clone(),
                            Self::new(py, sub),
                        )
                    })
                    .collect(),
            ),
            _ => PyProjection::All,
        }
    }
}

/// Converts only the parts of `v` that `proj` says are read (see [`Projection`]).
fn to_data_projected(v: &Bound<'_, PyAny>, proj: &PyProjection) -> PyResult<Data> {
    match proj {
        PyProjection::Fields(fields) => match v.cast::<PyDict>() {
            Ok(d) => {
                let py = v.py();
                let mut entries = Vec::with_capacity(fields.len());
                for (key, name, sub) in fields {
                    if let Some(x) = d.get_item(key.bind(py))? {
                        entries.push((name.clone(), to_data_projected(&x, sub)?));
                    }
                }
                Ok(Data::map(entries))
            }
            Err(_) => to_data(v),
        },
        PyProjection::All => to_data(v),
    }
}

fn get<'py>(d: &Bound<'py, PyAny>, key: &str) -> Option<Bound<'py, PyAny>> {
    d.cast::<PyDict>()
        .ok()
        .and_then(|d| d.get_item(key).ok().flatten())
        .filter(|v| !v.is_none())
}

fn get_str(d: &Bound<'_, PyAny>, key: &str) -> String {
    get(d, key)
        .and_then(|v| v.extract::<String>().ok())
        .unwrap_or_default()
}

fn items<'py>(d: &Bound<'py, PyAny>, key: &str) -> Vec<Bound<'py, PyAny>> {
    match get(d, key) {
        Some(v) => match v.cast::<PyList>() {
            Ok(l) => l.iter().collect(),
            Err(_) => Vec::new(),
        },
        None => Vec::new(),
    }
}

fn spec_of(spec: &Bound<'_, PyAny>) -> PolicySpec {
    let pairs = |key: &str, a: &str, b: &str| -> Vec<(String, String)> {
        items(spec, key)
            .iter()
            .map(|x| (get_str(x, a), get_str(x, b)))
            .collect()
    };
    PolicySpec {
        has_params: get(spec, "paramKind").is_some(),
        fail: get_str(spec, "failurePolicy") != "Ignore",
        match_conditions: pairs("matchConditions", "name", "expression"),
        variables: pairs("variables", "name", "expression"),
        validations: items(spec, "validations")
            .iter()
            .map(|v| ValidationSpec {
                expression: get_str(v, "expression"),
                message: get_str(v, "message"),
                message_expression: get_str(v, "messageExpression"),
                reason: get(v, "reason").and_then(|r| r.extract::<String>().ok()),
            })
            .collect(),
        audit_annotations: pairs("auditAnnotations", "key", "valueExpression"),
    }
}

/// The request's `object` and `oldObject`, converted to CEL when a policy first needs
/// them (only the parts that policy reads) and kept for every binding and param of it.
#[pyclass(frozen, module = "servicecidr._core", name = "AdmissionInput")]
pub struct AdmissionInput {
    object: Option<Py<PyAny>>,
    old_object: Option<Py<PyAny>>,
    /// (policy id, object, oldObject) of the conversions made so far.
    converted: Mutex<Vec<Converted>>,
}

type Converted = (u64, Option<Arc<Data>>, Option<Arc<Data>>);

impl AdmissionInput {
    fn data_for(&self, py: Python<'_>, policy: &CompiledPolicy) -> PyResult<Converted> {
        let id = policy.policy.id();
        {
            let done = self
                .converted
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = done.iter().find(|c| c.0 == id) {
                return Ok(c.clone());
            }
        }
        let uses = policy.policy.uses();
        let (po, pold) = &policy.projections;
        let convert = |src: &Option<Py<PyAny>>, used: bool, proj: &PyProjection| -> PyResult<_> {
            match src {
                Some(o) if used => Ok(Some(Arc::new(to_data_projected(o.bind(py), proj)?))),
                _ => Ok(None),
            }
        };
        let c = (
            id,
            convert(&self.object, uses.object, po)?,
            convert(&self.old_object, uses.old_object, pold)?,
        );
        self.converted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(c.clone());
        Ok(c)
    }
}

#[pymethods]
impl AdmissionInput {
    #[new]
    #[pyo3(signature = (object, old_object))]
    fn new(object: Option<Py<PyAny>>, old_object: Option<Py<PyAny>>) -> Self {
        AdmissionInput {
            object,
            old_object,
            converted: Mutex::new(Vec::new()),
        }
    }
}

/// A ValidatingAdmissionPolicy's CEL, compiled once.
#[pyclass(frozen, module = "servicecidr._core", name = "CompiledPolicy")]
pub struct CompiledPolicy {
    policy: Policy,
    /// What the policy reads of `object` and `oldObject`, with interned field names.
    projections: (PyProjection, PyProjection),
}

/// A variable's value: `None`, a JSON-shaped value, or a callable returning one.
fn lazy_data(py: Python<'_>, v: &Option<Py<PyAny>>) -> PyResult<Option<Data>> {
    let Some(v) = v else {
        return Ok(None);
    };
    let v = v.bind(py);
    if v.is_none() {
        return Ok(None);
    }
    if v.is_callable() && v.cast::<PyDict>().is_err() {
        let r = v.call0()?;
        if r.is_none() {
            return Ok(None);
        }
        return to_data(&r).map(Some);
    }
    to_data(v).map(Some)
}

type DecisionTuple = (usize, String, Option<String>);
type EvalResult = Option<(Vec<DecisionTuple>, Vec<(String, String)>, Vec<String>)>;

#[pymethods]
impl CompiledPolicy {
    /// Compiles the CEL of a policy's `spec` (a dict); failures are kept in `errors`.
    #[new]
    fn new(spec: &Bound<'_, PyAny>) -> Self {
        let policy = Policy::compile(&spec_of(spec));
        let py = spec.py();
        let (o, old) = policy.projections();
        let projections = (PyProjection::new(py, o), PyProjection::new(py, old));
        CompiledPolicy {
            policy,
            projections,
        }
    }

    /// Field path -> compile error detail, for every expression that failed.
    #[getter]
    fn errors(&self) -> Vec<(String, String)> {
        self.policy.errors().to_vec()
    }

    /// Whether an expression reads `request`.
    #[getter]
    fn uses_request(&self) -> bool {
        self.policy.uses().request
    }

    /// Whether an expression reads `namespaceObject`.
    #[getter]
    fn uses_namespace_object(&self) -> bool {
        self.policy.uses().namespace_object
    }

    /// Whether an expression reads `params`.
    #[getter]
    fn uses_params(&self) -> bool {
        self.policy.uses().params
    }

    /// Evaluates the policy for one binding and param. `None` when it has nothing to
    /// say (a match condition excluded the request, or every validation passed and no
    /// audit annotation was published); otherwise (deny decisions as (validation index,
    /// message, reason or None), audit annotations as (key, value), audit annotation
    /// errors).
    #[pyo3(signature = (input, params = None, request = None, namespace_object = None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        input: &AdmissionInput,
        params: Option<Py<PyAny>>,
        request: Option<Py<PyAny>>,
        namespace_object: Option<Py<PyAny>>,
    ) -> PyResult<EvalResult> {
        let uses = self.policy.uses();
        let (_, object, old_object) = input.data_for(py, self)?;
        let request = if uses.request {
            lazy_data(py, &request)?
        } else {
            None
        };
        let params = if uses.params {
            lazy_data(py, &params)?
        } else {
            None
        };
        let namespace_object = if uses.namespace_object {
            lazy_data(py, &namespace_object)?
        } else {
            None
        };
        let bindings = Bindings {
            object: object.as_deref().map(|d| d.as_val() as _),
            old_object: old_object.as_deref().map(|d| d.as_val() as _),
            request: request.as_ref().map(|d| d.as_val() as _),
            params: params.as_ref().map(|d| d.as_val() as _),
            namespace_object: namespace_object.as_ref().map(|d| d.as_val() as _),
        };
        let out = self.policy.evaluate(&bindings);
        if out.decisions.is_empty()
            && out.annotations.is_empty()
            && out.annotation_errors.is_empty()
        {
            return Ok(None);
        }
        Ok(Some((
            out.decisions
                .into_iter()
                .map(|d| (d.index, d.message, d.reason))
                .collect(),
            out.annotations,
            out.annotation_errors,
        )))
    }
}

/// Compiles and evaluates a standalone CEL expression (no variables bound) and returns
/// its printed result; ValueError with kube-apiserver's compile error or cel-go's
/// runtime error otherwise.
#[pyfunction]
pub fn cel_eval(expression: &str) -> PyResult<String> {
    servicecidr_cel::eval_standalone(expression).map_err(pyo3::exceptions::PyValueError::new_err)
}
