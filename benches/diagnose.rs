//! The embedding map: mapping 4,000 notes to 2-D (PCA, and t-SNE with either gradient, printing
//! how many of each point's 10 nearest neighbours each map keeps), and one frame's work of the
//! map with 10,000 points: building its meshes, finding the point under the pointer, and a whole
//! frame of the workbench on the map under egui_kittest. And the saliency of a 4-s clip with the
//! shipped model.
//!
//! The notes are seeded synthetic embeddings of 128 dimensions: 16 classes of 250 notes
//! each, every class a Gaussian blob around its own centre with a second, smaller level of
//! structure (4 sub-centres each), as pitch and library spread an instrument's notes.

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use timbrescope::learn::explanation::embed::Matrix;
use timbrescope::learn::explanation::projection::{Gradient, knn_purity, neighbourhood_kept, pca, tsne_with};

const NOTES: usize = 4000;
const DIMS: usize = 128;
const CLASSES: usize = 16;

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
    ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
}

fn notes() -> (Matrix, Vec<i32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut rows = Vec::with_capacity(NOTES);
    let mut labels = Vec::with_capacity(NOTES);
    for c in 0..CLASSES {
        let centre: Vec<f32> = (0..DIMS).map(|_| 4.0 * normal(&mut rng)).collect();
        let subs: Vec<Vec<f32>> = (0..4).map(|_| centre.iter().map(|x| x + 2.0 * normal(&mut rng)).collect()).collect();
        for i in 0..NOTES / CLASSES {
            rows.push(subs[i % 4].iter().map(|x| x + normal(&mut rng)).collect::<Vec<f32>>());
            labels.push(c as i32);
        }
    }
    (Matrix::from_rows(&rows), labels)
}

fn projection(c: &mut Criterion) {
    let (m, labels) = notes();
    let maps = [
        ("pca", pca(&m)),
        ("tsne_interpolated", tsne_with(&m, Gradient::Interpolated, &|_, _| {})),
        ("tsne_barnes_hut", tsne_with(&m, Gradient::BarnesHut, &|_, _| {})),
    ];
    for (name, map) in &maps {
        println!(
            "{name}: 10-NN kept {:.3}, 10-NN class purity {:.3}",
            neighbourhood_kept(&m, map, 10),
            knn_purity(map, &labels, 10)
        );
    }
    let mut g = c.benchmark_group("projection");
    g.sample_size(10);
    g.bench_function("pca_4000x128", |b| b.iter(|| black_box(pca(black_box(&m)))));
    g.bench_function("tsne_interpolated_4000x128", |b| {
        b.iter(|| black_box(tsne_with(black_box(&m), Gradient::Interpolated, &|_, _| {})))
    });
    g.bench_function("tsne_barnes_hut_4000x128", |b| {
        b.iter(|| black_box(tsne_with(black_box(&m), Gradient::BarnesHut, &|_, _| {})))
    });
    g.finish();
}

fn saliency(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/violin_A4.wav");
    let clip = timbrescope::audio::load_clip(&path).unwrap();
    let mut predictor = timbrescope::learn::Predictor::shipped().unwrap();
    let mut g = c.benchmark_group("saliency");
    g.sample_size(20);
    g.bench_function("explain_4s_shipped_model", |b| {
        b.iter(|| {
            black_box(timbrescope::learn::explanation::saliency::explain(
                &mut predictor,
                black_box(&clip.samples),
                None,
            ))
        })
    });
    g.finish();
}

