use super::*;

const NOW_MS: i64 = 1_800_000_000_000;

fn on() -> Policy {
    Policy {
        allow: true,
        ..Policy::default()
    }
}

fn command(id: &str, program: &str) -> RestartCommand {
    RestartCommand {
        id: id.into(),
        program: program.into(),
        expires_at_unix_ms: NOW_MS + 30_000,
        ttl_ms: 30_000,
        ..Default::default()
    }
}

fn refusal(result: Result<(), String>) -> String {
    result.expect_err("refused")
}

#[test]
fn a_fresh_command_for_a_listed_program_passes_when_allowed() {
    let mut guard = Guard::default();
    let now = Instant::now();
    assert_eq!(
        guard.check(&on(), &command("c1", "oms_console"), now, NOW_MS),
        Ok(())
    );
}

#[test]
fn each_switch_that_is_off_is_named() {
    let now = Instant::now();
    let mut guard = Guard::default();
    let off = refusal(guard.check(
        &Policy::default(),
        &command("c1", "oms_console"),
        now,
        NOW_MS,
    ));
    assert!(off.contains("--allow-restart"), "{off}");
    let outside = refusal(guard.check(&on(), &command("c2", "sshd"), now, NOW_MS));
    assert!(
        outside.contains("not in this agent's --restart-programs (nginx,oms_console,oms_drc_cm,oms_drc_supervisor)"),
        "{outside}"
    );
    let listed_agent = Policy {
        allow: true,
        programs: vec!["omswatch-agent".into()],
    };
    let itself = refusal(guard.check(&listed_agent, &command("c3", "omswatch-agent"), now, NOW_MS));
    assert!(itself.contains("own agent"), "even when listed: {itself}");
}

#[test]
fn a_replayed_command_is_refused_even_after_its_first_refusal() {
    let now = Instant::now();
    let mut guard = Guard::default();
    let first = guard.check(
        &Policy::default(),
        &command("c1", "oms_console"),
        now,
        NOW_MS,
    );
    assert!(first.is_err(), "switch off");
    let replay = refusal(guard.check(&on(), &command("c1", "oms_console"), now, NOW_MS));
    assert!(
        replay.contains("already received") && replay.contains("replayed"),
        "{replay}"
    );
    let later = now + SEEN_FOR + Duration::from_secs(1);
    // Ten minutes later the id is forgotten, but a replay then has long expired.
    let stale = refusal(guard.check(
        &on(),
        &command("c1", "oms_console"),
        later,
        NOW_MS + 601_000,
    ));
    assert!(stale.contains("expired"), "{stale}");
}

#[test]
fn a_delayed_command_is_refused_by_its_expiry_with_slack_for_the_estimate() {
    let now = Instant::now();
    let mut guard = Guard::default();
    let just_late = NOW_MS + 30_000 + 4_000;
    assert_eq!(
        guard.check(&on(), &command("c1", "oms_console"), now, just_late),
        Ok(()),
        "within the slack"
    );
    let late = refusal(guard.check(&on(), &command("c2", "nginx"), now, NOW_MS + 36_000));
    assert!(
        late.contains("expired 6.0s ago") && late.contains("delayed"),
        "{late}"
    );
    let mut far = command("c3", "nginx");
    far.expires_at_unix_ms = NOW_MS + 3_600_000;
    let ahead = refusal(guard.check(&on(), &far, now, NOW_MS));
    assert!(ahead.contains("valid for 3600s more"), "{ahead}");
    let empty = refusal(guard.check(&on(), &command("", "nginx"), now, NOW_MS));
    assert!(empty.contains("no id"), "{empty}");
}

#[test]
fn one_restart_per_program_per_minute_and_a_failed_one_gives_its_minute_back() {
    let now = Instant::now();
    let at = |s: u64| now + Duration::from_secs(s);
    let mut guard = Guard::default();
    assert_eq!(
        guard.check(&on(), &command("c1", "oms_console"), at(0), NOW_MS),
        Ok(())
    );
    let again = refusal(guard.check(&on(), &command("c2", "oms_console"), at(20), NOW_MS));
    assert!(
        again.contains("restarted on this node 20s ago") && again.contains("retry in 40s"),
        "{again}"
    );
    assert_eq!(
        guard.check(&on(), &command("c3", "nginx"), at(20), NOW_MS),
        Ok(())
    );
    assert_eq!(
        guard.check(&on(), &command("c4", "oms_console"), at(60), NOW_MS),
        Ok(())
    );
    guard.give_back("oms_console", at(60));
    assert_eq!(
        guard.check(&on(), &command("c5", "oms_console"), at(61), NOW_MS),
        Ok(())
    );
}

#[test]
fn a_flood_of_ids_is_bounded() {
    let now = Instant::now();
    let mut guard = Guard::default();
    for i in 0..MAX_SEEN {
        let _ = guard.check(
            &Policy::default(),
            &command(&format!("c{i}"), "x"),
            now,
            NOW_MS,
        );
    }
    let full = refusal(guard.check(&on(), &command("next", "nginx"), now, NOW_MS));
    assert!(full.contains("over 1024 commands"), "{full}");
    let later = now + SEEN_FOR;
    assert_eq!(
        guard.check(&on(), &command("next", "nginx"), later, NOW_MS),
        Ok(()),
        "aged out"
    );
}
