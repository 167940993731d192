//! Parse + serialize throughput of the kconfig document model: on the fixture corpus,
//! and on a generated kdeglobals-like file of about 1 MB.

use testbed::harness::kconfig_corpus as kconfig_support;

use ballast::kconfig::Document;
use divan::counter::BytesCount;
use divan::{black_box, Bencher};

fn main() {
    divan::main();
}

/// A kdeglobals grown to `size` bytes: colour groups as Plasma writes them, some nested,
/// with escapes and an `[$e]` path here and there.
fn kdeglobals_like(size: usize) -> Vec<u8> {
    let mut file = Vec::with_capacity(size + 1024);
    for index in 0.. {
        if file.len() >= size {
            break;
        }
        let group = match index % 3 {
            0 => format!("[Colors:Scheme{index}]"),
            1 => format!("[Colors:Scheme{index}][Inactive]"),
            _ => format!("[KFileDialog Settings {index}]"),
        };
        file.extend_from_slice(group.as_bytes());
        file.push(b'\n');
        for (key, value) in [
            ("BackgroundAlternate", "163,212,250"),
            ("BackgroundNormal", "252,252,252"),
            ("DecorationFocus", "61,174,233"),
            ("ForegroundNormal", "35,38,39"),
            ("font", "Noto Sans,10,-1,5,50,0,0,0,0,0"),
            ("Recent Files[$e]", "$HOME/Documents/report.odt,$HOME/Downloads/"),
            ("Comment", "\\sPadded, with a tab\\there\\s"),
            ("Name[de]", "Schema"),
        ] {
            file.extend_from_slice(format!("{key}={value}\n").as_bytes());
        }
        file.push(b'\n');
    }
    file
}

#[divan::bench]
fn corpus_parse_serialize(bencher: Bencher) {
    let files = kconfig_support::fixtures();
    let total: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    bencher.counter(BytesCount::new(total)).bench(|| {
        for (_, bytes) in &files {
            black_box(Document::parse(black_box(bytes)).to_bytes());
        }
    });
}

#[divan::bench]
fn kdeglobals_1mb_parse_serialize(bencher: Bencher) {
    let bytes = kdeglobals_like(1 << 20);
    bencher.counter(BytesCount::of_slice(&bytes)).bench(|| black_box(Document::parse(black_box(&bytes)).to_bytes()));
}

/// What `ballast tune` pays per key on a big file: reads and edits resolve the file.
#[divan::bench]
fn kdeglobals_1mb_set_one_key(bencher: Bencher) {
    let document = Document::parse(&kdeglobals_like(1 << 20));
    bencher.with_inputs(|| document.clone()).bench_local_values(|mut document| {
        document.set("KDE", "AnimationDurationFactor", "0.5").expect("kdeglobals is writable");
        document
    });
}
