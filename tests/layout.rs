//! The shape of the source: no module reaches, through any chain of paths, back to itself, and
//! the sub-areas of `learn` follow the flow, each naming only those before it.
//!
//! Paths are read from the text: every `crate::…`, `super::…` and `self::…` outside comments and
//! test modules, `use` groups expanded, resolved to the longest module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `learn`'s sub-areas in the order of the flow.
const LEARN_AREAS: [&str; 7] = ["error", "notes", "network", "scoring", "training", "assessment", "explanation"];

type Module = Vec<String>;

/// Every module of the crate, by its path, with its source.
fn modules() -> BTreeMap<Module, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<Module, String>, root: &Path) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out, root);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                    parts.pop();
                }
                out.insert(parts, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &mut out, &root);
    out
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// Every path in `code` that starts at `crate`, `super` or `self`, with `use` groups expanded.
fn paths(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == ':');
        if starts_word && (chars[i].is_alphabetic() || chars[i] == '_') {
            let (segments, end) = path_at(&chars, i);
            i = end;
            if matches!(segments.first().map(|s| s[0].as_str()), Some("crate" | "super" | "self")) {
                out.extend(segments.into_iter().filter(|p| p.len() > 1));
            }
        } else {
            i += 1;
        }
    }
    out
}

fn ident_at(chars: &[char], mut i: usize) -> (String, usize) {
    let start = i;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    (chars[start..i].iter().collect(), i)
}

/// The path starting at `i` (a group `a::{b, c::d}` gives one path per member), and where it ends.
fn path_at(chars: &[char], i: usize) -> (Vec<Vec<String>>, usize) {
    let (first, mut i) = ident_at(chars, i);
    let mut prefix = vec![first];
    loop {
        if chars.get(i) != Some(&':') || chars.get(i + 1) != Some(&':') {
            return (vec![prefix], i);
        }
        i += 2;
        match chars.get(i) {
            Some('{') => {
                let mut depth = 0;
                let start = i + 1;
                while i < chars.len() {
                    match chars[i] {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                let inner: String = chars[start..i.min(chars.len())].iter().collect();
                let mut out = Vec::new();
                for member in split_top(&inner) {
                    let member: Vec<char> = member.trim().chars().collect();
                    if member.first().is_some_and(|c| c.is_alphabetic() || *c == '_') {
                        for rest in path_at(&member, 0).0 {
                            out.push(prefix.iter().cloned().chain(rest.into_iter().filter(|s| s != "self")).collect());
                        }
                    }
                }
                return (out, i + 1);
            }
            Some(c) if c.is_alphabetic() || *c == '_' => {
                let (next, end) = ident_at(chars, i);
                prefix.push(next);
                i = end;
            }
            _ => return (vec![prefix], i),
        }
    }
}

/// The members of a group, split at its own commas.
fn split_top(inner: &str) -> Vec<String> {
    let (mut out, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out
}

/// The module a path names, as the longest of its prefixes that is a module.
fn resolve(from: &Module, path: &[String], known: &BTreeMap<Module, String>) -> Option<Module> {
    let mut full: Module = Vec::new();
    let mut rest = path;
    if path[0] == "crate" {
        rest = &path[1..];
    } else {
        full = from.clone();
        while let Some(s) = rest.first().filter(|s| *s == "super" || *s == "self") {
            if s == "super" {
                full.pop();
            }
            rest = &rest[1..];
        }
    }
    full.extend(rest.iter().cloned());
    (1..=full.len()).rev().map(|k| full[..k].to_vec()).find(|m| known.contains_key(m))
}

/// Each module's paths to other modules (not to itself or the modules it sits in).
fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let known = modules();
    known
        .iter()
        .map(|(m, text)| {
            let to =
                paths(&code(text)).iter().filter_map(|p| resolve(m, p, &known)).filter(|t| !m.starts_with(t)).collect();
            (m.clone(), to)
        })
        .collect()
}

/// Modules that reach back to themselves, grouped by the circle they are in (Tarjan).
fn circles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, (usize, usize)>,
        stack: Vec<&'a Module>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Module) {
            self.index.insert(v, (self.next, self.next));
            self.next += 1;
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.index[w].1.min(self.index[v].1);
                    self.index.get_mut(v).unwrap().1 = low;
                } else if self.stack.contains(&w) {
                    let low = self.index[w].0.min(self.index[v].1);
                    self.index.get_mut(v).unwrap().1 = low;
                }
            }
            if self.index[v].0 == self.index[v].1 {
                let mut members = Vec::new();
                while let Some(w) = self.stack.pop() {
                    members.push(w.join("::"));
                    if w == v {
                        break;
                    }
                }
                if members.len() > 1 {
                    members.sort();
                    self.found.push(members);
                }
            }
        }
    }
    let mut walk = Walk { graph, index: BTreeMap::new(), stack: Vec::new(), next: 0, found: Vec::new() };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_module_reaches_back_to_itself() {
    let found = circles(&graph());
    assert!(found.is_empty(), "modules in circles: {found:?}");
}

#[test]
fn learn_areas_name_only_those_before_them() {
    let known = modules();
    let rank = |name: &str| LEARN_AREAS.iter().position(|a| *a == name);
    let mut wrong = Vec::new();
    for (m, text) in &known {
        let Some(area) = (m.len() >= 2 && m[0] == "learn").then(|| m[1].as_str()) else { continue };
        let Some(own) = rank(area) else {
            wrong.push(format!("learn::{area} is not one of the sub-areas {LEARN_AREAS:?}"));
            continue;
        };
        for path in paths(&code(text)) {
            let Some(target) = resolve(m, &path, &known) else { continue };
            if target.len() < 2 || target[0] != "learn" {
                if target == ["learn"] {
                    wrong.push(format!("{} reaches up into learn itself: {}", m.join("::"), path.join("::")));
                }
                continue;
            }
            if rank(&target[1]).is_some_and(|r| r > own) {
                wrong.push(format!("{} names the later {}", m.join("::"), target.join("::")));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_reader_sees_circles_and_reaching_up() {
    // The reader itself: a made-up crate with a circle and a path up into its parent.
    let mut known = BTreeMap::new();
    for (m, text) in [
        (vec![], "mod a; mod b;"),
        (vec!["a"], "use crate::b::{self, Thing};\nfn f() { super::b::g(); } // crate::c::x"),
        (vec!["b"], "pub fn g() { crate::a::f() }"),
        (vec!["c"], ""),
    ] {
        known.insert(m.into_iter().map(String::from).collect::<Module>(), text.to_string());
    }
    let a: Module = vec!["a".into()];
    let targets: BTreeSet<Module> = paths(&code(&known[&a])).iter().filter_map(|p| resolve(&a, p, &known)).collect();
    assert_eq!(targets, BTreeSet::from([vec!["b".to_string()]]), "comments are not code");
    let graph: BTreeMap<Module, BTreeSet<Module>> = known
        .iter()
        .map(|(m, t)| {
            (
                m.clone(),
                paths(&code(t)).iter().filter_map(|p| resolve(m, p, &known)).filter(|t| !m.starts_with(t)).collect(),
            )
        })
        .collect();
    assert_eq!(circles(&graph), vec![vec!["a".to_string(), "b".to_string()]]);
}
