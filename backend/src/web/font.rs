//! The one font of the status images and plots, DejaVu Sans, embedded in the binary so that
//! a master draws the same pixels on any machine, with or without system fonts (its licence
//! is beside it in `backend/assets/fonts/`). PNGs draw with it through plotters; SVG badges
//! are laid out with its metrics, as browsers draw them with the same face when they have it.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef};

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family plotters knows the font by: plotters' own default for labels and captions,
/// so charts use it without naming it.
pub const FAMILY: &str = "sans-serif";

/// The font could not be read (it is compiled in, so only a broken build gets here).
#[derive(Debug, thiserror::Error)]
#[error("the embedded font could not be read")]
pub struct FontError;

fn font() -> Result<&'static FontRef<'static>, FontError> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS).ok()).as_ref().ok_or(FontError)
}

/// Makes the font plotters' `sans-serif`; call before drawing text (once is enough, more
/// is harmless).
pub fn register() -> Result<(), FontError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if ok { Ok(()) } else { Err(FontError) }
}

/// The width in pixels of `text` set at `em` pixels (CSS's `font-size`), kerning included.
pub fn text_width(text: &str, em: f64) -> Result<f64, FontError> {
    let font = font()?;
    let units = f64::from(font.units_per_em().unwrap_or(2048.0));
    let mut width = 0.0f32;
    let mut previous = None;
    for c in text.chars() {
        let glyph = font.glyph_id(c);
        if let Some(p) = previous {
            width += font.kern_unscaled(p, glyph);
        }
        width += font.h_advance_unscaled(glyph);
        previous = Some(glyph);
    }
    Ok(f64::from(width) * em / units)
}

/// The size to give plotters for text `em` pixels high in CSS's sense: plotters scales a
/// font by its whole height (ascent to descent), CSS by its em.
pub fn plotters_size(em: f64) -> Result<f64, FontError> {
    let font = font()?;
    let units = f64::from(font.units_per_em().unwrap_or(2048.0));
    Ok(em * f64::from(font.height_unscaled()) / units)
}

/// Where a [`Label`]'s point lies on its text, left to right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// At the text's start.
    Left,
    /// In its middle.
    Centre,
    /// At its end.
    Right,
}

/// A line of text as a plotters element, set with the embedded font: its point is on the
/// baseline. plotters' own text rounds each glyph to whole pixels apart from its neighbours
/// (and drops the side bearings), which small badge text cannot afford; this places every
/// glyph from one pen position and lets the backend blend its coverage.
#[derive(Clone, Debug)]
pub struct Label<C> {
    /// The text.
    pub text: String,
    /// Its size in CSS pixels.
    pub em: f64,
    /// The point, on the baseline.
    pub at: C,
    /// Which part of the text the point is.
    pub align: Align,
    /// Pixels from the point to where the text goes (right and down).
    pub offset: (i32, i32),
    /// The colour, with the text's opacity.
    pub colour: plotters::style::RGBAColor,
}

impl<'a, C: 'a> plotters::element::PointCollection<'a, C> for &'a Label<C> {
    type Point = &'a C;
    type IntoIter = std::iter::Once<&'a C>;

    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<C, DB: plotters_backend::DrawingBackend> plotters::element::Drawable<DB> for Label<C> {
    fn draw<I: Iterator<Item = plotters_backend::BackendCoord>>(
        &self,
        mut points: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), plotters_backend::DrawingErrorKind<DB::ErrorType>> {
        use ab_glyph::ScaleFont;
        use plotters_backend::{BackendColor, DrawingErrorKind};
        let Some((x, baseline)) = points.next().map(|(x, y)| (x + self.offset.0, y + self.offset.1)) else {
            return Ok(());
        };
        let (Ok(font), Ok(width), Ok(size)) = (font(), text_width(&self.text, self.em), plotters_size(self.em)) else {
            return Err(DrawingErrorKind::FontError(Box::new(FontError)));
        };
        let start = match self.align {
            Align::Left => f64::from(x),
            Align::Centre => f64::from(x) - width / 2.0,
            Align::Right => f64::from(x) - width,
        };
        let scaled = font.as_scaled(size as f32);
        let mut caret = start as f32;
        let mut previous = None;
        for c in self.text.chars() {
            let mut glyph = scaled.scaled_glyph(c);
            if let Some(p) = previous {
                caret += scaled.kern(p, glyph.id);
            }
            previous = Some(glyph.id);
            glyph.position = ab_glyph::point(caret, baseline as f32);
            caret += scaled.h_advance(glyph.id);
            let Some(outline) = font.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            let mut pixels = Vec::new();
            outline.draw(|gx, gy, coverage| pixels.push((gx, gy, coverage)));
            for (gx, gy, coverage) in pixels {
                let colour = BackendColor {
                    alpha: self.colour.3 * f64::from(coverage.clamp(0.0, 1.0)),
                    rgb: (self.colour.0, self.colour.1, self.colour.2),
                };
                if colour.alpha > 0.0 {
                    let at = (bounds.min.x as i32 + gx as i32, bounds.min.y as i32 + gy as i32);
                    backend.draw_pixel(at, colour)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_grow_with_the_text_and_the_size() {
        let short = text_width("ok", 11.0).unwrap();
        let long = text_width("exception", 11.0).unwrap();
        assert!(short > 5.0 && long > 3.0 * short, "{short} {long}");
        assert!((text_width("exception", 22.0).unwrap() - 2.0 * long).abs() < 0.01);
        assert_eq!(text_width("", 11.0).unwrap(), 0.0);
        // DejaVu Sans at 11 px: "passing" is about 44 px wide, as browsers draw it.
        let passing = text_width("passing", 11.0).unwrap();
        assert!((40.0..48.0).contains(&passing), "{passing}");
    }

    #[test]
    fn the_font_registers_with_plotters() {
        register().unwrap();
        register().unwrap();
        assert!(plotters_size(11.0).unwrap() > 11.0);
    }
}
