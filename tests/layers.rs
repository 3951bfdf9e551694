//! The layer rule, checked on the sources: each folder of `src/` is one
//! layer and imports only the layers below it; `hlo` and `iree` are peers
//! that never import each other; the crate-level error (`error.rs`) is the
//! aggregate only the pipelines above the models use; and no file imports,
//! directly or through others, a file that imports it back.
//!
//! Imports are read from `use` trees and inline `crate::`/`super::` paths,
//! resolved to the file that defines the item (following `pub use`
//! re-exports), comments, strings and `#[cfg(test)]` modules left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

/// Each layer's rank: a file may import files of its own layer and of
/// layers of lower rank. `error` is outside the ladder (see below).
const LAYERS: &[(&str, u32)] = &[
    ("tensor", 0),
    ("output", 0),
    ("diagnostic", 0),
    ("quant", 1),
    ("formats", 2),
    ("hlo", 3),
    ("iree", 3),
    ("models", 4),
    ("export", 5),
    ("run", 6),
    ("cli", 7),
    ("main", 8),
    ("lib", 8),
];

/// The layers that may use the crate-level `Error`/`Result`.
const USERS_OF_THE_CRATE_ERROR: &[&str] = &["export", "run", "cli", "main", "lib"];

/// External crates a `pub use` may re-export from.
fn is_external(first: &str) -> bool {
    !matches!(first, "crate" | "super" | "self")
}

struct Sources {
    /// Module path (`["hlo", "builder", "function"]`) → file.
    modules: BTreeMap<Vec<String>, PathBuf>,
    /// File → its text without comments, strings and test modules.
    texts: BTreeMap<PathBuf, String>,
}

fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    // The library's root is `crate`; the binary's `main.rs` (whose modules
    // are `cli`) is kept apart under its own name.
    if parts == ["lib"] {
        return Vec::new();
    }
    parts
}

fn rust_files(folder: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file: no comments, no string contents, no `#[cfg(test)]`
/// module, `pub(in path)` visibilities read as `pub`.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    let comments = Regex::new(r"//[^\n]*").unwrap();
    let strings = Regex::new(r#""(?:[^"\\]|\\.)*""#).unwrap();
    let visibility = Regex::new(r"pub\(in [\w:]+\)").unwrap();
    let text = comments.replace_all(text, "");
    let text = strings.replace_all(&text, "\"\"");
    visibility.replace_all(&text, "pub").into_owned()
}

impl Sources {
    fn read() -> Self {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut modules = BTreeMap::new();
        let mut texts = BTreeMap::new();
        for file in files {
            modules.insert(module_path(&src, &file), file.clone());
            texts.insert(
                file.clone(),
                code_of(&std::fs::read_to_string(&file).unwrap()),
            );
        }
        Self { modules, texts }
    }

    fn module_of(&self, file: &Path) -> Vec<String> {
        self.modules
            .iter()
            .find(|(_, path)| path.as_path() == file)
            .map(|(module, _)| module.clone())
            .unwrap()
    }

    /// The file defining absolute path `segments`, following re-exports.
    fn resolve(&self, segments: &[String], depth: u32) -> Option<PathBuf> {
        for length in (0..=segments.len()).rev() {
            let Some(file) = self.modules.get(&segments[..length]) else {
                continue;
            };
            let rest = &segments[length..];
            if let (Some(item), true) = (rest.first(), depth < 8) {
                for path in reexports(&self.texts[file]) {
                    if path.last() != Some(item) {
                        continue;
                    }
                    if is_external(&path[0])
                        && !self
                            .modules
                            .contains_key(&with(&segments[..length], &path[..1]))
                    {
                        return Some(file.clone());
                    }
                    let target =
                        absolute(&segments[..length], &path, |m| self.modules.contains_key(m));
                    return self.resolve(&target?, depth + 1);
                }
            }
            return Some(file.clone());
        }
        None
    }

    /// Every file `file` imports.
    fn imports(&self, file: &Path) -> BTreeSet<PathBuf> {
        let module = self.module_of(file);
        let own = |m: &[String]| self.modules.contains_key(m);
        use_paths(&self.texts[file])
            .iter()
            .filter_map(|path| absolute(&module, path, own))
            .filter_map(|segments| self.resolve(&segments, 0))
            .filter(|target| target != file)
            .collect()
    }
}

fn with(base: &[String], more: &[String]) -> Vec<String> {
    base.iter().chain(more).cloned().collect()
}

/// `path` (as written in `module`) made absolute, or `None` if it names
/// another crate.
fn absolute(
    module: &[String],
    path: &[String],
    is_module: impl Fn(&[String]) -> bool,
) -> Option<Vec<String>> {
    match path.first()?.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "self" => Some(with(module, &path[1..])),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            Some(with(
                &module[..module.len().saturating_sub(ups)],
                &path[ups..],
            ))
        }
        _ if is_module(&with(module, &path[..1])) => Some(with(module, path)),
        _ => None,
    }
}

