//! config.yaml's text to a YAML value, with the work bounded by the text's size.
//!
//! The YAML parser (libyaml's port) bounds nesting (128 levels, but only once the whole text is
//! scanned) and the number of alias jumps (100 per event), which leaves two ways for a file under
//! the size cap to cost minutes or gigabytes, both refused here before or while the value is
//! built:
//! - **Flow nesting**: the scanner walks its stack of flow levels at every token, so
//!   `[[[[…]]]]` is quadratic (80,000 levels, 160 KB: 20 s). The depth is at most the number of
//!   `[` and `{` in the text, and the tokens at most its length, so a text whose openers × length
//!   exceeds [`MAX_FLOW_WORK`] is refused without being parsed. No real config.yaml comes close.
//! - **Alias fan-out**: `a: &a [1, 1, …]` with 100,000 items and `b: [*a, *a, …]` with 100,000
//!   aliases is half a megabyte of text and 10^10 values. So the value is built here, node by
//!   node, against a budget: a document may not expand to more nodes or scalar bytes than
//!   [`budget_for`] its own text allows. Text without aliases never expands (each node and each
//!   scalar byte needs at least one byte of text).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Value};

/// Nodes and scalar bytes a document may expand to beyond its own length, so that a small file
/// that uses anchors and aliases as intended (a shared block repeated a few times) still parses.
const SLACK: usize = 64 * 1024;

/// Largest (`[` and `{` outside comment lines) × (text length) parsed: about a second of the
/// scanner's time at worst. A 128 KiB file (the cap) may hold 2,048 of them, a 16 KiB one 16,384.
pub const MAX_FLOW_WORK: u64 = 1 << 28;

/// Why a text is not a YAML value.
#[derive(Debug)]
pub enum YamlError {
    /// The parser's own error (syntax, duplicate key, nesting over 128 levels, ...).
    Syntax(serde_yaml::Error),
    /// Refused for the work it would cost.
    Refused {
        /// What and why, and what to do instead.
        message: String,
        /// 1-based line where it was noticed, when known.
        line: Option<usize>,
    },
}

impl YamlError {
    /// 1-based line of the error, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            YamlError::Syntax(e) => e.location().map(|l| l.line()),
            YamlError::Refused { line, .. } => *line,
        }
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YamlError::Syntax(e) => write!(f, "YAML syntax error: {e}"),
            YamlError::Refused { message, .. } => f.write_str(message),
        }
    }
}

/// What a document of `text_len` bytes may expand to, in nodes and in scalar bytes each.
pub fn budget_for(text_len: usize) -> usize {
    text_len.saturating_add(SLACK)
}

/// Parses `text` as one YAML document, refusing one whose flow nesting could make the scanner
/// slow or that expands past a budget sized to the text (`budget_for`).
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let openers = flow_openers(text);
    if openers.saturating_mul(text.len() as u64) > MAX_FLOW_WORK {
        return Err(YamlError::Refused {
            message: format!(
                "the file has {openers} `[`/`{{` in {} bytes: flow collections that many (or that \
                 deeply nested) make YAML parsing slow; write lists one `- item` per line",
                text.len()
            ),
            line: None,
        });
    }
    let budget = Budget {
        nodes: Cell::new(budget_for(text.len())),
        bytes: Cell::new(budget_for(text.len())),
        exhausted: Cell::new(false),
    };
    Node(&budget)
        .deserialize(serde_yaml::Deserializer::from_str(text))
        .map_err(|e| match budget.exhausted.get() {
            true => YamlError::Refused {
                message: Expands.to_string(),
                line: e.location().map(|l| l.line()),
            },
            false => YamlError::Syntax(e),
        })
}

/// The `[` and `{` of `text`, except on comment lines (a `[` there is never a flow collection:
/// it is a comment, or the content of a block or quoted scalar). An upper bound on the flow
/// depth the scanner can reach.
fn flow_openers(text: &str) -> u64 {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .map(|line| line.bytes().filter(|b| matches!(b, b'[' | b'{')).count() as u64)
        .sum()
}

/// What is left to spend while one document is built.
struct Budget {
    nodes: Cell<usize>,
    bytes: Cell<usize>,
    /// Set when the budget ran out, to tell that error from the parser's own.
    exhausted: Cell<bool>,
}

impl Budget {
    /// Spends one node and `bytes` scalar bytes, or fails once either runs out.
    fn spend<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        let nodes = self.nodes.get().checked_sub(1);
        let left = self.bytes.get().checked_sub(bytes);
        match (nodes, left) {
            (Some(nodes), Some(left)) => {
                self.nodes.set(nodes);
                self.bytes.set(left);
                Ok(())
            }
            _ => {
                self.exhausted.set(true);
                Err(E::custom(Expands))
            }
        }
    }
}

