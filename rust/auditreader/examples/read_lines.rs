//! Time the audit line reader on one file, single-threaded (the worker's share of an
//! import): `cargo run --release -p servicecidr-auditreader --example read_lines -- FILE SCHEMA`,
//! where SCHEMA is the JSON of the importer's schema (without it no put is prepared):
//! `python -c 'import json; from servicecidr.importers.auditreader_rust import READER_SCHEMA as
//! s; print(json.dumps(s))' > schema.json`.
use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;

use servicecidr_auditreader::{Item, LineParser, Schema};
use simd_json::prelude::*;

fn schema_from(path: &str) -> Schema {
    let mut text = std::fs::read(path).expect("read the schema");
    let v = simd_json::to_owned_value(&mut text).expect("schema JSON");
    let pairs = |o: &simd_json::OwnedValue| -> Vec<(String, String)> {
        o.as_object()
            .expect("an object")
            .iter()
            .map(|(k, t)| (k.to_string(), t.as_str().expect("a string").to_string()))
            .collect()
    };
    let structs: Vec<(String, Vec<(String, String)>)> = v
        .get("structs")
        .and_then(|s| s.as_object())
        .expect("structs")
        .iter()
        .map(|(name, fields)| (name.to_string(), pairs(fields)))
        .collect();
    let roots = pairs(v.get("roots").expect("roots"));
    let number = |k: &str| v.get(k).and_then(|n| n.as_usize()).expect("a bound");
    Schema::new(&structs, &roots, number("max_depth"), number("max_bytes")).expect("schema")
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: read_lines FILE [SCHEMA]");
    let schema = std::env::args().nth(2).map(|p| Arc::new(schema_from(&p)));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut input = servicecidr_auditreader::open(&path, done).expect("open");
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    while input.read_until(b'\n', &mut buf).expect("read") > 0 {
        lines.push(std::mem::take(&mut buf));
    }
    let (mut fast, mut skip, mut slow) = (0u64, 0u64, 0u64);
    let mut parser = LineParser::new(schema);
    let t = Instant::now();
    for (i, l) in lines.iter().enumerate() {
        match parser.read_line(l, i as u64 + 1, true) {
            Some(Item::Fast(_)) => fast += 1,
            Some(_) => skip += 1,
            None => slow += 1,
        }
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "{} lines: {fast} fast, {skip} skipped, {slow} for the Python reader; {:.2} us/line",
        lines.len(),
        dt / lines.len() as f64 * 1e6
    );
}
