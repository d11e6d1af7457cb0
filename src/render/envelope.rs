//! The live waveform: a ring of per-block min/max pairs on the GPU, written block by block as
//! the stream arrives, drawn as a filled trace at any zoom.

use super::pipeline::{fullscreen_pipeline, storage_entry, uniform_buffer, uniform_entry, write_ring};

/// What part of the ring to show and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EnvelopeParams {
    /// Fractional global blocks at the left and right edges.
    pub blocks: [f32; 2],
    /// Amplitude at the top edge; the bottom is its negative.
    pub amplitude: f32,
    /// Trace and zero-line colours, sRGB with alpha.
    pub color: [f32; 4],
    pub axis_color: [f32; 4],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Uniform {
    block_lo: f32,
    block_hi: f32,
    amplitude: f32,
    ring_start: f32,
    held: u32,
    ring_offset: u32,
    capacity: u32,
    srgb_target: u32,
    color: [f32; 4],
    axis_color: [f32; 4],
}

pub struct EnvelopeRenderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    srgb_target: bool,
}

/// A ring of `capacity` min/max pairs and the global blocks it holds.
pub struct EnvelopeLayer {
    bind_group: wgpu::BindGroup,
    uniform: wgpu::Buffer,
    values: wgpu::Buffer,
    capacity: u64,
    start: u64,
    held: u32,
}

impl EnvelopeRenderer {
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> Self {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("envelope"),
            entries: &[uniform_entry(0), storage_entry(1)],
        });
        let source = include_str!("../../shaders/envelope.wgsl");
        let pipeline = fullscreen_pipeline(device, "envelope", source, &layout, target_format);
        Self { pipeline, layout, srgb_target: target_format.is_srgb() }
    }

    /// An empty ring of `capacity` blocks.
    pub fn ring(&self, device: &wgpu::Device, capacity: usize) -> EnvelopeLayer {
        let capacity = capacity.max(1);
        let values = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("envelope ring"),
            size: (capacity * 8) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let uniform = uniform_buffer(device, "envelope params", std::mem::size_of::<Uniform>());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("envelope"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: values.as_entire_binding() },
            ],
        });
        EnvelopeLayer { bind_group, uniform, values, capacity: capacity as u64, start: 0, held: 0 }
    }

    /// Writes global blocks `first..` (min, max pairs flattened) and marks `held` as what the
    /// ring holds.
    pub fn write_blocks(
        &self,
        queue: &wgpu::Queue,
        layer: &mut EnvelopeLayer,
        first: u64,
        pairs: &[f32],
        held: std::ops::Range<u64>,
    ) {
        write_ring(queue, &layer.values, layer.capacity, 2, first, pairs);
        layer.start = held.start;
        layer.held = (held.end - held.start).min(layer.capacity) as u32;
    }

    pub fn prepare(&self, queue: &wgpu::Queue, layer: &EnvelopeLayer, params: &EnvelopeParams) {
        let uniform = Uniform {
            block_lo: params.blocks[0],
            block_hi: params.blocks[1],
            amplitude: params.amplitude.max(1e-6),
            ring_start: layer.start as f32,
            held: layer.held,
            ring_offset: (layer.start % layer.capacity) as u32,
            capacity: layer.capacity as u32,
            srgb_target: self.srgb_target as u32,
            color: params.color,
            axis_color: params.axis_color,
        };
        queue.write_buffer(&layer.uniform, 0, bytemuck::bytes_of(&uniform));
    }

    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>, layer: &EnvelopeLayer) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &layer.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}
