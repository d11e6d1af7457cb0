//! Which instruments two banks of a data set share: for every pair of banks, the median and the
//! largest peak cross-correlation of the same note (instrument, pitch, velocity 100) from each,
//! over the first second. Near 1 means one recording in both; training on a bank that shares
//! the held-out bank's recordings makes the cross-bank test a within-bank one.
//!
//! usage: cargo run --example bank_overlap -- DATASET [PITCH_STEP]   (default: every 3rd pitch)

use timbrescope::data::dataset::Dataset;
use timbrescope::data::overlap::bank_overlap;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(root) = args.first() else {
        anyhow::bail!("usage: bank_overlap DATASET [PITCH_STEP]");
    };
    let step: u8 = match args.get(1) {
        Some(s) => s.parse().map_err(|_| anyhow::anyhow!("PITCH_STEP must be a number from 1 to 255, got {s}"))?,
        None => 3,
    };
    let dataset = Dataset::open(std::path::Path::new(root))?;
    println!("| instrument | banks | notes | median | max |\n|---|---|---|---|---|");
    for o in bank_overlap(&dataset, 100, step, 1.0)? {
        println!("| {} | {} ~ {} | {} | {:.2} | {:.2} |", o.instrument, o.banks.0, o.banks.1, o.notes, o.median, o.max);
    }
    Ok(())
}
