//! Printing results: tables for people, JSON for programs.
//!
//! Everything a command prints on standard output goes through [`write_stdout`] (or the
//! `outln!` macro over it): a reader that stopped reading (`shinrai … | head -1`) ends the
//! command quietly and successfully, where `println!` would panic.

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned tables and plain sentences.
    Table,
    /// JSON on standard output, for scripts.
    Json,
}

/// Writes to standard output. A closed pipe (the reader has what it wanted) ends the
/// process quietly with success; any other failure to write ends it with an error.
pub fn write_stdout(text: &[u8]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`write_stdout`].
macro_rules! outln {
    () => {
        $crate::output::write_stdout(b"\n")
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}
pub(crate) use outln;

pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => outln!("{s}"),
        Err(e) => eprintln!("error: cannot encode the result as JSON: {e}"),
    }
}

pub fn print_table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_header(header.iter().copied());
    let mut n = 0;
    for row in rows {
        table.add_row(row);
        n += 1;
    }
    if n == 0 {
        outln!("(none)");
    } else {
        outln!("{table}");
    }
}
