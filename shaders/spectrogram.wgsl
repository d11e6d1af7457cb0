// Spectrogram view: values in dB live in a storage buffer (frame-major); the uniform says which
// part is visible, the dB range and which colormap row to use, so pan, zoom, range and colormap
// changes never touch the data. An overlay of the same shape (saliency in [-1, 1]) tints the
// colours when its opacity is above 0. A live view's values are a ring of `capacity` columns:
// frames are then global column indices, the held ones starting at `ring_start` in slot
// `ring_offset`; for a clip the ring is the whole buffer and starts at 0.

struct Params {
    frame_lo: f32,      // fractional frame at the left edge
    frame_hi: f32,      // ... at the right edge
    bin_lo: f32,        // fractional bin at the bottom edge
    bin_hi: f32,        // ... at the top edge
    db_lo: f32,         // value mapped to the colormap's first entry
    db_hi: f32,         // ... and its last
    bins: u32,
    columns: u32,       // stored (held) columns (frames / frame_step)
    frame_step: f32,    // frames per stored column (> 1 only for very long clips)
    colormap_row: f32,  // centre of the colormap's row in the atlas, in [0, 1]
    srgb_target: u32,   // 1 when the target applies sRGB encoding itself
    overlay_opacity: f32, // 0: no overlay
    ring_start: f32,    // global index of the first held column (0 for a clip)
    ring_offset: u32,   // its slot in the buffer
    capacity: u32,      // slots in the buffer
    overlay_first: i32, // held column where the overlay's column 0 sits (0 for a clip)
    overlay_columns: u32,
    opaque: u32,        // 1: where there is nothing to show, draw the backing (live views)
    _pad1: u32,
    _pad2: u32,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var colormap: texture_2d<f32>;
@group(0) @binding(3) var colormap_sampler: sampler;
@group(0) @binding(4) var<storage, read> overlay: array<f32>;

fn value_at(column: i32, bin: i32) -> f32 {
    // The slot of a held column: one conditional subtraction, not a modulo (costly per pixel
    // on a CPU rasteriser); the sum stays under twice the capacity.
    let held = u32(clamp(column, 0, i32(params.columns) - 1)) + params.ring_offset;
    let c = select(held, held - params.capacity, held >= params.capacity);
    let b = u32(clamp(bin, 0, i32(params.bins) - 1));
    return values[c * params.bins + b];
}

// Bilinear in frequency, and in time when zoomed in; when a pixel spans several columns,
// their maximum, so short events do not vanish when zoomed out.
fn sample_value(column: f32, bin: f32, columns_per_pixel: f32) -> f32 {
    let b0 = floor(bin - 0.5);
    let fb = bin - 0.5 - b0;
    if columns_per_pixel <= 1.0 {
        let c0 = floor(column - 0.5);
        let fc = column - 0.5 - c0;
        let lo = mix(value_at(i32(c0), i32(b0)), value_at(i32(c0), i32(b0) + 1), fb);
        let hi = mix(value_at(i32(c0) + 1, i32(b0)), value_at(i32(c0) + 1, i32(b0) + 1), fb);
        return mix(lo, hi, fc);
    }
    let start = column - 0.5 * columns_per_pixel;
    let taps = min(u32(ceil(columns_per_pixel)), 16u);
    let step = columns_per_pixel / f32(taps);
    var best = -1e30;
    for (var i = 0u; i < taps; i = i + 1u) {
        let c = i32(floor(start + (f32(i) + 0.5) * step));
        best = max(best, mix(value_at(c, i32(b0)), value_at(c, i32(b0) + 1), fb));
    }
    return best;
}

// A live view's overlay covers a stretch of its columns (the window the model heard); outside
// it there is nothing to tint.
fn overlay_at(column: i32, bin: i32) -> f32 {
    let k = column - params.overlay_first;
    if k < 0 || k >= i32(params.overlay_columns) {
        return 0.0;
    }
    let b = u32(clamp(bin, 0, i32(params.bins) - 1));
    return overlay[u32(k) * params.bins + b];
}

// Bilinear, as the values are when zoomed in; zoomed out the nearest column stands for its
// pixel (the overlay was uploaded at the views' own time resolution, so this loses little).
fn sample_overlay(column: f32, bin: f32) -> f32 {
    let b0 = floor(bin - 0.5);
    let fb = bin - 0.5 - b0;
    let c0 = floor(column - 0.5);
    let fc = column - 0.5 - c0;
    let lo = mix(overlay_at(i32(c0), i32(b0)), overlay_at(i32(c0), i32(b0) + 1), fb);
    let hi = mix(overlay_at(i32(c0) + 1, i32(b0)), overlay_at(i32(c0) + 1, i32(b0) + 1), fb);
    return mix(lo, hi, fc);
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let frame = mix(params.frame_lo, params.frame_hi, in.uv.x) - params.ring_start;
    let column = frame / params.frame_step + 0.5;
    let columns_per_pixel = abs(dpdx(column));
    let bin = mix(params.bin_lo, params.bin_hi, 1.0 - in.uv.y) + 0.5;
    let frames = f32(params.columns) * params.frame_step;
    if frame < -0.5 || frame > frames - 0.5 || bin < 0.0 || bin > f32(params.bins) {
        return select(vec4<f32>(0.0), backing(params.srgb_target), params.opaque == 1u);
    }
    let v = sample_value(column, bin, columns_per_pixel);
    let t = clamp((v - params.db_lo) / (params.db_hi - params.db_lo), 0.0, 1.0);
    // Centre of the texel for t, so the first and last entries are reached exactly.
    let u = (t * 255.0 + 0.5) / 256.0;
    var rgb = textureSampleLevel(colormap, colormap_sampler, vec2<f32>(u, params.colormap_row), 0.0).rgb;
    if params.overlay_opacity > 0.0 {
        let s = clamp(sample_overlay(column, bin), -1.0, 1.0);
        // The spectrogram fades to grey so the tint reads: evidence for the class in green,
        // against it in blue, the stronger the more opaque.
        let grey = vec3<f32>(dot(rgb, vec3<f32>(0.299, 0.587, 0.114)));
        rgb = mix(rgb, grey, params.overlay_opacity);
        let tint = select(vec3<f32>(0.25, 0.5, 1.0), vec3<f32>(0.25, 1.0, 0.35), s >= 0.0);
        rgb = mix(rgb, tint, params.overlay_opacity * abs(s));
    }
    if params.srgb_target == 1u {
        rgb = srgb_to_linear(rgb);
    }
    return vec4<f32>(rgb, 1.0);
}
