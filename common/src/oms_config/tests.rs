use super::*;

const GOOD: &str = "\
oms_meta_host: 10.0.0.5
oms_meta_port: 2881
oms_meta_user: oms_meta@oms_tenant
oms_meta_password: \"s3cret\"
drc_rm_db: oms_rm
drc_cm_db: oms_cm
drc_cm_heartbeat_db: oms_cm_heartbeat_0
cm_url: http://10.0.0.11:8088
cm_location: 0
cm_region: \"\"
cm_is_default: true
cm_nodes:
  - 10.0.0.11
  - 10.0.0.12
tsdb_enabled: false
some_future_key: {nested: [1, 2]}
";

#[test]
fn parses_the_documented_example_and_accepts_unknown_keys() {
    let c = parse("config.yaml", GOOD).expect("valid");
    assert_eq!(c.meta.host, "10.0.0.5");
    assert_eq!(c.meta.port, 2881);
    assert_eq!(c.meta.password.expose(), "s3cret");
    assert_eq!(c.drc_cm_db.as_str(), "oms_cm");
    assert_eq!(c.cm_nodes, vec!["10.0.0.11", "10.0.0.12"]);
    assert_eq!(c.cm_is_default, Some(true));
    assert_eq!(c.nginx_server_port, DEFAULT_NGINX_PORT);
}

#[test]
fn missing_key_names_file_and_key() {
    let text = GOOD.replace("cm_url: http://10.0.0.11:8088\n", "");
    let issues = parse("/etc/oms/config.yaml", &text).expect_err("invalid");
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].key, "cm_url");
    assert_eq!(issues[0].file, "/etc/oms/config.yaml");
    assert!(issues[0].line.is_none());
}

#[test]
fn yaml_syntax_error_names_line_and_key() {
    let text = GOOD.replace(
        "cm_nodes:\n  - 10.0.0.11",
        "cm_nodes:\n  - 10.0.0.11\n bad: [unclosed",
    );
    let issues = parse("c.yaml", &text).expect_err("invalid");
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].key, "cm_nodes", "{issues:?}");
    let line = issues[0].line.expect("line");
    assert!((13..=16).contains(&line), "line {line}");
}

#[test]
fn wrong_types_and_bad_ips_name_their_line() {
    let text = GOOD
        .replace("oms_meta_port: 2881", "oms_meta_port: [2881]")
        .replace("  - 10.0.0.12", "  - ten.0.0.12");
    let issues = parse("c.yaml", &text).expect_err("invalid");
    let port = issues
        .iter()
        .find(|i| i.key == "oms_meta_port")
        .expect("port issue");
    assert_eq!(port.line, Some(2));
    let nodes = issues
        .iter()
        .find(|i| i.key == "cm_nodes")
        .expect("cm_nodes issue");
    assert!(nodes.problem.contains("ten.0.0.12"), "{}", nodes.problem);
    assert_eq!(nodes.line, Some(12));
}

#[test]
fn hostile_database_name_is_an_issue() {
    let text = GOOD.replace(
        "drc_cm_db: oms_cm",
        "drc_cm_db: \"oms_cm`; DROP DATABASE x; --\"",
    );
    let issues = parse("c.yaml", &text).expect_err("invalid");
    assert_eq!(issues[0].key, "drc_cm_db");
    assert_eq!(issues[0].line, Some(6));
}

#[test]
fn empty_or_non_mapping_files_are_issues_not_panics() {
    for text in ["", "- a\n- b\n", "just text", "\u{0}\u{1}", ":::"] {
        assert!(parse("c.yaml", text).is_err(), "{text:?}");
    }
}

#[test]
fn secrets_do_not_show_in_debug() {
    let c = parse("config.yaml", GOOD).expect("valid");
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn key_lines_are_kept_for_evidence() {
    let c = parse("config.yaml", GOOD).expect("valid");
    assert_eq!(c.line_of("cm_url"), Some(8));
    assert_eq!(c.line_of("cm_nodes"), Some(12));
    assert_eq!(c.line_of("no_such_key"), None);
}

#[test]
fn many_keys_are_summarised_with_every_line_in_one_pass() {
    // 40,000 keys: the issue's fault run (33 CPU-s when each key's line was a rescan).
    let text: String = (0..40_000)
        .map(|i| format!("key_{i}: value_{i}\n"))
        .collect();
    let doc = Document::new(&text);
    let summary = summary::summarize_document("/c.yaml", &doc);
    assert_eq!(summary.values.len(), 40_000);
    assert_eq!(summary.lines["key_0"], 1);
    assert_eq!(summary.lines["key_39999"], 40_000);
    assert!(parse_document("/c.yaml", &doc).is_err(), "no oms_meta_host");
}

#[test]
fn an_oversized_file_is_one_issue_naming_its_size_and_the_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(MAX_CONFIG_BYTES + 1))
        .expect("sparse file");
    let (config, summary) = load(&path);
    let issues = config.expect_err("refused");
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].file, path.display().to_string());
    let problem = &issues[0].problem;
    assert!(
        problem.contains(&format!("{} bytes", MAX_CONFIG_BYTES + 1))
            && problem.contains(&format!("{MAX_CONFIG_BYTES}-byte cap")),
        "{problem}"
    );
    assert!(summary.is_none());
}

#[test]
fn a_refused_document_is_an_issue_with_its_reason() {
    let text = format!(
        "{GOOD}bad: {}{}\n",
        "[".repeat(300_000),
        "]".repeat(300_000)
    );
    let issues = parse("c.yaml", &text).expect_err("refused");
    assert!(issues[0].problem.contains("`[`/`{`"), "{issues:?}");
    let summary = summary::summarize("c.yaml", &text);
    assert!(summary.error.contains("`[`/`{`"), "{}", summary.error);
}
