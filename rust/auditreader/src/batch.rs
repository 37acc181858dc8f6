//! What the worker hands over: a batch of items packed in one buffer.
//!
//! The worker's allocations are freed by the thread that takes them. One buffer per batch
//! instead of a dozen strings and vectors per line keeps those cross-thread frees rare:
//! with glibc's allocator, each one takes the worker's arena lock, and per line they cost
//! an import about a third of its speed (futex waits on both threads, measured).

use crate::{FastRecord, Item, Payload};

/// Items packed one after the other (a private layout: both ends are this module).
#[derive(Default)]
pub struct Batch {
    data: Vec<u8>,
    count: usize,
}

/// A fast record as it lies in a batch.
pub struct FastRef<'a> {
    pub line: u64,
    pub ts: f64,
    pub received: Option<f64>,
    pub verb: &'a str,
    pub kind: &'a str,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    pub code: i64,
    pub user: &'a str,
    pub actor: &'a str,
    pub audit_id: &'a str,
    pub level: &'a str,
    pub raw: bool,
    pub payload: PayloadRef<'a>,
    pub text: &'a [u8],
}

pub enum PayloadRef<'a> {
    Put {
        rv: u64,
        blob: &'a [u8],
        ips: Vec<&'a str>,
        parent: Option<&'a str>,
        managed: bool,
    },
    Delete {
        rv: Option<u64>,
    },
}

/// An item as it lies in a batch.
pub enum ItemRef<'a> {
    Fast(Box<FastRef<'a>>),
    Skip {
        line: u64,
        reason: &'a str,
        detail: &'a str,
    },
    Slow {
        line: u64,
        text: &'a [u8],
    },
    Error {
        line: u64,
        message: &'a str,
    },
}

const FAST: u8 = 0;
const SKIP: u8 = 1;
const SLOW: u8 = 2;
const ERROR: u8 = 3;

