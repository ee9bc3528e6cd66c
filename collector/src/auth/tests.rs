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

#[test]
fn bearer_tokens_are_checked() {
    let auth = with_tokens();
    assert_eq!(
        auth.operator(&request(Some(&format!("Bearer {TOKEN}")))),
        Ok(Operator::Token)
    );
    assert_eq!(
        auth.operator(&request(Some(&format!("bearer  {TOKEN} ")))),
        Ok(Operator::Token)
    );
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
