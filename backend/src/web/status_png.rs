//! 0.8.9's `/png` status images: a state's word on its colour, framed, at the three sizes
//! 0.8.9 shipped (small 32×14, normal 84×18, large 120×80), drawn with plotters.

use plotters::prelude::*;

use super::font;
use super::images::{RenderError, colours, draw_text, encode};
use crate::engine::views::badge::BadgeState;
use crate::model::Results;

/// 0.8.9's `/png` image sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// 32×14.
    Small,
    /// 84×18.
    Normal,
    /// 120×80.
    Large,
}

impl Size {
    /// `size=`; anything else is `normal`, as in 0.8.9.
    pub fn parse(value: Option<&str>) -> Size {
        match value {
            Some("small") => Size::Small,
            Some("large") => Size::Large,
            _ => Size::Normal,
        }
    }

    /// The name in 0.8.9's file names.
    pub fn name(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Normal => "normal",
            Size::Large => "large",
        }
    }

    /// Width and height in pixels.
    pub fn pixels(self) -> (u32, u32) {
        match self {
            Size::Small => (32, 14),
            Size::Normal => (84, 18),
            Size::Large => (120, 80),
        }
    }

    fn em(self) -> f64 {
        match self {
            Size::Small => 9.0,
            Size::Normal => 12.0,
            Size::Large => 20.0,
        }
    }
}

/// The word a `/png` image shows; the small size has room for a short one only.
fn status_word(state: BadgeState, size: Size) -> &'static str {
    let small = size == Size::Small;
    match state {
        BadgeState::Done(Results::Success) => "success",
        BadgeState::Done(Results::Warnings) => {
            if small {
                "warn"
            } else {
                "warnings"
            }
        }
        BadgeState::Done(Results::Failure) => "failed",
        BadgeState::Done(Results::Skipped) => {
            if small {
                "skip"
            } else {
                "skipped"
            }
        }
        BadgeState::Done(Results::Exception) => {
            if small {
                "exc"
            } else {
                "exception"
            }
        }
        BadgeState::Done(Results::Retry) => "retry",
        BadgeState::Done(Results::Cancelled) => {
            if small {
                "stop"
            } else {
                "cancelled"
            }
        }
        BadgeState::Running => {
            if small {
                "run"
            } else {
                "running"
            }
        }
        BadgeState::Unknown => {
            if small {
                "?"
            } else {
                "unknown"
            }
        }
    }
}

/// 0.8.9's `/png` image of a state: the state's word on its colour, framed.
pub fn status_png(state: BadgeState, size: Size) -> Result<Vec<u8>, RenderError> {
    font::register()?;
    let (w, h) = size.pixels();
    let c = colours(state);
    let word = status_word(state, size);
    // The size's own em, smaller when the word would not fit inside the frame.
    let em = size.em().min((f64::from(w) - 4.0) / font::text_width(word, 1.0)?.max(0.1));
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        area.fill(&c.background.plotters())?;
        area.draw(&Rectangle::new([(0, 0), (w as i32 - 1, h as i32 - 1)], c.border.plotters().stroke_width(1)))?;
        // Cap height is about 0.73 em in DejaVu Sans: centre the capitals.
        let baseline = f64::from(h) / 2.0 + 0.36 * em;
        draw_text(&area, word, em, f64::from(w) / 2.0, baseline, c.text.plotters().mix(1.0))?;
        area.present()?;
    }
    encode(w, h, png::ColorType::Rgb, &rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Width, height and RGB pixels of a PNG.
    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        (info.width, info.height, pixels)
    }

    fn pixel(image: &(u32, u32, Vec<u8>), x: u32, y: u32) -> Vec<u8> {
        let i = ((y * image.0 + x) as usize) * 3;
        image.2[i..i + 3].to_vec()
    }

    #[test]
    fn status_images_have_0_8_9_sizes_and_their_state_s_colours() {
        for (size, wh) in [(Size::Small, (32, 14)), (Size::Normal, (84, 18)), (Size::Large, (120, 80))] {
            for state in BadgeState::ALL {
                let image = decode(&status_png(state, size).unwrap());
                assert_eq!((image.0, image.1), wh);
                assert_eq!(image.2.len() as u32, wh.0 * wh.1 * 3, "RGB");
                let c = colours(state);
                assert_eq!(pixel(&image, 0, 0), [c.border.0, c.border.1, c.border.2], "{state:?} {size:?}");
                assert_eq!(pixel(&image, 2, 2), [c.background.0, c.background.1, c.background.2], "{state:?} {size:?}");
                let text =
                    (0..wh.0).any(|x| pixel(&image, x, wh.1 / 2) != [c.background.0, c.background.1, c.background.2]);
                assert!(text, "{state:?} {size:?} shows its word");
            }
        }
        assert_eq!(Size::parse(Some("huge")), Size::Normal);
        assert_eq!(Size::parse(None), Size::Normal);
    }
}
