//! The overlay's alert sounds (`overlay/sounds/<kind>.wav`) are small generated tones: this
//! file is their generator and checks that the shipped files are what it makes. To regenerate
//! after changing a tune: `STREAM_CONTROL_WRITE_SOUNDS=1 cargo test --test it sounds::`.

use std::path::PathBuf;

const RATE: u32 = 16_000;

/// Notes (Hz, seconds; 0 Hz is a rest) of each alert kind.
const TUNES: &[(&str, &[(f64, f64)])] = &[
    ("low", &[(660.0, 0.14), (440.0, 0.14), (330.0, 0.32)]),
    ("restored", &[(440.0, 0.12), (554.4, 0.12), (659.3, 0.30)]),
    (
        "offline",
        &[
            (220.0, 0.16),
            (0.0, 0.06),
            (220.0, 0.16),
            (0.0, 0.06),
            (196.0, 0.34),
        ],
    ),
    (
        "raid",
        &[(523.3, 0.10), (659.3, 0.10), (784.0, 0.10), (1046.5, 0.34)],
    ),
    ("custom", &[(880.0, 0.12), (1174.7, 0.28)]),
];

/// 16-bit samples: each note a sine with a little second harmonic, soft attack and release.
fn synthesize(notes: &[(f64, f64)]) -> Vec<i16> {
    let mut out = Vec::new();
    for &(freq, seconds) in notes {
        let n = (seconds * f64::from(RATE)) as usize;
        for i in 0..n {
            let t = i as f64 / f64::from(RATE);
            let attack = (t / 0.01).min(1.0);
            let release = ((seconds - t) / 0.05).clamp(0.0, 1.0);
            let phase = 2.0 * std::f64::consts::PI * freq * t;
            let wave = if freq == 0.0 {
                0.0
            } else {
                0.8 * phase.sin() + 0.2 * (2.0 * phase).sin()
            };
            out.push((wave * attack * release * 0.6 * f64::from(i16::MAX)).round() as i16);
        }
    }
    out
}

/// A PCM WAV file: mono, 16-bit, [`RATE`] Hz.
fn wav(samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for sample in samples {
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

fn path(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("overlay/sounds/{kind}.wav"))
}

#[test]
fn every_alert_kind_has_its_generated_sound() {
    let write = std::env::var_os("STREAM_CONTROL_WRITE_SOUNDS").is_some();
    let kinds: Vec<&str> = commands::AlertKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        TUNES.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        kinds,
        "a tune per alert kind"
    );
    for (kind, notes) in TUNES {
        let expected = synthesize(notes);
        if write {
            std::fs::write(path(kind), wav(&expected)).unwrap();
        }
        let shipped =
            std::fs::read(path(kind)).unwrap_or_else(|e| panic!("{}: {e}", path(kind).display()));
        assert!(
            shipped.len() < 32 * 1024,
            "{kind}: small ({} bytes)",
            shipped.len()
        );
        assert_eq!(&shipped[..44], &wav(&expected)[..44], "{kind}: header");
        let samples: Vec<i16> = shipped[44..]
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(samples.len(), expected.len(), "{kind}");
        // Floating point may round differently elsewhere; the tune may not.
        for (i, (a, b)) in samples.iter().zip(&expected).enumerate() {
            assert!(
                (i32::from(*a) - i32::from(*b)).abs() <= 2,
                "{kind}: sample {i}"
            );
        }
    }
}
