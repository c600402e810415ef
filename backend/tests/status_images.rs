//! README badges, 0.8.9's `/png` and the builders' plots, in-process over the real app, on
//! SQLite and PostgreSQL: SVG parsed as XML, PNGs decoded, sizes and colours checked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod site;

use std::time::Duration;

use cascade::engine::bus::Event;
use cascade::model::{ForceRequest, Results};
use poem::http::StatusCode;

use common::wait_finished;

use site::*;

fn svg(got: &Got) -> (String, Vec<String>) {
    let text = got.text();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let root = doc.root_element();
    let label = root.attribute("aria-label").unwrap().to_owned();
    let fills = root.descendants().filter_map(|n| n.attribute("fill")).map(str::to_owned).collect();
    (label, fills)
}

/// Width, height and RGB(A) pixels of a PNG.
fn decode(bytes: &[u8]) -> (u32, u32, usize, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    (info.width, info.height, info.color_type.samples(), pixels)
}

fn pixel(image: &(u32, u32, usize, Vec<u8>), x: u32, y: u32) -> [u8; 3] {
    let i = ((y * image.0 + x) as usize) * image.2;
    [image.3[i], image.3[i + 1], image.3[i + 2]]
}

/// Whether some pixel of the image has exactly this colour.
fn shows(image: &(u32, u32, usize, Vec<u8>), rgb: [u8; 3]) -> bool {
    image.3.chunks(image.2).any(|p| p[..3] == rgb)
}

#[tokio::test]
async fn badges_follow_the_newest_build_and_show_running_and_unknown() {
    let s = site().await;
    let (label, fills) = svg(&s.get("/badges/app.svg").await);
    assert_eq!(label, "app: unknown", "no builds yet");
    assert!(fills.contains(&"#eeeeee".into()), "{fills:?}");

    s.run("app", "main").await;
    let got = s.get("/badges/app.svg").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("content-type"), "image/svg+xml; charset=utf-8");
    assert_eq!(got.header("cache-control"), "public, max-age=10");
    let (label, fills) = svg(&got);
    assert_eq!(label, "app: success");
    assert!(fills.contains(&"#88dd44".into()), "{fills:?}");

    s.run("app", "broken").await;
    assert_eq!(svg(&s.get("/badges/app.svg").await).0, "app: failure");
    assert_eq!(svg(&s.get("/badges/app.svg?branch=main").await).0, "app: success", "branch= picks the branch's newest");
    assert_eq!(svg(&s.get("/badges/app.svg?branch=elsewhere").await).0, "app: unknown");
    let (label, fills) = svg(&s.get("/badges/app.svg?label=CI%20status&style=flat-square").await);
    assert_eq!(label, "CI status: failure");
    assert!(fills.contains(&"#ee8888".into()), "{fills:?}");

    let png = s.get("/badges/app.png?style=plastic").await;
    assert_eq!(png.header("content-type"), "image/png");
    let image = decode(&png.body);
    assert_eq!(image.1, 18, "plastic badges are 18 pixels high");
    let plain = decode(&s.get("/badges/app.png?style=flat-square").await.body);
    assert_eq!(pixel(&plain, plain.0 - 2, 3), [0xee, 0x88, 0x88], "failure is 0.8.9's red");

    // A build that runs until told to stop: the badge says running, /png knows no result.
    let mut rx = s.engine.bus.subscribe();
    s.engine.force("slow", ForceRequest::default()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Event::BuildStarted { build, .. } = &rx.recv().await.unwrap().event
                && build.builder == "slow"
            {
                break;
            }
        }
    })
    .await
    .unwrap();
    let (label, fills) = svg(&s.get("/badges/slow.svg").await);
    assert_eq!(label, "slow: running");
    assert!(fills.contains(&"#ffdd33".into()), "{fills:?}");
    let image = decode(&s.get("/png?builder=slow").await.body);
    assert_eq!(pixel(&image, 2, 2), [0xee, 0xee, 0xee], "an unfinished build is unknown to /png");
    std::fs::write(s._dir.path().join("RELEASE"), "").unwrap();
    wait_finished(&mut rx, "slow", 30).await;
    assert_eq!(svg(&s.get("/badges/slow.svg").await).0, "slow: success");
}

