//! Status images as pure functions of what they say: README badges (SVG, or PNG drawn with
//! plotters) in shields' `flat`, `plastic` and `flat-square` styles, and the colours and
//! PNG encoding 0.8.9's `/png` images (`status_png.rs`) and the plots share. Colours are 0.8.9's (DESIGN §2, the SPA's `lib/results.ts`).
//! The handlers in `badges.rs` cache what is drawn here.

use plotters::prelude::*;

use super::font::{self, Align, FontError, Label};
use super::markup::{escape, shorten};
use crate::engine::views::badge::BadgeState;
use crate::model::Results;

/// Drawing or encoding an image failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The font.
    #[error(transparent)]
    Font(#[from] FontError),
    /// plotters.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The PNG encoder.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
}

impl<E: std::error::Error + Send + Sync> From<plotters::drawing::DrawingAreaErrorKind<E>> for RenderError {
    fn from(e: plotters::drawing::DrawingAreaErrorKind<E>) -> Self {
        RenderError::Draw(e.to_string())
    }
}

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    pub(super) fn plotters(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// The colours of a state: 0.8.9's `default.css` classes, which the SPA uses too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colours {
    /// Behind the text.
    pub background: Rgb,
    /// The text.
    pub text: Rgb,
    /// The frame of a `/png` image.
    pub border: Rgb,
}

/// The colours of `state`.
pub fn colours(state: BadgeState) -> Colours {
    let (background, text, border) = match state {
        BadgeState::Done(Results::Success) => (Rgb(0x88, 0xdd, 0x44), Rgb(0, 0, 0), Rgb(0x4f, 0x85, 0x30)),
        BadgeState::Done(Results::Warnings) => (Rgb(0xff, 0xaa, 0x33), Rgb(0xff, 0xff, 0xff), Rgb(0xc2, 0x9d, 0x46)),
        BadgeState::Done(Results::Failure) => (Rgb(0xee, 0x88, 0x88), Rgb(0, 0, 0), Rgb(0xa7, 0x72, 0x72)),
        BadgeState::Done(Results::Skipped) => (Rgb(0xaa, 0xdd, 0xee), Rgb(0, 0, 0), Rgb(0xaa, 0xdd, 0xee)),
        BadgeState::Done(Results::Exception | Results::Retry) => {
            (Rgb(0xcc, 0x66, 0xcc), Rgb(0xff, 0xff, 0xff), Rgb(0xac, 0xa0, 0xb3))
        }
        BadgeState::Done(Results::Cancelled) => (Rgb(0xee, 0xcc, 0xcc), Rgb(0, 0, 0), Rgb(0xa7, 0x72, 0x72)),
        BadgeState::Running => (Rgb(0xff, 0xdd, 0x33), Rgb(0, 0, 0), Rgb(0xc5, 0xc5, 0x6d)),
        BadgeState::Unknown => (Rgb(0xee, 0xee, 0xee), Rgb(0, 0, 0), Rgb(0xaa, 0xaa, 0xaa)),
    };
    Colours { background, text, border }
}

/// The grey of a badge's label side, with white text (shields' default).
const LABEL_BACKGROUND: Rgb = Rgb(0x55, 0x55, 0x55);
const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);
/// A badge's text size (CSS pixels) and the padding on each side of a text.
const BADGE_EM: f64 = 11.0;
const BADGE_PAD: f64 = 5.0;
/// Labels longer than this are cut.
pub const MAX_LABEL: usize = 64;

/// A badge style, as shields names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    /// Rounded, with a faint gradient (the default).
    Flat,
    /// Rounded, glossy, 18 pixels high.
    Plastic,
    /// Square, no gradient.
    FlatSquare,
}

impl Style {
    /// `style=`; anything else is `flat`.
    pub fn parse(value: Option<&str>) -> Style {
        match value {
            Some("plastic") => Style::Plastic,
            Some("flat-square") => Style::FlatSquare,
            _ => Style::Flat,
        }
    }

