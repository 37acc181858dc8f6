//! The exceptions of `servicecidr.errors`, imported once each: the one error tree is
//! defined in Python, and every error the extension raises is one of its classes.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};

const ERRORS_MODULE: &str = "servicecidr.errors";

static INVALID_INPUT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static RANGE_FULL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ALREADY_ALLOCATED_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static NOT_IN_RANGE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static EXPIRED_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The classes the extension raises.
#[derive(Clone, Copy)]
pub(crate) enum Class {
    InvalidInput,
    RangeFull,
    AlreadyAllocated,
    NotInRange,
    Expired,
}

impl Class {
    fn lock_and_name(self) -> (&'static PyOnceLock<Py<PyType>>, &'static str) {
        match self {
            Class::InvalidInput => (&INVALID_INPUT_ERROR, "InvalidInputError"),
            Class::RangeFull => (&RANGE_FULL_ERROR, "RangeFullError"),
            Class::AlreadyAllocated => (&ALREADY_ALLOCATED_ERROR, "AlreadyAllocatedError"),
            Class::NotInRange => (&NOT_IN_RANGE_ERROR, "NotInRangeError"),
            Class::Expired => (&EXPIRED_ERROR, "ExpiredError"),
        }
    }

    /// The class itself.
    pub(crate) fn get(self, py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
        let (lock, name) = self.lock_and_name();
        lock.import(py, ERRORS_MODULE, name)
    }

    /// An instance made with `args`. If `servicecidr.errors` itself cannot be imported,
    /// that import error is what the caller gets.
    pub(crate) fn instance<'py>(
        self,
        py: Python<'py>,
        args: &[&str],
    ) -> PyResult<Bound<'py, PyAny>> {
        self.get(py)?.call1(PyTuple::new(py, args)?)
    }

    /// An instance made with `args`, as an error to raise.
    pub(crate) fn new_err(self, py: Python<'_>, args: &[&str]) -> PyErr {
        self.instance(py, args)
            .map_or_else(|e| e, PyErr::from_value)
    }
}

/// InvalidInputError(message).
pub(crate) fn invalid_input(py: Python<'_>, message: &str) -> PyErr {
    Class::InvalidInput.new_err(py, &[message])
}