#[tokio::test]
async fn badge_colours_follow_every_result() {
    let s = site().await;
    let expected = [
        (Results::Success, "#88dd44"),
        (Results::Warnings, "#ffaa33"),
        (Results::Failure, "#ee8888"),
        (Results::Skipped, "#aaddee"),
        (Results::Exception, "#cc66cc"),
        (Results::Retry, "#cc66cc"),
        (Results::Cancelled, "#eecccc"),
    ];
    for (i, (results, colour)) in expected.into_iter().enumerate() {
        let number = i as i64 + 1;
        history(&s.engine, &[past("docs", number, 10_000 - number * 100, results, "main")]).await;
        let (label, fills) = svg(&s.get("/badges/docs.svg").await);
        assert_eq!(label, format!("docs: {}", results.name()));
        assert!(fills.contains(&colour.to_owned()), "{results:?}: {fills:?}");
        let image = decode(&s.get("/badges/docs.png?style=flat-square").await.body);
        let rgb: Vec<u8> = (0..3).map(|k| u8::from_str_radix(&colour[1 + 2 * k..3 + 2 * k], 16).unwrap()).collect();
        assert_eq!(pixel(&image, image.0 - 2, 3).to_vec(), rgb, "{results:?}");
    }
}

#[tokio::test]
async fn badges_escape_hostile_names_and_labels() {
    let s = site().await;
    let got = s.get("/badges/%3Cx%26%22y%3E.svg").await;
    assert_eq!(got.status, StatusCode::NOT_FOUND, "an unknown builder");
    let (label, _) = svg(&got);
    assert_eq!(label, r#"<x&"y>: not found"#, "the body is still a badge, and valid XML");
    let got = s.get("/badges/app.svg?label=%3Cx%26%22y%27%3E%5D%5D%3E").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(svg(&got).0, r#"<x&"y'>]]>: unknown"#);
    assert!(!got.text().contains("<x&"));
    let png = s.get("/badges/%3Cx%26%22y%3E.png").await;
    assert_eq!(png.status, StatusCode::NOT_FOUND);
    decode(&png.body);
    assert_eq!(s.get("/badges/app.gif").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn badges_and_png_answer_304_to_their_entity_tag() {
    let s = site().await;
    history(&s.engine, &[past("app", 1, 1000, Results::Success, "main")]).await;
    for path in ["/badges/app.svg", "/badges/app.png", "/png?builder=app", "/plots/builders/app/durations.png"] {
        let first = s.get(path).await;
        let etag = first.header("etag").to_owned();
        assert!(etag.starts_with('"') && etag.len() > 10, "{path}: {etag}");
        let again = Got::of(s.client.get(path).header("if-none-match", &etag).send().await).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), etag);
        let other = Got::of(s.client.get(path).header("if-none-match", "\"other\"").send().await).await;
        assert_eq!(other.status, StatusCode::OK, "{path}");
    }
    let before = s.get("/badges/app.svg").await.header("etag").to_owned();
    history(&s.engine, &[past("app", 2, 500, Results::Failure, "main")]).await;
    let after = Got::of(s.client.get("/badges/app.svg").header("if-none-match", &before).send().await).await;
    assert_eq!(after.status, StatusCode::OK, "a new result is a new image");
    assert_ne!(after.header("etag"), before);
}

#[tokio::test]
async fn png_shows_a_build_at_0_8_9_sizes_by_number_revision_or_the_last_finished() {
    let s = site().await;
    let mut failing = past("app", 1, 3000, Results::Failure, "main");
    failing.revision = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut passing = past("app", 2, 2000, Results::Success, "main");
    passing.revision = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    history(&s.engine, &[failing, passing, past("app", 3, 1000, Results::Warnings, "main")]).await;
    let s = &s;
    let colour = |path: &'static str| async move {
        let got = s.get(path).await;
        assert_eq!(got.status, StatusCode::OK, "{path}");
        assert_eq!(got.header("content-type"), "image/png");
        assert_eq!(got.header("cache-control"), "no-cache");
        let image = decode(&got.body);
        ((image.0, image.1), pixel(&image, 2, 2), got.header("content-disposition").to_owned())
    };
    let (size, rgb, disposition) = colour("/png?builder=app").await;
    assert_eq!((size, rgb), ((84, 18), [0xff, 0xaa, 0x33]), "the last finished build, normal size");
    assert_eq!(disposition, "inline; filename=\"warnings_normal.png\"");
    assert_eq!(colour("/png?builder=app&number=1&size=small").await.0, (32, 14));
    assert_eq!(colour("/png?builder=app&number=1&size=small").await.1, [0xee, 0x88, 0x88]);
    assert_eq!(colour("/png?builder=app&number=-1&size=large").await.0, (120, 80));
    assert_eq!(colour("/png?builder=app&size=enormous").await.0, (84, 18), "an unknown size is normal");
    let by_revision = "/png?builder=app&revision=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    assert_eq!(colour(by_revision).await.1, [0x88, 0xdd, 0x44]);
    let number_wins = "/png?builder=app&number=1&revision=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    assert_eq!(colour(number_wins).await.1, [0xee, 0x88, 0x88], "the revision is ignored when a number is given");
    for unknown in ["/png?builder=app&number=99", "/png?builder=nope", "/png", "/png?builder=app&revision=cafe"] {
        let (_, rgb, disposition) = colour(unknown).await;
        assert_eq!(rgb, [0xee, 0xee, 0xee], "{unknown}");
        assert!(disposition.contains("unknown_"), "{unknown}");
    }
}

// ---------------------------------------------------------------------------------------
// Plots

#[tokio::test]
async fn plots_are_drawn_at_the_requested_size_in_result_colours() {
    let s = site().await;
    let day = 86_400;
    history(
        &s.engine,
        &[
            past("app", 1, 3 * day, Results::Success, "main"),
            past("app", 2, 2 * day, Results::Failure, "main"),
            past("app", 3, day, Results::Success, "main"),
            past("app", 4, 600, Results::Warnings, "main"),
        ],
    )
    .await;
    let s = &s;
    let plot = |path: &'static str| async move {
        let got = s.get(path).await;
        assert_eq!(got.status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&got.body));
        assert_eq!(got.header("content-type"), "image/png");
        decode(&got.body)
    };
    let durations = plot("/plots/builders/app/durations.png?width=500&height=250").await;
    assert_eq!((durations.0, durations.1), (500, 250));
    for colour in [[0x88, 0xdd, 0x44], [0xee, 0x88, 0x88], [0xff, 0xaa, 0x33]] {
        assert!(shows(&durations, colour), "a bar in {colour:?}");
    }
    let last_two = plot("/plots/builders/app/durations.png?last=2").await;
    assert_eq!((last_two.0, last_two.1), (640, 320), "the default size");
    assert!(!shows(&last_two, [0xee, 0x88, 0x88]), "build 2 is not among the last two");
    let recent = plot("/plots/builders/app/durations.png?days=1").await;
    assert!(shows(&recent, [0xff, 0xaa, 0x33]) && !shows(&recent, [0xee, 0x88, 0x88]), "only the last day");

    let results = plot("/plots/builders/app/results.png?width=300&height=200").await;
    assert_eq!((results.0, results.1), (300, 200));
    assert!(shows(&results, [0xee, 0x88, 0x88]), "the day with a failure is marked red");
    assert!(shows(&results, [0x88, 0xdd, 0x44]), "the days that passed are green");

    let steps = plot("/plots/builders/app/steps.png?width=10&height=99999").await;
    assert_eq!((steps.0, steps.1), (200, 1200), "sizes are bounded");
    assert!(shows(&steps, [0x44, 0x77, 0xaa]) && shows(&steps, [0xee, 0x66, 0x77]), "one colour per step");

    let empty = plot("/plots/builders/docs/steps.png").await;
    assert_eq!((empty.0, empty.1), (640, 320), "a builder without builds still gets a plot");
    assert_eq!(s.get("/plots/builders/nope/durations.png").await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/plots/builders/app/pie.png").await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/plots/builders/app/durations.png?width=wide").await.status, StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------------------------------
// Authorization
