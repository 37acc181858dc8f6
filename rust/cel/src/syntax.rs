//! cel-go's parse limits, decided before the expression reaches the `cel` crate's
//! parser (whose parse tree and visitor recurse once per nested operation, with no
//! bound of their own for chains like `a + a + ...`).
//!
//! cel-go refuses, in this order (`parser/parser.go`):
//! 1. a source of more than 100,000 code points:
//!    `expression code point size exceeds limit: size: N, limit 100000`;
//! 2. while ANTLR parses, more than 250 nested entries into rules of one kind
//!    (`recursionListener`): `expression recursion limit exceeded: 250`. A left-recursive
//!    rule (`relation`, `calc`, `member`) leaves and re-enters itself for each operator
//!    of a chain, so chains do not count here; nesting through parentheses, lists, call
//!    arguments and right operands does;
//! 3. while the visitor builds the expression, more than 250 nested operations of the
//!    kinds it counts (`checkAndIncrementRecursionDepth`): `?:`, relations, arithmetic,
//!    field selections, calls on a receiver and indexing: `max recursion depth exceeded`.
//!
//! [`check`] follows the grammar (`CEL.g4`) token by token, counting both as cel-go does,
//! and stops at the first limit passed, so its own recursion is bounded. An input it
//! cannot parse is left to the `cel` crate, which reports the syntax errors.

use crate::limits::{MAX_CODE_POINTS, MAX_RECURSION_DEPTH};

/// Why an expression is refused before parsing (the text of cel-go's issue).
#[derive(Debug, PartialEq)]
pub enum Refusal {
    Size(usize),
    RuleRecursion,
    Depth,
}

impl Refusal {
    /// The message, as cel-go reports it.
    pub fn message(&self) -> String {
        match self {
            Refusal::Size(n) => format!(
                "expression code point size exceeds limit: size: {n}, limit {MAX_CODE_POINTS}"
            ),
            Refusal::RuleRecursion => {
                format!("expression recursion limit exceeded: {MAX_RECURSION_DEPTH}")
            }
            Refusal::Depth => "max recursion depth exceeded".to_owned(),
        }
    }
}

