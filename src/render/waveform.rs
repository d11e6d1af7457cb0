//! Waveform renderer: samples plus a min/max pyramid on the GPU, any zoom at a few reads a pixel.
//! Both live in 2-D textures, rows of `width` values: a storage buffer binding is limited to
//! 128 MiB by default, under a 20-minute clip's samples and pyramid at 48 kHz, while a texture of
//! 8192 x 8192 holds 67 million values.

use super::pipeline::{fullscreen_pipeline, texture_entry, uniform_buffer, uniform_entry};
use crate::dsp::pyramid::{MAX_LEVELS, MinMaxPyramid};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WaveformParams {
    /// Fractional samples at the left and right edges.
    pub samples: [f32; 2],
    /// Amplitude at the top edge; the bottom is its negative.
    pub amplitude: f32,
    /// Trace and zero-line colours, sRGB with alpha.
    pub color: [f32; 4],
    pub axis_color: [f32; 4],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Uniform {
    sample_lo: f32,
    sample_hi: f32,
    amplitude: f32,
    n_samples: u32,
    levels: u32,
    srgb_target: u32,
    _pad: [u32; 2],
    color: [f32; 4],
    axis_color: [f32; 4],
    level_offsets: [u32; MAX_LEVELS],
}

/// Values per texture row.
const ROW: u32 = 4096;

pub struct WaveformRenderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    srgb_target: bool,
}

pub struct WaveformLayer {
    bind_group: wgpu::BindGroup,
    uniform: wgpu::Buffer,
    n_samples: u32,
    levels: u32,
    level_offsets: [u32; MAX_LEVELS],
    /// Samples of the clip per stored sample: 1 unless the clip is too long for the textures.
    step: usize,
}

impl WaveformRenderer {
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> Self {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("waveform"),
            entries: &[uniform_entry(0), texture_entry(1), texture_entry(2)],
        });
        let source = include_str!("../../shaders/waveform.wgsl");
        let pipeline = fullscreen_pipeline(device, "waveform", source, &layout, target_format);
        Self { pipeline, layout, srgb_target: target_format.is_srgb() }
    }

    /// Uploads a clip's `samples` and their `pyramid` (built by the analysis worker). A device
    /// whose textures hold fewer samples than the pyramid was built for gets one built here.
    pub fn upload(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        samples: &[f32],
        pyramid: &MinMaxPyramid,
    ) -> WaveformLayer {
        let capacity = ROW as usize * device.limits().max_texture_dimension_2d.max(1) as usize;
        let rebuilt;
        let pyramid = if pyramid.level0(samples).len() > capacity {
            rebuilt = MinMaxPyramid::new(samples, capacity);
            &rebuilt
        } else {
            pyramid
        };
        let step = pyramid.step;
        let samples = pyramid.level0(samples);
        let offsets = &pyramid.offsets;
        let mut level_offsets = [0u32; MAX_LEVELS];
        level_offsets[..offsets.len()].copy_from_slice(offsets);
        let pyramid_flat: &[f32] = bytemuck::cast_slice(&pyramid.values);
        let sample_view = value_texture(device, queue, "waveform samples", wgpu::TextureFormat::R32Float, samples, 1);
        let pyramid_view =
            value_texture(device, queue, "waveform pyramid", wgpu::TextureFormat::Rg32Float, pyramid_flat, 2);
        let uniform = uniform_buffer(device, "waveform params", std::mem::size_of::<Uniform>());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("waveform"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(&sample_view) },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(&pyramid_view) },
            ],
        });
        WaveformLayer {
            bind_group,
            uniform,
            n_samples: samples.len() as u32,
            levels: offsets.len().saturating_sub(1) as u32,
            level_offsets,
            step,
        }
    }

    pub fn prepare(&self, queue: &wgpu::Queue, layer: &WaveformLayer, params: &WaveformParams) {
        let step = layer.step as f32;
        let uniform = Uniform {
            sample_lo: params.samples[0] / step,
            sample_hi: params.samples[1] / step,
            amplitude: params.amplitude.max(1e-6),
            n_samples: layer.n_samples,
            levels: layer.levels,
            srgb_target: self.srgb_target as u32,
            _pad: [0; 2],
            color: params.color,
            axis_color: params.axis_color,
            level_offsets: layer.level_offsets,
        };
        queue.write_buffer(&layer.uniform, 0, bytemuck::bytes_of(&uniform));
    }

    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>, layer: &WaveformLayer) {
        if layer.n_samples == 0 {
            return;
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &layer.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

/// `values` (`components` a texel) in rows of [`ROW`] texels of a texture, padded with zeros.
fn value_texture(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    label: &str,
    format: wgpu::TextureFormat,
    values: &[f32],
    components: usize,
) -> wgpu::TextureView {
    use wgpu::util::DeviceExt as _;
    let texels = (values.len() / components).max(1);
    let rows = texels.div_ceil(ROW as usize);
    let mut padded = values.to_vec();
    padded.resize(rows * ROW as usize * components, 0.0);
    let texture = device.create_texture_with_data(
        queue,
        &wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d { width: ROW, height: rows as u32, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        },
        wgpu::util::TextureDataOrder::LayerMajor,
        bytemuck::cast_slice(&padded),
    );
    texture.create_view(&Default::default())
}
