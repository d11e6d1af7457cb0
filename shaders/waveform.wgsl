// Waveform view: samples in one texture, a min/max pyramid (blocks of 2, 4, 8, ... samples) in
// another, both in rows of ROW texels, so any zoom level costs a handful of reads per pixel.

struct Params {
    sample_lo: f32,     // fractional sample at the left edge
    sample_hi: f32,     // ... at the right edge
    amplitude: f32,     // value at the top edge (bottom is -amplitude)
    n_samples: u32,
    levels: u32,        // pyramid levels stored (level l holds blocks of 2^l samples)
    srgb_target: u32,
    _pad0: u32,
    _pad1: u32,
    color: vec4<f32>,   // trace colour, sRGB
    axis_color: vec4<f32>,
    // Start of level l (l >= 1) in the pyramid buffer, packed four to a vec4.
    level_offsets: array<vec4<u32>, 8>,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var samples: texture_2d<f32>;
@group(0) @binding(2) var pyramid: texture_2d<f32>;

const ROW: u32 = 4096u;

fn texel(i: u32) -> vec2<u32> {
    return vec2<u32>(i % ROW, i / ROW);
}

fn sample_at(i: i32) -> f32 {
    return textureLoad(samples, texel(u32(clamp(i, 0, i32(params.n_samples) - 1))), 0).x;
}

// The signal as straight lines between samples, evaluated at a fractional position.
fn interpolate(x: f32) -> f32 {
    let i = floor(x);
    return mix(sample_at(i32(i)), sample_at(i32(i) + 1), x - i);
}

fn level_offset(level: u32) -> u32 {
    let v = params.level_offsets[level / 4u];
    let k = level % 4u;
    return select(select(select(v.w, v.z, k == 2u), v.y, k == 1u), v.x, k == 0u);
}

// Range of the piecewise-linear signal over [a, b] (in samples).
fn range_over(a: f32, b: f32) -> vec2<f32> {
    let span = b - a;
    var lo = min(interpolate(a), interpolate(b));
    var hi = max(interpolate(a), interpolate(b));
    if span <= 8.0 {
        for (var i = i32(ceil(a)); f32(i) <= b; i = i + 1) {
            let s = sample_at(i);
            lo = min(lo, s);
            hi = max(hi, s);
        }
        return vec2<f32>(lo, hi);
    }
    // Coarsest level whose blocks still fit about four times into the span.
    let level = min(u32(floor(log2(span / 4.0))), params.levels);
    let block = f32(1u << level);
    let offset = level_offset(level);
    let count = u32(ceil(f32(params.n_samples) / block));
    let first = u32(max(floor(a / block), 0.0));
    let last = min(u32(max(floor(b / block), 0.0)), count - 1u);
    for (var i = first; i <= last; i = i + 1u) {
        let mm = textureLoad(pyramid, texel(offset + i), 0).xy;
        lo = min(lo, mm.x);
        hi = max(hi, mm.y);
    }
    return vec2<f32>(lo, hi);
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let x = mix(params.sample_lo, params.sample_hi, in.uv.x);
    let samples_per_pixel = abs(dpdx(x));
    let value = (1.0 - 2.0 * in.uv.y) * params.amplitude;
    let value_per_pixel = abs(dpdy(value));
    let last = f32(params.n_samples) - 1.0;
    if x < 0.0 || x > last {
        return vec4<f32>(0.0);
    }
    let a = clamp(x - 0.5 * samples_per_pixel, 0.0, last);
    let b = clamp(x + 0.5 * samples_per_pixel, 0.0, last);
    let r = range_over(a, b);
    // Half a pixel of slack each side keeps a flat or steep trace at least one pixel thick.
    let slack = 0.5 * value_per_pixel;
    if value >= r.x - slack && value <= r.y + slack {
        return for_target(params.color, params.srgb_target);
    }
    if abs(value) <= 0.5 * value_per_pixel {
        return for_target(params.axis_color, params.srgb_target);
    }
    return vec4<f32>(0.0);
}