    fn height(self) -> u32 {
        if self == Style::Plastic { 18 } else { 20 }
    }

    fn radius(self) -> f64 {
        match self {
            Style::Flat => 3.0,
            Style::Plastic => 4.0,
            Style::FlatSquare => 0.0,
        }
    }

    /// Where the text's baseline lies.
    fn baseline(self) -> f64 {
        if self == Style::Plastic { 13.0 } else { 14.0 }
    }

    /// The gradient laid over the badge, top to bottom: (offset, colour, opacity).
    fn gradient(self) -> &'static [(f64, Rgb, f64)] {
        match self {
            Style::Flat => &[(0.0, Rgb(0xbb, 0xbb, 0xbb), 0.1), (1.0, Rgb(0, 0, 0), 0.1)],
            Style::Plastic => &[
                (0.0, WHITE, 0.7),
                (0.1, Rgb(0xaa, 0xaa, 0xaa), 0.1),
                (0.9, Rgb(0, 0, 0), 0.3),
                (1.0, Rgb(0, 0, 0), 0.5),
            ],
            Style::FlatSquare => &[],
        }
    }
}

/// What a badge says and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Badge {
    /// The left side (the builder's name unless `label=` says).
    pub label: String,
    /// The right side: the state, or "not found".
    pub message: String,
    /// The right side's colours.
    pub colours: Colours,
    /// The style.
    pub style: Style,
}

/// A badge's geometry: whole pixels, as shields rounds them.
struct Layout {
    label: String,
    label_text: f64,
    label_width: u32,
    message_text: f64,
    message_width: u32,
}

impl Layout {
    fn of(badge: &Badge) -> Result<Layout, FontError> {
        let label = shorten(&badge.label, MAX_LABEL).into_owned();
        let label_text = font::text_width(&label, BADGE_EM)?.round();
        let message_text = font::text_width(&badge.message, BADGE_EM)?.round();
        Ok(Layout {
            label,
            label_text,
            label_width: (label_text + 2.0 * BADGE_PAD) as u32,
            message_text,
            message_width: (message_text + 2.0 * BADGE_PAD) as u32,
        })
    }

    fn width(&self) -> u32 {
        self.label_width + self.message_width
    }
}

/// The text colour of a shadow under text of colour `text`: dark under light text, light
/// under dark text, as shields does.
fn shadow(text: Rgb) -> Rgb {
    if text == WHITE { Rgb(0x01, 0x01, 0x01) } else { Rgb(0xcc, 0xcc, 0xcc) }
}

