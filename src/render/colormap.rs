//! Colormaps as data: a few sRGB stops each, expanded to a 256-entry table on the GPU.
//!
//! Stops are the nine-step samplings of matplotlib's perceptual maps (viridis, magma, inferno)
//! and ColorBrewer's RdBu for differences; linear interpolation between nine stops stays within
//! a couple of 8-bit steps of the full tables.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Colormap {
    Magma,
    Viridis,
    Inferno,
    Gray,
    /// Diverging blue-white-red, for signed differences (Δ views).
    RedBlue,
}

impl Colormap {
    pub const ALL: [Colormap; 5] =
        [Colormap::Magma, Colormap::Viridis, Colormap::Inferno, Colormap::Gray, Colormap::RedBlue];
    /// Entries per table in the GPU atlas.
    pub const TABLE_LEN: usize = 256;

    pub fn name(self) -> &'static str {
        match self {
            Colormap::Magma => "magma",
            Colormap::Viridis => "viridis",
            Colormap::Inferno => "inferno",
            Colormap::Gray => "gray",
            Colormap::RedBlue => "red-blue (diverging)",
        }
    }

    /// Row of this map in the atlas built by [`atlas_rgba`].
    pub fn index(self) -> u32 {
        Self::ALL.iter().position(|&c| c == self).expect("every map is in ALL") as u32
    }

    fn stops(self) -> &'static [u32] {
        match self {
            Colormap::Magma => {
                &[0x000004, 0x1d1147, 0x51127c, 0x822681, 0xb63679, 0xe65164, 0xfb8861, 0xfec287, 0xfcfdbf]
            }
            Colormap::Viridis => {
                &[0x440154, 0x472c7a, 0x3b518b, 0x2c718e, 0x21908d, 0x27ad81, 0x5cc863, 0xaadc32, 0xfde725]
            }
            Colormap::Inferno => {
                &[0x000004, 0x1f0c48, 0x550f6d, 0x88226a, 0xba3655, 0xe35933, 0xf98c0a, 0xf9c932, 0xfcffa4]
            }
            Colormap::Gray => &[0x000000, 0xffffff],
            Colormap::RedBlue => {
                &[0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7, 0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b]
            }
        }
    }

    /// sRGB colour at `t` in [0, 1] (clamped).
    pub fn sample(self, t: f32) -> [u8; 3] {
        let stops = self.stops();
        let x = t.clamp(0.0, 1.0) * (stops.len() - 1) as f32;
        let i = (x.floor() as usize).min(stops.len() - 2);
        let f = x - i as f32;
        let channel = |c: u32, shift: u32| ((c >> shift) & 0xff) as f32;
        let mix = |shift| {
            let (a, b) = (channel(stops[i], shift), channel(stops[i + 1], shift));
            (a + (b - a) * f).round() as u8
        };
        [mix(16), mix(8), mix(0)]
    }
}

/// All maps as an RGBA8 image `TABLE_LEN` wide and one row per map, in [`Colormap::ALL`] order.
pub fn atlas_rgba() -> Vec<u8> {
    let mut out = Vec::with_capacity(Colormap::ALL.len() * Colormap::TABLE_LEN * 4);
    for map in Colormap::ALL {
        for i in 0..Colormap::TABLE_LEN {
            let [r, g, b] = map.sample(i as f32 / (Colormap::TABLE_LEN - 1) as f32);
            out.extend_from_slice(&[r, g, b, 255]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_midpoints() {
        assert_eq!(Colormap::Magma.sample(0.0), [0, 0, 4]);
        assert_eq!(Colormap::Magma.sample(1.0), [0xfc, 0xfd, 0xbf]);
        assert_eq!(Colormap::RedBlue.sample(0.5), [0xf7, 0xf7, 0xf7]);
        assert_eq!(Colormap::Gray.sample(0.5), [128, 128, 128]);
        assert_eq!(atlas_rgba().len(), 5 * 256 * 4);
        // Perceptual maps brighten monotonically: luma never falls along the table.
        for map in [Colormap::Magma, Colormap::Viridis, Colormap::Inferno] {
            let luma = |c: [u8; 3]| 0.2126 * c[0] as f32 + 0.7152 * c[1] as f32 + 0.0722 * c[2] as f32;
            let mut last = -1.0;
            for i in 0..=100 {
                let l = luma(map.sample(i as f32 / 100.0));
                assert!(l >= last - 0.5, "{map:?} darkens at {i}");
                last = l;
            }
        }
    }
}
