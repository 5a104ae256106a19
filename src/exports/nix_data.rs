//! Plain Nix data (attribute sets, lists, strings, integers, booleans, null)
//! read with rnix, without an evaluator. Anything that would need evaluation is
//! refused with its position, so a file never means something other than it says.

use rnix::ast::{self, Attr, Entry, Expr, HasEntry, InterpolPart, LiteralKind};
use rowan::ast::AstNode;
use serde_json::{Map, Value};

/// Exports are four levels deep (`scope.endpoints.hosts = [ ... ]`); this
/// leaves room for any real file and keeps every recursive step below (the
/// parser, the conversion, dropping the tree) far from the stack's end.
const MAX_DEPTH: usize = 100;

const EVAL_HINT: &str = "only plain data is read here; evaluate it first and pass \
     `builtins.toJSON` output instead (e.g. nix eval --json ... > exports.json)";

/// Converts the text of a plain-data `.nix` file to JSON. Errors are
/// `LINE:COLUMN: message`.
pub fn to_json(text: &str) -> Result<Value, String> {
    check_depth(text)?;
    let parse = rnix::Root::parse(text);
    if let Some(err) = parse.errors().first() {
        let at = match err {
            rnix::ParseError::Unexpected(r)
            | rnix::ParseError::UnexpectedExtra(r)
            | rnix::ParseError::UnexpectedWanted(_, r, _)
            | rnix::ParseError::UnexpectedDoubleBind(r)
            | rnix::ParseError::DuplicatedArgs(r, _) => usize::from(r.start()),
            _ => text.len(),
        };
        return Err(format!("{}: syntax error: {err}", position(text, at)));
    }
    let expr = parse
        .tree()
        .expr()
        .ok_or_else(|| format!("{}: the file holds no value", position(text, 0)))?;
    Converter { text }.value(expr)
}

/// Refuses nesting deeper than `MAX_DEPTH` before anything recursive runs.
/// The tokenizer keeps its state on the heap; brackets, parentheses,
/// interpolations, the dots of one attribute path and a run of prefix
/// operators (`- - - 1`) each count as a level. A function application
/// (a name followed by an argument) is refused here too: it is never plain
/// data, and the parser takes time quadratic in a chain of them.
fn check_depth(text: &str) -> Result<(), String> {
    use rnix::SyntaxKind::*;
    let mut open = 0usize;
    let mut path_dots = 0usize;
    let mut prefix_run = 0usize;
    let mut after_name: Option<usize> = None;
    let mut offset = 0;
    for (kind, token) in rnix::tokenize(text) {
        if matches!(kind, TOKEN_WHITESPACE | TOKEN_COMMENT) {
            offset += token.len();
            continue;
        }
        let starts_a_term = matches!(
            kind,
            TOKEN_IDENT
                | TOKEN_INTEGER
                | TOKEN_FLOAT
                | TOKEN_STRING_START
                | TOKEN_L_PAREN
                | TOKEN_L_BRACK
                | TOKEN_L_BRACE
                | TOKEN_PATH_ABS
                | TOKEN_PATH_HOME
                | TOKEN_PATH_REL
                | TOKEN_PATH_SEARCH
                | TOKEN_URI
        );
        if let (Some(name_at), true) = (after_name, starts_a_term) {
            return Err(format!(
                "{}: a function call (import, builtins, ...) is not plain data (evaluate \
                 it first and pass `builtins.toJSON` output instead)",
                position(text, name_at)
            ));
        }
        after_name =
            (kind == TOKEN_IDENT && !matches!(token, "true" | "false" | "null")).then_some(offset);
        prefix_run = if matches!(kind, TOKEN_SUB | TOKEN_INVERT) {
            prefix_run + 1
        } else {
            0
        };
        match kind {
            TOKEN_L_BRACK | TOKEN_L_BRACE | TOKEN_L_PAREN | TOKEN_INTERPOL_START => {
                open += 1;
                path_dots = 0;
            }
            TOKEN_R_BRACK | TOKEN_R_BRACE | TOKEN_R_PAREN | TOKEN_INTERPOL_END => {
                open = open.saturating_sub(1);
                path_dots = 0;
            }
            TOKEN_DOT => path_dots += 1,
            TOKEN_ASSIGN | TOKEN_SEMICOLON => path_dots = 0,
            _ => {}
        }
        if open + path_dots + prefix_run > MAX_DEPTH {
            return Err(format!(
                "{}: nested deeper than {MAX_DEPTH} levels (lists, sets, parentheses, \
                 attribute path parts and prefix operators count; exports need four: \
                 <scope>.endpoints.hosts = [ ... ])",
                position(text, offset)
            ));
        }
        offset += token.len();
    }
    Ok(())
}

/// 1-based `line:column` of a byte offset.
fn position(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{line}:{column}")
}

struct Converter<'t> {
    text: &'t str,
}

