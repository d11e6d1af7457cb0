//! Chains: files, draws from one seed, bit-identical reruns, reported values, and bad input.

use std::path::Path;

use timbrescope::degrade::noise::power;
use timbrescope::degrade::{ChainSpec, Stage, apply_chain, apply_chain_ears};

const SR: u32 = 16_000;

fn chain_file(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/chains").join(name)
}

fn signal() -> Vec<f32> {
    (0..32_000).map(|i| 0.4 * (i as f32 * 0.0628).sin() * (-(i as f32) / 20_000.0).exp()).collect()
}

#[test]
fn the_shipped_chains_load_and_draw_within_their_ranges() {
    let spec = ChainSpec::load(&chain_file("target_domain.toml")).unwrap();
    assert_eq!(spec.stage.len(), 5);
    for seed in 0..20 {
        let stages = spec.draw(seed).unwrap();
        match &stages[0] {
            Stage::Reverb { rt60_s, binaural, .. } => assert!((0.2..=1.2).contains(rt60_s) && *binaural),
            other => panic!("{other:?}"),
        }
        match &stages[1] {
            Stage::Noise { snr_db, .. } => assert!(*snr_db == 10.0 || *snr_db == 20.0),
            other => panic!("{other:?}"),
        }
        match &stages[4] {
            Stage::Opus { kbps } => assert!((24..=48).contains(kbps)),
            other => panic!("{other:?}"),
        }
    }
    assert_ne!(spec.draw(1).unwrap(), spec.draw(2).unwrap(), "another seed draws again");
    for other in ["benchmark.toml", "demo.toml"] {
        assert_eq!(ChainSpec::load(&chain_file(other)).unwrap().stage.len(), 4, "{other}");
    }
}

#[test]
fn same_chain_and_seed_give_bit_identical_output() {
    let spec = ChainSpec::load(&chain_file("target_domain.toml")).unwrap();
    let x = signal();
    let a = apply_chain_ears(&x, SR, &spec.draw(5).unwrap()).unwrap();
    let b = apply_chain_ears(&x, SR, &spec.draw(5).unwrap()).unwrap();
    assert_eq!(a.channels, b.channels);
    assert_eq!(a.channels.len(), 2, "binaural, for listening");
    let model = apply_chain(&x, SR, &spec.draw(5).unwrap()).unwrap();
    assert_eq!(model.channels.len(), 1, "the model hears the mid");
    assert_eq!(model.channels, apply_chain(&x, SR, &spec.draw(5).unwrap()).unwrap().channels);
    assert!(a.channels.iter().all(|c| c.len() == x.len()), "the input's length");
    let c = apply_chain_ears(&x, SR, &spec.draw(6).unwrap()).unwrap();
    assert_ne!(a.channels, c.channels);
    // The report names what was drawn and what was measured.
    let report = serde_json::to_value(&a.applied).unwrap();
    assert_eq!(report[0]["kind"], "reverb");
    let drawn = report[0]["rt60_s"].as_f64().unwrap();
    let measured = report[0]["measured"]["rt60_s"].as_f64().unwrap();
    assert!((measured / drawn - 1.0).abs() < 0.1, "{report}");
    assert!(report[4]["measured"]["actual_kbps"].as_f64().unwrap() > 20.0, "{report}");
}

