//! Spectrogram renderer: dB values on the GPU, colour and window chosen per frame by a uniform.

use crate::dsp::{Scale, Spectrogram};

use super::colormap::{self, Colormap};
use super::pipeline::{fullscreen_pipeline, storage_buffer, storage_entry, uniform_buffer, uniform_entry, write_ring};

/// What part of a spectrogram to show and how; plain data, cheap to send every frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpectrogramParams {
    /// Fractional frames at the left and right edges.
    pub frames: [f32; 2],
    /// Fractional bins at the bottom and top edges.
    pub bins: [f32; 2],
    /// dB mapped to the first and last colour.
    pub db_range: [f32; 2],
    pub colormap: Colormap,
    /// How strongly the layer's overlay tints the colours (0: not at all, or no overlay).
    pub overlay_opacity: f32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Uniform {
    frame_lo: f32,
    frame_hi: f32,
    bin_lo: f32,
    bin_hi: f32,
    db_lo: f32,
    db_hi: f32,
    bins: u32,
    columns: u32,
    frame_step: f32,
    colormap_row: f32,
    srgb_target: u32,
    overlay_opacity: f32,
    ring_start: f32,
    ring_offset: u32,
    capacity: u32,
    overlay_first: i32,
    overlay_columns: u32,
    opaque: u32,
    _pad: [u32; 2],
}

/// Pipeline and colormap atlas, built once per target format.
pub struct SpectrogramRenderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    atlas: wgpu::TextureView,
    sampler: wgpu::Sampler,
    srgb_target: bool,
}

/// One spectrogram uploaded to the GPU, with its own uniform and an optional overlay.
pub struct SpectrogramLayer {
    bind_group: wgpu::BindGroup,
    uniform: wgpu::Buffer,
    values: wgpu::Buffer,
    has_overlay: bool,
    bins: u32,
    columns: u32,
    frame_step: u32,
    /// For a ring layer (live views): where its held columns start.
    ring: Option<RingWindow>,
    /// A ring layer's overlay: the global column of its first column, and its columns.
    ring_overlay: Option<(u64, u32)>,
}

/// The columns a ring layer holds: global indices `start..start + held`, column `start` in slot
/// `start % capacity`. A ring layer's frames are global column indices.
#[derive(Clone, Copy, Debug)]
struct RingWindow {
    start: u64,
    held: u32,
}

