//! Building CEL values from JSON-shaped data (what an API object is to CEL: an
//! unstructured map), and the `null` that stands for an absent object.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use cel::common::traits::Indexer;
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt, Kind,
    Type, NULL_TYPE,
};
use cel::common::value::{CowVal, StaticVal, Val};
use cel::ExecutionError;

/// An owned CEL value (a JSON-shaped document, or a part of one).
pub struct Data(pub(crate) Box<dyn Val + 'static>);

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Data {
    /// `null`.
    pub fn null() -> Data {
        Data(Box::new(CelNull))
    }
    /// A `bool`.
    pub fn bool(b: bool) -> Data {
        Data(Box::new(CelBool::from(b)))
    }
    /// An `int`.
    pub fn int(i: i64) -> Data {
        Data(Box::new(CelInt::from(i)))
    }
    /// A `uint` (JSON integers above `i64::MAX`).
    pub fn uint(u: u64) -> Data {
        Data(Box::new(CelUInt::from(u)))
    }
    /// A `double`.
    pub fn double(d: f64) -> Data {
        Data(Box::new(CelDouble::from(d)))
    }
    /// A `string`.
    pub fn string(s: String) -> Data {
        Data(Box::new(CelString::from(Cow::<'static, str>::Owned(s))))
    }
    /// A `list`.
    pub fn list(items: Vec<Data>) -> Data {
        let items: Vec<Box<dyn Val + 'static>> = items.into_iter().map(|d| d.0).collect();
        Data(Box::new(CelList::from(items)))
    }
    /// A `map` with string keys (a JSON object).
    pub fn map(entries: Vec<(String, Data)>) -> Data {
        let mut m: HashMap<CelMapKey<'static>, Box<dyn Val + 'static>> =
            HashMap::with_capacity(entries.len());
        for (k, v) in entries {
            m.insert(CelMapKey::from(k), v.0);
        }
        Data(Box::new(CelMap::from(m)))
    }

    /// The value, for evaluation.
    pub fn as_val(&self) -> &(dyn Val + 'static) {
        self.0.as_ref()
    }
}

/// The `null` bound to `object` on DELETE, `oldObject` on CREATE, and `params` or
/// `namespaceObject` when there are none. It equals `null`, and selecting a field of it
/// fails as cel-go does (`no such key: metadata`), while `has()` on it is `false`.
#[derive(Clone, Copy, Debug)]
pub struct AbsentNull;

/// The one [`AbsentNull`].
pub static ABSENT: AbsentNull = AbsentNull;

impl Val for AbsentNull {
    fn get_type(&self) -> &Type {
        &NULL_TYPE
    }
    fn cel_type() -> &'static Type {
        &NULL_TYPE
    }
    fn equals(&self, other: &dyn Val) -> bool {
        other.get_type().kind() == Kind::NullType
    }
    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(AbsentNull)
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for AbsentNull {}

impl Indexer for AbsentNull {
    fn get<'b, 'v>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        let key = match idx.downcast_ref::<CelString>() {
            Some(s) => s.inner().to_owned(),
            None => format!("{idx:?}"),
        };
        Err(ExecutionError::no_such_key(&key))
    }

    fn steal<'v>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}
