//! The chain files of `assets/chains`, inside the binary, so an installed binary reads
//! `shipped:target_domain` wherever it runs.

/// How a chain argument names a shipped chain rather than a file.
pub const PREFIX: &str = "shipped:";

/// Each shipped chain by name (its path under `assets/chains`, without `.toml`).
pub const CHAINS: &[(&str, &str)] = &[
    ("benchmark", include_str!("../../assets/chains/benchmark.toml")),
    ("demo", include_str!("../../assets/chains/demo.toml")),
    ("target_domain", include_str!("../../assets/chains/target_domain.toml")),
    ("train_codec", include_str!("../../assets/chains/train_codec.toml")),
    ("train_domain", include_str!("../../assets/chains/train_domain.toml")),
    ("eval/opus_24", include_str!("../../assets/chains/eval/opus_24.toml")),
    ("eval/pink_10db", include_str!("../../assets/chains/eval/pink_10db.toml")),
    ("eval/rt60_1.2", include_str!("../../assets/chains/eval/rt60_1.2.toml")),
];

/// The text of the shipped chain `argument` names (`shipped:NAME`); `None` for a file path.
/// `Err` carries the names there are, for a `shipped:` name that is not one of them.
pub fn text(argument: &str) -> Option<Result<&'static str, String>> {
    let name = argument.strip_prefix(PREFIX)?;
    let name = name.strip_suffix(".toml").unwrap_or(name);
    Some(
        CHAINS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| format!("no shipped chain {name:?}; {}", names())),
    )
}

/// "shipped chains: shipped:benchmark, …", for errors about a chain that was not found.
pub fn names() -> String {
    let all: Vec<String> = CHAINS.iter().map(|(n, _)| format!("{PREFIX}{n}")).collect();
    format!("shipped chains: {}", all.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::degrade::ChainSpec;
    use std::path::Path;

    #[test]
    fn every_file_in_assets_chains_is_shipped_and_reads_as_its_file_does() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/chains");
        let mut files = Vec::new();
        for dir in [root.clone(), root.join("eval")] {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "toml") {
                    files.push(path);
                }
            }
        }
        assert_eq!(files.len(), CHAINS.len(), "a chain file in assets/chains is missing from CHAINS");
        for file in files {
            let name = file.strip_prefix(&root).unwrap().with_extension("");
            let argument = format!("{PREFIX}{}", name.display());
            let shipped = ChainSpec::load(Path::new(&argument)).unwrap();
            assert_eq!(shipped, ChainSpec::load(&file).unwrap(), "{argument}");
        }
    }

    #[test]
    fn an_unknown_shipped_name_and_a_missing_file_list_the_shipped_chains() {
        let unknown = ChainSpec::load(Path::new("shipped:nope")).unwrap_err().to_string();
        assert!(
            unknown.contains("no shipped chain \"nope\"") && unknown.contains("shipped:target_domain"),
            "{unknown}"
        );
        let missing = ChainSpec::load(Path::new("/nonexistent/chain.toml")).unwrap_err().to_string();
        assert!(missing.contains("/nonexistent/chain.toml") && missing.contains("shipped:demo"), "{missing}");
    }
}
