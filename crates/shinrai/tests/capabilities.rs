//! What shinrai says it does is what it does: every capability the README's first
//! paragraph or `shinrai --help` names has a command behind it, by the table in
//! `docs/capabilities.md`; and `--help` keeps the lines it is written in.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_shinrai");

/// One row of the table: the phrases that name a capability, and the commands that
/// deliver it (`None`: not yet).
#[derive(Debug)]
struct Capability {
    name: String,
    phrases: Vec<String>,
    commands: Option<Vec<String>>,
}

fn repository_file(path: &str) -> String {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

fn table() -> Vec<Capability> {
    let doc = repository_file("docs/capabilities.md");
    let rows: Vec<Capability> = doc
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("| capability") && !l.starts_with("|---"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let [name, phrases, commands] = cells[..] else {
                panic!("docs/capabilities.md: a row needs three cells: {l}");
            };
            let commands = (commands != "not yet").then(|| {
                let named: Vec<String> = commands
                    .split(',')
                    .map(|c| c.trim().trim_matches('`').to_owned())
                    .collect();
                for c in &named {
                    assert!(
                        c.starts_with("shinrai "),
                        "docs/capabilities.md: {name}: `{c}` is not a shinrai command (or `not yet`)"
                    );
                }
                named
            });
            Capability {
                name: name.to_owned(),
                phrases: phrases.split(',').map(|p| p.trim().to_owned()).collect(),
                commands,
            }
        })
        .collect();
    assert!(rows.len() > 10, "the table was not read: {rows:?}");
    rows
}

/// The README's first paragraph: the lines after its title, up to the first blank line.
fn readme_first_paragraph() -> String {
    let readme = repository_file("README.md");
    let after_title = readme
        .split_once("\n\n")
        .map(|(_, rest)| rest.trim_start())
        .expect("a README with a title");
    after_title
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn help(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--help")
        .output()
        .expect("run shinrai")
}

fn top_help() -> String {
    let out = help(&[]);
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Whether `text` names `phrase`: whole words, any letter case, a plural allowed, line
/// breaks and runs of spaces counting as one space.
fn names(text: &str, phrase: &str) -> bool {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = text.to_lowercase();
    let phrase = phrase.to_lowercase();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    text.match_indices(&phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let rest = &text[at + phrase.len()..];
        let ends = |r: &str| !word(r.chars().next());
        !word(before)
            && (ends(rest)
                || rest.strip_prefix('s').is_some_and(ends)
                || rest.strip_prefix("es").is_some_and(ends))
    })
}

/// What `text` claims that has nothing behind it: `(capability, phrase)`.
fn unbacked(text: &str, table: &[Capability]) -> Vec<(String, String)> {
    table
        .iter()
        .filter(|c| c.commands.is_none())
        .flat_map(|c| {
            c.phrases
                .iter()
                .filter(|p| names(text, p))
                .map(|p| (c.name.clone(), p.clone()))
        })
        .collect()
}

#[test]
fn phrases_are_found_as_whole_words() {
    assert!(names("synthetic checks, SLOs and", "SLO"));
    assert!(names("Synthetic\n  checks", "synthetic check"));
    assert!(names("the GameDays.", "GameDay"));
    assert!(names("watches (SLOs)", "SLO"));
    assert!(!names("slow pages", "SLO"));
    assert!(!names("relationships", "ship"));
    assert!(!names("ci-deployer", "deploy"));
}

#[test]
fn every_command_in_the_table_exists() {
    for c in table() {
        for command in c.commands.iter().flatten() {
            let words: Vec<&str> = command.split_whitespace().skip(1).collect();
            let out = help(&words);
            assert!(
                out.status.success(),
                "{}: `{command} --help` fails: {}",
                c.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn the_readme_names_only_what_works() {
    let paragraph = readme_first_paragraph();
    assert!(
        paragraph.contains("shinrai"),
        "not the first paragraph: {paragraph}"
    );
    let claimed = unbacked(&paragraph, &table());
    assert!(
        claimed.is_empty(),
        "the README's first paragraph names what has no command behind it \
         (docs/capabilities.md): {claimed:?}\n\n{paragraph}"
    );
}

#[test]
fn help_names_only_what_works() {
    let claimed = unbacked(&top_help(), &table());
    assert!(
        claimed.is_empty(),
        "`shinrai --help` names what has no command behind it (docs/capabilities.md): {claimed:?}"
    );
}

#[test]
fn help_keeps_the_lines_it_is_written_in() {
    let help = top_help();
    for start in ["Start:", "Access:", "Config:", "Demo:"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(start)),
            "no line of `shinrai --help` starts with {start:?}:\n{help}"
        );
    }
}
