// Shared by every view shader (prepended to each when its pipeline is built): one triangle over
// the viewport, and the sRGB decoding for targets that encode themselves.

struct VsOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>, // (0, 0) top left, (1, 1) bottom right of the viewport
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VsOut {
    let x = f32((index << 1u) & 2u);
    let y = f32(index & 2u);
    var out: VsOut;
    out.position = vec4<f32>(x * 2.0 - 1.0, 1.0 - y * 2.0, 0.0, 1.0);
    out.uv = vec2<f32>(x, y);
    return out;
}

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let low = c / 12.92;
    let high = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(high, low, c <= vec3<f32>(0.04045));
}

// An sRGB colour as the target wants it: decoded when the target encodes on write.
fn for_target(c: vec4<f32>, srgb_target: u32) -> vec4<f32> {
    if srgb_target == 1u {
        return vec4<f32>(srgb_to_linear(c.rgb), c.a);
    }
    return c;
}

// The views' backing, where a live view has nothing to show (drawn by the shader itself, so the
// window does not fill those pixels twice: on a CPU rasteriser every fill counts).
fn backing(srgb_target: u32) -> vec4<f32> {
    return for_target(vec4<f32>(0.0784, 0.0784, 0.0784, 1.0), srgb_target);
}