impl SpectrogramRenderer {
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, target_format: wgpu::TextureFormat) -> Self {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("spectrogram"),
            entries: &[
                uniform_entry(0),
                storage_entry(1),
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 3,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
                storage_entry(4),
            ],
        });
        let source = include_str!("../../shaders/spectrogram.wgsl");
        let pipeline = fullscreen_pipeline(device, "spectrogram", source, &layout, target_format);
        Self {
            pipeline,
            layout,
            atlas: colormap_atlas(device, queue),
            sampler: device.create_sampler(&wgpu::SamplerDescriptor {
                label: Some("colormap"),
                mag_filter: wgpu::FilterMode::Linear,
                min_filter: wgpu::FilterMode::Linear,
                ..Default::default()
            }),
            srgb_target: target_format.is_srgb(),
        }
    }

    /// Uploads a spectrogram (converted to dB if linear). Clips too long for one storage
    /// buffer are reduced in time by taking the maximum over groups of frames.
    pub fn upload(&self, device: &wgpu::Device, spec: &Spectrogram) -> SpectrogramLayer {
        let max_bytes = device.limits().max_storage_buffer_binding_size as usize;
        let frame_step = (spec.values.len() * 4).div_ceil(max_bytes.max(1)).max(1);
        let mut values = if frame_step == 1 { spec.values.clone() } else { max_over_frames(spec, frame_step) };
        if spec.scale == Scale::Linear {
            crate::dsp::db::amplitudes_to_db_in_place(&mut values);
        }
        let columns = (values.len() / spec.bins.max(1)) as u32;
        let buffer = storage_buffer(device, "spectrogram values", &values);
        let uniform = uniform_buffer(device, "spectrogram params", std::mem::size_of::<Uniform>());
        // No overlay yet: one zero stands in, since every binding must be bound.
        let overlay = storage_buffer(device, "spectrogram overlay", &[0.0f32]);
        let bind_group = self.bind_group(device, &uniform, &buffer, &overlay);
        SpectrogramLayer {
            bind_group,
            uniform,
            values: buffer,
            has_overlay: false,
            bins: spec.bins as u32,
            columns,
            frame_step: frame_step as u32,
            ring: None,
            ring_overlay: None,
        }
    }

    /// An empty ring of `capacity` columns of `bins` dB values, written column by column with
    /// [`SpectrogramRenderer::write_columns`]: the live views scroll without re-uploading.
    pub fn ring(&self, device: &wgpu::Device, bins: usize, capacity: usize) -> SpectrogramLayer {
        use wgpu::util::DeviceExt as _;
        let values = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("spectrogram ring"),
            contents: bytemuck::cast_slice(&vec![-200.0f32; bins.max(1) * capacity.max(1)]),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        });
        let uniform = uniform_buffer(device, "spectrogram params", std::mem::size_of::<Uniform>());
        let overlay = storage_buffer(device, "spectrogram overlay", &[0.0f32]);
        let bind_group = self.bind_group(device, &uniform, &values, &overlay);
        SpectrogramLayer {
            bind_group,
            uniform,
            values,
            has_overlay: false,
            bins: bins as u32,
            columns: capacity.max(1) as u32,
            frame_step: 1,
            ring: Some(RingWindow { start: 0, held: 0 }),
            ring_overlay: None,
        }
    }

    /// Writes global columns `first..` (dB, frame-major, `bins` each) into a ring layer, and
    /// marks `held_start..held_end` as what it holds. Only the columns given travel to the GPU.
    pub fn write_columns(
        &self,
        queue: &wgpu::Queue,
        layer: &mut SpectrogramLayer,
        first: u64,
        values: &[f32],
        held: std::ops::Range<u64>,
    ) {
        let Some(ring) = layer.ring.as_mut() else { return };
        let capacity = u64::from(layer.columns);
        write_ring(queue, &layer.values, capacity, layer.bins as usize, first, values);
        *ring = RingWindow { start: held.start, held: (held.end - held.start).min(capacity) as u32 };
    }

    fn bind_group(
        &self,
        device: &wgpu::Device,
        uniform: &wgpu::Buffer,
        values: &wgpu::Buffer,
        overlay: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("spectrogram"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: values.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(&self.atlas) },
                wgpu::BindGroupEntry { binding: 3, resource: wgpu::BindingResource::Sampler(&self.sampler) },
                wgpu::BindGroupEntry { binding: 4, resource: overlay.as_entire_binding() },
            ],
        })
    }

    /// Sets the layer's overlay: `frames × bins` values in [-1, 1], frame-major like the
    /// spectrogram uploaded (reduced in time as it was); None removes it. A shape other than the
    /// spectrogram's is refused.
    pub fn set_overlay(
        &self,
        device: &wgpu::Device,
        layer: &mut SpectrogramLayer,
        overlay: Option<&Spectrogram>,
    ) -> Result<(), String> {
        let values = match overlay {
            None => vec![0.0f32],
            Some(o) => {
                let step = layer.frame_step as usize;
                let reduced = if step == 1 { o.values.clone() } else { max_abs_over_frames(o, step) };
                if o.bins as u32 != layer.bins || reduced.len() != (layer.columns * layer.bins) as usize {
                    return Err(format!(
                        "an overlay of {} bins x {} frames on a spectrogram of {} bins x {} columns",
                        o.bins, o.frames, layer.bins, layer.columns
                    ));
                }
                reduced
            }
        };
        let buffer = storage_buffer(device, "spectrogram overlay", &values);
        layer.bind_group = self.bind_group(device, &layer.uniform, &layer.values, &buffer);
        layer.has_overlay = overlay.is_some();
        Ok(())
    }

    /// Sets a ring layer's overlay: `overlay`'s frames (values in [-1, 1], its bins the layer's)
    /// tint global columns `first_column..`; None removes it.
    pub fn set_ring_overlay(
        &self,
        device: &wgpu::Device,
        layer: &mut SpectrogramLayer,
        first_column: u64,
        overlay: Option<&Spectrogram>,
    ) -> Result<(), String> {
        if layer.ring.is_none() {
            return Err("not a ring layer".into());
        }
        if let Some(o) = overlay
            && o.bins as u32 != layer.bins
        {
            return Err(format!("an overlay of {} bins on a ring of {} bins", o.bins, layer.bins));
        }
        let values = overlay.map_or_else(|| vec![0.0f32], |o| o.values.clone());
        let buffer = storage_buffer(device, "spectrogram overlay", &values);
        layer.bind_group = self.bind_group(device, &layer.uniform, &layer.values, &buffer);
        layer.has_overlay = overlay.is_some();
        layer.ring_overlay = overlay.map(|o| (first_column, o.frames as u32));
        Ok(())
    }

    /// Writes this frame's window and colours; call before the render pass that paints it.
    pub fn prepare(&self, queue: &wgpu::Queue, layer: &SpectrogramLayer, params: &SpectrogramParams) {
        let rows = Colormap::ALL.len() as f32;
        let uniform = Uniform {
            frame_lo: params.frames[0],
            frame_hi: params.frames[1],
            bin_lo: params.bins[0],
            bin_hi: params.bins[1],
            db_lo: params.db_range[0],
            db_hi: if params.db_range[1] > params.db_range[0] { params.db_range[1] } else { params.db_range[0] + 1.0 },
            bins: layer.bins,
            columns: layer.columns,
            frame_step: layer.frame_step as f32,
            colormap_row: (params.colormap.index() as f32 + 0.5) / rows,
            srgb_target: self.srgb_target as u32,
            overlay_opacity: if layer.has_overlay { params.overlay_opacity.clamp(0.0, 1.0) } else { 0.0 },
            ring_start: 0.0,
            ring_offset: 0,
            capacity: layer.columns,
            overlay_first: 0,
            overlay_columns: layer.columns,
            opaque: 0,
            _pad: [0; 2],
        };
        let uniform = match layer.ring {
            None => uniform,
            Some(r) => {
                let (first, columns) = layer.ring_overlay.unwrap_or((0, 0));
                Uniform {
                    columns: r.held,
                    ring_start: r.start as f32,
                    ring_offset: (r.start % u64::from(layer.columns)) as u32,
                    overlay_first: (first as i64 - r.start as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
                    overlay_columns: columns,
                    // A live view draws its own backing: one fill per pixel, not two.
                    opaque: 1,
                    ..uniform
                }
            }
        };
        queue.write_buffer(&layer.uniform, 0, bytemuck::bytes_of(&uniform));
    }

    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>, layer: &SpectrogramLayer) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &layer.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