/// The badge as SVG; every text in it is escaped.
pub fn badge_svg(badge: &Badge) -> Result<String, FontError> {
    let l = Layout::of(badge)?;
    let (w, h, lw, mw) = (l.width(), badge.style.height(), l.label_width, l.message_width);
    let label = escape(&l.label);
    let message = escape(&badge.message);
    let bg = badge.colours.background.hex();
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="{label}: {message}"><title>{label}: {message}</title>"#
    );
    let stops = badge.style.gradient();
    if !stops.is_empty() {
        svg.push_str(r#"<linearGradient id="s" x2="0" y2="100%">"#);
        for (offset, colour, opacity) in stops {
            svg.push_str(&format!(
                r#"<stop offset="{offset}" stop-color="{}" stop-opacity="{opacity}"/>"#,
                colour.hex()
            ));
        }
        svg.push_str("</linearGradient>");
    }
    let r = badge.style.radius();
    svg.push_str(&format!(
        r##"<clipPath id="r"><rect width="{w}" height="{h}" rx="{r}" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{lw}" height="{h}" fill="{}"/><rect x="{lw}" width="{mw}" height="{h}" fill="{bg}"/>"##,
        LABEL_BACKGROUND.hex()
    ));
    if !stops.is_empty() {
        svg.push_str(&format!(r#"<rect width="{w}" height="{h}" fill="url(#s)"/>"#));
    }
    svg.push_str(r#"</g><g text-anchor="middle" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11">"#);
    let y = badge.style.baseline();
    let texts = [
        (f64::from(lw) / 2.0, l.label_text, &label, WHITE),
        (f64::from(lw) + f64::from(mw) / 2.0, l.message_text, &message, badge.colours.text),
    ];
    for (x, length, text, colour) in texts {
        if badge.style != Style::FlatSquare {
            svg.push_str(&format!(
                r#"<text x="{x}" y="{}" fill="{}" fill-opacity=".3" textLength="{length}">{text}</text>"#,
                y + 1.0,
                shadow(colour).hex()
            ));
        }
        svg.push_str(&format!(r#"<text x="{x}" y="{y}" fill="{}" textLength="{length}">{text}</text>"#, colour.hex()));
    }
    svg.push_str("</g></svg>");
    Ok(svg)
}

/// Draws `text` centred on `centre_x` with its baseline at `baseline`, `em` pixels high.
pub(super) fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    em: f64,
    centre_x: f64,
    baseline: f64,
    colour: RGBAColor,
) -> Result<(), RenderError>
where
    DB::ErrorType: 'static,
{
    let at = (centre_x.round() as i32, baseline.round() as i32);
    area.draw(&Label { text: text.to_owned(), em, at, align: Align::Centre, offset: (0, 0), colour })?;
    Ok(())
}

/// The badge as PNG, with transparent rounded corners.
pub fn badge_png(badge: &Badge) -> Result<Vec<u8>, RenderError> {
    font::register()?;
    let l = Layout::of(badge)?;
    let (w, h) = (l.width(), badge.style.height());
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        area.fill(&LABEL_BACKGROUND.plotters())?;
        area.draw(&Rectangle::new(
            [(l.label_width as i32, 0), (w as i32, h as i32)],
            badge.colours.background.plotters().filled(),
        ))?;
        area.present()?;
    }
    overlay_gradient(&mut rgb, w, h, badge.style.gradient());
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let y = badge.style.baseline();
        let texts = [
            (f64::from(l.label_width) / 2.0, l.label.as_str(), WHITE),
            (f64::from(l.label_width) + f64::from(l.message_width) / 2.0, badge.message.as_str(), badge.colours.text),
        ];
        for (x, text, colour) in texts {
            if badge.style != Style::FlatSquare {
                draw_text(&area, text, BADGE_EM, x, y + 1.0, shadow(colour).plotters().mix(0.3))?;
            }
            draw_text(&area, text, BADGE_EM, x, y, colour.plotters().mix(1.0))?;
        }
        area.present()?;
    }
    let rgba = round_corners(&rgb, w, h, badge.style.radius());
    encode(w, h, png::ColorType::Rgba, &rgba)
}

/// Blends a vertical gradient of (offset, colour, opacity) stops into an RGB buffer.
fn overlay_gradient(rgb: &mut [u8], w: u32, h: u32, stops: &[(f64, Rgb, f64)]) {
    if stops.is_empty() {
        return;
    }
    for y in 0..h {
        let t = if h > 1 { f64::from(y) / f64::from(h - 1) } else { 0.0 };
        let next = stops.iter().position(|s| s.0 >= t).unwrap_or(stops.len() - 1);
        let (a, b) = (stops[next.saturating_sub(1)], stops[next]);
        let f = if b.0 > a.0 { (t - a.0) / (b.0 - a.0) } else { 1.0 };
        let mix = |x: u8, y: u8| f64::from(x) + (f64::from(y) - f64::from(x)) * f;
        let colour = [mix(a.1.0, b.1.0), mix(a.1.1, b.1.1), mix(a.1.2, b.1.2)];
        let opacity = a.2 + (b.2 - a.2) * f;
        for x in 0..w {
            let i = ((y * w + x) * 3) as usize;
            for (c, over) in rgb[i..i + 3].iter_mut().zip(colour) {
                *c = (f64::from(*c) * (1.0 - opacity) + over * opacity).round() as u8;
            }
        }
    }
}

/// An RGBA copy of an RGB buffer whose corners outside a radius `r` are transparent (and
/// partly so along the arc).
fn round_corners(rgb: &[u8], w: u32, h: u32, r: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 3) as usize;
            out.extend_from_slice(&rgb[i..i + 3]);
            let (px, py) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
            let cx = px.clamp(r, f64::from(w) - r);
            let cy = py.clamp(r, f64::from(h) - r);
            let outside = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt() - r;
            let coverage = if r > 0.0 { (0.5 - outside).clamp(0.0, 1.0) } else { 1.0 };
            out.push((coverage * 255.0).round() as u8);
        }
    }
    out
}

