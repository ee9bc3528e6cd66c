use std::path::Path;

use tonic::Code;

use super::*;

const TOKEN: &str = "0123456789abcdef0123";

fn with_tokens() -> Authorizer {
    let set = TokenSet::parse(Path::new("t"), TOKEN).expect("tokens");
    let (_tx, rx) = watch::channel(Arc::new(set));
    Authorizer::verified(Some(rx))
}

fn request(authorization: Option<&str>) -> Request<()> {
    let mut request = Request::new(());
    if let Some(value) = authorization {
        let value = value.parse().expect("ascii");
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn code(result: Result<Operator, AuthError>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(e) => Status::from(e).code(),
    }
}

#[test]
fn insecure_mode_lets_anyone_report_and_query() {
    let open = Authorizer::open();
    assert_eq!(open.reporter(&request(None)), Ok(Reporter::Unverified));
    assert_eq!(open.operator(&request(None)), Ok(Operator::Unverified));
    assert_eq!(Reporter::Unverified.admits("any-name"), Ok(()));
}

#[test]
fn tls_mode_needs_a_certificate_to_report() {
    let err = with_tokens()
        .reporter(&request(Some(&format!("Bearer {TOKEN}"))))
        .expect_err("a token is not a node identity");
    assert_eq!(err, AuthError::NoCertificate);
    assert_eq!(Status::from(err).code(), Code::Unauthenticated);
}

fn is_token(result: Result<Operator, AuthError>, label: &str) -> bool {
    matches!(result, Ok(Operator::Token(grant)) if grant.label() == label)
}

#[test]
fn bearer_tokens_are_checked() {
    let auth = with_tokens();
    let label = crate::tokens::TokenSet::parse(Path::new("t"), TOKEN)
        .expect("tokens")
        .find(TOKEN)
        .expect("found")
        .label()
        .to_string();
    assert!(is_token(
        auth.operator(&request(Some(&format!("Bearer {TOKEN}")))),
        &label
    ));
    assert!(is_token(
        auth.operator(&request(Some(&format!("bearer  {TOKEN} ")))),
        &label
    ));
    for (header, expected) in [
        (None, AuthError::NoCredentials),
        (Some("Bearer wrong-token-0123456789"), AuthError::BadToken),
        (Some("Bearer "), AuthError::BadToken),
        (Some(TOKEN), AuthError::MalformedAuthorization),
        (
            Some("Basic dXNlcjpwYXNz"),
            AuthError::MalformedAuthorization,
        ),
    ] {
        let result = auth.operator(&request(header));
        assert_eq!(result, Err(expected.clone()), "{header:?}");
        assert_eq!(code(result), Code::Unauthenticated, "{header:?}");
    }
    let no_file = Authorizer::verified(None);
    assert_eq!(
        no_file.operator(&request(Some(&format!("Bearer {TOKEN}")))),
        Err(AuthError::BadToken)
    );
}

#[test]
fn scopes_decide_what_a_token_may_do() {
    const READER: &str = "reader-0123456789abcdef";
    const RESTARTER: &str = "restarter-0123456789abcdef";
    let text = format!("{READER}\n{RESTARTER} name=pager scopes=restart\n");
    let set = TokenSet::parse(Path::new("t"), &text).expect("tokens");
    let (_tx, rx) = watch::channel(Arc::new(set));
    let auth = Authorizer::verified(Some(rx));
    let bearer = |t: &str| request(Some(&format!("Bearer {t}")));
    let reader = auth.caller(&bearer(READER)).expect("a caller");
    assert!(reader.actor().starts_with("token#"), "{}", reader.actor());
    let refused = reader
        .require(Scope::Restart)
        .expect_err("read-only")
        .to_string();
    assert!(
        refused.contains("may not restart programs")
            && refused.contains("scopes=read;")
            && refused.contains("add restart"),
        "{refused}"
    );
    let pager = auth.caller(&bearer(RESTARTER)).expect("a caller");
    assert_eq!(pager.actor(), "token:pager");
    assert!(pager.clone().require(Scope::Restart).is_ok());
    let err = auth
        .operator(&bearer(RESTARTER))
        .expect_err("no read scope");
    assert!(err.to_string().contains("may not query"), "{err}");
    assert_eq!(Status::from(err).code(), Code::PermissionDenied);
    assert!(!refused.contains(READER));
    let certificate = Operator::Certificate("alice".into());
    assert_eq!(certificate.actor(), "alice");
    assert!(certificate.require(Scope::Restart).is_ok());
}

#[test]
fn a_node_reports_only_for_itself() {
    let node = Reporter::Node("oms-a".into());
    assert_eq!(node.admits("oms-a"), Ok(()));
    let err = node.admits("oms-b").expect_err("forged name");
    assert_eq!(
        err.to_string(),
        "certificate is for node oms-a, report is for oms-b"
    );
    assert_eq!(Status::from(err).code(), Code::PermissionDenied);
}

#[test]
fn role_errors_are_permission_denied_and_never_show_tokens() {
    let id = PeerIdentity {
        role: Role::Node,
        name: "oms-a".into(),
    };
    for e in [
        AuthError::NotAnOperator(id.clone()),
        AuthError::NotANode(id),
        AuthError::NoIdentity(IdentityError::Missing),
    ] {
        assert_eq!(Status::from(e).code(), Code::PermissionDenied);
    }
    let err = with_tokens()
        .operator(&request(Some("Bearer not-the-token-xyz-123")))
        .expect_err("bad");
    assert!(!err.to_string().contains("not-the-token"));
}