impl Converter<'_> {
    fn refuse(&self, node: &impl AstNode, what: &str) -> String {
        let at = usize::from(node.syntax().text_range().start());
        format!(
            "{}: {what} is not plain data ({EVAL_HINT})",
            position(self.text, at)
        )
    }

    fn value(&self, expr: Expr) -> Result<Value, String> {
        match expr {
            Expr::AttrSet(set) => self.attr_set(&set),
            Expr::List(list) => list
                .items()
                .map(|item| self.value(item))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Expr::Str(s) => self.string(&s).map(Value::String),
            Expr::Paren(p) => match p.expr() {
                Some(inner) => self.value(inner),
                None => Err(self.refuse(&p, "an empty parenthesis")),
            },
            Expr::Literal(lit) => match lit.kind() {
                LiteralKind::Integer(i) => i
                    .value()
                    .map(Value::from)
                    .map_err(|_| self.refuse(&lit, "an out-of-range integer")),
                LiteralKind::Float(_) => Err(self.refuse(&lit, "a float")),
                LiteralKind::Uri(_) => Err(self.refuse(&lit, "a bare URI")),
            },
            Expr::Ident(ident) => match ident.to_string().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                "null" => Ok(Value::Null),
                name => Err(self.refuse(&ident, &format!("the variable `{name}`"))),
            },
            Expr::UnaryOp(op) => match op.expr() {
                Some(Expr::Literal(lit)) if op.syntax().text().to_string().starts_with('-') => {
                    match self.value(Expr::Literal(lit))? {
                        Value::Number(n) => n
                            .as_i64()
                            .and_then(i64::checked_neg)
                            .map(Value::from)
                            .ok_or_else(|| self.refuse(&op, "an out-of-range integer")),
                        _ => Err(self.refuse(&op, "an operator")),
                    }
                }
                _ => Err(self.refuse(&op, "an operator")),
            },
            Expr::Lambda(n) => Err(self.refuse(&n, "a function")),
            Expr::LetIn(n) => Err(self.refuse(&n, "`let ... in`")),
            Expr::LegacyLet(n) => Err(self.refuse(&n, "`let { }`")),
            Expr::With(n) => Err(self.refuse(&n, "`with`")),
            Expr::Apply(n) => Err(self.refuse(&n, "a function call (import, builtins, ...)")),
            Expr::BinOp(n) => Err(self.refuse(&n, "an operator")),
            Expr::HasAttr(n) => Err(self.refuse(&n, "an operator")),
            Expr::Select(n) => Err(self.refuse(&n, "an attribute selection")),
            Expr::IfElse(n) => Err(self.refuse(&n, "`if`")),
            Expr::Assert(n) => Err(self.refuse(&n, "`assert`")),
            Expr::PathAbs(n) => Err(self.refuse(&n, "a path")),
            Expr::PathRel(n) => Err(self.refuse(&n, "a path")),
            Expr::PathHome(n) => Err(self.refuse(&n, "a path")),
            Expr::PathSearch(n) => Err(self.refuse(&n, "a search path")),
            Expr::CurPos(n) => Err(self.refuse(&n, "`__curPos`")),
            Expr::Root(n) => Err(self.refuse(&n, "a nested file")),
            Expr::Error(n) => Err(self.refuse(&n, "a syntax error")),
        }
    }

    fn string(&self, s: &ast::Str) -> Result<String, String> {
        let mut out = String::new();
        for part in s.normalized_parts() {
            match part {
                InterpolPart::Literal(text) => out.push_str(&text),
                InterpolPart::Interpolation(i) => {
                    return Err(self.refuse(&i, "string interpolation `${...}`"));
                }
            }
        }
        Ok(out)
    }

    fn attr_name(&self, attr: Attr) -> Result<String, String> {
        match attr {
            Attr::Ident(ident) => Ok(ident.to_string()),
            Attr::Str(s) => self.string(&s),
            Attr::Dynamic(d) => Err(self.refuse(&d, "a dynamic attribute name `${...}`")),
        }
    }

    fn attr_set(&self, set: &ast::AttrSet) -> Result<Value, String> {
        if let Some(rec) = set.rec_token() {
            let at = usize::from(rec.text_range().start());
            return Err(format!(
                "{}: `rec` is not plain data ({EVAL_HINT})",
                position(self.text, at)
            ));
        }
        let mut root = Map::new();
        for entry in set.entries() {
            let binding = match entry {
                Entry::AttrpathValue(b) => b,
                Entry::Inherit(i) => return Err(self.refuse(&i, "`inherit`")),
            };
            let path: Vec<String> = binding
                .attrpath()
                .into_iter()
                .flat_map(|p| p.attrs())
                .map(|a| self.attr_name(a))
                .collect::<Result<_, _>>()?;
            let value = match binding.value() {
                Some(v) => self.value(v)?,
                None => return Err(self.refuse(&binding, "a binding without value")),
            };
            self.insert(&mut root, &path, value, &binding)?;
        }
        Ok(Value::Object(root))
    }

    /// Inserts `a.b.c = value`, merging with sets defined earlier as Nix does.
    fn insert(
        &self,
        map: &mut Map<String, Value>,
        path: &[String],
        value: Value,
        at: &ast::AttrpathValue,
    ) -> Result<(), String> {
        let (first, rest) = path
            .split_first()
            .ok_or_else(|| self.refuse(at, "an empty attribute path"))?;
        let duplicate = || {
            let offset = usize::from(at.syntax().text_range().start());
            format!(
                "{}: attribute `{}` is defined twice",
                position(self.text, offset),
                path.join(".")
            )
        };
        match (map.get_mut(first.as_str()), rest.is_empty()) {
            (None, true) => {
                map.insert(first.clone(), value);
            }
            (None, false) => {
                let mut inner = Map::new();
                self.insert(&mut inner, rest, value, at)?;
                map.insert(first.clone(), Value::Object(inner));
            }
            (Some(Value::Object(inner)), false) => self.insert(inner, rest, value, at)?,
            (Some(Value::Object(existing)), true) => match value {
                Value::Object(more) => {
                    for (k, v) in more {
                        if existing.contains_key(&k) {
                            return Err(duplicate());
                        }
                        existing.insert(k, v);
                    }
                }
                _ => return Err(duplicate()),
            },
            (Some(_), _) => return Err(duplicate()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_plain_data() {
        let text = r#"
            # a comment
            {
              "music:main:server:alpha".endpoints.hosts = [ "music.clan" ''wiki.clan'' ];
              /* block */
              x.y = { z = -3; t = true; f = false; n = null; };
              x.w = "a\"b\n\${c}";
              ind = ''
                line one
                  line two
              '';
            }"#;
        assert_eq!(
            to_json(text).unwrap(),
            json!({
                "music:main:server:alpha": {"endpoints": {"hosts": ["music.clan", "wiki.clan"]}},
                "x": {"y": {"z": -3, "t": true, "f": false, "n": null}, "w": "a\"b\n${c}"},
                "ind": "line one\n  line two\n",
            })
        );
    }

    /// Inputs that once crashed (a stack overflow) or took quadratic time
    /// are refused at once.
    #[test]
    fn refuses_operator_chains_and_application_chains_quickly() {
        for value in [
            format!("{}1", "- ".repeat(60_000)),
            format!("{}true", "!".repeat(60_000)),
        ] {
            let err = to_json(&format!("{{ a = {value}; }}")).unwrap_err();
            assert!(err.contains("nested deeper than 100"), "{err}");
        }
        let started = std::time::Instant::now();
        let err = to_json(&format!("{{ a = ({}); }}", "x ".repeat(100_000))).unwrap_err();
        assert!(err.contains("1:8: a function call"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(
            to_json("{ a = [ true false null ]; b = -1; c = 2 - 1; }").map_err(|_| ()),
            Err(())
        );
        assert_eq!(
            to_json("{ a = [ true false null ]; b = -1; }").unwrap()["b"],
            -1
        );
    }

    #[test]
    fn refuses_evaluation_with_position() {
        for (text, what, at) in [
            ("let a = 1; in a", "`let", "1:1"),
            ("{ a = x: x; }", "a function", "1:7"),
            ("{\n  a = \"${b}\";\n}", "interpolation", "2:8"),
            ("{ a = import ./x.nix; }", "function call", "1:7"),
            ("{ a = 1 + 2; }", "operator", "1:7"),
            ("with {}; {}", "`with`", "1:1"),
            ("rec { a = 1; }", "`rec`", "1:1"),
            ("{ inherit a; }", "`inherit`", "1:3"),
            ("{ a = 1.5; }", "a float", "1:7"),
        ] {
            let err = to_json(text).unwrap_err();
            assert!(err.contains(what), "{text}: {err}");
            assert!(err.starts_with(at), "{text}: {err}");
            assert!(err.contains("builtins.toJSON"), "{text}: {err}");
        }
    }

    #[test]
    fn refuses_deep_nesting_with_position() {
        let deep_list = format!("{{ a = {}{}; }}", "[".repeat(100_000), "]".repeat(100_000));
        let deep_path = format!("{{ a{} = 1; }}", ".a".repeat(100_000));
        let deep_parens = format!("{{ a = {}1{}; }}", "(".repeat(150), ")".repeat(150));
        for (text, at) in [
            (deep_list, "1:106:"),
            (deep_path, "1:202:"),
            (deep_parens, "1:106:"),
        ] {
            let err = to_json(&text).unwrap_err();
            assert!(err.starts_with(at), "{err}");
            assert!(err.contains("nested deeper than 100"), "{err}");
        }
        let fine = format!(
            "{{ a{} = {}1{}; }}",
            ".a".repeat(40),
            "[".repeat(50),
            "]".repeat(50)
        );
        assert!(to_json(&fine).is_ok());
    }

    #[test]
    fn refuses_duplicates_and_syntax_errors() {
        assert!(to_json("{ a = 1; a = 2; }").unwrap_err().contains("twice"));
        assert!(
            to_json("{ a.b = 1; a.b = 2; }")
                .unwrap_err()
                .contains("twice")
        );
        assert!(to_json("{ a = ").unwrap_err().contains("syntax error"));
    }
}
