fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let t = std::time::Instant::now();
    let db = sled::Config::new()
        .path(&dir)
        .flush_every_ms(None)
        .cache_capacity(64 << 20)
        .open()
        .unwrap();
    eprintln!("sled open {:?}", t.elapsed());
    let tree = db.open_tree("trail").unwrap();
    let t = std::time::Instant::now();
    let mut n = 0;
    for p in [b"k:", b"a:", b"p:", b"r:", b"s:"] {
        for kv in tree.scan_prefix(p) {
            kv.unwrap();
            n += 1;
        }
    }
    eprintln!("registry scan {:?} ({n} rows)", t.elapsed());
    drop(tree);
    drop(db);
    let t = std::time::Instant::now();
    let log = trail_core::Log::open(dir.as_ref()).unwrap();
    eprintln!("Log::open {:?}", t.elapsed());
    let t = std::time::Instant::now();
    drop(log);
    eprintln!("drop {:?}", t.elapsed());
}
