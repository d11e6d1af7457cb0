//! `render`: a view of a clip drawn offscreen through the workbench's shaders into a PNG.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use timbrescope::audio::load_clip;
use timbrescope::dsp::{Scale, View};
use timbrescope::features::Analyzer;
use timbrescope::render::offscreen::{Content, HeadlessGpu, write_png};
use timbrescope::render::{Colormap, SpectrogramParams, WaveformParams};

#[derive(Clone, Copy, ValueEnum)]
pub enum RenderView {
    Waveform,
    Stft,
    Cqt,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ColormapArg {
    Magma,
    Viridis,
    Inferno,
    Gray,
}

#[derive(Args)]
pub struct RenderArgs {
    /// Clip to render (WAV, FLAC, MP3, Ogg Vorbis).
    clip: PathBuf,
    #[arg(long, value_enum)]
    view: RenderView,
    /// PNG to write.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1200)]
    width: u32,
    #[arg(long, default_value_t = 400)]
    height: u32,
    /// dB shown below the clip's maximum.
    #[arg(long, default_value_t = 80.0)]
    range_db: f32,
    #[arg(long, value_enum, default_value_t = ColormapArg::Magma)]
    colormap: ColormapArg,
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    if !(args.range_db.is_finite() && args.range_db > 0.0) {
        anyhow::bail!("--range-db must be a positive number of dB, got {}", args.range_db);
    }
    let clip = load_clip(&args.clip)?;
    let gpu = HeadlessGpu::new()?;
    let content_spec;
    let content = match args.view {
        RenderView::Waveform => Content::Waveform {
            samples: &clip.samples,
            params: WaveformParams {
                samples: [0.0, clip.samples.len().saturating_sub(1) as f32],
                amplitude: 1.0,
                color: [0.45, 0.78, 1.0, 1.0],
                axis_color: [0.5, 0.5, 0.5, 0.6],
            },
        },
        RenderView::Stft | RenderView::Cqt => {
            let view = if matches!(args.view, RenderView::Stft) { View::Stft } else { View::Cqt };
            content_spec = Analyzer::default().compute(view, &clip.samples, Scale::Db);
            let top = content_spec.max_value().unwrap_or(0.0).ceil();
            Content::Spectrogram {
                spectrogram: &content_spec,
                params: SpectrogramParams {
                    frames: [-0.5, content_spec.frames as f32 - 0.5],
                    bins: [-0.5, content_spec.bins as f32 - 0.5],
                    db_range: [top - args.range_db, top],
                    colormap: match args.colormap {
                        ColormapArg::Magma => Colormap::Magma,
                        ColormapArg::Viridis => Colormap::Viridis,
                        ColormapArg::Inferno => Colormap::Inferno,
                        ColormapArg::Gray => Colormap::Gray,
                    },
                    overlay_opacity: 0.0,
                },
                overlay: None,
            }
        }
    };
    let pixels = gpu.render(args.width, args.height, &content)?;
    write_png(&args.out, args.width, args.height, &pixels)
        .with_context(|| format!("rendering {}", args.clip.display()))?;
    eprintln!("wrote {} ({}x{}, {})", args.out.display(), args.width, args.height, gpu.adapter_name);
    Ok(())
}