/// The refusal, as the YAML error's message.
struct Expands;

impl fmt::Display for Expands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the document expands to far more than its own text: anchors and aliases \
             (`&name` / `*name`) repeat too much (a \"billion laughs\" file?); write the values out",
        )
    }
}

/// Builds one node (and everything under it) against the budget.
#[derive(Clone, Copy)]
struct Node<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        self.0.spend(0)?;
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        self.0.spend(0)?;
        Ok(Value::Number(i.into()))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        self.0.spend(0)?;
        Ok(Value::Number(u.into()))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        self.0.spend(0)?;
        Ok(Value::Number(f.into()))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        self.0.spend(s.len())?;
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        self.0.spend(s.len())?;
        Ok(Value::String(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.0.spend(0)?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.spend(0)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }

    /// As the parser's own `Mapping` does, a key written twice is an error.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.spend(0)?;
        let mut mapping = Mapping::new();
        while let Some(key) = map.next_key_seed(self)? {
            if mapping.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate entry with key {}",
                    key_text(&key)
                )));
            }
            let value = map.next_value_seed(self)?;
            mapping.insert(key, value);
        }
        Ok(Value::Mapping(mapping))
    }

    /// A tagged value (`!Tag value`).
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use de::VariantAccess;
        let (tag, contents) = data.variant::<String>()?;
        if tag.is_empty() {
            return Err(de::Error::custom("empty YAML tag is not allowed"));
        }
        self.0.spend(tag.len())?;
        let value = contents.newtype_variant_seed(self)?;
        Ok(Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value,
        })))
    }
}

/// A key for the duplicate-key message, as the parser would quote it.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        _ => "(a compound key)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_documents_parse_as_the_parser_would() {
        let text = "a: 1\nb: [x, 2.5, true, null]\nc: {d: e}\nf: !Tag v\n\"g\": |\n  text\n";
        let ours = parse(text).expect("parses");
        let theirs: Value = serde_yaml::from_str(text).expect("parses");
        assert_eq!(ours, theirs);
    }

    #[test]
    fn a_few_aliases_are_fine() {
        let text = "base: &b {host: h, port: 1}\none: *b\ntwo: *b\n";
        let v = parse(text).expect("parses");
        assert_eq!(v["two"]["port"], Value::from(1));
    }

    #[test]
    fn alias_fan_out_is_refused_quickly() {
        // 20,000 items, each of 20,000 aliases: 4·10^8 values from ~140 KB of text.
        let items = vec!["1"; 20_000].join(",");
        let aliases = vec!["*a"; 20_000].join(",");
        let text = format!("a: &a [{items}]\nb: [{aliases}]\n");
        let started = std::time::Instant::now();
        let e = parse(&text).expect_err("refused");
        assert!(matches!(e, YamlError::Refused { .. }), "{e}");
        assert!(e.to_string().contains("aliases"), "{e}");
        // Generous: the refusal comes after a budget of roughly the text's size.
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    }

    #[test]
    fn nested_laughs_are_refused() {
        let mut text = String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let prev = format!("*l{}", i - 1);
            let row = [prev.as_str(); 9].join(", ");
            text.push_str(&format!("l{i}: &l{i} [{row}]\n"));
        }
        assert!(parse(&text).is_err());
    }

    #[test]
    fn a_long_string_repeated_by_aliases_is_refused() {
        let long = "x".repeat(100_000);
        let aliases = vec!["*s"; 100].join(", ");
        let text = format!("s: &s {long}\nt: [{aliases}]\n");
        assert!(parse(&text).is_err());
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        // Parsed, 100,000 levels take the scanner minutes; refused, no time at all.
        let text = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let started = std::time::Instant::now();
        let e = parse(&text).expect_err("refused");
        assert!(matches!(e, YamlError::Refused { .. }), "{e}");
        assert!(e.to_string().contains("100000 `[`/`{`"), "{e}");
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    }

    #[test]
    fn nesting_past_the_parsers_limit_is_a_syntax_error() {
        let text = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
        assert!(matches!(parse(&text), Err(YamlError::Syntax(_))));
        let deep_block: String = (0..300).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(matches!(parse(&deep_block), Err(YamlError::Syntax(_))));
    }

    #[test]
    fn brackets_in_comment_lines_do_not_count() {
        let text = format!("{}a: [x]\n", "# [[[[ old: [a, b] {c}\n".repeat(20_000));
        assert_eq!(flow_openers(&text), 1);
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse("a: 1\na: 2\n").expect_err("duplicate");
        assert!(e.to_string().contains("duplicate"), "{e}");
    }
}
