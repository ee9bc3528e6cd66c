//! Reading an XML-RPC answer: a `methodResponse` with one value, or a `fault`.
//!
//! A small reader of the XML-RPC value grammar over quick-xml's events. The agent reads
//! supervisord's answer at every probe, and a generic serde mapping of the same XML cost more
//! CPU than the rest of the probe; this one allocates only the strings it returns. Types other
//! than string, int, boolean, double, array and struct (dateTime, base64, nil) are read as
//! [`Value::Other`]: supervisord sends none in `getAllProcessInfo`.

use std::collections::BTreeMap;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};

/// An XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `<string>`, or text with no type element.
    String(String),
    /// `<int>`, `<i4>` or `<i8>`, within i64.
    Integer(i64),
    /// `<boolean>`.
    Boolean(bool),
    /// `<double>`.
    Double(f64),
    /// `<array><data>`.
    Array(Vec<Value>),
    /// `<struct>`: member name → value.
    Struct(BTreeMap<String, Value>),
    /// Any other type, not read.
    Other,
}

/// What an answer held.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// The method's result.
    Value(Value),
    /// An XML-RPC fault: `faultCode` and `faultString`.
    Fault(i64, String),
}

/// Reads a `methodResponse`; the error says what was wrong where.
pub(crate) fn answer(xml: &str) -> Result<Answer, String> {
    let mut parser = Parser {
        reader: Reader::from_str(xml),
    };
    parser.open("methodResponse")?;
    let answer = match parser.next_tag()? {
        Tag::Open(name) if name == "params" => {
            parser.open("param")?;
            parser.open("value")?;
            let value = parser.value()?;
            parser.close("param")?;
            parser.close("params")?;
            Answer::Value(value)
        }
        Tag::Open(name) if name == "fault" => {
            parser.open("value")?;
            let Value::Struct(fault) = parser.value()? else {
                return Err("the fault is not a struct".into());
            };
            parser.close("fault")?;
            let code = match fault.get("faultCode") {
                Some(Value::Integer(code)) => *code,
                _ => return Err("the fault has no integer faultCode".into()),
            };
            let string = match fault.get("faultString") {
                Some(Value::String(string)) => string.clone(),
                _ => String::new(),
            };
            Answer::Fault(code, string)
        }
        other => return Err(format!("expected <params> or <fault>, found {other}")),
    };
    parser.close("methodResponse")?;
    Ok(answer)
}

/// The element names of XML-RPC answers, recognised without allocating.
const KNOWN: [&str; 16] = [
    "methodResponse",
    "params",
    "param",
    "value",
    "fault",
    "array",
    "data",
    "struct",
    "member",
    "name",
    "string",
    "int",
    "i4",
    "i8",
    "boolean",
    "double",
];

/// An element's local name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    /// One of [`KNOWN`].
    Known(&'static str),
    /// Any other.
    Other(String),
}

impl Name {
    /// The name `text`.
    fn of(text: &str) -> Name {
        KNOWN
            .iter()
            .find(|known| **known == text)
            .map_or_else(|| Name::Other(text.to_owned()), |known| Name::Known(known))
    }

    /// The name as text.
    fn as_str(&self) -> &str {
        match self {
            Name::Known(name) => name,
            Name::Other(name) => name,
        }
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A structural event: an element opened (`<x>` or `<x/>`, told apart) or closed.
#[derive(Debug)]
enum Tag {
    /// `<name>`.
    Open(Name),
    /// `<name/>`.
    Empty(Name),
    /// `</name>`.
    Close(Name),
    /// Text that is not whitespace, where an element was expected.
    Text,
    /// The end of the document.
    Eof,
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tag::Open(name) => write!(f, "<{name}>"),
            Tag::Empty(name) => write!(f, "<{name}/>"),
            Tag::Close(name) => write!(f, "</{name}>"),
            Tag::Text => f.write_str("text"),
            Tag::Eof => f.write_str("the end of the answer"),
        }
    }
}

/// The reader and the grammar.
struct Parser<'a> {
    /// quick-xml's event reader over the answer.
    reader: Reader<&'a [u8]>,
}

