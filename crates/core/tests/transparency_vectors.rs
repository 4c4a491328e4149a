//! The Merkle tree, checkpoint, cosignature and proof-file vectors in
//! docs/FORMAT.md, recomputed from the two entry vectors and fixed key seeds.
//! Each text block in the document must appear exactly as computed here.

use ed25519_dalek::SigningKey;
use trail_core::merkle::tree::{LeafIndex, MemoryStore, TreeSize, consistency_proof, root};
use trail_core::merkle::{Checkpoint, CosignatureSigner, NoteSigner, TlogProof};
use trail_core::transparency::{ConsistencyProofFile, origin_for};
use trail_core::{EntryHash, merkle_leaf_hash};

const DOC: &str = include_str!("../../../docs/FORMAT.md");

/// The hex value on the line `name: <hex>` of vector section `vector`,
/// joining continuation lines that hold only hex.
fn documented(vector: &str, name: &str) -> Vec<u8> {
    let section = DOC
        .split("### ")
        .find(|s| s.starts_with(vector))
        .unwrap_or_else(|| panic!("FORMAT.md has no vector section {vector}"));
    let mut lines = section
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{name}:")));
    let first = lines.next().unwrap();
    let mut value = first[name.len() + 1..].trim().to_owned();
    for l in lines {
        let l = l.trim();
        if l.is_empty() || !l.chars().all(|c| c.is_ascii_hexdigit()) {
            break;
        }
        value.push_str(l);
    }
    hex::decode(value).unwrap()
}

struct Vectors {
    leaves: Vec<String>,
    root1: String,
    root2: String,
    checkpoint1: String,
    checkpoint2: String,
    operator_vkey: String,
    witness_vkey: String,
    cosigned2: String,
    inclusion: String,
    consistency: String,
}

fn compute() -> Vectors {
    let e0 = documented("Vector 1", "entry bytes");
    let e1 = documented("Vector 2", "entry bytes");
    let genesis = EntryHash(documented("Vector 1", "entry hash").try_into().unwrap());
    let origin = origin_for(&genesis);
    let mut tree = MemoryStore::new();
    let leaves: Vec<_> = [&e0, &e1].iter().map(|e| merkle_leaf_hash(e)).collect();
    for leaf in &leaves {
        tree.push(*leaf).unwrap();
    }
    let operator = NoteSigner::new(&origin, SigningKey::from_bytes(&[3; 32])).unwrap();
    let witness = CosignatureSigner::new("w1", SigningKey::from_bytes(&[4; 32])).unwrap();
    let cp = |size| {
        Checkpoint::new(
            &origin,
            TreeSize(size),
            root(&tree, TreeSize(size)).unwrap(),
        )
        .unwrap()
    };
    let note1 = cp(1).sign(&operator).unwrap();
    let note2 = cp(2).sign(&operator).unwrap();
    let mut cosigned2 = note2.clone();
    cosigned2
        .add_signature(witness.cosign(&cp(2), 1_700_000_000).unwrap())
        .unwrap();
    let inclusion = TlogProof {
        extra: None,
        index: LeafIndex(1),
        path: trail_core::merkle::inclusion_proof(&tree, LeafIndex(1), TreeSize(2)).unwrap(),
        checkpoint: note2.clone(),
    };
    let consistency = ConsistencyProofFile {
        proof: consistency_proof(&tree, TreeSize(1), TreeSize(2)).unwrap(),
        old: note1.clone(),
        new: note2,
    };
    Vectors {
        leaves: leaves.iter().map(|h| h.to_hex()).collect(),
        root1: root(&tree, TreeSize(1)).unwrap().to_hex(),
        root2: root(&tree, TreeSize(2)).unwrap().to_hex(),
        checkpoint1: note1.to_string(),
        checkpoint2: cosigned2
            .to_string()
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
        operator_vkey: operator.verifier().vkey(),
        witness_vkey: witness.verifier().vkey(),
        cosigned2: cosigned2.to_string(),
        inclusion: String::from_utf8(inclusion.to_bytes()).unwrap(),
        consistency: String::from_utf8(consistency.to_bytes()).unwrap(),
    }
}

