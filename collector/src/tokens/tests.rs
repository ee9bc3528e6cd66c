use super::*;

const GOOD: &str = "0123456789abcdef0123";
const OTHER: &str = "fedcba9876543210fedcba";

fn parse(text: &str) -> Result<TokenSet, TokenError> {
    TokenSet::parse(Path::new("/etc/omswatch/tokens"), text)
}

#[test]
fn comments_and_blank_lines_are_skipped() {
    let text = format!("# operators\n\n  {GOOD}  \n#{GOOD}x\n");
    let set = parse(&text).expect("valid");
    assert_eq!(set.len(), 1);
    assert!(set.accepts(GOOD));
    assert!(
        !set.accepts(&format!("{GOOD}x")),
        "a commented-out token is not a token"
    );
    assert!(!set.accepts(""));
    assert!(!set.accepts(&GOOD[..GOOD.len() - 1]));
}

#[test]
fn a_bare_line_is_an_unnamed_read_only_token() {
    let set = parse(&format!("{GOOD}\n")).expect("valid");
    let grant = set.find(GOOD).expect("found");
    assert!(grant.allows(Scope::Read) && !grant.allows(Scope::Restart));
    assert_eq!(grant.name(), None);
    let label = grant.label();
    assert!(
        label.starts_with("token#") && label.len() == "token#".len() + 8,
        "{label}"
    );
    assert!(
        !label.contains(GOOD) && !label.contains(&GOOD[..8]),
        "{label}"
    );
    assert_eq!(label, parse::unnamed_label(GOOD), "stable across loads");
    assert_ne!(label, parse::unnamed_label(OTHER));
}

#[test]
fn names_and_scopes_are_read_and_each_token_finds_its_own() {
    let text = format!(
        "{GOOD} name=ci scopes=read,restart   # the pipeline\n{OTHER} scopes=restart name=pager\n"
    );
    let set = parse(&text).expect("valid");
    let ci = set.find(GOOD).expect("ci");
    assert_eq!(
        (ci.label(), ci.scopes().as_str()),
        ("token:ci", "read,restart")
    );
    assert!(ci.allows(Scope::Restart) && ci.allows(Scope::Read));
    let pager = set.find(OTHER).expect("pager");
    assert_eq!(pager.label(), "token:pager");
    assert!(pager.allows(Scope::Restart) && !pager.allows(Scope::Read));
    assert!(set.find("0123456789abcdef0124").is_none());
    let described = set.describe();
    assert!(
        described.contains("token:ci (read,restart)") && !described.contains(GOOD),
        "{described}"
    );
}

#[test]
fn a_token_may_hold_equals_signs() {
    let base64 = "q83vEjRWeJq83vEjRWeJqw==";
    let set = parse(&format!("{base64} name=b64\n")).expect("valid");
    assert_eq!(set.find(base64).expect("found").label(), "token:b64");
}

#[test]
fn malformed_lines_are_named_with_file_and_line_without_repeating_the_token() {
    let cases = [
        (
            "short-secret\n".to_string(),
            "line 1: the token is too short",
        ),
        (
            "abcdefghijklmnopq rstuvw\n".to_string(),
            "line 1: word 2 is not name=NAME or scopes=LIST",
        ),
        (
            format!("# c\n{GOOD} scopes=read,wrte\n"),
            "line 2: unknown scope \"wrte\"",
        ),
        (format!("{GOOD} role=admin\n"), "unknown attribute \"role\""),
        (format!("{GOOD} name=a name=b\n"), "name= is given twice"),
        (format!("{GOOD} name=\n"), "name= must be 1-64"),
        (format!("{GOOD} name=a/b\n"), "name= must be"),
        (
            format!("{GOOD} name=ci\n{OTHER} name=ci\n"),
            "line 2: name=ci is already used on line 1",
        ),
        (
            format!("{GOOD}\n\n{GOOD} name=again\n"),
            "line 3: repeats the token of line 1",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(&text).expect_err(&text).to_string();
        assert!(
            err.contains("token file /etc/omswatch/tokens") && err.contains(expected),
            "{err:?} should name the file and say {expected:?}"
        );
        for secret in [GOOD, OTHER, "short-secret", "rstuvw"] {
            assert!(!err.contains(secret), "{err} repeats a token");
        }
        assert!(err.contains("TOKEN name=ci scopes=read,restart"), "{err}");
    }
    assert!(!format!("{:?}", parse(GOOD)).contains(GOOD));
}

#[tokio::test]
async fn a_changed_file_is_re_read_and_a_removed_one_revokes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens");
    std::fs::write(&path, format!("{GOOD}\n")).expect("write");
    let (mut rx, task) = watch_file(path.clone(), Duration::from_millis(10)).expect("load");
    assert!(rx.borrow().accepts(GOOD));
    std::fs::write(&path, format!("{OTHER} name=next scopes=read,restart\n")).expect("rewrite");
    rx.changed().await.expect("re-read");
    assert!(rx.borrow().accepts(OTHER) && !rx.borrow().accepts(GOOD));
    let grant = rx.borrow().find(OTHER).expect("found");
    assert!(grant.allows(Scope::Restart));
    std::fs::remove_file(&path).expect("remove");
    rx.changed().await.expect("re-read");
    assert!(rx.borrow().is_empty());
    task.abort();
}
