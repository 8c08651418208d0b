//! The import graph of the crate's top-level modules (docs/ARCHITECTURE.md): every
//! `crate::` path in src/ must name a module of the same layer or one below, and
//! the modules must not import each other in a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layer stack, bottom first, as docs/ARCHITECTURE.md states it. `test_util`
/// (test-only helpers) may be imported from anywhere and is not listed.
const LAYERS: &[&[&str]] = &[
    &["engine", "files", "bounds", "stats", "alloc"],
    &["network"],
    &["scenario"],
    &["model", "memory", "estimate"],
    &["output"],
    &["sweep", "validate", "report"],
    &["app"],
    &["cli"],
];

/// The layer of a top-level module, `None` if the table does not list it.
fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level modules named by `crate::` paths in Rust source (comments left
/// out): `crate::a::...` names `a`, `crate::{a, b::{c, d}}` names `a` and `b`.
fn imports(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // e.g. `$crate::` or another word ending in "crate"
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: after its `{` and after each `,` at depth 1.
            let mut depth = 1;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start && depth == 1 => {
                        out.insert(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// The import edges between top-level modules of the source tree under `src`:
/// importer -> (imported -> a file that imports it).
fn graph(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let files = super::files_under(src, "rs");
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(src).expect("under src");
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("read source");
        for m in imports(&text) {
            if m != module && m != "test_util" {
                g.entry(module.clone())
                    .or_default()
                    .entry(m)
                    .or_insert_with(|| rel.display().to_string());
            }
        }
    }
    g
}

/// What is wrong with an import graph: modules missing from the layer table,
/// imports of a higher layer, and cycles (within a layer).
fn problems(g: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (from, tos) in g {
        for (to, file) in tos {
            match (layer(from), layer(to)) {
                (Some(a), Some(b)) if b > a => out.push(format!(
                    "{file}: `{from}` (layer {a}) imports `{to}` (layer {b})"
                )),
                (None, _) => out.push(format!("`{from}` is not in the layer table")),
                (_, None) => out.push(format!(
                    "`{to}` (imported by {file}) is not in the layer table"
                )),
                _ => {}
            }
        }
    }
    // A cycle: a module reachable from itself.
    for start in g.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = g[start].keys().collect();
        while let Some(m) = stack.pop() {
            if m == start {
                out.push(format!("`{start}` imports itself through a cycle"));
                break;
            }
            if seen.insert(m.clone()) {
                stack.extend(g.get(m).into_iter().flat_map(|t| t.keys()));
            }
        }
    }
    out
}

#[test]
fn modules_import_only_their_layer_and_below_without_cycles() {
    let g = graph(&super::root().join("src"));
    // The crate's main modules are all seen (a parser finding nothing passes nothing).
    for m in ["model", "output", "sweep", "cli"] {
        assert!(g.contains_key(m), "no imports found for `{m}`: {g:?}");
    }
    let p = problems(&g);
    assert!(p.is_empty(), "import graph:\n{}", p.join("\n"));
}

#[test]
fn the_checker_finds_upward_imports_and_cycles() {
    // Hand-made graphs: output importing sweep goes up a layer; sweep and validate
    // (one layer) importing each other is a cycle; a grouped import names both.
    assert_eq!(
        imports(
            "use crate::{model::{a, b}, output::Folder};\nlet x = crate::stats::t975(3); // crate::cli"
        ),
        ["model", "output", "stats"].map(String::from).into()
    );
    let edge = |a: &str, b: &str| {
        (
            a.to_string(),
            BTreeMap::from([(b.to_string(), "f.rs".to_string())]),
        )
    };
    let up = BTreeMap::from([edge("output", "sweep")]);
    assert_eq!(
        problems(&up),
        ["f.rs: `output` (layer 4) imports `sweep` (layer 5)"]
    );
    let cycle = BTreeMap::from([edge("sweep", "validate"), edge("validate", "sweep")]);
    assert_eq!(problems(&cycle).len(), 2, "{:?}", problems(&cycle));
    let unknown = BTreeMap::from([edge("newmod", "engine")]);
    assert_eq!(problems(&unknown), ["`newmod` is not in the layer table"]);
}
