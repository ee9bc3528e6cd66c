//! `supervisorctl status` output as supervisorctl 4.2.5 prints it.

use super::*;

const NOW: i64 = 1_795_571_550;

const OUTPUT: &str = "\
grp:prog1                        RUNNING   pid 11303, uptime 0:00:02
nginx                            STOPPED   Not started
oms_console                      RUNNING   pid 1045, uptime 0:11:03
oms_drc_cm                       FATAL     Exited too quickly (process log may have details)
oms_drc_supervisor               EXITED    Nov 25 01:52 AM
a_program_name_longer_than_thirty_columns STARTING  
";

#[test]
fn parses_status_lines() {
    let programs = parse_status(OUTPUT, NOW).unwrap();
    let brief: Vec<_> = programs
        .iter()
        .map(|p| {
            (
                p.group.as_str(),
                p.name.as_str(),
                p.state.as_str(),
                p.state_code,
                p.pid,
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            ("grp", "prog1", "RUNNING", 20, 11303),
            ("nginx", "nginx", "STOPPED", 0, 0),
            ("oms_console", "oms_console", "RUNNING", 20, 1045),
            ("oms_drc_cm", "oms_drc_cm", "FATAL", 200, 0),
            ("oms_drc_supervisor", "oms_drc_supervisor", "EXITED", 100, 0),
            (
                "a_program_name_longer_than_thirty_columns",
                "a_program_name_longer_than_thirty_columns",
                "STARTING",
                10,
                0
            ),
        ]
    );
    let console = &programs[2];
    assert_eq!(console.description, "pid 1045, uptime 0:11:03");
    assert_eq!(console.start_unix, NOW - 663);
    assert_eq!(console.spawn_error, "");
    let cm = &programs[3];
    assert_eq!(
        cm.spawn_error,
        "Exited too quickly (process log may have details)"
    );
    assert_eq!(cm.start_unix, 0);
    assert_eq!(programs[1].description, "Not started");
    assert_eq!(programs[5].description, "");
}

#[test]
fn empty_output_is_no_programs() {
    assert_eq!(parse_status("", NOW).unwrap(), Vec::new());
    assert_eq!(parse_status("\n  \n", NOW).unwrap(), Vec::new());
}

#[test]
fn garbage_is_an_error_naming_the_line() {
    for garbage in [
        "Traceback (most recent call last):",
        "oms_console",
        "oms_console RUNNIN pid 1",
        ":prog RUNNING pid 1, uptime 0:00:01",
        "grp: RUNNING",
        "\u{0}\u{ffff} \u{1f4a9}",
    ] {
        let text = format!("nginx                            STOPPED   Not started\n{garbage}\n");
        let err = parse_status(&text, NOW).unwrap_err();
        assert!(
            matches!(err, Error::CtlUnparseable { line_no: 2, .. }),
            "{garbage:?}: {err}"
        );
    }
}

#[test]
fn odd_descriptions_do_not_break_parsing() {
    let programs = parse_status(
        "a RUNNING pid x, uptime 0:00:01\nb RUNNING pid 99999999999, uptime 1:2\nc BACKOFF\n",
        NOW,
    )
    .unwrap();
    assert_eq!(
        programs
            .iter()
            .map(|p| (p.pid, p.start_unix))
            .collect::<Vec<_>>(),
        [(0, NOW - 1), (0, 0), (0, 0)]
    );
    assert_eq!(
        parse_status("a RUNNING pid 1, uptime 0:00:05\n", 0).unwrap()[0].start_unix,
        0
    );
}

#[test]
fn parses_python_timedeltas() {
    assert_eq!(parse_uptime("0:11:03"), Some(663));
    assert_eq!(parse_uptime("1 day, 2:03:04"), Some(86_400 + 7384));
    assert_eq!(parse_uptime("12 days, 0:00:01"), Some(12 * 86_400 + 1));
    for bad in [
        "",
        "1:2",
        "0:61:00",
        "x days, 0:00:01",
        "99999999999999999 days, 0:00:00",
        "1:00:00:00",
    ] {
        assert_eq!(parse_uptime(bad), None, "{bad:?}");
    }
}

#[test]
fn interprets_exit_codes() {
    assert_eq!(interpret(Some(3), OUTPUT, "", NOW).unwrap().len(), 6);
    assert_eq!(interpret(Some(0), "", "", NOW).unwrap(), Vec::new());
    let err = interpret(
        Some(4),
        "unix:///tmp/supervisor.sock no such file\n",
        "",
        NOW,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "supervisorctl could not reach supervisord (exit 4): unix:///tmp/supervisor.sock no such file"
    );
    let err = interpret(
        Some(7),
        "http://127.0.0.1:9001 refused connection\n",
        "",
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::CtlUnreachable { code: 7, .. }),
        "{err}"
    );
    let err = interpret(Some(1), "Server requires authentication\n", "", NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        "supervisorctl failed (exit 1): Server requires authentication"
    );
    let err = interpret(
        Some(2),
        "",
        "Error: could not find config file /x.conf\nFor help, use -h\n",
        NOW,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("could not find config file /x.conf"),
        "{err}"
    );
    let err = interpret(None, "", "", NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        "supervisorctl failed (killed by a signal): no output"
    );
    // A description that merely mentions "no such file" is not an unreachable supervisord.
    let line = "x                                FATAL     can't find command '/x': no such file\n";
    assert_eq!(interpret(Some(3), line, "", NOW).unwrap()[0].state, "FATAL");
}

#[test]
fn builds_arguments() {
    let creds = Credentials {
        username: "u".into(),
        password: "p".into(),
        origin: "test".into(),
    };
    let args = args(
        Some(Path::new("/etc/s.conf")),
        Some("unix:///tmp/s.sock"),
        Some(&creds),
    );
    assert_eq!(
        args,
        [
            "-c",
            "/etc/s.conf",
            "-s",
            "unix:///tmp/s.sock",
            "-u",
            "u",
            "-p",
            "p"
        ]
    );
    assert!(super::args(None, None, None).is_empty());
}
