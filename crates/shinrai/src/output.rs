//! Printing results: tables for people, JSON for programs.

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned tables and plain sentences.
    Table,
    /// JSON on standard output, for scripts.
    Json,
}

pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
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
        println!("(none)");
    } else {
        println!("{table}");
    }
}
