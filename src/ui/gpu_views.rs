//! The bridge from egui to the renderers: GPU layers live in egui-wgpu's callback resources,
//! each frame's paint callback carries only plain parameters.

use std::collections::HashMap;

use eframe::egui;
use eframe::egui_wgpu::{self, CallbackResources, CallbackTrait, RenderState};

use crate::dsp::Spectrogram;
use crate::dsp::pyramid::MinMaxPyramid;
use crate::render::{
    EnvelopeLayer, EnvelopeParams, EnvelopeRenderer, SpectrogramLayer, SpectrogramParams, SpectrogramRenderer,
    WaveformLayer, WaveformParams, WaveformRenderer,
};

/// Which uploaded data a view draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    Waveform,
    Stft,
    Cqt,
    /// The degraded clip's views (the B side of the A/B switch).
    DegradedWaveform,
    DegradedStft,
    DegradedCqt,
    /// Degraded minus clean.
    DeltaStft,
    DeltaCqt,
    /// The training note shown beside the clip (nearest-note A/B).
    CompareWaveform,
    CompareStft,
    CompareCqt,
    /// One instrument's cell of the instrument grid.
    Grid(u8),
    /// 0: the mixture's STFT; k + 1: source k's soft mask.
    Mixture(u8),
    /// Live mode's rings, written column by column as the stream arrives.
    LiveWaveform,
    LiveStft,
    LiveCqt,
}

#[derive(Clone, Copy, Debug)]
pub enum SlotParams {
    Waveform(WaveformParams),
    Spectrogram(SpectrogramParams),
    Envelope(EnvelopeParams),
}

enum Layer {
    Waveform(WaveformLayer),
    Spectrogram(SpectrogramLayer),
    Envelope(EnvelopeLayer),
}

/// Renderers and uploaded layers, kept in egui-wgpu's callback resources.
struct GpuViews {
    waveform: WaveformRenderer,
    spectrogram: SpectrogramRenderer,
    envelope: EnvelopeRenderer,
    layers: HashMap<Slot, Layer>,
}

/// Builds the renderers once for the window's target format.
pub fn install(render_state: &RenderState) {
    let views = GpuViews {
        waveform: WaveformRenderer::new(&render_state.device, render_state.target_format),
        spectrogram: SpectrogramRenderer::new(&render_state.device, &render_state.queue, render_state.target_format),
        envelope: EnvelopeRenderer::new(&render_state.device, render_state.target_format),
        layers: HashMap::new(),
    };
    render_state.renderer.write().callback_resources.insert(views);
}

/// Uploads a clip's samples and the pyramid its analysis built.
pub fn upload_waveform(render_state: &RenderState, slot: Slot, samples: &[f32], pyramid: &MinMaxPyramid) {
    with_views(render_state, |views| {
        let layer = views.waveform.upload(&render_state.device, &render_state.queue, samples, pyramid);
        views.layers.insert(slot, Layer::Waveform(layer));
    });
}

pub fn upload_spectrogram(render_state: &RenderState, slot: Slot, spectrogram: &Spectrogram) {
    with_views(render_state, |views| {
        let layer = views.spectrogram.upload(&render_state.device, spectrogram);
        views.layers.insert(slot, Layer::Spectrogram(layer));
    });
}

/// Empty rings for a live stream: `columns` STFT and CQT columns of the given bins, `blocks`
/// envelope blocks. They replace any earlier stream's.
pub fn live_rings(render_state: &RenderState, stft_bins: usize, cqt_bins: usize, columns: usize, blocks: usize) {
    with_views(render_state, |views| {
        let device = &render_state.device;
        views.layers.insert(Slot::LiveWaveform, Layer::Envelope(views.envelope.ring(device, blocks)));
        views.layers.insert(Slot::LiveStft, Layer::Spectrogram(views.spectrogram.ring(device, stft_bins, columns)));
        views.layers.insert(Slot::LiveCqt, Layer::Spectrogram(views.spectrogram.ring(device, cqt_bins, columns)));
    });
}

/// Writes global columns (or envelope blocks) `first..` of a live ring; `held` is what its CPU
/// ring holds now. Only what is given travels to the GPU.
pub fn write_live(render_state: &RenderState, slot: Slot, first: u64, values: &[f32], held: std::ops::Range<u64>) {
    with_views(render_state, |views| match views.layers.get_mut(&slot) {
        Some(Layer::Spectrogram(layer)) => {
            views.spectrogram.write_columns(&render_state.queue, layer, first, values, held);
        }
        Some(Layer::Envelope(layer)) => views.envelope.write_blocks(&render_state.queue, layer, first, values, held),
        _ => log::debug!("no live ring in {slot:?}"),
    });
}

/// Tints global columns `first_column..` of a live ring with `overlay` (its bins the ring's,
/// values in [-1, 1]), or removes the tint.
pub fn set_live_overlay(render_state: &RenderState, slot: Slot, first_column: u64, overlay: Option<&Spectrogram>) {
    with_views(render_state, |views| {
        if let Some(Layer::Spectrogram(layer)) = views.layers.get_mut(&slot)
            && let Err(e) = views.spectrogram.set_ring_overlay(&render_state.device, layer, first_column, overlay)
        {
            log::debug!("live saliency for {slot:?} skipped: {e}");
        }
    });
}

/// Tints the spectrogram in `slot` with `overlay` (same grid, values in [-1, 1]), or removes the
/// tint. A slot holding something else, or an overlay of another shape, is left as it is.
pub fn set_overlay(render_state: &RenderState, slot: Slot, overlay: Option<&Spectrogram>) {
    with_views(render_state, |views| {
        if let Some(Layer::Spectrogram(layer)) = views.layers.get_mut(&slot)
            && let Err(e) = views.spectrogram.set_overlay(&render_state.device, layer, overlay)
        {
            log::debug!("saliency overlay for {slot:?} skipped: {e}");
        }
    });
}

fn with_views(render_state: &RenderState, f: impl FnOnce(&mut GpuViews)) {
    let mut renderer = render_state.renderer.write();
    match renderer.callback_resources.get_mut::<GpuViews>() {
        Some(views) => f(views),
        None => log::warn!("GPU views were not installed; nothing uploaded"),
    }
}

/// A paint callback drawing `slot` into `rect`.
pub fn view_shape(rect: egui::Rect, slot: Slot, params: SlotParams) -> egui::Shape {
    egui::Shape::Callback(egui_wgpu::Callback::new_paint_callback(rect, ViewCallback { slot, params }))
}

struct ViewCallback {
    slot: Slot,
    params: SlotParams,
}

impl CallbackTrait for ViewCallback {
    fn prepare(
        &self,
        _device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(views) = resources.get::<GpuViews>() else { return Vec::new() };
        match (views.layers.get(&self.slot), &self.params) {
            (Some(Layer::Waveform(layer)), SlotParams::Waveform(p)) => views.waveform.prepare(queue, layer, p),
            (Some(Layer::Spectrogram(layer)), SlotParams::Spectrogram(p)) => views.spectrogram.prepare(queue, layer, p),
            (Some(Layer::Envelope(layer)), SlotParams::Envelope(p)) => views.envelope.prepare(queue, layer, p),
            _ => {}
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &CallbackResources,
    ) {
        let Some(views) = resources.get::<GpuViews>() else { return };
        match views.layers.get(&self.slot) {
            Some(Layer::Waveform(layer)) => views.waveform.paint(pass, layer),
            Some(Layer::Spectrogram(layer)) => views.spectrogram.paint(pass, layer),
            Some(Layer::Envelope(layer)) => views.envelope.paint(pass, layer),
            None => {}
        }
    }
}
