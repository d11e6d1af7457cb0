//! Headless rendering: the same renderers drawn into a texture and read back, for `render`
//! and for tests; needs any Vulkan/GL/Metal adapter (Mesa's lavapipe is enough).

use std::path::Path;

use crate::atomic_file::write_atomically;

use super::{SpectrogramParams, SpectrogramRenderer, WaveformParams, WaveformRenderer};
use crate::dsp::Spectrogram;
use crate::dsp::pyramid::{DEFAULT_MAX_SAMPLES, MinMaxPyramid};

const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// Background behind transparent parts of a view (the workbench's dark panel colour).
pub const BACKGROUND_RGB: [u8; 3] = [27, 27, 27];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "no GPU adapter available for rendering ({0}); on Linux without a GPU install Mesa's software Vulkan driver (package mesa-vulkan-drivers)"
    )]
    NoAdapter(String),
    #[error("the GPU device could not be created: {0}")]
    Device(String),
    #[error("invalid image size {width}x{height}: each side must be between 1 and {max}")]
    Size { width: u32, height: u32, max: u32 },
    #[error("reading the rendered image back failed: {0}")]
    Readback(String),
    #[error("cannot write {path}: {source}")]
    Write { path: std::path::PathBuf, source: std::io::Error },
    #[error("overlay: {0}")]
    Overlay(String),
}

/// What to draw.
pub enum Content<'a> {
    Waveform {
        samples: &'a [f32],
        params: WaveformParams,
    },
    /// A spectrogram, tinted by `overlay` (same shape, values in [-1, 1]) when one is given.
    Spectrogram {
        spectrogram: &'a Spectrogram,
        params: SpectrogramParams,
        overlay: Option<&'a Spectrogram>,
    },
}

/// A device without a window.
pub struct HeadlessGpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pub adapter_name: String,
}

impl HeadlessGpu {
    pub fn new() -> Result<Self, RenderError> {
        // Vulkan/Metal/DX12 first; GL only where none of them has an adapter (it logs noisily when
        // it has no display). WGPU_BACKEND overrides both.
        let chosen = std::env::var_os("WGPU_BACKEND").is_some();
        let attempts: &[Option<wgpu::Backends>] =
            if chosen { &[None] } else { &[Some(wgpu::Backends::PRIMARY), Some(wgpu::Backends::GL)] };
        let mut last_error = String::from("no backend tried");
        let mut found = None;
        for backends in attempts {
            let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
            if let Some(b) = backends {
                desc.backends = *b;
            }
            let instance = wgpu::Instance::new(desc);
            match pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default())) {
                Ok(adapter) => {
                    found = Some(adapter);
                    break;
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        let adapter = found.ok_or(RenderError::NoAdapter(last_error))?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("timbrescope headless"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| RenderError::Device(e.to_string()))?;
        Ok(Self { device, queue, adapter_name: adapter.get_info().name })
    }

    /// RGBA8 pixels, row-major, `width * height * 4` bytes.
    pub fn render(&self, width: u32, height: u32, content: &Content<'_>) -> Result<Vec<u8>, RenderError> {
        let max = self.device.limits().max_texture_dimension_2d;
        if width == 0 || height == 0 || width > max || height > max {
            return Err(RenderError::Size { width, height, max });
        }
        let texture = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("offscreen target"),
            size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let mut encoder =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("offscreen") });
        let [r, g, b] = BACKGROUND_RGB.map(|c| c as f64 / 255.0);
        let clear = wgpu::Color { r, g, b, a: 1.0 };
        // Renderers are created per call: building two small pipelines costs far less than a clip.
        match content {
            Content::Waveform { samples, params } => {
                let renderer = WaveformRenderer::new(&self.device, FORMAT);
                let pyramid = MinMaxPyramid::new(samples, DEFAULT_MAX_SAMPLES);
                let layer = renderer.upload(&self.device, &self.queue, samples, &pyramid);
                renderer.prepare(&self.queue, &layer, params);
                let mut pass = begin_pass(&mut encoder, &view, clear);
                renderer.paint(&mut pass, &layer);
            }
            Content::Spectrogram { spectrogram, params, overlay } => {
                let renderer = SpectrogramRenderer::new(&self.device, &self.queue, FORMAT);
                let mut layer = renderer.upload(&self.device, spectrogram);
                if let Some(overlay) = overlay {
                    renderer.set_overlay(&self.device, &mut layer, Some(overlay)).map_err(RenderError::Overlay)?;
                }
                renderer.prepare(&self.queue, &layer, params);
                let mut pass = begin_pass(&mut encoder, &view, clear);
                renderer.paint(&mut pass, &layer);
            }
        }
        // Rows in a texture-to-buffer copy must be 256-byte aligned.
        let row_bytes = width as usize * 4;
        let padded_row = row_bytes.div_ceil(256) * 256;
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: (padded_row * height as usize) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_texture_to_buffer(
            texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded_row as u32),
                    rows_per_image: None,
                },
            },
            wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
        );
        self.queue.submit([encoder.finish()]);
        let slice = readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| RenderError::Readback(e.to_string()))?;
        rx.recv()
            .map_err(|e| RenderError::Readback(e.to_string()))?
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        let mapped = slice.get_mapped_range().map_err(|e| RenderError::Readback(e.to_string()))?;
        let mut pixels = Vec::with_capacity(row_bytes * height as usize);
        for row in mapped.chunks(padded_row) {
            pixels.extend_from_slice(&row[..row_bytes]);
        }
        Ok(pixels)
    }
}

fn begin_pass<'a>(
    encoder: &'a mut wgpu::CommandEncoder,
    view: &'a wgpu::TextureView,
    clear: wgpu::Color,
) -> wgpu::RenderPass<'a> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some("offscreen view"),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations { load: wgpu::LoadOp::Clear(clear), store: wgpu::StoreOp::Store },
        })],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}

/// Writes RGBA8 pixels as a PNG, atomically.
pub fn write_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> Result<(), RenderError> {
    write_atomically(path, |w| {
        let mut encoder = png::Encoder::new(w, width, height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer.write_image_data(rgba).map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
    .map_err(|source| RenderError::Write { path: path.to_owned(), source })
}