/// Encodes 8-bit pixels as a PNG.
pub fn encode(w: u32, h: u32, colour: png::ColorType, pixels: &[u8]) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(colour);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Width, height, bytes per pixel and pixels of a PNG.
    fn decode(bytes: &[u8]) -> (u32, u32, usize, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        (info.width, info.height, info.color_type.samples(), pixels)
    }

    fn pixel(image: &(u32, u32, usize, Vec<u8>), x: u32, y: u32) -> Vec<u8> {
        let i = ((y * image.0 + x) as usize) * image.2;
        image.3[i..i + image.2].to_vec()
    }

    fn badge(label: &str, state: BadgeState, style: Style) -> Badge {
        Badge { label: label.into(), message: state.name().into(), colours: colours(state), style }
    }

    #[test]
    fn svg_badges_escape_every_text_and_stay_valid_xml() {
        let hostile = r#"<x&"y'>"#;
        for style in [Style::Flat, Style::Plastic, Style::FlatSquare] {
            let svg =
                badge_svg(&Badge { message: "a]]>b".into(), ..badge(hostile, BadgeState::Running, style) }).unwrap();
            let doc = roxmltree::Document::parse(&svg).unwrap();
            let root = doc.root_element();
            assert_eq!(root.attribute("aria-label"), Some(r#"<x&"y'>: a]]>b"#));
            let texts: Vec<_> =
                root.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
            assert!(texts.contains(&hostile), "{texts:?}");
            assert_eq!(root.attribute("height"), Some(if style == Style::Plastic { "18" } else { "20" }));
            let fills: Vec<_> = root.descendants().filter_map(|n| n.attribute("fill")).collect();
            assert!(fills.contains(&"#ffdd33"), "running is yellow: {fills:?}");
        }
    }

    #[test]
    fn long_labels_are_cut() {
        let svg = badge_svg(&badge(&"x".repeat(500), BadgeState::Unknown, Style::Flat)).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let width: f64 = doc.root_element().attribute("width").unwrap().parse().unwrap();
        assert!(width < 600.0, "{width}");
    }

    #[test]
    fn png_badges_match_their_svg_and_round_their_corners() {
        for (style, corner) in [(Style::Flat, 0), (Style::Plastic, 0), (Style::FlatSquare, 255)] {
            let b = badge("app", BadgeState::Done(Results::Failure), style);
            let svg = badge_svg(&b).unwrap();
            let doc = roxmltree::Document::parse(&svg).unwrap();
            let image = decode(&badge_png(&b).unwrap());
            assert_eq!(image.2, 4, "RGBA");
            assert_eq!(image.0.to_string(), doc.root_element().attribute("width").unwrap());
            assert_eq!(image.1, style.height());
            assert_eq!(pixel(&image, 0, 0)[3], corner, "{style:?}");
            assert_eq!(pixel(&image, image.0 / 2, image.1 / 2)[3], 255);
        }
        let square = decode(&badge_png(&badge("app", BadgeState::Done(Results::Success), Style::FlatSquare)).unwrap());
        assert_eq!(pixel(&square, square.0 - 2, 2), [0x88, 0xdd, 0x44, 255], "success is 0.8.9's green");
        assert_eq!(pixel(&square, 1, 2), [0x55, 0x55, 0x55, 255], "the label side is grey");
    }
}
