//! Time the audit line reader on one file, single-threaded (the worker's share of an
//! import): `cargo run --release -p servicecidr-auditreader --example read_lines -- FILE`.
use std::io::BufRead;
use std::time::Instant;

use servicecidr_auditreader::{Item, LineParser};

fn main() {
    let path = std::env::args().nth(1).expect("usage: read_lines FILE");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut input = servicecidr_auditreader::open(&path, done).expect("open");
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    while input.read_until(b'\n', &mut buf).expect("read") > 0 {
        lines.push(std::mem::take(&mut buf));
    }
    let (mut fast, mut skip, mut slow) = (0u64, 0u64, 0u64);
    let mut parser = LineParser::default();
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
