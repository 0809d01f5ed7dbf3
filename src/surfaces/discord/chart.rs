//! The bitrate chart attached to the status embed: a small PNG drawn in-process (no external
//! service, no font): bitrate (green) and RTT (orange, own scale), the low (red) and recover
//! (amber) thresholds as dashed lines, scene switches as blue marks. The embed's text carries
//! the numbers and the scale.

/// One point in time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub at_ms: u64,
    pub bitrate_kbps: Option<u32>,
    pub rtt_ms: Option<u32>,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The right edge of the chart.
    pub now_ms: u64,
    pub window_ms: u64,
    pub points: Vec<Point>,
    pub low_kbps: Option<u32>,
    pub recover_kbps: Option<u32>,
    /// When scenes were switched.
    pub switches_ms: Vec<u64>,
}

pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 200;

type Rgb = [u8; 3];
const BACKGROUND: Rgb = [0x2b, 0x2d, 0x31];
const GRID: Rgb = [0x40, 0x43, 0x49];
const BITRATE: Rgb = [0x57, 0xf2, 0x87];
const RTT: Rgb = [0xf0, 0x8c, 0x2e];
const LOW: Rgb = [0xed, 0x42, 0x45];
const RECOVER: Rgb = [0xfe, 0xe7, 0x5c];
const SWITCH: Rgb = [0x58, 0x65, 0xf2];

struct Canvas {
    pixels: Vec<u8>,
}

impl Canvas {
    fn new() -> Canvas {
        let mut pixels = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
        for _ in 0..WIDTH * HEIGHT {
            pixels.extend_from_slice(&BACKGROUND);
        }
        Canvas { pixels }
    }

    fn set(&mut self, x: i64, y: i64, color: Rgb) {
        if x < 0 || y < 0 || x >= i64::from(WIDTH) || y >= i64::from(HEIGHT) {
            return;
        }
        let i = ((y as u32 * WIDTH + x as u32) * 3) as usize;
        self.pixels[i..i + 3].copy_from_slice(&color);
    }

    fn hline(&mut self, y: i64, color: Rgb, dash: Option<i64>) {
        for x in 0..i64::from(WIDTH) {
            if dash.is_none_or(|d| (x / d) % 2 == 0) {
                self.set(x, y, color);
            }
        }
    }

    fn vline(&mut self, x: i64, color: Rgb) {
        for y in 0..i64::from(HEIGHT) {
            if (y / 3) % 2 == 0 {
                self.set(x, y, color);
            }
        }
    }

    /// A 2-pixel line (Bresenham).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), color: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.set(x, y, color);
            self.set(x, y + 1, color);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }
}

/// The bitrate scale's top: the highest of the samples and thresholds, rounded up to 1000 kbps
/// (at least 1000).
pub fn bitrate_scale(chart: &Chart) -> u64 {
    let top = chart
        .points
        .iter()
        .filter_map(|p| p.bitrate_kbps)
        .chain(chart.low_kbps)
        .chain(chart.recover_kbps)
        .max()
        .unwrap_or(0);
    (u64::from(top) / 1000 + 1) * 1000
}

/// The RTT scale's top, rounded up to 100 ms (at least 100).
pub fn rtt_scale(chart: &Chart) -> u64 {
    let top = chart
        .points
        .iter()
        .filter_map(|p| p.rtt_ms)
        .max()
        .unwrap_or(0);
    (u64::from(top) / 100 + 1) * 100
}

/// Draw the chart as PNG bytes.
pub fn render_png(chart: &Chart) -> Vec<u8> {
    let mut canvas = Canvas::new();
    let height = i64::from(HEIGHT) - 1;
    let width = i64::from(WIDTH) - 1;
    for i in 1..4 {
        canvas.hline(height * i / 4, GRID, None);
    }
    let start = chart.now_ms.saturating_sub(chart.window_ms);
    let x_of = |at: u64| -> i64 {
        let offset = at.saturating_sub(start).min(chart.window_ms);
        (offset as i128 * i128::from(width) / i128::from(chart.window_ms.max(1))) as i64
    };
    let bitrate_top = bitrate_scale(chart) as i64;
    let rtt_top = rtt_scale(chart) as i64;
    let y_of = |value: u32, top: i64| height - i64::from(value) * height / top;
    if let Some(low) = chart.low_kbps {
        canvas.hline(y_of(low, bitrate_top), LOW, Some(6));
    }
    if let Some(recover) = chart.recover_kbps {
        canvas.hline(y_of(recover, bitrate_top), RECOVER, Some(6));
    }
    let visible: Vec<&Point> = chart.points.iter().filter(|p| p.at_ms >= start).collect();
    for (series, color, top) in [(0, RTT, rtt_top), (1, BITRATE, bitrate_top)] {
        let mut previous: Option<(i64, i64)> = None;
        for point in &visible {
            let value = if series == 0 {
                point.rtt_ms
            } else {
                point.bitrate_kbps
            };
            match value {
                Some(v) => {
                    let here = (x_of(point.at_ms), y_of(v, top));
                    canvas.line(previous.unwrap_or(here), here, color);
                    previous = Some(here);
                }
                // A gap (no publisher, stats unreachable) breaks the line.
                None => previous = None,
            }
        }
    }
    // Marks on top, so a switch at a drop stays visible.
    for at in &chart.switches_ms {
        if *at >= start {
            canvas.vline(x_of(*at), SWITCH);
        }
    }
    encode(&canvas.pixels)
}

fn encode(pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let written = encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(pixels));
    if let Err(error) = written {
        // Only possible with a wrong buffer size, which the canvas rules out.
        tracing::error!(%error, "encoding the chart failed");
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> Vec<u8> {
        let decoder = png::Decoder::new(png_bytes);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        buf
    }

    fn count(pixels: &[u8], color: Rgb) -> usize {
        pixels.chunks(3).filter(|p| *p == color).count()
    }

    #[test]
    fn draws_series_thresholds_and_switches() {
        let points = (0..1800)
            .map(|s| Point {
                at_ms: s * 1000,
                bitrate_kbps: (s % 600 > 30).then_some(if s < 900 { 6000 } else { 400 }),
                rtt_ms: Some(50 + (s % 100) as u32),
            })
            .collect();
        let chart = Chart {
            now_ms: 1_800_000,
            window_ms: 1_800_000,
            points,
            low_kbps: Some(800),
            recover_kbps: Some(1500),
            switches_ms: vec![900_000],
        };
        let pixels = decode(&render_png(&chart));
        assert!(
            count(&pixels, BITRATE) > WIDTH as usize,
            "bitrate line drawn"
        );
        assert!(count(&pixels, RTT) > 100, "rtt line drawn");
        assert!(count(&pixels, LOW) > 200, "low threshold drawn");
        assert!(count(&pixels, RECOVER) > 200, "recover threshold drawn");
        assert!(count(&pixels, SWITCH) > 50, "switch marked");
        assert_eq!(bitrate_scale(&chart), 7000);
    }

    #[test]
    fn empty_and_odd_input_still_draws() {
        let chart = Chart {
            now_ms: 5,
            window_ms: 0,
            points: vec![Point {
                at_ms: 10,
                bitrate_kbps: Some(u32::MAX),
                rtt_ms: Some(u32::MAX),
            }],
            low_kbps: None,
            recover_kbps: None,
            switches_ms: vec![u64::MAX],
        };
        decode(&render_png(&chart));
    }
}