impl Parser<'_> {
    /// The next element event, skipping the declaration, comments and whitespace between tags.
    fn next_tag(&mut self) -> Result<Tag, String> {
        loop {
            let event = self.reader.read_event().map_err(|e| self.error(&e))?;
            return Ok(match event {
                Event::Start(e) => Tag::Open(Name::of(e.local_name().as_ref())),
                Event::Empty(e) => Tag::Empty(Name::of(e.local_name().as_ref())),
                Event::End(e) => Tag::Close(Name::of(e.local_name().as_ref())),
                Event::Text(t) if t.xml10_content().trim().is_empty() => continue,
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => Tag::Text,
                Event::Eof => Tag::Eof,
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => continue,
            });
        }
    }

    /// Expects `<name>`.
    fn open(&mut self, expected: &str) -> Result<(), String> {
        match self.next_tag()? {
            Tag::Open(name) if name == expected => Ok(()),
            other => Err(format!("expected <{expected}>, found {other}")),
        }
    }

    /// Expects `</name>`.
    fn close(&mut self, expected: &str) -> Result<(), String> {
        match self.next_tag()? {
            Tag::Close(name) if name == expected => Ok(()),
            other => Err(format!("expected </{expected}>, found {other}")),
        }
    }

    /// The value after its `<value>`, through its `</value>`.
    fn value(&mut self) -> Result<Value, String> {
        // Untyped text is a string: `<value>text</value>`, or `<value></value>`.
        let (text, end) = self.text()?;
        let value = match end {
            Tag::Close(name) if name == "value" => return Ok(Value::String(text)),
            Tag::Open(_) | Tag::Empty(_) if !text.trim().is_empty() => {
                return Err("text beside a typed value".into());
            }
            Tag::Empty(kind) => match kind.as_str() {
                "string" => Value::String(String::new()),
                "array" | "struct" | "data" => return Err(format!("<{kind}/> is not a value")),
                _ => Value::Other,
            },
            Tag::Open(kind) => self.typed(kind.as_str())?,
            other => return Err(format!("expected a value, found {other}")),
        };
        self.close("value")?;
        Ok(value)
    }

    /// The value of type `kind`, after its opening tag, through its closing tag.
    fn typed(&mut self, kind: &str) -> Result<Value, String> {
        let scalar = |parser: &mut Self| -> Result<String, String> {
            match parser.text()? {
                (text, Tag::Close(name)) if name == kind => Ok(text),
                (_, other) => Err(format!("expected </{kind}>, found {other}")),
            }
        };
        Ok(match kind {
            "string" => Value::String(scalar(self)?),
            "int" | "i4" | "i8" => {
                let text = scalar(self)?;
                let number = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("<{kind}>{text}</{kind}> is not an integer"))?;
                Value::Integer(number)
            }
            "boolean" => match scalar(self)?.trim() {
                "1" => Value::Boolean(true),
                "0" => Value::Boolean(false),
                other => return Err(format!("<boolean>{other}</boolean> is not 0 or 1")),
            },
            "double" => {
                let text = scalar(self)?;
                Value::Double(
                    text.trim()
                        .parse()
                        .map_err(|_| format!("<double>{text}</double> is not a number"))?,
                )
            }
            "array" => self.array()?,
            "struct" => self.members()?,
            _ => {
                self.skip(kind)?;
                Value::Other
            }
        })
    }

    /// An array's values, after `<array>`, through `</array>`.
    fn array(&mut self) -> Result<Value, String> {
        let mut items = Vec::new();
        match self.next_tag()? {
            Tag::Empty(name) if name == "data" => {}
            Tag::Open(name) if name == "data" => loop {
                match self.next_tag()? {
                    Tag::Open(name) if name == "value" => items.push(self.value()?),
                    Tag::Close(name) if name == "data" => break,
                    other => return Err(format!("expected <value> or </data>, found {other}")),
                }
            },
            other => return Err(format!("expected <data>, found {other}")),
        }
        self.close("array")?;
        Ok(Value::Array(items))
    }

    /// A struct's members, after `<struct>`, through `</struct>`.
    fn members(&mut self) -> Result<Value, String> {
        let mut members = BTreeMap::new();
        loop {
            match self.next_tag()? {
                Tag::Open(name) if name == "member" => {}
                Tag::Close(name) if name == "struct" => return Ok(Value::Struct(members)),
                other => return Err(format!("expected <member> or </struct>, found {other}")),
            }
            self.open("name")?;
            let key = match self.text()? {
                (key, Tag::Close(name)) if name == "name" => key,
                (_, other) => return Err(format!("expected </name>, found {other}")),
            };
            self.open("value")?;
            let value = self.value()?;
            self.close("member")?;
            members.insert(key, value);
        }
    }

    /// Text, entities resolved, up to the next tag (returned with it).
    fn text(&mut self) -> Result<(String, Tag), String> {
        let mut text = String::new();
        loop {
            let event = self.reader.read_event().map_err(|e| self.error(&e))?;
            let tag = match event {
                Event::Text(t) => {
                    text.push_str(&t.xml10_content());
                    continue;
                }
                Event::CData(c) => {
                    text.push_str(&c.into_inner());
                    continue;
                }
                Event::GeneralRef(r) => {
                    text.push(entity(&r)?);
                    continue;
                }
                Event::Comment(_) | Event::PI(_) => continue,
                Event::Start(e) => Tag::Open(Name::of(e.local_name().as_ref())),
                Event::Empty(e) => Tag::Empty(Name::of(e.local_name().as_ref())),
                Event::End(e) => Tag::Close(Name::of(e.local_name().as_ref())),
                Event::Eof => Tag::Eof,
                Event::Decl(_) | Event::DocType(_) => Tag::Text,
            };
            return Ok((text, tag));
        }
    }

    /// Skips an element of unread type `kind`, after its opening tag, through its closing tag.
    fn skip(&mut self, kind: &str) -> Result<(), String> {
        let mut depth = 0usize;
        loop {
            match self.text()?.1 {
                Tag::Open(_) => depth += 1,
                Tag::Close(name) if depth == 0 && name == kind => return Ok(()),
                Tag::Close(_) => depth = depth.saturating_sub(1),
                Tag::Eof => return Err(format!("<{kind}> is never closed")),
                Tag::Empty(_) | Tag::Text => {}
            }
        }
    }

    /// A reader error, with where it happened.
    fn error(&self, error: &quick_xml::Error) -> String {
        format!("at byte {}: {error}", self.reader.buffer_position())
    }
}

/// The character of `&name;` or `&#N;`: XML's five predefined entities, or a character reference.
fn entity(reference: &BytesRef<'_>) -> Result<char, String> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Ok(c);
    }
    let name = reference.xml10_content();
    match name.as_ref() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(format!("unknown entity &{other};")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
