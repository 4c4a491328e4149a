fn main() {
    let extra: bool = std::env::args().nth(1).unwrap() == "extra";
    let dir = tempfile::tempdir_in("/tmp").unwrap();
    {
        let db = sled::Config::new()
            .path(dir.path())
            .flush_every_ms(None)
            .cache_capacity(64 << 20)
            .open()
            .unwrap();
        let t = db.open_tree("trail").unwrap();
        let val = vec![7u8; 580];
        for chunk in 0..250u64 {
            let mut b = sled::Batch::default();
            for i in 0..4000u64 {
                let seq = chunk * 4000 + i;
                let mut k = b"e:".to_vec();
                k.extend(seq.to_be_bytes());
                b.insert(k, val.clone());
                if extra {
                    for x in 0..5u64 {
                        let mut k = b"x:r".to_vec();
                        k.extend(format!("R{}-{}", seq % 70, (seq * 7 + x) % 2000).as_bytes());
                        k.push(0);
                        k.extend(seq.to_be_bytes());
                        b.insert(k, &[]);
                    }
                }
            }
            t.apply_batch(b).unwrap();
        }
        db.flush().unwrap();
    }
    for _ in 0..2 {
        let s = std::time::Instant::now();
        let db = sled::Config::new()
            .path(dir.path())
            .flush_every_ms(None)
            .cache_capacity(64 << 20)
            .open()
            .unwrap();
        let o = s.elapsed();
        let s = std::time::Instant::now();
        drop(db);
        eprintln!("extra={extra} open {o:?} drop {:?}", s.elapsed());
    }
    let out = std::process::Command::new("du")
        .arg("-sh")
        .arg(dir.path())
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
}
