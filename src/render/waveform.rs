//! Waveform renderer: samples plus a min/max pyramid on the GPU, any zoom at a few reads a pixel.
//! Both live in 2-D textures, rows of `width` values: a storage buffer binding is limited to
//! 128 MiB by default, under a 20-minute clip's samples and pyramid at 48 kHz, while a texture of
//! 8192 x 8192 holds 67 million values.

use super::pipeline::{fullscreen_pipeline, texture_entry, uniform_buffer, uniform_entry};

/// Pyramid levels addressable by the shader's offset table.
const MAX_LEVELS: usize = 32;

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

/// Min/max of blocks of 2, 4, 8, ... samples, concatenated; `offsets[l]` is where level `l`
/// (blocks of 2^l) starts. Level 0 is the samples themselves and is not stored here.
pub fn min_max_pyramid(samples: &[f32]) -> (Vec<[f32; 2]>, Vec<u32>) {
    let mut pyramid = Vec::new();
    let mut offsets = vec![0u32];
    let mut level: Vec<[f32; 2]> = samples
        .chunks(2)
        .map(|c| [c.iter().copied().fold(f32::INFINITY, f32::min), c.iter().copied().fold(f32::NEG_INFINITY, f32::max)])
        .collect();
    while !level.is_empty() && offsets.len() < MAX_LEVELS {
        offsets.push(pyramid.len() as u32);
        pyramid.extend_from_slice(&level);
        if level.len() == 1 {
            break;
        }
        level = level
            .chunks(2)
            .map(|c| {
                [
                    c.iter().map(|m| m[0]).fold(f32::INFINITY, f32::min),
                    c.iter().map(|m| m[1]).fold(f32::NEG_INFINITY, f32::max),
                ]
            })
            .collect();
    }
    (pyramid, offsets)
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

    pub fn upload(&self, device: &wgpu::Device, queue: &wgpu::Queue, samples: &[f32]) -> WaveformLayer {
        // Longer than the textures hold (hours at 48 kHz): keep each block's loudest sample.
        let rows = device.limits().max_texture_dimension_2d.max(1) as usize;
        let step = samples.len().div_ceil(ROW as usize * rows).max(1);
        let decimated;
        let samples = if step == 1 {
            samples
        } else {
            decimated = loudest_per_block(samples, step);
            &decimated
        };
        let (pyramid, offsets) = min_max_pyramid(samples);
        let mut level_offsets = [0u32; MAX_LEVELS];
        level_offsets[..offsets.len()].copy_from_slice(&offsets);
        let pyramid_flat: Vec<f32> = pyramid.iter().flatten().copied().collect();
        let sample_view = value_texture(device, queue, "waveform samples", wgpu::TextureFormat::R32Float, samples, 1);
        let pyramid_view =
            value_texture(device, queue, "waveform pyramid", wgpu::TextureFormat::Rg32Float, &pyramid_flat, 2);
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

/// Each block of `step` samples as its sample of largest magnitude.
fn loudest_per_block(samples: &[f32], step: usize) -> Vec<f32> {
    samples.chunks(step).map(|c| c.iter().copied().fold(0f32, |a, x| if x.abs() > a.abs() { x } else { a })).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyramid_levels_hold_block_extremes() {
        let samples: Vec<f32> = (0..10).map(|i| if i == 7 { -3.0 } else { i as f32 * 0.1 }).collect();
        let (pyramid, offsets) = min_max_pyramid(&samples);
        // Level 1: five pairs; level 2: three blocks of four; level 3: two; level 4: one.
        assert_eq!(offsets, vec![0, 0, 5, 8, 10]);
        assert_eq!(pyramid[3][0], -3.0);
        assert!((pyramid[3][1] - 0.6).abs() < 1e-6);
        let top = pyramid[offsets[4] as usize];
        assert_eq!(top[0], -3.0);
        assert!((top[1] - 0.9).abs() < 1e-6);
    }
}
