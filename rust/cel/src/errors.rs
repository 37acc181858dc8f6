//! Error texts in cel-go's words: compile issues as `Issues.String()` prints them, and
//! evaluation errors as cel-go's runtime reports them.

use cel::ExecutionError;

/// One compile issue: a position in the source and a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    /// 1-based line.
    pub line: usize,
    /// 0-based column, in code points.
    pub column: usize,
    pub message: String,
}

/// The (line, column) of a code-point offset into `source`.
pub fn position(source: &str, offset: usize) -> (usize, usize) {
    let (mut line, mut col) = (1, 0);
    for (i, c) in source.chars().enumerate() {
        if i == offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 0;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// `common.Errors.ToDisplayString`: each issue as
/// `ERROR: <input>:L:C: message`, then the source line and a caret under the column,
/// sorted by position, joined by newlines.
pub fn display(source: &str, issues: &[Issue]) -> String {
    let mut sorted: Vec<&Issue> = issues.iter().collect();
    sorted.sort_by_key(|i| (i.line, i.column));
    sorted.dedup_by(|a, b| a == b);
    let lines: Vec<&str> = source.split('\n').collect();
    let mut out = Vec::with_capacity(sorted.len());
    for issue in sorted.into_iter().take(100) {
        let mut s = format!(
            "ERROR: <input>:{}:{}: {}",
            issue.line,
            issue.column + 1,
            issue.message
        );
        if let Some(snippet) = lines.get(issue.line - 1) {
            let snippet = snippet.trim_end_matches('\r').replace('\t', " ");
            s.push_str("\n | ");
            s.push_str(&snippet);
            s.push_str("\n | ");
            let mut chars = snippet.chars();
            for _ in 0..issue.column {
                match chars.next() {
                    Some(c) if c.len_utf8() > 1 => s.push('\u{ff0e}'),
                    Some(_) => s.push('.'),
                    None => break,
                }
            }
            match chars.next() {
                Some(c) if c.len_utf8() > 1 => s.push('\u{ff3e}'),
                _ => s.push('^'),
            }
        }
        out.push(s);
    }
    out.join("\n")
}

/// An evaluation error as cel-go words it (`no such key: x`, `no such overload`, ...).
pub fn runtime_message(e: &ExecutionError) -> String {
    match e {
        ExecutionError::NoSuchKey(k) => format!("no such key: {k}"),
        ExecutionError::FunctionError { message, .. } => message.clone(),
        ExecutionError::NoSuchOverload(o) => {
            let f = o.function();
            if f.starts_with('_') || f.starts_with('@') || f.starts_with('!') || f == "-_" {
                "no such overload".to_owned()
            } else {
                format!("no such overload: {f}({})", o.argument_types().join(", "))
            }
        }
        ExecutionError::IndexOutOfBounds(v) => {
            format!("index out of bounds: {}", short_value(v))
        }
        ExecutionError::DivisionByZero(_) => "division by zero".to_owned(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".to_owned(),
        ExecutionError::Overflow(_, cel::Value::UInt(_), _) => {
            "unsigned integer overflow".to_owned()
        }
        ExecutionError::Overflow(..) => "integer overflow".to_owned(),
        ExecutionError::UndeclaredReference(name) => {
            format!("no such attribute(s): {name}")
        }
        ExecutionError::DuplicateKey(k) => {
            format!("insert failed: key {} already exists", short_value(k))
        }
        ExecutionError::InternalError(s) => s.clone(),
        _ => "no such overload".to_owned(),
    }
}

fn short_value(v: &cel::Value) -> String {
    match v {
        cel::Value::Int(i) => i.to_string(),
        cel::Value::UInt(u) => u.to_string(),
        cel::Value::Float(f) => f.to_string(),
        cel::Value::String(s) => s.to_string(),
        cel::Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_cel_go() {
        let issues = vec![Issue {
            line: 1,
            column: 4,
            message: "found no matching overload for 'cidr' applied to '(int)'".into(),
        }];
        assert_eq!(
            display("cidr(192168)", &issues),
            "ERROR: <input>:1:5: found no matching overload for 'cidr' applied to '(int)'\n \
             | cidr(192168)\n | ....^"
        );
    }

    #[test]
    fn positions_count_code_points() {
        assert_eq!(position("ab\ncd", 4), (2, 1));
        assert_eq!(position("é.x", 2), (1, 2));
    }
}
