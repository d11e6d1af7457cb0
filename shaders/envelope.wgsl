// Live waveform, opaque (it draws its own backing): the min and max of each block of samples in a ring of `capacity` blocks, so the
// view scrolls as blocks are written, never re-uploaded. Positions are global block indices;
// the held blocks start at `ring_start`, in slot `ring_offset`.

struct Params {
    block_lo: f32,      // fractional global block at the left edge
    block_hi: f32,      // ... at the right edge
    amplitude: f32,     // value at the top edge (bottom is -amplitude)
    ring_start: f32,    // global index of the first held block
    held: u32,          // blocks held
    ring_offset: u32,   // the first held block's slot
    capacity: u32,
    srgb_target: u32,
    color: vec4<f32>,   // trace colour, sRGB
    axis_color: vec4<f32>,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> blocks: array<vec2<f32>>;

fn block_at(i: u32) -> vec2<f32> {
    let held = i + params.ring_offset;
    return blocks[select(held, held - params.capacity, held >= params.capacity)];
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let x = mix(params.block_lo, params.block_hi, in.uv.x) - params.ring_start;
    let per_pixel = abs(dpdx(x));
    let value = (1.0 - 2.0 * in.uv.y) * params.amplitude;
    let value_per_pixel = abs(dpdy(value));
    let held = f32(params.held);
    if x < 0.0 || x >= held {
        return backing(params.srgb_target);
    }
    // The blocks under this pixel, at most 32 of them sampled evenly when zoomed far out.
    let a = max(x - 0.5 * per_pixel, 0.0);
    let b = min(x + 0.5 * per_pixel, held - 1.0);
    let first = u32(floor(a));
    let last = max(u32(floor(b)), first);
    let taps = min(last - first + 1u, 32u);
    let step = f32(last - first + 1u) / f32(taps);
    var lo = 1e30;
    var hi = -1e30;
    for (var i = 0u; i < taps; i = i + 1u) {
        let mm = block_at(first + u32(f32(i) * step));
        lo = min(lo, mm.x);
        hi = max(hi, mm.y);
    }
    let slack = 0.5 * value_per_pixel;
    if value >= lo - slack && value <= hi + slack {
        return for_target(params.color, params.srgb_target);
    }
    if abs(value) <= 0.5 * value_per_pixel {
        return for_target(params.axis_color, params.srgb_target);
    }
    return backing(params.srgb_target);
}
