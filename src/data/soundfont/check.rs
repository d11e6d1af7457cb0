//! Checks on a SoundFont before rustysynth reads or plays it: rustysynth trusts the sizes and
//! sample offsets in the file, so a damaged bank could make it allocate gigabytes or read past
//! its sample data.

use std::fs::File;

use rustysynth::SoundFont;

/// Checks that every chunk of the RIFF file, and every chunk inside its lists, fits in the file.
/// rustysynth allocates what a chunk's size claims before reading it, so a damaged size of 4 GB
/// would otherwise be allocated in full. Leaves the file at its start.
pub(super) fn chunk_sizes(file: &mut File) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut header = [0u8; 12];
    let read_at = |file: &mut File, at: u64, buf: &mut [u8]| -> Result<(), String> {
        file.seek(SeekFrom::Start(at))
            .and_then(|_| file.read_exact(buf))
            .map_err(|_| "the file ends inside a chunk header".to_string())
    };
    read_at(file, 0, &mut header)?;
    if &header[0..4] != b"RIFF" || &header[8..12] != b"sfbk" {
        return Err("no RIFF sfbk header".into());
    }
    let riff_end = 8 + u64::from(u32::from_le_bytes(header[4..8].try_into().expect("4 bytes")));
    if riff_end > len {
        return Err(format!("the RIFF chunk claims {riff_end} bytes, the file has {len}"));
    }
    let mut at = 12;
    while at + 12 <= riff_end {
        read_at(file, at, &mut header)?;
        let list_end = at + 8 + u64::from(u32::from_le_bytes(header[4..8].try_into().expect("4 bytes")));
        let name = String::from_utf8_lossy(&header[0..4]).into_owned();
        if list_end > riff_end {
            return Err(format!("chunk {name:?} at byte {at} runs {} bytes past the end", list_end - riff_end));
        }
        if &header[0..4] == b"LIST" {
            let mut sub = at + 12;
            let mut sub_header = [0u8; 8];
            while sub + 8 <= list_end {
                read_at(file, sub, &mut sub_header)?;
                let sub_end = sub + 8 + u64::from(u32::from_le_bytes(sub_header[4..8].try_into().expect("4 bytes")));
                if sub_end > list_end {
                    let id = String::from_utf8_lossy(&sub_header[0..4]).into_owned();
                    return Err(format!("chunk {id:?} at byte {sub} runs {} bytes past its list", sub_end - list_end));
                }
                sub = sub_end;
            }
        }
        at = list_end;
    }
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    Ok(())
}

/// Every instrument zone's sample range, and its loop when it has one, lies within the sample
/// data, as rustysynth's oscillator reads them (offset generators included).
pub(super) fn sample_ranges(sound_font: &SoundFont) -> Result<(), String> {
    let len = sound_font.get_wave_data().len() as i64;
    for instrument in sound_font.get_instruments() {
        for region in instrument.get_regions() {
            let (start, end) = (i64::from(region.get_sample_start()), i64::from(region.get_sample_end()));
            let (loop_start, loop_end) =
                (i64::from(region.get_sample_start_loop()), i64::from(region.get_sample_end_loop()));
            // The oscillator reads one sample past its position, so the end must leave one.
            let fits = 0 <= start && start <= end && end < len;
            let loops = region.get_sample_modes() != rustysynth::LoopMode::NoLoop && loop_start < loop_end;
            let loop_fits = !loops || (0 <= loop_start && loop_end <= len);
            if !fits || !loop_fits {
                return Err(format!(
                    "instrument {:?} plays samples {start}..{end} (loop {loop_start}..{loop_end}) of {len}",
                    instrument.get_name()
                ));
            }
        }
    }
    Ok(())
}