fn max_over_frames(spec: &Spectrogram, step: usize) -> Vec<f32> {
    let columns = spec.frames.div_ceil(step);
    let mut out = vec![f32::NEG_INFINITY; columns * spec.bins];
    for t in 0..spec.frames {
        let dst = &mut out[(t / step) * spec.bins..(t / step + 1) * spec.bins];
        for (d, &v) in dst.iter_mut().zip(spec.frame(t)) {
            *d = d.max(v);
        }
    }
    out
}

/// Per group of `step` frames, the value of largest magnitude (its sign kept).
fn max_abs_over_frames(spec: &Spectrogram, step: usize) -> Vec<f32> {
    let columns = spec.frames.div_ceil(step);
    let mut out = vec![0.0f32; columns * spec.bins];
    for t in 0..spec.frames {
        let dst = &mut out[(t / step) * spec.bins..(t / step + 1) * spec.bins];
        for (d, &v) in dst.iter_mut().zip(spec.frame(t)) {
            if v.abs() > d.abs() {
                *d = v;
            }
        }
    }
    out
}

fn colormap_atlas(device: &wgpu::Device, queue: &wgpu::Queue) -> wgpu::TextureView {
    use wgpu::util::DeviceExt as _;
    let texture = device.create_texture_with_data(
        queue,
        &wgpu::TextureDescriptor {
            label: Some("colormap atlas"),
            size: wgpu::Extent3d {
                width: Colormap::TABLE_LEN as u32,
                height: Colormap::ALL.len() as u32,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            // Stored as the sRGB-encoded bytes they are; the shader decodes only for sRGB targets.
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        },
        wgpu::util::TextureDataOrder::LayerMajor,
        &colormap::atlas_rgba(),
    );
    texture.create_view(&wgpu::TextureViewDescriptor::default())
}
