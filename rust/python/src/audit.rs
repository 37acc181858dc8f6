//! `AuditLineReader`: the Python face of servicecidr-audit's worker thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use servicecidr_auditreader::{open, work, Batch, Item, ItemRef, PayloadRef, Schema};

/// The schema table handed over by Python (see `AuditLineReader.__new__`).
fn schema_from(d: &Bound<'_, PyDict>) -> PyResult<Schema> {
    let item = |key: &str| -> PyResult<Bound<'_, PyAny>> {
        d.get_item(key)?
            .ok_or_else(|| PyValueError::new_err(format!("schema without {key:?}")))
    };
    let mut structs = Vec::new();
    for (name, fields) in item("structs")?.cast_into::<PyDict>()?.iter() {
        let mut fs = Vec::new();
        for (f, t) in fields.cast_into::<PyDict>()?.iter() {
            fs.push((f.extract::<String>()?, t.extract::<String>()?));
        }
        structs.push((name.extract::<String>()?, fs));
    }
    let mut roots = Vec::new();
    for (kind, root) in item("roots")?.cast_into::<PyDict>()?.iter() {
        roots.push((kind.extract::<String>()?, root.extract::<String>()?));
    }
    Schema::new(
        &structs,
        &roots,
        item("max_depth")?.extract()?,
        item("max_bytes")?.extract()?,
    )
    .map_err(PyValueError::new_err)
}

/// Reads one JSON-lines audit log file (plain or gzip) on a worker thread.
#[pyclass(module = "servicecidr._core", name = "AuditLineReader")]
pub struct AuditLineReader {
    source: Py<PyString>,
    strings: Mutex<Strings>,
    rx: Mutex<Option<Receiver<Batch>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    done: Arc<AtomicU64>,
    closed: AtomicBool,
}

#[pymethods]
impl AuditLineReader {
    /// Start reading `path`. With `fast=False` no line is made a fast record (the
    /// importer wants every usable write as the Python reader builds it).
    /// `source`: the name records carry (the input's name as the user gave it).
    /// `schema`: what a prepared object must be to be stored (`{"structs": {name:
    /// {field: type}}, "roots": {kind: struct}, "max_depth": n, "max_bytes": n}`, from
    /// `servicecidr.importers.fastaudit`); without it no put is prepared.
    #[new]
    #[pyo3(signature = (path, *, fast = true, batch = 256, source = None, schema = None))]
    fn new(
        py: Python<'_>,
        path: &str,
        fast: bool,
        batch: usize,
        source: Option<Bound<'_, PyString>>,
        schema: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let schema = schema.map(|s| schema_from(&s)).transpose()?.map(Arc::new);
        let done = Arc::new(AtomicU64::new(0));
        let input = open(path, done.clone()).map_err(|e| PyOSError::new_err(e.to_string()))?;
        // a few batches in flight: the worker stays ahead, memory stays bounded
        let (tx, rx) = sync_channel(8);
        let batch = batch.clamp(1, 1 << 16);
        let worker = std::thread::Builder::new()
            .name("audit-reader".into())
            .spawn(move || {
                // A failure of the reader itself must not look like the end of the file.
                let report = tx.clone();
                let run = std::panic::AssertUnwindSafe(|| work(input, tx, fast, batch, schema));
                if let Err(panic) = std::panic::catch_unwind(run) {
                    let why = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    let mut b = Batch::default();
                    b.push(&Item::Error {
                        line: 0,
                        message: format!("the audit reader failed ({why}); please report it"),
                    });
                    let _ = report.send(b);
                }
            })
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(AuditLineReader {
            source: source.unwrap_or_else(|| PyString::new(py, path)).unbind(),
            strings: Mutex::new(Strings::default()),
            rx: Mutex::new(Some(rx)),
            worker: Mutex::new(Some(worker)),
            done,
            closed: AtomicBool::new(false),
        })
    }

