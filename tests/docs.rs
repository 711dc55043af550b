//! The documentation names the providers the service knows, no more and no fewer.

use std::path::Path;

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).expect("readable")
}

fn registered() -> Vec<String> {
    stripe_chat::providers()
        .names()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_readme_render_table_lists_every_registered_provider_in_order() {
    let readme = read("README.md");
    let table = readme
        .split("| provider | body |")
        .nth(1)
        .expect("the render table");
    let rows: Vec<String> = table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.split('`').nth(1).map(str::to_owned))
        .collect();
    assert_eq!(rows, registered());
}

#[test]
fn the_configuration_guide_has_a_section_for_every_registered_provider() {
    let guide = read("docs/configuration.md");
    let mut sections: Vec<String> = guide
        .lines()
        .filter_map(|line| line.strip_prefix("### `provider = \""))
        .filter_map(|rest| rest.split('"').next().map(str::to_owned))
        .collect();
    let mut known = registered();
    sections.sort();
    known.sort();
    assert_eq!(sections, known);
}