#[cfg(feature = "gui")]
fn map_frame(c: &mut Criterion) {
    use eframe::egui::{Color32, Pos2, Rect, Vec2};
    use timbrescope::ui::embedding_map::{MapWindow, category_color, map_shapes, pick};
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let n = 10_000;
    let points: Vec<[f32; 2]> = (0..n).map(|_| [normal(&mut rng) * 30.0, normal(&mut rng) * 30.0]).collect();
    let colors: Vec<Color32> = (0..n).map(|i| category_color(i % CLASSES, CLASSES)).collect();
    let pairs: Vec<(usize, usize)> = (0..n / 2).map(|i| (i, i + n / 2)).collect();
    let rect = Rect::from_min_size(Pos2::new(280.0, 60.0), Vec2::new(1000.0, 760.0));
    let window = MapWindow::fit(&points, rect);
    let mut g = c.benchmark_group("map");
    g.bench_function("meshes_10000_points_5000_pairs", |b| {
        b.iter(|| black_box(map_shapes(black_box(&points), &colors, &pairs, &window, rect)))
    });
    g.bench_function("pick_10000", |b| b.iter(|| black_box(pick(black_box(&points), &window, rect, rect.center()))));
    g.finish();
    whole_frame(c, &points);
}

/// A whole frame of the workbench on the embedding map with 10,000 points, the pointer moving
/// over them: egui's pass and tessellation (`step`), and that plus drawing the frame on the
/// machine's wgpu adapter (`render`; lavapipe, a CPU rasteriser, where there is no GPU).
#[cfg(feature = "gui")]
fn whole_frame(c: &mut Criterion, points: &[[f32; 2]]) {
    use eframe::egui;
    use timbrescope::learn::explanation::embed::{EmbeddingMeta, Embeddings, Matrix};
    use timbrescope::ui::{Mode, Workbench};
    let n = points.len();
    let rows: Vec<Vec<f32>> = points.iter().map(|p| p.to_vec()).collect();
    let embeddings = Embeddings {
        meta: EmbeddingMeta {
            classes: (0..CLASSES).map(|c| format!("class {c}")).collect(),
            notes: (0..n).map(|i| format!("note_{i}")).collect(),
            families: vec![String::new(); n],
            libraries: vec![String::new(); n],
            ..Default::default()
        },
        label: (0..n).map(|i| (i % CLASSES) as i32).collect(),
        predicted: (0..n).map(|i| ((i / 3) % CLASSES) as i32).collect(),
        fused: Matrix::from_rows(&rows),
        z_stft: Matrix::from_rows(&rows),
        z_cqt: Matrix::from_rows(&rows),
    };
    let dir = std::env::temp_dir().join(format!("timbrescope-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("emb.npz");
    embeddings.write(&file).unwrap();
    let mut harness = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .wgpu()
        .build_eframe(|cc| Workbench::new(cc, None));
    harness.state_mut().set_mode(Mode::Embedding);
    harness.state_mut().open_embeddings(file, false);
    let start = std::time::Instant::now();
    while harness.state().embedding_map().is_none() || harness.state().embedding_point_pos(0).is_none() {
        assert!(start.elapsed().as_secs() < 60, "the map never appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
        harness.step();
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut k = 0usize;
    let mut g = c.benchmark_group("map_frame");
    g.sample_size(20);
    g.bench_function("step_10000_points_hovering", |b| {
        b.iter(|| {
            k += 1;
            let pos = harness.state().embedding_point_pos(k % n).unwrap_or(egui::pos2(700.0, 500.0));
            harness.hover_at(pos);
            harness.step();
        })
    });
    g.bench_function("step_and_render_10000_points", |b| {
        b.iter(|| {
            k += 1;
            let pos = harness.state().embedding_point_pos(k % n).unwrap_or(egui::pos2(700.0, 500.0));
            harness.hover_at(pos);
            harness.step();
            black_box(harness.render().unwrap());
        })
    });
    g.finish();
}

#[cfg(not(feature = "gui"))]
fn map_frame(_: &mut Criterion) {}

criterion_group!(benches, projection, map_frame, saliency);

fn main() {
    // SAFETY: the first statement of main: no other thread exists yet.
    unsafe { timbrescope::learn::network::runtime::park_candle_helpers() };
    benches();
    Criterion::default().configure_from_args().final_summary();
}
