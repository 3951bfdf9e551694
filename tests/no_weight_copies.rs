//! Guards the reason irex exists: an external weight goes from its mapped
//! source file to the `.irpa` without a copy in the heap. A counting global
//! allocator watches Rust's heap; `RssAnon` from `/proc/self/status` watches
//! every anonymous page, MLIR's and IREE's C++ allocations included.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use irex::formats::irpa::{IrpaEntryKind, IrpaIndex, write_archive};
use irex::hlo::{
    ConstantMaterializationPolicy, FunctionBuilder, ModuleBuilder, ValueId, archive_entries,
};
use irex::iree::CompileOptions;
use irex::quant::UniformQuantization;
use irex::tensor::{BufferHandle, ElementType, MappedFile, TensorSpec};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rss_anon_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("RssAnon:"))
        .unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

const WEIGHT_BYTES: usize = 64 << 20;

/// Builds a module whose one external weight `build` declares from `source`,
/// writes its archive, and checks that neither Rust's heap nor anonymous
/// memory grew by anything like the weight, and that the archive holds the
/// source bytes verbatim.
fn assert_archived_without_a_heap_copy(
    source: &Arc<MappedFile>,
    archive: &Path,
    build: impl FnOnce(&mut FunctionBuilder<'_, '_>, BufferHandle) -> ValueId,
) {
    let window = source.window(0, WEIGHT_BYTES as u64).unwrap();
    let session = CompileOptions::default().session().unwrap();
    let context = session.context().unwrap();
    let heap_before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(heap_before, Ordering::Relaxed);
    let anon_before = rss_anon_bytes();

    let mut module = ModuleBuilder::new(
        context,
        "big",
        ConstantMaterializationPolicy::ExternalAlways,
        "model",
    );
    let mut main = module.function("main", &[]).unwrap();
    let weight = build(&mut main, BufferHandle::Mapped(window));
    main.finish(&[weight]).unwrap();
    let converted = module.finish().unwrap();
    write_archive(archive, &archive_entries(&converted.parameters)).unwrap();

    let heap_growth = PEAK.load(Ordering::Relaxed) - heap_before;
    let anon_growth = rss_anon_bytes().saturating_sub(anon_before);
    assert!(
        heap_growth < 1 << 20,
        "Rust heap grew by {heap_growth} bytes for a {WEIGHT_BYTES}-byte weight"
    );
    assert!(
        anon_growth < (WEIGHT_BYTES / 8) as u64,
        "anonymous memory grew by {anon_growth} bytes for a {WEIGHT_BYTES}-byte weight"
    );

    // SAFETY: the archive is complete and not modified while mapped.
    let written = MappedFile::open(archive).unwrap();
    let index = IrpaIndex::parse(written.bytes()).unwrap();
    let IrpaEntryKind::Data { offset, length, .. } = index.get("big.weight").unwrap().kind else {
        panic!("the weight is stored data");
    };
    assert_eq!(length, WEIGHT_BYTES as u64);
    assert!(written.bytes()[offset as usize..][..WEIGHT_BYTES] == source.bytes()[..]);
}

/// One test, so that no other test's allocations reach the counters.
#[test]
fn external_weights_go_from_the_map_to_the_archive_without_a_heap_copy() {
    let folder = tempfile::tempdir().unwrap();
    let source_path = folder.path().join("weights.bin");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&source_path).unwrap());
        for index in 0..(WEIGHT_BYTES / 4) as u32 {
            file.write_all(&(index as f32).to_le_bytes()).unwrap();
        }
    }
    let source = MappedFile::open(&source_path).unwrap();

    let floats = TensorSpec::dense(
        "big.weight",
        &[4096, (WEIGHT_BYTES / 4 / 4096) as u64],
        ElementType::F32,
    );
    assert_archived_without_a_heap_copy(
        &source,
        &folder.path().join("f32.irpa"),
        |main, buffer| main.weight(&floats, &buffer).unwrap(),
    );

    // The same bytes as int8 with a scale per row: the integers take the
    // same road; only the 4,096 scales are in the module.
    let rows = 4096;
    let integers = TensorSpec::dense(
        "big.weight",
        &[rows, WEIGHT_BYTES as u64 / rows],
        ElementType::I8,
    );
    let scales = (1..=rows).map(|row| row as f64 / 1024.0).collect();
    let quantization =
        UniformQuantization::per_axis(ElementType::I8, 0, scales, vec![0; rows as usize]);
    assert_archived_without_a_heap_copy(
        &source,
        &folder.path().join("int8.irpa"),
        |main, buffer| {
            main.quantized_weight(&integers, &buffer, &quantization)
                .unwrap()
        },
    );
}
