//! Shared pipeline plumbing: one full-viewport triangle, alpha blending, storage-buffer layouts.

pub(crate) fn storage_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only: true },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A 2-D float texture read with `textureLoad` (no filtering, so 32-bit formats qualify).
pub(crate) fn texture_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

pub(crate) fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A pipeline that draws one triangle over the viewport: `shaders/common.wgsl`'s `vs_main`, and
/// the shader's `fs_main`.
pub(crate) fn fullscreen_pipeline(
    device: &wgpu::Device,
    label: &str,
    source: &str,
    layout: &wgpu::BindGroupLayout,
    target_format: wgpu::TextureFormat,
) -> wgpu::RenderPipeline {
    // Every view shader is written against the shared prelude (vs_main, sRGB decoding).
    let source = format!("{}\n{source}", include_str!("../../shaders/common.wgsl"));
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module: &module,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module: &module,
            entry_point: Some("fs_main"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: target_format,
                blend: Some(wgpu::BlendState::ALPHA_BLENDING),
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// A storage buffer holding `data`; zero-length data gets one element so the binding is valid.
pub(crate) fn storage_buffer<T: bytemuck::Pod + Default>(
    device: &wgpu::Device,
    label: &str,
    data: &[T],
) -> wgpu::Buffer {
    use wgpu::util::DeviceExt as _;
    let fallback = [T::default()];
    let contents = if data.is_empty() { &fallback[..] } else { data };
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: bytemuck::cast_slice(contents),
        usage: wgpu::BufferUsages::STORAGE,
    })
}

pub(crate) fn uniform_buffer(device: &wgpu::Device, label: &str, size: usize) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Writes items `first..` (global indices, `item_len` values each) into a GPU ring of `capacity`
/// items, item `i` in slot `i % capacity`: at most one ring's worth (the last), in at most two
/// copies, before and after the wrap.
pub(crate) fn write_ring(
    queue: &wgpu::Queue,
    buffer: &wgpu::Buffer,
    capacity: u64,
    item_len: usize,
    first: u64,
    values: &[f32],
) {
    let item_len = item_len.max(1);
    let count = values.len() / item_len;
    let skip = count.saturating_sub(capacity as usize);
    let mut i = first + skip as u64;
    let mut rest = &values[skip * item_len..count * item_len];
    while !rest.is_empty() {
        let slot = i % capacity;
        let run = ((capacity - slot) as usize).min(rest.len() / item_len);
        let offset = slot * (item_len * std::mem::size_of::<f32>()) as u64;
        queue.write_buffer(buffer, offset, bytemuck::cast_slice(&rest[..run * item_len]));
        rest = &rest[run * item_len..];
        i += run as u64;
    }
}
