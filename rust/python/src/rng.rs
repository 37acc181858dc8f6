//! `MersenneTwister`: the engine's random stream, held where Rust can draw from it.
//!
//! `servicecidr.rng.SeededRandom` (a `random.Random`) keeps its generator here, so the
//! Python code that calls `getrandbits`/`random` and the one-call create (which draws
//! natively, [`MersenneTwister::draw_bits`]) consume one sequence: the one CPython's own
//! generator gives from the same state.

use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyTuple};
use servicecidr_fastpath::mt::Mt19937;

/// CPython's MT19937 state, drawn from in Rust and in Python.
#[pyclass(module = "servicecidr._core", name = "MersenneTwister")]
pub struct MersenneTwister {
    mt: Mt19937,
}

impl MersenneTwister {
    /// `getrandbits(k)` for `k <= 128`.
    pub(crate) fn draw_bits(&mut self, k: u32) -> u128 {
        self.mt.getrandbits_u128(k)
    }

    /// The permutation `random.Random.shuffle` makes of `0..n`.
    pub(crate) fn shuffled(&mut self, n: usize) -> Vec<usize> {
        self.mt.shuffled(n)
    }
}

#[pymethods]
impl MersenneTwister {
    /// The generator at `state`: the 625 ints of `random.Random.getstate()[1]` (the 624
    /// words of the state and the index into them).
    #[new]
    fn new(state: Vec<u64>) -> PyResult<Self> {
        Mt19937::from_state(&state)
            .map(|mt| MersenneTwister { mt })
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// `random.Random.getrandbits(k)`: an int of `k` random bits.
    fn getrandbits<'py>(&mut self, py: Python<'py>, k: i64) -> PyResult<Bound<'py, PyAny>> {
        if k < 0 {
            return Err(PyValueError::new_err("number of bits must be non-negative"));
        }
        if k <= 64 {
            return Ok(PyInt::new(py, self.mt.getrandbits_u128(k as u32) as u64).into_any());
        }
        if k <= 128 {
            return Ok(PyInt::new(py, self.mt.getrandbits_u128(k as u32)).into_any());
        }
        let words = self
            .mt
            .getrandbits_words(k as u64)
            .map_err(|_| PyMemoryError::new_err(()))?;
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        py.get_type::<PyInt>()
            .call_method1("from_bytes", (PyBytes::new(py, &bytes), "little"))
    }

    /// `random.Random.random()`: a float in [0, 1).
    fn random(&mut self) -> f64 {
        self.mt.random()
    }

    /// The state as the constructor takes it (a tuple of 625 ints).
    fn getstate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.mt.state())
    }
}
