//! autostart from a supervisord-style layout (supervisord.conf + conf.d/*.ini) in a temporary
//! directory, as OMS images ship it.

use super::*;

const MAIN: &str = "; supervisor config file\n\
[unix_http_server]\nfile=/tmp/supervisor.sock   ; the socket\n\
[supervisord]\nlogfile=/home/admin/logs/supervisord.log\n\
[program:nginx]\ncommand=/usr/sbin/nginx -g \"daemon off;\"\nautostart = TRUE ; inline comment\n\
[include]\nfiles = conf.d/*.ini %(here)s/extra/*.conf\n";

fn program(name: &str, group: &str) -> Program {
    Program {
        name: name.into(),
        group: group.into(),
        ..Program::default()
    }
}

/// Writes `files` (relative path, text) under a new temporary directory.
fn layout(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn main_file_and_includes() {
    let dir = layout(&[
        ("supervisord.conf", MAIN),
        (
            "conf.d/oms_console.ini",
            "[program:oms_console]\ncommand=/home/admin/start.sh\nautostart=false\n\
             environment=A=\"1\",\n    B=\"2\"\n",
        ),
        (
            "conf.d/oms_drc_cm.ini",
            "[program:oms_drc_cm]\ncommand=/bin/cm\n",
        ),
        (
            "conf.d/store.ini",
            "[program:store]\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)02d\nautostart=off\n",
        ),
        ("conf.d/bad.ini", "[program:broken]\nautostart=maybe\n"),
        ("conf.d/.hidden.ini", "[program:hidden]\nautostart=false\n"),
        ("conf.d/README", "[program:readme]\nautostart=false\n"),
        ("extra/late.conf", "[program:nginx]\nautostart=no\n"),
    ]);
    let conf = dir.path().join("supervisord.conf");
    let sections = read_sections(&conf);
    let mut names: Vec<&str> = sections.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["broken", "nginx", "oms_console", "oms_drc_cm", "store"]
    );

    let mut programs = vec![
        program("oms_console", "oms_console"),
        program("oms_drc_cm", "oms_drc_cm"),
        program("nginx", "nginx"),
        program("store_00", "store"),
        program("broken", "broken"),
        program("unknown", "unknown"),
    ];
    annotate(&mut programs, &sections);
    let seen: Vec<(&str, Option<bool>, String)> = programs
        .iter()
        .map(|p| (p.name.as_str(), p.autostart, p.config_file.clone()))
        .collect();
    let file = |rel: &str| dir.path().join(rel).display().to_string();
    assert_eq!(
        seen,
        [
            ("oms_console", Some(false), file("conf.d/oms_console.ini")),
            ("oms_drc_cm", Some(true), file("conf.d/oms_drc_cm.ini")),
            // Defined in the main file, overridden by a later include.
            ("nginx", Some(false), file("extra/late.conf")),
            ("store_00", Some(false), file("conf.d/store.ini")),
            // supervisord would refuse `maybe`: unknown, but the file is known.
            ("broken", None, file("conf.d/bad.ini")),
            ("unknown", None, String::new()),
        ]
    );
}

#[test]
fn unreadable_or_broken_files_leave_autostart_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let mut programs = vec![program("oms_console", "oms_console")];
    annotate(
        &mut programs,
        &read_sections(&dir.path().join("missing.conf")),
    );
    annotate(&mut programs, &read_sections(dir.path()));
    assert_eq!(programs[0].autostart, None);

    let dir = layout(&[
        (
            "supervisord.conf",
            "[program:a]\nautostart=false\n[include]\nfiles=conf.d/*.ini nope/*.ini\n",
        ),
        ("conf.d/garbage.ini", "[unclosed\n\u{0}=[]]]\n"),
        ("conf.d/dir.ini/x", ""),
    ]);
    let sections = read_sections(&dir.path().join("supervisord.conf"));
    assert_eq!(sections.len(), 1);
    assert_eq!(sections["a"].autostart.as_deref(), Some("false"));
}

#[test]
fn every_file_read_and_directory_listed_is_watched() {
    let dir = layout(&[
        ("supervisord.conf", MAIN),
        ("conf.d/oms_console.ini", "[program:oms_console]\n"),
        ("extra/late.conf", "[program:nginx]\nautostart=no\n"),
    ]);
    let (sections, watched) = read_watched(&dir.path().join("supervisord.conf"));
    assert_eq!(sections.len(), 2);
    let watched: Vec<PathBuf> = watched.paths().map(Path::to_owned).collect();
    let expected = [
        "supervisord.conf",
        "conf.d",
        "conf.d/oms_console.ini",
        "extra",
        "extra/late.conf",
    ]
    .map(|p| dir.path().join(p));
    for path in &expected {
        assert!(watched.contains(path), "{path:?} not in {watched:?}");
    }
}

#[test]
fn a_section_without_autostart_is_known_but_unset() {
    let dir = layout(&[("conf.d/x.ini", "[program:x]\n")]);
    let conf = dir.path().join("supervisord.conf");
    std::fs::write(&conf, "[include]\nfiles=conf.d/*.ini\n").unwrap();
    let sections = read_sections(&conf);
    assert_eq!(sections["x"].file, dir.path().join("conf.d/x.ini"));
    assert_eq!(sections["x"].autostart, None);
}

#[test]
fn wildcards() {
    for (pattern, name, matches) in [
        ("*.ini", "oms.ini", true),
        ("*.ini", "oms.ini.bak", false),
        ("*", "", true),
        ("oms_?.ini", "oms_1.ini", true),
        ("oms_?.ini", "oms_12.ini", false),
        ("*_*.ini", "a_b_c.ini", true),
        ("a*b*c", "abxbxc", true),
        ("a*b*c", "abxbx", false),
        ("exact.conf", "exact.conf", true),
        ("é*", "ééé", true),
    ] {
        assert_eq!(wildcard(pattern, name), matches, "{pattern} {name}");
    }
    assert_eq!(boolean(" Yes "), Some(true));
    assert_eq!(boolean("0"), Some(false));
    assert_eq!(boolean(""), None);
}

#[test]
fn glob_in_directory_components() {
    let dir = layout(&[
        ("a/conf.d/p.ini", ""),
        ("b/conf.d/q.ini", ""),
        ("b/other/r.ini", ""),
    ]);
    let mut found = glob(&dir.path().join("*/conf.d/*.ini"), &mut Watched::new());
    found.sort();
    assert_eq!(
        found,
        [
            dir.path().join("a/conf.d/p.ini"),
            dir.path().join("b/conf.d/q.ini")
        ]
    );
    assert!(glob(&dir.path().join("none/*.ini"), &mut Watched::new()).is_empty());
    assert!(
        glob(
            &dir.path().join("a/conf.d/missing.ini"),
            &mut Watched::new()
        )
        .is_empty()
    );
}