impl Batch {
    pub fn with_capacity(bytes: usize) -> Self {
        Batch {
            data: Vec::with_capacity(bytes),
            count: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes packed so far.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    fn u8(&mut self, v: u8) {
        self.data.push(v);
    }

    fn u64(&mut self, v: u64) {
        self.data.extend_from_slice(&v.to_le_bytes());
    }

    fn f64(&mut self, v: f64) {
        self.data.extend_from_slice(&v.to_le_bytes());
    }

    fn bytes_field(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.data.extend_from_slice(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes_field(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }

    pub fn push(&mut self, item: &Item) {
        self.count += 1;
        match item {
            Item::Fast(r) => self.push_fast(r),
            Item::Skip {
                line,
                reason,
                detail,
            } => {
                self.u8(SKIP);
                self.u64(*line);
                self.str(reason);
                self.str(detail);
            }
            Item::Slow { line, text } => {
                self.u8(SLOW);
                self.u64(*line);
                self.bytes_field(text);
            }
            Item::Error { line, message } => {
                self.u8(ERROR);
                self.u64(*line);
                self.str(message);
            }
        }
    }

    fn push_fast(&mut self, r: &FastRecord) {
        self.u8(FAST);
        self.u64(r.line);
        self.f64(r.ts);
        match r.received {
            Some(t) => {
                self.u8(1);
                self.f64(t);
            }
            None => self.u8(0),
        }
        for s in [
            &r.verb,
            r.kind,
            &r.name,
            &r.user,
            &r.actor,
            &r.audit_id,
            &r.level,
        ] {
            self.str(s);
        }
        self.opt_str(r.namespace.as_deref());
        self.u64(r.code as u64);
        self.u8(u8::from(r.raw));
        match &r.payload {
            Payload::Put {
                rv,
                blob,
                ips,
                parent,
                managed,
            } => {
                self.u8(0);
                self.u64(*rv);
                self.bytes_field(blob);
                self.u64(ips.len() as u64);
                for ip in ips {
                    self.str(ip);
                }
                self.opt_str(parent.as_deref());
                self.u8(u8::from(*managed));
            }
            Payload::Delete { rv } => {
                self.u8(1);
                match rv {
                    Some(rv) => {
                        self.u8(1);
                        self.u64(*rv);
                    }
                    None => self.u8(0),
                }
            }
        }
        self.bytes_field(&r.text);
    }

    /// The items, in the order they were pushed.
    pub fn iter(&self) -> impl Iterator<Item = ItemRef<'_>> {
        let mut c = Cursor {
            data: &self.data,
            pos: 0,
        };
        std::iter::from_fn(move || c.item())
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n)
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    fn opt_str(&mut self) -> Option<Option<&'a str>> {
        Some(match self.u8()? {
            0 => None,
            _ => Some(self.str()?),
        })
    }

    fn item(&mut self) -> Option<ItemRef<'a>> {
        if self.pos >= self.data.len() {
            return None;
        }
        Some(match self.u8()? {
            FAST => ItemRef::Fast(Box::new(self.fast()?)),
            SKIP => ItemRef::Skip {
                line: self.u64()?,
                reason: self.str()?,
                detail: self.str()?,
            },
            SLOW => ItemRef::Slow {
                line: self.u64()?,
                text: self.bytes()?,
            },
            _ => ItemRef::Error {
                line: self.u64()?,
                message: self.str()?,
            },
        })
    }

    fn fast(&mut self) -> Option<FastRef<'a>> {
        let line = self.u64()?;
        let ts = self.f64()?;
        let received = match self.u8()? {
            0 => None,
            _ => Some(self.f64()?),
        };
        let (verb, kind, name) = (self.str()?, self.str()?, self.str()?);
        let (user, actor, audit_id, level) = (self.str()?, self.str()?, self.str()?, self.str()?);
        let namespace = self.opt_str()?;
        let code = self.u64()? as i64;
        let raw = self.u8()? != 0;
        let payload = match self.u8()? {
            0 => {
                let rv = self.u64()?;
                let blob = self.bytes()?;
                let n = usize::try_from(self.u64()?).ok()?;
                let mut ips = Vec::with_capacity(n.min(8));
                for _ in 0..n {
                    ips.push(self.str()?);
                }
                PayloadRef::Put {
                    rv,
                    blob,
                    ips,
                    parent: self.opt_str()?,
                    managed: self.u8()? != 0,
                }
            }
            _ => PayloadRef::Delete {
                rv: match self.u8()? {
                    0 => None,
                    _ => Some(self.u64()?),
                },
            },
        };
        let text = self.bytes()?;
        Some(FastRef {
            line,
            ts,
            received,
            verb,
            kind,
            namespace,
            name,
            code,
            user,
            actor,
            audit_id,
            level,
            raw,
            payload,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_back_as_they_went_in() {
        let mut parser = crate::LineParser::new(Some(crate::schema::untyped()));
        let fast_line = crate::SERVICE_CREATE;
        let mut b = Batch::default();
        b.push(&parser.read_line(fast_line, 1, true).unwrap());
        b.push(&Item::Skip {
            line: 2,
            reason: "read-only",
            detail: "get (200)".into(),
        });
        b.push(&Item::Slow {
            line: 3,
            text: b"{\n".to_vec(),
        });
        b.push(&Item::Error {
            line: 4,
            message: "gone".into(),
        });
        assert_eq!(b.len(), 4);
        let items: Vec<_> = b.iter().collect();
        assert_eq!(items.len(), 4);
        let ItemRef::Fast(f) = &items[0] else {
            panic!("not fast")
        };
        assert_eq!(
            (f.line, f.verb, f.kind, f.name, f.namespace),
            (1, "create", "Service", "s", Some("d"))
        );
        assert_eq!((f.code, f.audit_id, f.text), (201, "x", fast_line));
        let PayloadRef::Put { rv, ips, .. } = &f.payload else {
            panic!("not a put")
        };
        assert_eq!(
            (*rv, ips.as_slice()),
            (5, ["10.0.0.1", "fd00::1"].as_slice())
        );
        assert!(matches!(
            items[1],
            ItemRef::Skip {
                line: 2,
                reason: "read-only",
                detail: "get (200)"
            }
        ));
        assert!(matches!(
            items[2],
            ItemRef::Slow {
                line: 3,
                text: b"{\n"
            }
        ));
        assert!(matches!(
            items[3],
            ItemRef::Error {
                line: 4,
                message: "gone"
            }
        ));
    }
}
