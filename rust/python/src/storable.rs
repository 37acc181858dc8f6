//! `json_bound`: the quick pass of `servicecidr.api.storable.check`, which every request
//! body takes. It only ever answers for the common case — a value built of plain dicts,
//! lists, strs, ints, floats, bools and None, within the bounds — and leaves everything
//! else to the Python walker, which names the field that is wrong. The Python pass costs
//! about a tenth of a Service create; this one a few percent. A differential fuzz test
//! (tests/fuzz/test_fuzz_api.py) holds the two to the same verdicts.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

/// A lower bound of the compact JSON size of `obj` when it is plain JSON (string keys,
/// valid UTF-8, int64 integers, finite floats) nested at most `max_depth` containers deep;
/// None when the Python walker must judge. The walk stops as soon as the bound exceeds
/// `limit` (a shared value can expand far beyond what memory holds).
#[pyfunction]
pub fn json_bound(obj: &Bound<'_, PyAny>, max_depth: usize, limit: u64) -> Option<u64> {
    let mut w = Walk {
        max_depth,
        limit,
        size: 0,
    };
    match w.value(obj, 0) {
        Ok(()) | Err(Stop::Over) => Some(w.size),
        Err(Stop::Unsure) => None,
    }
}

enum Stop {
    /// not plain JSON (or not sure): the Python walker judges
    Unsure,
    /// the bound is over the limit already: that is the answer
    Over,
}

struct Walk {
    max_depth: usize,
    limit: u64,
    size: u64,
}

impl Walk {
    fn add(&mut self, n: u64) -> Result<(), Stop> {
        self.size = self.size.saturating_add(n);
        if self.size > self.limit {
            return Err(Stop::Over);
        }
        Ok(())
    }

    fn text(&mut self, s: &Bound<'_, PyString>, quotes: u64) -> Result<(), Stop> {
        // to_str fails for a lone surrogate: no UTF-8 holds it
        let t = s.to_str().map_err(|_| Stop::Unsure)?;
        self.add(t.len() as u64 + quotes)
    }

    fn value(&mut self, v: &Bound<'_, PyAny>, depth: usize) -> Result<(), Stop> {
        if let Ok(s) = v.cast_exact::<PyString>() {
            self.text(s, 2)
        } else if let Ok(d) = v.cast_exact::<PyDict>() {
            if depth >= self.max_depth {
                return Err(Stop::Unsure);
            }
            self.add(1 + d.len() as u64)?;
            for (k, item) in d.iter() {
                let k = k.cast_exact::<PyString>().map_err(|_| Stop::Unsure)?;
                self.text(k, 3)?;
                self.value(&item, depth + 1)?;
            }
            Ok(())
        } else if let Ok(l) = v.cast_exact::<PyList>() {
            if depth >= self.max_depth {
                return Err(Stop::Unsure);
            }
            self.add(1 + l.len() as u64)?;
            for item in l.iter() {
                self.value(&item, depth + 1)?;
            }
            Ok(())
        } else if v.is_none() || v.is_exact_instance_of::<PyBool>() {
            self.add(4)
        } else if v.is_exact_instance_of::<PyInt>() {
            v.extract::<i64>().map_err(|_| Stop::Unsure)?;
            self.add(1)
        } else if let Ok(f) = v.cast_exact::<PyFloat>() {
            if !f.value().is_finite() {
                return Err(Stop::Unsure);
            }
            self.add(1)
        } else {
            Err(Stop::Unsure)
        }
    }
}