#[test]
fn a_chain_round_trips_through_toml_and_json() {
    let spec = ChainSpec::load(&chain_file("target_domain.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml_path = dir.path().join("c.toml");
    std::fs::write(&toml_path, spec.to_toml()).unwrap();
    assert_eq!(ChainSpec::load(&toml_path).unwrap(), spec);
    let json_path = dir.path().join("c.json");
    std::fs::write(&json_path, serde_json::to_string(&spec).unwrap()).unwrap();
    assert_eq!(ChainSpec::load(&json_path).unwrap(), spec);
}

#[test]
fn bad_chain_files_name_the_file_the_stage_and_the_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[[stage]]\nkind = \"reverb\"\nrt60_s = -1\n", "stage 1 (reverb): rt60_s"),
        ("[[stage]]\nkind = \"noise\"\ncolor = \"pink\"\nsnr_db = nan\n", "snr_db"),
        ("[[stage]]\nkind = \"opus\"\nkbps = 5000\n", "kbps"),
        ("[[stage]]\nkind = \"mp3\"\nkbps = 30\n", "kbps = 30"),
        ("[[stage]]\nkind = \"reverb\"\nrt60_s = { uniform = [1.0, 0.5] }\n", "low end"),
        ("[[stage]]\nkind = \"reverb\"\nrt60 = 1\n", "unknown field"),
        ("[[stage]]\nkind = \"flanger\"\n", "flanger"),
        ("[[stages]]\nkind = \"reverb\"\n", "unknown field"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let err = ChainSpec::load(&path).unwrap_err().to_string();
        assert!(err.contains(&format!("bad{i}.toml")) && err.contains(expected), "case {i}: {err}");
    }
    let missing = ChainSpec::load(&dir.path().join("none.toml")).unwrap_err().to_string();
    assert!(missing.contains("none.toml"), "{missing}");
}

#[test]
fn each_stage_in_a_chain_does_what_it_says() {
    let x = signal();
    // Noise alone: the residual has exactly the drawn SNR.
    let stages =
        vec![Stage::Noise { color: timbrescope::degrade::noise::NoiseColor::Pink, snr_db: 20.0, noise_seed: 1 }];
    let out = apply_chain(&x, SR, &stages).unwrap();
    let residual: Vec<f32> = out.channels[0].iter().zip(&x).map(|(a, b)| a - b).collect();
    let snr = 10.0 * (power(&x) / power(&residual)).log10();
    assert!((snr - 20.0).abs() < 0.1, "{snr}");
    // An empty chain is the identity.
    assert_eq!(apply_chain(&x, SR, &[]).unwrap().channels[0], x);
}

#[test]
fn the_runner_recomputes_only_from_the_changed_stage_and_agrees_with_a_fresh_run() {
    use std::sync::Arc;
    use timbrescope::degrade::ChainRunner;
    let x: Arc<[f32]> = signal().into();
    let mut stages = vec![
        Stage::Reverb { rt60_s: 0.8, binaural: false, room_seed: 3 },
        Stage::HighShelf { freq_hz: 3000.0, gain_db: -6.0 },
    ];
    let mut runner = ChainRunner::default();
    runner.run(&x, SR, &stages).unwrap();
    stages[1] = Stage::HighShelf { freq_hz: 3000.0, gain_db: 6.0 };
    let cached = runner.run(&x, SR, &stages).unwrap();
    let fresh = apply_chain(&x, SR, &stages).unwrap();
    assert_eq!(cached.channels, fresh.channels);
}

#[test]
fn a_stage_probability_keeps_each_stage_that_often_with_the_same_values() {
    let text = std::fs::read_to_string(chain_file("target_domain.toml")).unwrap();
    let always: ChainSpec = toml::from_str(&text).unwrap();
    let half: ChainSpec = toml::from_str(&format!("stage_probability = 0.5\n{text}")).unwrap();
    let stages = always.stage.len();
    let mut kept = vec![0usize; stages];
    let seeds = 2000;
    for seed in 0..seeds {
        let all = always.draw(seed).unwrap();
        let some = half.draw(seed).unwrap();
        // The kept stages are the full draw's, in order, with the same values.
        let mut next = 0;
        for stage in &some {
            let at = all[next..].iter().position(|s| s == stage).expect("a kept stage is one of the full draw") + next;
            kept[at] += 1;
            next = at + 1;
        }
    }
    // 2,000 clips: the standard error of a proportion of 0.5 is 0.011; 0.05 is over 4 of them.
    for (i, k) in kept.iter().enumerate() {
        let share = *k as f64 / seeds as f64;
        assert!((share - 0.5).abs() < 0.05, "stage {i} kept in {share:.3} of clips");
    }
    let bad: ChainSpec = toml::from_str(&format!("stage_probability = 1.5\n{text}")).unwrap();
    assert!(bad.check().unwrap_err().to_string().contains("stage_probability"));
}