fn assert_documented(what: &str, value: &str) {
    assert!(
        DOC.contains(value),
        "docs/FORMAT.md does not show the {what} exactly as computed:\n{value}"
    );
}

#[test]
fn transparency_vectors_match_the_document() {
    let v = compute();
    if std::env::var_os("PRINT_VECTORS").is_some() {
        println!(
            "leaf 0: {}\nleaf 1: {}\nroot 1: {}\nroot 2: {}",
            v.leaves[0], v.leaves[1], v.root1, v.root2
        );
        println!(
            "operator vkey: {}\nwitness vkey: {}",
            v.operator_vkey, v.witness_vkey
        );
        println!(
            "--- checkpoint 1\n{}--- cosigned 2\n{}--- inclusion\n{}--- consistency\n{}---",
            v.checkpoint1, v.cosigned2, v.inclusion, v.consistency
        );
    }
    assert_documented(
        "leaf hash of vector 1",
        &format!("leaf hash 0: {}", v.leaves[0]),
    );
    assert_documented(
        "leaf hash of vector 2",
        &format!("leaf hash 1: {}", v.leaves[1]),
    );
    assert_documented("root of size 1", &format!("root 1: {}", v.root1));
    assert_documented("root of size 2", &format!("root 2: {}", v.root2));
    assert_documented("operator verifier key", &v.operator_vkey);
    assert_documented("witness verifier key", &v.witness_vkey);
    assert_documented("signed checkpoint", &v.checkpoint2);
    assert_documented("cosigned checkpoint", &v.cosigned2);
    assert_documented("inclusion proof", &v.inclusion);
    assert_documented("consistency proof", &v.consistency);
}

/// The text block of vector section `vector`.
fn block(vector: &str) -> &'static str {
    let section = DOC
        .split("### ")
        .find(|s| s.starts_with(vector))
        .unwrap_or_else(|| panic!("FORMAT.md has no vector section {vector}"));
    let start = section.find("```text\n").expect("a text block") + 8;
    let end = section[start..].find("```").expect("the block's end") + start;
    &section[start..end]
}

#[test]
fn vector_7_tiles() {
    use trail_core::tiles::{Tile, TileKind};
    let e0 = documented("Vector 1", "entry bytes");
    let e1 = documented("Vector 2", "entry bytes");
    let tiles = trail_core::tiles::tiles_between(0, 2);
    let hash_tile = Tile {
        kind: TileKind::Hashes { level: 0 },
        index: 0,
        width: 2,
    };
    let bundle_tile = Tile {
        kind: TileKind::Entries,
        index: 0,
        width: 2,
    };
    assert_eq!(tiles, [bundle_tile, hash_tile]);
    let hashes: Vec<u8> = [&e0, &e1]
        .iter()
        .flat_map(|e| merkle_leaf_hash(e).as_bytes().to_vec())
        .collect();
    let bundle = trail_core::tiles::entry_bundle::encode([e0.as_slice(), e1.as_slice()]).unwrap();
    let lengths = format!(
        "{} {}",
        hex::encode(&bundle[..2]),
        hex::encode((e1.len() as u16).to_be_bytes())
    );
    assert_eq!(
        &bundle[2 + e0.len()..4 + e0.len()],
        (e1.len() as u16).to_be_bytes()
    );
    let hex_tile = hex::encode(&hashes);
    let computed = format!(
        "paths: {} {}\ntile/0/000.p/2: {}\n{}\nentry bundle lengths: {lengths}\nentry bundle sha256: {}\n",
        hash_tile.path(),
        bundle_tile.path(),
        &hex_tile[..64],
        &hex_tile[64..],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bundle)),
    );
    assert_eq!(block("Vector 7"), computed);
    assert_eq!(documented("Vector 7", "tile/0/000.p/2"), hashes);
}