    /// The next batch of lines, or None at the end. Each item is a tuple:
    /// a fast record: the 20 arguments of `importers.model.Record`, in order;
    /// a skip: the 4 arguments of `importers.model.Skip`;
    /// `(2, line, text)` a slow line; `(3, line, message)` a read error (the file ends).
    fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        // The receiver leaves the lock while this thread waits without the GIL; a
        // close() meanwhile is seen when it comes back (and the receiver dropped).
        let rx = self.rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let got = match rx {
            None => None,
            Some(rx) => {
                let (got, rx) = py.detach(move || (rx.recv().ok(), rx));
                if got.is_some() && !self.closed.load(Ordering::SeqCst) {
                    *self.rx.lock().unwrap_or_else(|e| e.into_inner()) = Some(rx);
                    got
                } else {
                    None
                }
            }
        };
        let Some(items) = got else {
            return Ok(None);
        };
        let out = PyList::empty(py);
        let mut strings = self.strings.lock().unwrap_or_else(|e| e.into_inner());
        let source = self.source.bind(py);
        for item in items.iter() {
            out.append(to_py(py, item, source, &mut strings)?)?;
        }
        Ok(Some(out))
    }

    /// Bytes of the file read so far (compressed bytes for gzip), for progress.
    #[getter]
    fn bytes_read(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Stop the worker and let go of the file.
    fn close(&self, py: Python<'_>) {
        self.closed.store(true, Ordering::SeqCst);
        drop(self.rx.lock().unwrap_or_else(|e| e.into_inner()).take());
        let worker = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = worker {
            py.detach(|| {
                let _ = w.join();
            });
        }
    }
}

impl Drop for AuditLineReader {
    fn drop(&mut self) {
        // closing the channel ends the worker at its next send
        drop(self.rx.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}

/// Python strings for the values that repeat from line to line (verbs, kinds,
/// namespaces, users, skip details): made once, shared after.
#[derive(Default)]
struct Strings(HashMap<String, Py<PyString>>);

impl Strings {
    fn get<'py>(&mut self, py: Python<'py>, s: &str) -> Bound<'py, PyString> {
        if let Some(v) = self.0.get(s) {
            return v.bind(py).clone();
        }
        if self.0.len() >= 4096 {
            self.0.clear(); // a bound: names that never repeat must not pile up
        }
        let v = PyString::new(py, s);
        self.0.insert(s.to_string(), v.clone().unbind());
        v
    }
}

fn to_py<'py>(
    py: Python<'py>,
    item: ItemRef<'_>,
    source: &Bound<'py, PyString>,
    strings: &mut Strings,
) -> PyResult<Bound<'py, PyTuple>> {
    match item {
        ItemRef::Skip {
            line,
            reason,
            detail,
        } => PyTuple::new(
            py,
            [
                source.clone().into_any(),
                line.into_pyobject(py)?.into_any(),
                strings.get(py, reason).into_any(),
                strings.get(py, detail).into_any(),
            ],
        ),
        ItemRef::Slow { line, text } => (2u8, line, PyBytes::new(py, text)).into_pyobject(py),
        ItemRef::Error { line, message } => (3u8, line, message).into_pyobject(py),
        ItemRef::Fast(r) => {
            let payload = match r.payload {
                PayloadRef::Put {
                    rv,
                    blob,
                    ips,
                    parent,
                    managed,
                } => (
                    0u8,
                    rv,
                    PyBytes::new(py, blob),
                    PyTuple::new(py, ips)?,
                    parent,
                    managed,
                )
                    .into_pyobject(py)?
                    .into_any(),
                PayloadRef::Delete { rv } => (1u8, rv).into_pyobject(py)?.into_any(),
            };
            let ts = r.ts.into_pyobject(py)?.into_any();
            let none = py.None().into_bound(py);
            let fields: [Bound<'_, PyAny>; 20] = [
                source.clone().into_any(),
                r.line.into_pyobject(py)?.into_any(),
                ts.clone(),
                ts,
                strings.get(py, r.verb).into_any(),
                strings.get(py, r.kind).into_any(),
                match r.namespace {
                    Some(ns) => strings.get(py, ns).into_any(),
                    None => none.clone(),
                },
                PyString::new(py, r.name).into_any(),
                strings.get(py, "").into_any(),
                r.code.into_pyobject(py)?.into_any(),
                strings.get(py, r.user).into_any(),
                strings.get(py, r.actor).into_any(),
                PyString::new(py, r.audit_id).into_any(),
                strings.get(py, r.level).into_any(),
                none.clone(),
                none,
                r.received.into_pyobject(py)?.into_any(),
                pyo3::types::PyBool::new(py, r.raw).to_owned().into_any(),
                payload,
                PyBytes::new(py, r.text).into_any(),
            ];
            PyTuple::new(py, fields)
        }
    }
}
