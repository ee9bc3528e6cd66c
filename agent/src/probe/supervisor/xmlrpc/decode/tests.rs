//! The XML-RPC value grammar, as Python's xmlrpc.client writes it and as the spec allows.

use super::*;

fn value(xml: &str) -> Value {
    let response = format!(
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n{xml}\n</param>\n</params>\n</methodResponse>\n"
    );
    match answer(&response).unwrap() {
        Answer::Value(value) => value,
        fault => panic!("{fault:?}"),
    }
}

fn string(s: &str) -> Value {
    Value::String(s.into())
}

#[test]
fn scalars_typed_and_untyped() {
    assert_eq!(
        value("<value><string>oms_console</string></value>"),
        string("oms_console")
    );
    assert_eq!(value("<value>untyped text</value>"), string("untyped text"));
    assert_eq!(value("<value></value>"), string(""));
    assert_eq!(value("<value><string/></value>"), string(""));
    assert_eq!(
        value("<value><string>  spaced  </string></value>"),
        string("  spaced  ")
    );
    assert_eq!(value("<value><int>-42</int></value>"), Value::Integer(-42));
    assert_eq!(value("<value><i4>7</i4></value>"), Value::Integer(7));
    assert_eq!(
        value("<value><i8>4294967296</i8></value>"),
        Value::Integer(1 << 32)
    );
    assert_eq!(
        value("<value><boolean>1</boolean></value>"),
        Value::Boolean(true)
    );
    assert_eq!(
        value("<value><double>1.5</double></value>"),
        Value::Double(1.5)
    );
    assert_eq!(value("<value><nil/></value>"), Value::Other);
    assert_eq!(
        value("<value><dateTime.iso8601>20260101T00:00:00</dateTime.iso8601></value>"),
        Value::Other
    );
}

#[test]
fn entities_character_references_and_cdata() {
    assert_eq!(
        value(
            "<value><string>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233;&#x4e2d;</string></value>"
        ),
        string("a & b <c> \"d\" 'e' é中")
    );
    assert_eq!(
        value("<value><string><![CDATA[<raw> & ]]></string></value>"),
        string("<raw> & ")
    );
    assert!(answer("<methodResponse><params><param><value><string>&nbsp;</string></value></param></params></methodResponse>").is_err());
}

#[test]
fn arrays_and_structs_nest() {
    let xml = "<value><array><data>\
        <value><struct>\
          <member><name>name</name><value><string>nginx</string></value></member>\
          <member><name>pid</name><value><int>7</int></value></member>\
          <member><name>tags</name><value><array><data/></array></value></member>\
        </struct></value>\
        <value><struct></struct></value>\
        </data></array></value>";
    let Value::Array(items) = value(xml) else {
        panic!("not an array");
    };
    assert_eq!(items.len(), 2);
    let Value::Struct(first) = &items[0] else {
        panic!("not a struct");
    };
    assert_eq!(first["name"], string("nginx"));
    assert_eq!(first["pid"], Value::Integer(7));
    assert_eq!(first["tags"], Value::Array(Vec::new()));
    assert_eq!(items[1], Value::Struct(BTreeMap::new()));
}

#[test]
fn faults() {
    let fault = "<?xml version='1.0'?><methodResponse><fault><value><struct>\
        <member><name>faultCode</name><value><int>10</int></value></member>\
        <member><name>faultString</name><value><string>BAD_NAME: x</string></value></member>\
        </struct></value></fault></methodResponse>";
    assert_eq!(
        answer(fault).unwrap(),
        Answer::Fault(10, "BAD_NAME: x".into())
    );
}

#[test]
fn malformed_answers_say_what_was_expected() {
    for (xml, expected) in [
        ("", "expected <methodResponse>, found the end of the answer"),
        (
            "<html><body>502</body></html>",
            "expected <methodResponse>, found <html>",
        ),
        (
            "<methodResponse><params><param><value><int>x</int></value>",
            "not an integer",
        ),
        (
            "<methodResponse><params><param><value><boolean>2</boolean></value>",
            "not 0 or 1",
        ),
        (
            "<methodResponse><params><param><value><array><value/>",
            "expected <data>",
        ),
        (
            "<methodResponse><params><param><value><string>cut",
            "expected </string>",
        ),
        (
            "<methodResponse><params><param><value>x<int>1</int></value>",
            "text beside",
        ),
        (
            "<methodResponse><params><param><value><struct><member><value>",
            "expected <name>",
        ),
        (
            "<methodResponse><fault><value><string>x</string></value></fault></methodResponse>",
            "not a struct",
        ),
        (
            "<methodResponse><params><param><value><unknown><a></unknown>",
            "ill-formed",
        ),
    ] {
        let error = answer(xml).unwrap_err();
        assert!(error.contains(expected), "{xml}: {error}");
    }
}
