//! Decoding real supervisord 4.2.5 answers, captured from `curl --unix-socket`.

use std::borrow::Cow;

use dxr::MethodCall;

use super::*;

/// `getAllProcessInfo` with two processes, byte for byte as supervisord sent it.
const TWO_PROCESSES: &str = r#"<?xml version='1.0'?>
<methodResponse>
<params>
<param>
<value><array><data>
<value><struct>
<member>
<name>name</name>
<value><string>oms_console</string></value>
</member>
<member>
<name>group</name>
<value><string>oms_console</string></value>
</member>
<member>
<name>start</name>
<value><int>1795571548</int></value>
</member>
<member>
<name>stop</name>
<value><int>0</int></value>
</member>
<member>
<name>now</name>
<value><int>1795571550</int></value>
</member>
<member>
<name>state</name>
<value><int>20</int></value>
</member>
<member>
<name>statename</name>
<value><string>RUNNING</string></value>
</member>
<member>
<name>spawnerr</name>
<value><string></string></value>
</member>
<member>
<name>exitstatus</name>
<value><int>0</int></value>
</member>
<member>
<name>logfile</name>
<value><string>/tmp/oms_console-stdout---supervisor-bgio11jn.log</string></value>
</member>
<member>
<name>stdout_logfile</name>
<value><string>/tmp/oms_console-stdout---supervisor-bgio11jn.log</string></value>
</member>
<member>
<name>stderr_logfile</name>
<value><string>/tmp/oms_console-stderr---supervisor-k_cj3l8z.log</string></value>
</member>
<member>
<name>pid</name>
<value><int>11304</int></value>
</member>
<member>
<name>description</name>
<value><string>pid 11304, uptime 0:00:02</string></value>
</member>
</struct></value>
<value><struct>
<member>
<name>name</name>
<value><string>oms_drc_cm</string></value>
</member>
<member>
<name>group</name>
<value><string>oms_drc_cm</string></value>
</member>
<member>
<name>start</name>
<value><int>1795571548</int></value>
</member>
<member>
<name>stop</name>
<value><int>1795571548</int></value>
</member>
<member>
<name>now</name>
<value><int>1795571550</int></value>
</member>
<member>
<name>state</name>
<value><int>200</int></value>
</member>
<member>
<name>statename</name>
<value><string>FATAL</string></value>
</member>
<member>
<name>spawnerr</name>
<value><string>Exited too quickly (process log may have details)</string></value>
</member>
<member>
<name>exitstatus</name>
<value><int>0</int></value>
</member>
<member>
<name>logfile</name>
<value><string>/tmp/oms_drc_cm-stdout---supervisor-t7mo4ugm.log</string></value>
</member>
<member>
<name>stdout_logfile</name>
<value><string>/tmp/oms_drc_cm-stdout---supervisor-t7mo4ugm.log</string></value>
</member>
<member>
<name>stderr_logfile</name>
<value><string>/tmp/oms_drc_cm-stderr---supervisor-vgam54_p.log</string></value>
</member>
<member>
<name>pid</name>
<value><int>0</int></value>
</member>
<member>
<name>description</name>
<value><string>Exited too quickly (process log may have details)</string></value>
</member>
</struct></value>
</data></array></value>
</param>
</params>
</methodResponse>
"#;

/// supervisord's answer to `getProcessInfo("nope")`.
const FAULT: &str = r#"<?xml version='1.0'?>
<methodResponse>
<fault>
<value><struct>
<member>
<name>faultCode</name>
<value><int>10</int></value>
</member>
<member>
<name>faultString</name>
<value><string>BAD_NAME: nope</string></value>
</member>
</struct></value>
</fault>
</methodResponse>
"#;

#[test]
fn decodes_a_real_response() {
    let programs = decode_process_info(TWO_PROCESSES).unwrap();
    assert_eq!(programs.len(), 2);
    let console = &programs[0];
    assert_eq!(
        *console,
        Program {
            name: "oms_console".into(),
            group: "oms_console".into(),
            state: "RUNNING".into(),
            state_code: 20,
            pid: 11304,
            start_unix: 1_795_571_548,
            exit_status: 0,
            spawn_error: String::new(),
            description: "pid 11304, uptime 0:00:02".into(),
            // Not in XML-RPC: filled from the config file by the probe.
            autostart: None,
            config_file: String::new(),
        }
    );
    let cm = &programs[1];
    assert_eq!(
        (cm.name.as_str(), cm.state.as_str(), cm.state_code, cm.pid),
        ("oms_drc_cm", "FATAL", 200, 0)
    );
    assert_eq!(
        cm.spawn_error,
        "Exited too quickly (process log may have details)"
    );
}

#[test]
fn decodes_a_fault() {
    let err = decode_process_info(FAULT).unwrap_err();
    assert!(
        matches!(&err, Error::Fault { code: 10, string } if string == "BAD_NAME: nope"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "XML-RPC fault 10: BAD_NAME: nope");
}

#[test]
fn rejects_what_is_not_a_process_list() {
    let html = "<head><title>Error response</title></head><body><h1>Error response</h1></body>";
    let err = decode_process_info(html).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("bad XML-RPC response: not an XML-RPC response"),
        "{err}"
    );
    for body in [
        "",
        "\u{0}\u{ffff}<<<",
        &"x".repeat(100_000),
        "<methodResponse><params><param><value><int>1</int></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><array><data><value><int>1</int></value></data></array></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><array><data><value><struct><member><name>name</name><value><int>1</int></value></member></struct></value></data></array></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><array><data><value><struct></struct></value></data></array></value></param></params></methodResponse>",
    ] {
        let err = decode_process_info(body).unwrap_err();
        assert!(err.to_string().len() < 400, "{err}");
    }
}

#[test]
fn tolerates_missing_members_and_odd_pids() {
    let body = "<methodResponse><params><param><value><array><data><value><struct>\
        <member><name>name</name><value><string>x</string></value></member>\
        <member><name>pid</name><value><int>-5</int></value></member>\
        </struct></value></data></array></value></param></params></methodResponse>";
    let programs = decode_process_info(body).unwrap();
    assert_eq!(
        programs,
        vec![Program {
            name: "x".into(),
            ..Program::default()
        }]
    );
    let empty = "<methodResponse><params><param><value><array><data></data></array></value></param></params></methodResponse>";
    assert_eq!(decode_process_info(empty).unwrap(), Vec::new());
}

#[test]
fn the_call_is_what_dxr_writes() {
    let call = MethodCall {
        name: Cow::Borrowed("supervisor.getAllProcessInfo"),
        params: Vec::new(),
    };
    let xml = call.to_xml().unwrap();
    assert_eq!(std::str::from_utf8(CALL).unwrap(), xml);
}
