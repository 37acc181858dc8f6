//! Time the audit line reader on a file, single-threaded: `cargo run --release -p
//! servicecidr-audit --example read_lines -- FILE`.
use std::io::BufRead;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: read_lines FILE");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut input = servicecidr_audit::open(&path, done).expect("open");
    let (mut n, mut fast, mut parse_only) = (0u64, 0u64, 0u64);
    let mut buf = Vec::new();
    let t = Instant::now();
    let mut lines = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).expect("read") == 0 {
            break;
        }
        lines.push(buf.clone());
    }
    let read = t.elapsed();
    let t = Instant::now();
    for l in &lines {
        if serde_json::from_slice::<serde_json::Value>(l).is_ok() {
            parse_only += 1;
        }
    }
    let parse = t.elapsed();
    let t = Instant::now();
    for (i, l) in lines.iter().enumerate() {
        n += 1;
        if let Some(servicecidr_audit::Item::Fast(_)) =
            servicecidr_audit::read_line(l, i as u64 + 1, true)
        {
            fast += 1;
        }
    }
    let all = t.elapsed();
    println!(
        "{n} lines ({fast} fast, {parse_only} parsed): read {:?}, parse {:.2} us/line, read_line {:.2} us/line",
        read,
        parse.as_secs_f64() / n as f64 * 1e6,
        all.as_secs_f64() / n as f64 * 1e6
    );
}