/// `Err` with the limit `source` passes, if any. A syntax error is not a refusal here.
pub fn check(source: &str) -> Result<(), Refusal> {
    let size = source.chars().count();
    if size > MAX_CODE_POINTS {
        return Err(Refusal::Size(size));
    }
    let Some(tokens) = tokenize(source) else {
        return Ok(());
    };
    let mut p = Parser {
        tokens,
        pos: 0,
        depths: [0; RULES],
    };
    match p.start() {
        Ok(depth) if depth > MAX_RECURSION_DEPTH => Err(Refusal::Depth),
        Ok(_) | Err(Stop::Syntax) => Ok(()),
        Err(Stop::Limit) => Err(Refusal::RuleRecursion),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Ident,
    Literal,
    Minus,
    Not,
    Dot,
    Question,
    Colon,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    /// `*`, `/`, `%`
    Mul,
    Plus,
    /// `<`, `<=`, `>`, `>=`, `==`, `!=`, `in`
    Rel,
    And,
    Or,
    /// A backquoted field name.
    Escaped,
}

/// The lexer of `CEL.g4`, keeping only token kinds; `None` for a character no token
/// starts with (a syntax error).
fn tokenize(source: &str) -> Option<Vec<Tok>> {
    let s: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let is_ident_start = |c: char| c == '_' || c.is_ascii_alphabetic();
    let is_ident = |c: char| c == '_' || c.is_ascii_alphanumeric();
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        match c {
            ' ' | '\t' | '\n' | '\r' | '\x0c' => i += 1,
            '/' if next == Some('/') => {
                while i < s.len() && s[i] != '\n' {
                    i += 1;
                }
            }
            '=' if next == Some('=') => {
                out.push(Tok::Rel);
                i += 2;
            }
            '!' if next == Some('=') => {
                out.push(Tok::Rel);
                i += 2;
            }
            '<' | '>' => {
                out.push(Tok::Rel);
                i += if next == Some('=') { 2 } else { 1 };
            }
            '&' if next == Some('&') => {
                out.push(Tok::And);
                i += 2;
            }
            '|' if next == Some('|') => {
                out.push(Tok::Or);
                i += 2;
            }
            '!' => {
                out.push(Tok::Not);
                i += 1;
            }
            '-' => {
                out.push(Tok::Minus);
                i += 1;
            }
            '+' => {
                out.push(Tok::Plus);
                i += 1;
            }
            '*' | '/' | '%' => {
                out.push(Tok::Mul);
                i += 1;
            }
            '?' => {
                out.push(Tok::Question);
                i += 1;
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1;
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1;
            }
            '{' => {
                out.push(Tok::LBrace);
                i += 1;
            }
            '}' => {
                out.push(Tok::RBrace);
                i += 1;
            }
            '`' => {
                i += 1;
                while i < s.len() && s[i] != '`' {
                    i += 1;
                }
                if i >= s.len() {
                    return None;
                }
                i += 1;
                out.push(Tok::Escaped);
            }
            '.' if next.is_some_and(|d| d.is_ascii_digit()) => {
                i = number(&s, i);
                out.push(Tok::Literal);
            }
            '.' => {
                out.push(Tok::Dot);
                i += 1;
            }
            '"' | '\'' => {
                i = string(&s, i, false)?;
                out.push(Tok::Literal);
            }
            d if d.is_ascii_digit() => {
                i = number(&s, i);
                out.push(Tok::Literal);
            }
            c if is_ident_start(c) => {
                // String and bytes prefixes: r, b, rb, br (any case) before a quote.
                let mut j = i;
                while j < s.len() && j < i + 2 && matches!(s[j], 'r' | 'R' | 'b' | 'B') {
                    j += 1;
                }
                if j > i && j < s.len() && (s[j] == '"' || s[j] == '\'') {
                    let raw = s[i..j].iter().any(|c| *c == 'r' || *c == 'R');
                    i = string(&s, j, raw)?;
                    out.push(Tok::Literal);
                    continue;
                }
                let start = i;
                while i < s.len() && is_ident(s[i]) {
                    i += 1;
                }
                let word: String = s[start..i].iter().collect();
                out.push(match word.as_str() {
                    "in" => Tok::Rel,
                    "true" | "false" | "null" => Tok::Literal,
                    _ => Tok::Ident,
                });
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The end of the number literal starting at `i` (digits, hex, fraction, exponent,
/// `u` suffix).
fn number(s: &[char], mut i: usize) -> usize {
    if s[i] == '0' && matches!(s.get(i + 1), Some('x' | 'X')) {
        i += 2;
        while i < s.len() && s[i].is_ascii_hexdigit() {
            i += 1;
        }
    } else {
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i < s.len() && s[i] == '.' && s.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
            i += 1;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
        }
        if i < s.len() && matches!(s[i], 'e' | 'E') {
            let mut j = i + 1;
            if j < s.len() && matches!(s[j], '+' | '-') {
                j += 1;
            }
            if j < s.len() && s[j].is_ascii_digit() {
                i = j;
                while i < s.len() && s[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
    }
    if i < s.len() && matches!(s[i], 'u' | 'U') {
        i += 1;
    }
    i
}

/// The end of the quoted string whose opening quote is at `i`; `None` if unterminated.
fn string(s: &[char], i: usize, raw: bool) -> Option<usize> {
    let q = s[i];
    let triple = s.get(i + 1) == Some(&q) && s.get(i + 2) == Some(&q);
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < s.len() {
        let c = s[j];
        if c == '\\' && !raw {
            j += 2;
            continue;
        }
        if triple {
            if c == q && s.get(j + 1) == Some(&q) && s.get(j + 2) == Some(&q) {
                return Some(j + 3);
            }
        } else if c == q {
            return Some(j + 1);
        } else if c == '\n' || c == '\r' {
            return None;
        }
        j += 1;
    }
    None
}

/// The rules of `CEL.g4` whose nesting the listener counts (each kind separately).
#[derive(Clone, Copy)]
enum Rule {
    Expr,
    ConditionalOr,
    ConditionalAnd,
    Relation,
    Calc,
    Unary,
    Member,
    Primary,
    ExprList,
    ListInit,
    FieldInitializerList,
    MapInitializerList,
    OptField,
    OptExpr,
    EscapeIdent,
    Literal,
}

const RULES: usize = Rule::Literal as usize + 1;

enum Stop {
    /// A rule nested more than the listener allows.
    Limit,
    /// Not CEL: left to the crate's parser to report.
    Syntax,
}

/// The visitor depth of what a rule parsed: the most nested counted operations.
type Depth = usize;

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
    depths: [usize; RULES],
}

impl Parser {
    fn peek(&self) -> Option<Tok> {
        self.tokens.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<Tok> {
        self.tokens.get(self.pos + n).copied()
    }

    fn eat(&mut self, t: Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: Tok) -> Result<(), Stop> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(Stop::Syntax)
        }
    }

    fn enter(&mut self, r: Rule) -> Result<(), Stop> {
        let d = &mut self.depths[r as usize];
        *d += 1;
        if *d > MAX_RECURSION_DEPTH {
            return Err(Stop::Limit);
        }
        Ok(())
    }

    fn exit(&mut self, r: Rule) {
        self.depths[r as usize] -= 1;
    }

    /// A left-recursive rule's loop: ANTLR leaves the rule and enters it again around
    /// each operator (`TriggerExitRuleEvent`, then `PushNewRecursionContext`).
    fn reenter(&mut self, r: Rule) -> Result<(), Stop> {
        self.exit(r);
        self.enter(r)
    }

    fn start(&mut self) -> Result<Depth, Stop> {
        let d = self.expr()?;
        if self.pos != self.tokens.len() {
            return Err(Stop::Syntax);
        }
        Ok(d)
    }

    fn expr(&mut self) -> Result<Depth, Stop> {
        stacker::maybe_grow(
            crate::limits::STACK_RED_ZONE,
            crate::limits::STACK_GROWTH,
            || {
                self.enter(Rule::Expr)?;
                let mut d = self.conditional_or()?;
                if self.eat(Tok::Question) {
                    let then = self.conditional_or()?;
                    self.expect(Tok::Colon)?;
                    let otherwise = self.expr()?;
                    d = 1 + d.max(then).max(otherwise);
                }
                self.exit(Rule::Expr);
                Ok(d)
            },
        )
    }

    fn conditional_or(&mut self) -> Result<Depth, Stop> {
        self.enter(Rule::ConditionalOr)?;
        let mut d = self.conditional_and()?;
        while self.eat(Tok::Or) {
            d = d.max(self.conditional_and()?);
        }
        self.exit(Rule::ConditionalOr);
        Ok(d)
    }

    fn conditional_and(&mut self) -> Result<Depth, Stop> {
        self.enter(Rule::ConditionalAnd)?;
        let mut d = self.relation(0)?;
        while self.eat(Tok::And) {
            d = d.max(self.relation(0)?);
        }
        self.exit(Rule::ConditionalAnd);
        Ok(d)
    }

    /// `relation : calc | relation op relation` (one precedence level, 1).
    fn relation(&mut self, prec: u8) -> Result<Depth, Stop> {
        self.enter(Rule::Relation)?;
        let mut d = self.calc(0)?;
        while self.peek() == Some(Tok::Rel) && prec <= 1 {
            self.reenter(Rule::Relation)?;
            self.pos += 1;
            let rhs = self.relation(2)?;
            d = 1 + d.max(rhs);
        }
        self.exit(Rule::Relation);
        Ok(d)
    }

    /// `calc : unary | calc ('*'|'/'|'%') calc | calc ('+'|'-') calc` (precedences 2
    /// and 1).
    fn calc(&mut self, prec: u8) -> Result<Depth, Stop> {
        self.enter(Rule::Calc)?;
        let mut d = self.unary()?;
        loop {
            let rhs_prec = match self.peek() {
                Some(Tok::Mul) if prec <= 2 => 3,
                Some(Tok::Plus | Tok::Minus) if prec <= 1 => 2,
                _ => break,
            };
            self.reenter(Rule::Calc)?;
            self.pos += 1;
            let rhs = self.calc(rhs_prec)?;
            d = 1 + d.max(rhs);
        }
        self.exit(Rule::Calc);
        Ok(d)
    }

    fn unary(&mut self) -> Result<Depth, Stop> {
        self.enter(Rule::Unary)?;
        // `-1` is a literal of `primary`; `!x` and `-x` are unary operators. Neither is
        // counted by the visitor.
        if self.peek() == Some(Tok::Not) {
            while self.eat(Tok::Not) {}
        } else if self.peek() == Some(Tok::Minus) && self.peek_at(1) != Some(Tok::Literal) {
            while self.peek() == Some(Tok::Minus) && self.peek_at(1) != Some(Tok::Literal) {
                self.pos += 1;
            }
        }
        let d = self.member()?;
        self.exit(Rule::Unary);
        Ok(d)
    }

    /// `member : primary | member '.' '?'? id | member '.' id '(' args ')' |
    /// member '[' '?'? expr ']'`.
    fn member(&mut self) -> Result<Depth, Stop> {
        self.enter(Rule::Member)?;
        let mut d = self.primary()?;
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.reenter(Rule::Member)?;
                    self.pos += 1;
                    self.eat(Tok::Question);
                    if self.peek() == Some(Tok::Ident) && self.peek_at(1) == Some(Tok::LParen) {
                        self.pos += 2;
                        let mut args = 0;
                        if self.peek() != Some(Tok::RParen) {
                            args = self.expr_list()?;
                        }
                        self.expect(Tok::RParen)?;
                        d = 1 + d.max(args);
                    } else {
                        self.escape_ident()?;
                        d += 1;
                    }
                }
                Some(Tok::LBracket) => {
                    self.reenter(Rule::Member)?;
                    self.pos += 1;
                    self.eat(Tok::Question);
                    let index = self.expr()?;
                    self.expect(Tok::RBracket)?;
                    d = 1 + d.max(index);
                }
                _ => break,
            }
        }
        self.exit(Rule::Member);
        Ok(d)
    }

    fn escape_ident(&mut self) -> Result<(), Stop> {
        self.enter(Rule::EscapeIdent)?;
        if !(self.eat(Tok::Ident) || self.eat(Tok::Escaped)) {
            return Err(Stop::Syntax);
        }
        self.exit(Rule::EscapeIdent);
        Ok(())
    }

    fn primary(&mut self) -> Result<Depth, Stop> {
        self.enter(Rule::Primary)?;
        let d = match self.peek() {
            Some(Tok::Dot) | Some(Tok::Ident) => {
                self.eat(Tok::Dot);
                self.expect(Tok::Ident)?;
                if self.eat(Tok::LParen) {
                    let mut args = 0;
                    if self.peek() != Some(Tok::RParen) {
                        args = self.expr_list()?;
                    }
                    self.expect(Tok::RParen)?;
                    args
                } else if self.is_message_name() {
                    while self.eat(Tok::Dot) {
                        self.expect(Tok::Ident)?;
                    }
                    self.expect(Tok::LBrace)?;
                    let mut fields = 0;
                    if self.peek() != Some(Tok::RBrace) && self.peek() != Some(Tok::Comma) {
                        fields = self.field_initializer_list()?;
                    }
                    self.eat(Tok::Comma);
                    self.expect(Tok::RBrace)?;
                    fields
                } else {
                    0
                }
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let d = self.expr()?;
                self.expect(Tok::RParen)?;
                d
            }
            Some(Tok::LBracket) => {
                self.pos += 1;
                let mut d = 0;
                if self.peek() != Some(Tok::RBracket) && self.peek() != Some(Tok::Comma) {
                    d = self.list_init()?;
                }
                self.eat(Tok::Comma);
                self.expect(Tok::RBracket)?;
                d
            }
            Some(Tok::LBrace) => {
                self.pos += 1;
                let mut d = 0;
                if self.peek() != Some(Tok::RBrace) && self.peek() != Some(Tok::Comma) {
                    d = self.map_initializer_list()?;
                }
                self.eat(Tok::Comma);
                self.expect(Tok::RBrace)?;
                d
            }
            Some(Tok::Literal) | Some(Tok::Minus) => {
                self.enter(Rule::Literal)?;
                self.eat(Tok::Minus);
                self.expect(Tok::Literal)?;
                self.exit(Rule::Literal);
                0
            }
            _ => return Err(Stop::Syntax),
        };
        self.exit(Rule::Primary);
        Ok(d)
    }

    /// After an identifier: whether `(.IDENT)* {` follows (a message literal).
    fn is_message_name(&self) -> bool {
        let mut i = 0;
        loop {
            match (self.peek_at(i), self.peek_at(i + 1)) {
                (Some(Tok::LBrace), _) => return true,
                (Some(Tok::Dot), Some(Tok::Ident)) => i += 2,
                _ => return false,
            }
        }
    }

    fn expr_list(&mut self) -> Result<Depth, Stop> {
        self.enter(Rule::ExprList)?;
        let mut d = self.expr()?;
        while self.eat(Tok::Comma) {
            d = d.max(self.expr()?);
        }
        self.exit(Rule::ExprList);
        Ok(d)
    }

    fn opt_expr(&mut self) -> Result<Depth, Stop> {
        self.enter(Rule::OptExpr)?;
        self.eat(Tok::Question);
        let d = self.expr()?;
        self.exit(Rule::OptExpr);
        Ok(d)
    }

    fn list_init(&mut self) -> Result<Depth, Stop> {
        self.enter(Rule::ListInit)?;
        let mut d = self.opt_expr()?;
        while self.peek() == Some(Tok::Comma) && self.peek_at(1) != Some(Tok::RBracket) {
            self.pos += 1;
            d = d.max(self.opt_expr()?);
        }
        self.exit(Rule::ListInit);
        Ok(d)
    }

    fn map_initializer_list(&mut self) -> Result<Depth, Stop> {
        self.enter(Rule::MapInitializerList)?;
        let mut d = 0;
        loop {
            d = d.max(self.opt_expr()?);
            self.expect(Tok::Colon)?;
            d = d.max(self.expr()?);
            if !(self.peek() == Some(Tok::Comma) && self.peek_at(1) != Some(Tok::RBrace)) {
                break;
            }
            self.pos += 1;
        }
        self.exit(Rule::MapInitializerList);
        Ok(d)
    }

    fn field_initializer_list(&mut self) -> Result<Depth, Stop> {
        self.enter(Rule::FieldInitializerList)?;
        let mut d = 0;
        loop {
            self.enter(Rule::OptField)?;
            self.eat(Tok::Question);
            self.escape_ident()?;
            self.exit(Rule::OptField);
            self.expect(Tok::Colon)?;
            d = d.max(self.expr()?);
            if !(self.peek() == Some(Tok::Comma) && self.peek_at(1) != Some(Tok::RBrace)) {
                break;
            }
            self.pos += 1;
        }
        self.exit(Rule::FieldInitializerList);
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(op: &str, n: usize) -> String {
        vec!["a"; n].join(op)
    }

    #[test]
    fn chains_count_in_the_visitor() {
        // n terms make n - 1 nested operations.
        for op in [" + ", " == ", " * ", " < "] {
            assert_eq!(check(&chain(op, 251)), Ok(()), "{op}");
            assert_eq!(check(&chain(op, 252)), Err(Refusal::Depth), "{op}");
        }
        assert_eq!(check(&format!("a{}", ".b".repeat(250))), Ok(()));
        assert_eq!(
            check(&format!("a{}", ".b".repeat(251))),
            Err(Refusal::Depth)
        );
        assert_eq!(
            check(&format!("a{}", "[0]".repeat(251))),
            Err(Refusal::Depth)
        );
        assert_eq!(
            check(&format!("a{}", ".f()".repeat(251))),
            Err(Refusal::Depth)
        );
        // `&&` and `||` are not counted, nor are they nested in the parse.
        assert_eq!(check(&chain(" && ", 5000)), Ok(()));
    }

    #[test]
    fn nesting_counts_in_the_listener() {
        let lists = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        // the outermost expression is the first `expr`: 249 lists nest 250 of them
        assert_eq!(check(&lists(249)), Ok(()));
        assert_eq!(check(&lists(250)), Err(Refusal::RuleRecursion));
        let parens = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(check(&parens(249)), Ok(()));
        assert_eq!(check(&parens(250)), Err(Refusal::RuleRecursion));
        // three `calc` levels for each parenthesis on the right of `*` in a sum
        let mixed = |n: usize| format!("{}1{}", "1 + 2 * (".repeat(n), ")".repeat(n));
        assert_eq!(check(&mixed(82)), Ok(()));
        assert_eq!(check(&mixed(84)), Err(Refusal::RuleRecursion));
    }

    #[test]
    fn measures_code_points() {
        let s = format!("'{}'", "é".repeat(99_998));
        assert_eq!(check(&s), Ok(()));
        let s = format!("'{}'", "é".repeat(99_999));
        assert_eq!(check(&s), Err(Refusal::Size(100_001)));
        assert_eq!(
            Refusal::Size(100_001).message(),
            "expression code point size exceeds limit: size: 100001, limit 100000"
        );
    }

    #[test]
    fn syntax_errors_are_left_to_the_parser() {
        assert_eq!(check("a +"), Ok(()));
        assert_eq!(check("'unterminated"), Ok(()));
        assert_eq!(check("a $ b"), Ok(()));
    }

    #[test]
    fn reads_real_policies() {
        for s in [
            "object.spec.cidrs.all(c, cidr('10.96.0.0/16').containsCIDR(c))",
            "has(object.metadata.labels) && object.metadata.labels['x'] == 'y'",
            "{'a': [1, 2u, 3.0e-1, -4], ?'b': optional.none()}.size() > 0 ? r'x' : b\"y\"",
            "request.userInfo.groups.exists(g, g in ['system:masters'])",
            "'''multi\nline''' + \"\\\"\"",
            "a.?b.orValue(1) + x[?0].orValue(2) // comment",
            "google.protobuf.Timestamp{seconds: 1}",
        ] {
            let mut p = Parser {
                tokens: tokenize(s).expect(s),
                pos: 0,
                depths: [0; RULES],
            };
            assert!(p.start().is_ok(), "{s}");
        }
    }
}
