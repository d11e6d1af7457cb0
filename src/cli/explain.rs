//! `timbrescope explain`: where in time and frequency the model finds its evidence for a class,
//! as integrated gradients spread over the clip's own STFT or CQT grid.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use timbrescope::degrade::{ChainSpec, apply_chain};
use timbrescope::dsp::{Scale, View};
use timbrescope::features::{Analyzer, write_npy};
use timbrescope::learn::Predictor;
use timbrescope::learn::explanation::saliency::explain;

use super::features::ViewArg;

#[derive(Args)]
pub struct ExplainArgs {
    /// Clip (WAV, FLAC, MP3, Ogg Vorbis, or a mixture .npz from `mix`); its first 4 s from the
    /// onset are explained.
    clip: PathBuf,
    /// Model file; without it, the model shipped inside the binary.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The class to explain, by name (default: the model's top prediction).
    #[arg(long)]
    class: Option<String>,
    /// Degrade the clip with this chain first.
    #[arg(long)]
    chain: Option<PathBuf>,
    #[arg(long, default_value_t = 0, requires = "chain")]
    seed: u64,
    /// Which view's grid the saliency is written on.
    #[arg(long, value_enum, default_value_t = ViewArg::Cqt)]
    view: ViewArg,
    /// float32 .npy [bins, frames], the shape `timbrescope features` gives the same clip and
    /// view: each cell the integrated gradient of the input cell that pooled it, 0 outside the
    /// analysed 4 s.
    #[arg(long)]
    out: PathBuf,
    /// Also draw the view with the saliency over it (grey base, green for the class, blue
    /// against it), through the workbench's shader, into this PNG.
    #[cfg(feature = "render")]
    #[arg(long)]
    png: Option<PathBuf>,
}

pub fn run(args: ExplainArgs) -> anyhow::Result<()> {
    let clip = super::mix::load_clip_or_mixture(&args.clip)?;
    let samples = match &args.chain {
        None => clip.samples.to_vec(),
        Some(path) => {
            let stages = ChainSpec::load(path)?.draw(args.seed)?;
            apply_chain(&clip.samples, clip.sample_rate_hz, &stages)
                .with_context(|| format!("degrading {}", args.clip.display()))?
                .mid()
        }
    };
    let mut predictor = match &args.model {
        Some(path) => Predictor::load(path)?,
        None => Predictor::shipped()?,
    };
    let classes = predictor.model.meta.primary_classes().to_vec();
    let class = match &args.class {
        None => None,
        Some(name) => Some(
            classes
                .iter()
                .position(|c| c == name)
                .with_context(|| format!("--class {name:?}: the model's classes are {}", classes.join(", ")))?,
        ),
    };
    let start = std::time::Instant::now();
    let e = explain(&mut predictor, &samples, class)?;
    let millis = start.elapsed().as_secs_f64() * 1e3;
    let view = match args.view {
        ViewArg::Stft => View::Stft,
        ViewArg::Cqt => View::Cqt,
    };
    let mut analyzer = Analyzer::default();
    let ([bins, frames], _) = analyzer.compute_bins_by_frames(view, &samples, Scale::Db);
    let hop_secs = analyzer.hop_secs(view);
    let grid = e.on_clip(view, bins, frames, hop_secs);
    write_npy(&args.out, [bins, frames], &grid)?;
    #[cfg(feature = "render")]
    if let Some(png) = &args.png {
        draw(png, &e, view, &analyzer.compute(view, &samples, Scale::Db))?;
    }
    println!(
        "{} ({:.1}%): saliency of {} steps in {millis:.0} ms; log p {:.3} against {:.3} at the baseline; wrote {} [{bins}, {frames}]",
        e.class_name,
        100.0 * e.probability,
        timbrescope::learn::explanation::saliency::STEPS,
        e.score,
        e.baseline_score,
        args.out.display()
    );
    Ok(())
}

/// The view of the clip through the spectrogram shader, tinted by the saliency.
#[cfg(feature = "render")]
fn draw(
    path: &std::path::Path,
    e: &timbrescope::learn::explanation::saliency::Explanation,
    view: View,
    spec: &timbrescope::dsp::Spectrogram,
) -> anyhow::Result<()> {
    use timbrescope::render::offscreen::{Content, HeadlessGpu, write_png};
    use timbrescope::render::{Colormap, SpectrogramParams};
    let (width, height) = (1200, 500);
    let top = spec.max_value().unwrap_or(0.0).ceil();
    let overlay = e.overlay(view, spec, e.display_scale());
    let params = SpectrogramParams {
        frames: [-0.5, spec.frames as f32 - 0.5],
        bins: [-0.5, spec.bins as f32 - 0.5],
        db_range: [top - 80.0, top],
        colormap: Colormap::Magma,
        overlay_opacity: 0.7,
    };
    let gpu = HeadlessGpu::new()?;
    let pixels =
        gpu.render(width, height, &Content::Spectrogram { spectrogram: spec, params, overlay: Some(&overlay) })?;
    write_png(path, width, height, &pixels).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