/// The paths of a `use` tree: `a::{b, c::{d}}` → `a::b`, `a::c::d`.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        let plain = tree.split(" as ").next().unwrap_or_default();
        let plain = plain.split("as").next().unwrap_or_default();
        return vec![
            plain
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        ];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
        .iter()
        .filter(|part| !part.is_empty())
        .flat_map(|part| {
            let joined = if part == "self" {
                prefix.trim_end_matches(':').to_string()
            } else {
                format!("{prefix}{part}")
            };
            expand(&joined)
        })
        .collect()
}

fn use_paths(code: &str) -> Vec<Vec<String>> {
    let uses = Regex::new(r"(?m)^\s*(?:pub(?:\([\w:]+\))?\s+)?use\s+([^;]+);").unwrap();
    let inline = Regex::new(r"\b((?:crate|super)(?:::\w+)+)").unwrap();
    let mut paths: Vec<Vec<String>> = uses
        .captures_iter(code)
        .flat_map(|captures| expand(&captures[1]))
        .collect();
    paths.extend(
        inline
            .captures_iter(code)
            .map(|captures| captures[1].split("::").map(String::from).collect()),
    );
    paths
}

fn reexports(code: &str) -> Vec<Vec<String>> {
    let uses = Regex::new(r"(?m)^\s*pub\s+use\s+([^;]+);").unwrap();
    uses.captures_iter(code)
        .flat_map(|captures| expand(&captures[1]))
        .collect()
}

fn layer_of(sources: &Sources, file: &Path) -> String {
    let module = sources.module_of(file);
    match module.first() {
        Some(first) => first.clone(),
        None => file.file_stem().unwrap().to_string_lossy().into_owned(),
    }
}

fn rank(layer: &str) -> Option<u32> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == layer)
        .map(|(_, rank)| *rank)
}

fn graph() -> (Sources, BTreeMap<PathBuf, BTreeSet<PathBuf>>) {
    let sources = Sources::read();
    let edges = sources
        .texts
        .keys()
        .map(|file| (file.clone(), sources.imports(file)))
        .collect();
    (sources, edges)
}

fn short(file: &Path) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    file.strip_prefix(&src)
        .unwrap_or(file)
        .display()
        .to_string()
}

#[test]
fn every_layer_imports_only_the_layers_below_it() {
    let (sources, edges) = graph();
    let mut wrong = Vec::new();
    for (file, imports) in &edges {
        let layer = layer_of(&sources, file);
        for target in imports {
            let to = layer_of(&sources, target);
            if to == layer {
                continue;
            }
            let allowed = if to == "error" {
                USERS_OF_THE_CRATE_ERROR.contains(&layer.as_str())
            } else if layer == "error" {
                short(target).ends_with("error.rs")
            } else {
                match (rank(&layer), rank(&to)) {
                    (Some(from), Some(to)) => to < from,
                    _ => false,
                }
            };
            if !allowed {
                wrong.push(format!("{} imports {}", short(file), short(target)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layer rule:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let (_, edges) = graph();
    // Depth-first search for a back edge; reports the first circle found.
    fn visit(
        file: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        state: &mut BTreeMap<PathBuf, bool>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        state.insert(file.clone(), false);
        stack.push(file.clone());
        for next in edges.get(file).into_iter().flatten() {
            match state.get(next) {
                Some(false) => {
                    let start = stack.iter().position(|f| f == next).unwrap();
                    return Some([&stack[start..], std::slice::from_ref(next)].concat());
                }
                None => {
                    if let Some(circle) = visit(next, edges, state, stack) {
                        return Some(circle);
                    }
                }
                Some(true) => {}
            }
        }
        stack.pop();
        state.insert(file.clone(), true);
        None
    }
    let mut state = BTreeMap::new();
    for file in edges.keys() {
        if state.contains_key(file) {
            continue;
        }
        if let Some(circle) = visit(file, &edges, &mut state, &mut Vec::new()) {
            let names: Vec<String> = circle.iter().map(|f| short(f)).collect();
            panic!("import circle: {}", names.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_imports_through_re_exports() {
    // Guards the checker itself: known imports must be found.
    let (sources, edges) = graph();
    let file = |name: &str| {
        sources.modules[&name.split('/').map(String::from).collect::<Vec<_>>()].clone()
    };
    let function = &edges[&file("hlo/builder/function")];
    assert!(
        function.contains(&file("hlo/builder/module")),
        "{function:?}"
    );
    assert!(
        function.contains(&file("hlo/error")),
        "crate::hlo::HloError is hlo/error.rs"
    );
    let weights = &edges[&file("models/weights")];
    assert!(weights.contains(&file("formats/safetensors/compressed_tensors")));
    assert!(
        weights.contains(&file("models/model")),
        "QuantMode through super::model"
    );
}
